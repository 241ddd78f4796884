//! `/metrics` of every process after the demo flow: the counters moved by exactly the writes
//! made, and the consistency-lag histogram has one sample per applied event.
//!
//! Needs the stack, the connectors and the services (`cargo xtask ci` starts them). Nothing
//! else may write meanwhile (the e2e suites run one test at a time).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use e2e::NOT_UP;
use serde_json::{Value, json};

const PERSON_TOPIC: &str =
    <contracts::events::Person as contracts::runtime::event::CanonicalEvent>::TOPIC;
const BALANCE_SHEET_TOPIC: &str =
    <contracts::events::BalanceSheet as contracts::runtime::event::CanonicalEvent>::TOPIC;
const CDC_TOPIC: &str = contracts::topology::private_topics::PRIVATE_ACCOUNTING_BAL_SHEET_CDC.name;
const TIMEOUT: Duration = Duration::from_secs(90);
const WRITES: u32 = 5;

const PERSON: u16 = contracts::topology::person::PORT;
const ACCOUNTING: u16 = contracts::topology::accounting::PORT;
const PLANNING: u16 = contracts::topology::planning::PORT;

/// One scrape: series (name and sorted labels, as exposed) → value.
#[derive(Debug, Clone, PartialEq)]
struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    /// The value of the series `name{labels}` (labels in the order the exporter writes them:
    /// sorted by name), 0 when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0.get(&series(name, labels)).copied().unwrap_or(0.0)
    }

    fn has(&self, name: &str) -> bool {
        self.0
            .keys()
            .any(|k| k == name || k.starts_with(&format!("{name}{{")))
    }
}

fn series(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let mut labels = labels.to_vec();
    labels.sort();
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// Parses the Prometheus text format (what our exporter writes: no escapes in our label
/// values, no timestamps) and normalises each series' labels to sorted order.
fn parse(text: &str) -> Result<Scrape> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series_text, value) = line
            .rsplit_once(' ')
            .with_context(|| format!("not a sample: {line:?}"))?;
        let value: f64 = value
            .parse()
            .with_context(|| format!("not a number in {line:?}"))?;
        let key = match series_text.split_once('{') {
            None => series_text.to_owned(),
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .with_context(|| format!("unterminated labels: {line:?}"))?;
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                for pair in labels.split("\",") {
                    let (k, v) = pair
                        .split_once("=\"")
                        .with_context(|| format!("bad label in {line:?}"))?;
                    pairs.push((k, v.trim_end_matches('"')));
                }
                series(name, &pairs)
            }
        };
        samples.insert(key, value);
    }
    Ok(Scrape(samples))
}

fn scrape(port: u16) -> Result<Scrape> {
    let url = format!("{}/metrics", e2e::service_url(port));
    let mut response = e2e::http()
        .get(&url)
        .call()
        .with_context(|| format!("GET {url}: {NOT_UP}"))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.body_mut().read_to_string()?;
    ensure!(status == 200, "GET {url}: {status} {text}");
    ensure!(
        content_type.starts_with("text/plain"),
        "GET {url}: content type {content_type}"
    );
    parse(&text)
}

fn post(url: &str, body: &Value) -> Result<Value> {
    let mut response = e2e::http()
        .post(url)
        .header("Authorization", "Basic cm9vdDpQQHNzdzByZDE=")
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .with_context(|| format!("POST {url}: {NOT_UP}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    ensure!(status == 201, "POST {url}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

fn consumer(group: &str, topic: &'static str) -> [(&'static str, String); 2] {
    [("group", group.to_owned()), ("topic", topic.to_owned())]
}

fn labels<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The counters this test moves, per process.
#[derive(Debug, Clone, PartialEq)]
struct Counters {
    person_created: f64,
    person_outbox: f64,
    sheet_created: f64,
    cdc_processed: f64,
    sheet_outbox: f64,
    planning_persons: f64,
    planning_sheets: f64,
    lag_samples_persons: f64,
    lag_samples_sheets: f64,
    processing_samples_persons: f64,
}

fn counters() -> Result<Counters> {
    let person = scrape(PERSON)?;
    let accounting = scrape(ACCOUNTING)?;
    let planning = scrape(PLANNING)?;
    let persons = consumer(
        contracts::topology::planning::subscriptions::PERSON_ENTITY_STATE.group,
        PERSON_TOPIC,
    );
    let sheets = consumer(
        contracts::topology::planning::subscriptions::BALANCE_SHEET_CREATED.group,
        BALANCE_SHEET_TOPIC,
    );
    let cdc = consumer("accounting-consumer-1", CDC_TOPIC);
    let created = |route| {
        [
            ("method", "POST".to_owned()),
            ("route", route),
            ("status", "201".to_owned()),
        ]
    };
    Ok(Counters {
        person_created: person.value(
            "http_server_request_duration_seconds_count",
            &labels(&created("/api/persons/".to_owned())),
        ),
        person_outbox: person.value("outbox_events_written_total", &[("topic", PERSON_TOPIC)]),
        sheet_created: accounting.value(
            "http_server_request_duration_seconds_count",
            &labels(&created("/api/balance-sheets/".to_owned())),
        ),
        cdc_processed: accounting.value("consumer_events_processed_total", &labels(&cdc)),
        sheet_outbox: accounting.value(
            "outbox_events_written_total",
            &[("topic", BALANCE_SHEET_TOPIC)],
        ),
        planning_persons: planning.value("consumer_events_processed_total", &labels(&persons)),
        planning_sheets: planning.value("consumer_events_processed_total", &labels(&sheets)),
        lag_samples_persons: planning.value("consistency_lag_seconds_count", &labels(&persons)),
        lag_samples_sheets: planning.value("consistency_lag_seconds_count", &labels(&sheets)),
        processing_samples_persons: planning.value(
            "consumer_processing_duration_seconds_count",
            &labels(&persons),
        ),
    })
}

/// Counters that stopped moving (events of earlier suites all handled).
fn settled() -> Result<Counters> {
    let deadline = Instant::now() + TIMEOUT;
    let mut last = counters()?;
    loop {
        std::thread::sleep(Duration::from_secs(2));
        let now = counters()?;
        if now == last {
            return Ok(now);
        }
        if Instant::now() > deadline {
            bail!("the counters keep moving: {last:?} then {now:?}");
        }
        last = now;
    }
}

#[test]
fn every_process_counts_the_demo_flow_exactly() -> Result<()> {
    let before = settled()?;
    for i in 0..WRITES {
        let person = post(
            &format!("{}/api/persons/", e2e::service_url(PERSON)),
            &json!({"first_name": format!("Metric{i}"), "last_name": "Simpson", "date_of_birth": "1980-02-23T00:00:00Z"}),
        )?;
        let person_id = person["id"].as_str().context("person id")?;
        post(
            &format!("{}/api/balance-sheets/", e2e::service_url(ACCOUNTING)),
            &json!({"person_id": person_id, "assets": 3340000, "liabilities": 537300}),
        )?;
    }
    let n = f64::from(WRITES);
    let deadline = Instant::now() + TIMEOUT;
    while counters()?.planning_sheets < before.planning_sheets + n
        || counters()?.planning_persons < before.planning_persons + n
    {
        if Instant::now() > deadline {
            bail!(
                "planning did not apply {WRITES} of each after {TIMEOUT:?}: {:?}",
                counters()?
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let after = settled()?;
    let moved = |a: f64, b: f64| a - b;
    assert_eq!(
        moved(after.person_created, before.person_created),
        n,
        "person 201s"
    );
    assert_eq!(
        moved(after.person_outbox, before.person_outbox),
        n,
        "person outbox rows"
    );
    assert_eq!(
        moved(after.sheet_created, before.sheet_created),
        n,
        "balance-sheet 201s"
    );
    assert_eq!(
        moved(after.cdc_processed, before.cdc_processed),
        n,
        "CDC changes translated"
    );
    assert_eq!(
        moved(after.sheet_outbox, before.sheet_outbox),
        n,
        "balance-sheet outbox rows"
    );
    assert_eq!(
        moved(after.planning_persons, before.planning_persons),
        n,
        "persons applied"
    );
    assert_eq!(
        moved(after.planning_sheets, before.planning_sheets),
        n,
        "sheets applied"
    );
    assert_eq!(
        moved(after.lag_samples_persons, before.lag_samples_persons),
        n,
        "one consistency-lag sample per applied person"
    );
    assert_eq!(
        moved(after.lag_samples_sheets, before.lag_samples_sheets),
        n,
        "one consistency-lag sample per applied balance sheet"
    );
    assert_eq!(
        moved(
            after.processing_samples_persons,
            before.processing_samples_persons
        ),
        n,
        "one processing-duration sample per handled person"
    );

    // The gauges and the series that did not move are there too.
    let planning = scrape(PLANNING)?;
    for name in [
        "consumer_partition_lag",
        "db_pool_connections_in_use",
        "db_pool_connections_max",
        "consistency_lag_seconds_bucket",
        "consumer_processing_duration_seconds_bucket",
    ] {
        ensure!(planning.has(name), "planning exposes no {name}");
    }
    let max = planning.value("db_pool_connections_max", &[("pool", "default")]);
    ensure!(max >= 1.0, "the pool's maximum is reported: {max}");
    // The +Inf bucket of the consistency lag holds every sample.
    let persons = consumer(
        contracts::topology::planning::subscriptions::PERSON_ENTITY_STATE.group,
        PERSON_TOPIC,
    );
    let mut inf = labels(&persons);
    inf.push(("le", "+Inf"));
    assert_eq!(
        planning.value("consistency_lag_seconds_bucket", &inf),
        planning.value("consistency_lag_seconds_count", &labels(&persons)),
    );
    for port in [PERSON, ACCOUNTING] {
        ensure!(
            scrape(port)?.has("db_pool_connections_in_use"),
            "port {port} exposes the pool"
        );
    }
    Ok(())
}

#[test]
fn the_text_parser_reads_what_the_exporter_writes() -> Result<()> {
    let scrape = parse(
        "# TYPE x_total counter\nx_total{topic=\"t\",group=\"g\"} 3\n\nup 1\nh_bucket{le=\"+Inf\"} 2\n",
    )?;
    assert_eq!(
        scrape.value("x_total", &[("group", "g"), ("topic", "t")]),
        3.0
    );
    assert_eq!(scrape.value("up", &[]), 1.0);
    assert_eq!(scrape.value("h_bucket", &[("le", "+Inf")]), 2.0);
    assert_eq!(scrape.value("missing", &[]), 0.0);
    assert!(parse("x_total{a=\"b\" 3").is_err());
    Ok(())
}
