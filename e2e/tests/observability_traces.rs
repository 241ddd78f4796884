//! One trace across the outbox and CDC: a person and a balance sheet created with a known
//! `traceparent` yield spans of person, accounting (REST and the CDC translator) and planning
//! under that trace id, each a child of the one before, received by a real OTLP/HTTP
//! receiver running in this test.
//!
//! Needs the stack, the connectors and the services (`cargo xtask ci` starts them). The test
//! restarts the services with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at its receiver, and
//! restarts them without it afterwards, whatever the outcome.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use e2e::otlp::{ReceivedSpan, Receiver};
use e2e::{NOT_UP, root};
use serde_json::{Value, json};
use uuid::Uuid;

const PERSON_TOPIC: &str =
    <contracts::events::Person as contracts::runtime::event::CanonicalEvent>::TOPIC;
const BALANCE_SHEET_TOPIC: &str =
    <contracts::events::BalanceSheet as contracts::runtime::event::CanonicalEvent>::TOPIC;
const CDC_TOPIC: &str = contracts::topology::private_topics::PRIVATE_ACCOUNTING_BAL_SHEET_CDC.name;
const TIMEOUT: Duration = Duration::from_secs(90);

/// Span kinds of the OTLP protobuf.
const SERVER: i32 = 2;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;

fn services(command: &str, otlp_endpoint: Option<&str>) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut xtask = Command::new(&cargo);
    xtask
        .current_dir(root())
        .args(["run", "--quiet", "-p", "xtask", "--", "services", command]);
    match otlp_endpoint {
        Some(endpoint) => {
            // Short batches so that the spans arrive while the test waits.
            xtask
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
                .env("OTEL_BSP_SCHEDULE_DELAY", "200");
        }
        None => {
            xtask
                .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
                .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        }
    }
    let status = xtask
        .status()
        .with_context(|| format!("running cargo xtask services {command}"))?;
    ensure!(
        status.success(),
        "`cargo xtask services {command}` failed: {status}"
    );
    Ok(())
}

/// Puts the services back as `cargo xtask services up` starts them (no trace export).
struct RestoreServices;

impl Drop for RestoreServices {
    fn drop(&mut self) {
        let restored = services("down", None).and_then(|()| services("up", None));
        if let Err(error) = restored {
            eprintln!("observability: cannot restore the services: {error:#}");
        }
    }
}

fn random_trace_id() -> String {
    Uuid::new_v4().simple().to_string()
}

fn random_span_id() -> String {
    Uuid::new_v4().simple().to_string()[..16].to_owned()
}

fn post(url: &str, traceparent: &str, body: &Value) -> Result<Value> {
    let mut response = e2e::http()
        .post(url)
        .header("Authorization", "Basic cm9vdDpQQHNzdzByZDE=")
        .header("Content-Type", "application/json")
        .header("traceparent", traceparent)
        .send(body.to_string())
        .with_context(|| format!("POST {url}: {NOT_UP}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    ensure!(status == 201, "POST {url}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

/// Waits until planning's ratio for `person_id` has a numeric result (person and balance
/// sheet both applied).
fn wait_for_ratio(person_id: &str) -> Result<()> {
    let url = format!(
        "{}/api/ratios/{person_id}/",
        e2e::service_url(contracts::topology::planning::PORT)
    );
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut response = e2e::http()
            .get(&url)
            .header("Authorization", "Basic cm9vdDpQQHNzdzByZDE=")
            .call()
            .with_context(|| format!("GET {url}: {NOT_UP}"))?;
        let text = response.body_mut().read_to_string()?;
        if response.status().as_u16() == 200 {
            let ratios: Value = serde_json::from_str(&text)?;
            if ratios[0]["result"]["ratio"].is_number() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("planning has no ratio for {person_id} after {TIMEOUT:?}: {text}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the receiver holds spans of `trace_id` that satisfy `complete`.
fn wait_for_spans(
    receiver: &Receiver,
    trace_id: &str,
    complete: impl Fn(&[ReceivedSpan]) -> bool,
) -> Result<Vec<ReceivedSpan>> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let spans: Vec<_> = receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id() == trace_id)
            .collect();
        if complete(&spans) {
            return Ok(spans);
        }
        if Instant::now() > deadline {
            bail!(
                "trace {trace_id} incomplete after {TIMEOUT:?}; spans: {:#?}",
                spans
                    .iter()
                    .map(|s| (&s.service, &s.span.name, s.span.kind))
                    .collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn find<'a>(
    spans: &'a [ReceivedSpan],
    service: &str,
    kind: i32,
    name: &str,
) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .find(|s| s.service == service && s.span.kind == kind && s.span.name == name)
}

fn the<'a>(
    spans: &'a [ReceivedSpan],
    service: &str,
    kind: i32,
    name: &str,
) -> Result<&'a ReceivedSpan> {
    find(spans, service, kind, name).with_context(|| {
        format!(
            "no {name:?} span (kind {kind}) from {service}; got {:#?}",
            spans
                .iter()
                .map(|s| (&s.service, &s.span.name, s.span.kind))
                .collect::<Vec<_>>()
        )
    })
}

/// `descendant` is below `ancestor` in the trace (through spans of `spans`).
fn descends_from(
    spans: &[ReceivedSpan],
    descendant: &ReceivedSpan,
    ancestor: &ReceivedSpan,
) -> bool {
    let mut parent = descendant.parent_span_id();
    for _ in 0..spans.len() {
        if parent == ancestor.span_id() {
            return true;
        }
        match spans.iter().find(|s| s.span_id() == parent) {
            Some(span) => parent = span.parent_span_id(),
            None => return false,
        }
    }
    false
}

/// Every span's parent is the caller's span or another span of the trace: one tree.
fn is_one_tree(spans: &[ReceivedSpan], caller_span_id: &str) -> Result<()> {
    for span in spans {
        let parent = span.parent_span_id();
        ensure!(
            parent == caller_span_id || spans.iter().any(|s| s.span_id() == parent),
            "span {:?} of {} has parent {parent:?}, which is neither the caller nor a span of the trace",
            span.span.name,
            span.service
        );
    }
    Ok(())
}

#[test]
fn writes_are_traced_across_every_service() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let receiver = runtime.block_on(Receiver::start(SocketAddr::from(([127, 0, 0, 1], 0))))?;
    let _restore = RestoreServices;
    let started = Instant::now();
    services("down", None)?;
    services("up", Some(&receiver.endpoint()))?;
    eprintln!(
        "observability: services exporting after {:.1?}",
        started.elapsed()
    );
    a_person_and_a_balance_sheet_are_each_one_trace(&receiver)?;
    eprintln!(
        "observability: both traces complete after {:.1?}",
        started.elapsed()
    );
    a_request_without_a_valid_traceparent_starts_a_trace(&receiver)?;
    eprintln!("observability: done after {:.1?}", started.elapsed());
    Ok(())
}

fn a_person_and_a_balance_sheet_are_each_one_trace(receiver: &Receiver) -> Result<()> {
    let person_trace = random_trace_id();
    let person_caller = random_span_id();
    let person = post(
        &format!(
            "{}/api/persons/",
            e2e::service_url(contracts::topology::person::PORT)
        ),
        &format!("00-{person_trace}-{person_caller}-01"),
        &json!({"first_name": "Trace", "last_name": "Person", "date_of_birth": "1980-02-23T00:00:00Z"}),
    )?;
    let person_id = person["id"].as_str().context("person id")?.to_owned();

    let sheet_trace = random_trace_id();
    let sheet_caller = random_span_id();
    post(
        &format!(
            "{}/api/balance-sheets/",
            e2e::service_url(contracts::topology::accounting::PORT)
        ),
        &format!("00-{sheet_trace}-{sheet_caller}-01"),
        &json!({"person_id": person_id, "assets": 3340000, "liabilities": 537300}),
    )?;
    wait_for_ratio(&person_id)?;

    // The person: REST → outbox → (Debezium, Kafka) → planning's consumer.
    let person_process = format!("process {PERSON_TOPIC}");
    let spans = wait_for_spans(receiver, &person_trace, |spans| {
        find(spans, "planning-service", CONSUMER, &person_process).is_some()
    })?;
    let server = the(&spans, "person-service", SERVER, "POST /api/persons/")?;
    ensure!(
        server.parent_span_id() == person_caller,
        "the server span continues the caller's"
    );
    ensure!(server.attribute("http.route").as_deref() == Some("/api/persons/"));
    ensure!(server.attribute("http.request.method").as_deref() == Some("POST"));
    ensure!(server.attribute("http.response.status_code").as_deref() == Some("201"));
    let outbox = the(
        &spans,
        "person-service",
        PRODUCER,
        &format!("publish {PERSON_TOPIC}"),
    )?;
    ensure!(
        descends_from(&spans, outbox, server),
        "the outbox write is inside the request"
    );
    let process = the(&spans, "planning-service", CONSUMER, &person_process)?;
    ensure!(
        process.parent_span_id() == outbox.span_id(),
        "planning's span is the child of the outbox write (the relayed traceparent)"
    );
    ensure!(
        process
            .attribute("messaging.consumer.group.name")
            .as_deref()
            == Some(contracts::topology::planning::subscriptions::PERSON_ENTITY_STATE.group)
    );
    ensure!(process.attribute("messaging.destination.name").as_deref() == Some(PERSON_TOPIC));
    ensure!(
        process.attribute("messaging.kafka.message.key").as_deref() == Some(person_id.as_str())
    );
    ensure!(process.attribute("messaging.kafka.offset").is_some());
    ensure!(
        process
            .attribute("messaging.destination.partition.id")
            .is_some()
    );
    is_one_tree(&spans, &person_caller)?;

    // The balance sheet: REST (row with its traceparent) → CDC → accounting's translator →
    // its outbox → planning's consumer.
    let cdc_process = format!("process {CDC_TOPIC}");
    let sheet_process = format!("process {BALANCE_SHEET_TOPIC}");
    // Both consumers' spans: each process exports on its own schedule, so planning's can
    // arrive before the translator's that caused it.
    let spans = wait_for_spans(receiver, &sheet_trace, |spans| {
        find(spans, "planning-service", CONSUMER, &sheet_process).is_some()
            && find(spans, "accounting-service", CONSUMER, &cdc_process).is_some()
    })?;
    let server = the(
        &spans,
        "accounting-service",
        SERVER,
        "POST /api/balance-sheets/",
    )?;
    ensure!(
        server.parent_span_id() == sheet_caller,
        "the server span continues the caller's"
    );
    let translator = the(&spans, "accounting-service", CONSUMER, &cdc_process)?;
    ensure!(
        translator.parent_span_id() == server.span_id(),
        "the translator continues the request that wrote the captured row"
    );
    ensure!(
        translator
            .attribute("messaging.consumer.group.name")
            .as_deref()
            == Some("accounting-consumer-1")
    );
    let outbox = the(
        &spans,
        "accounting-service",
        PRODUCER,
        &format!("publish {BALANCE_SHEET_TOPIC}"),
    )?;
    ensure!(
        descends_from(&spans, outbox, translator),
        "the translator writes the outbox row"
    );
    let process = the(&spans, "planning-service", CONSUMER, &sheet_process)?;
    ensure!(process.parent_span_id() == outbox.span_id());
    ensure!(
        process
            .attribute("messaging.consumer.group.name")
            .as_deref()
            == Some(contracts::topology::planning::subscriptions::BALANCE_SHEET_CREATED.group)
    );
    is_one_tree(&spans, &sheet_caller)?;

    // Unrelated traces stay apart: nothing of one trace is in the other.
    ensure!(person_trace != sheet_trace);
    Ok(())
}

fn a_request_without_a_valid_traceparent_starts_a_trace(receiver: &Receiver) -> Result<()> {
    let person = post(
        &format!(
            "{}/api/persons/",
            e2e::service_url(contracts::topology::person::PORT)
        ),
        "00-not-a-trace-context",
        &json!({"first_name": "Untraced", "last_name": "Person", "date_of_birth": "1980-02-23T00:00:00Z"}),
    )?;
    let person_id = person["id"].as_str().context("person id")?.to_owned();
    let deadline = Instant::now() + TIMEOUT;
    let process = loop {
        let spans = receiver.spans();
        let found = spans.iter().find(|s| {
            s.service == "planning-service"
                && s.attribute("messaging.kafka.message.key").as_deref() == Some(person_id.as_str())
        });
        if let Some(process) = found {
            break process.clone();
        }
        if Instant::now() > deadline {
            bail!("no planning span for {person_id} after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let spans: Vec<_> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.trace_id() == process.trace_id())
        .collect();
    let server = the(&spans, "person-service", SERVER, "POST /api/persons/")?;
    ensure!(
        server.parent_span_id().is_empty(),
        "the malformed traceparent was ignored: the request is the trace's root"
    );
    ensure!(descends_from(&spans, &process, server));
    Ok(())
}
