//! Partial outages and sharp edges on the real stack (issue 12 item 3, issue 14 items 1, 6
//! and 8): what the health endpoints and `/metrics` say when the schema registry, Kafka
//! Connect or a replication slot is gone, that a flood of probes does not grow the service's
//! threads, and that the person API refuses dates of birth it cannot tell from "unknown".
//!
//! Each test that breaks a stack component puts it back before it ends (started, connectors
//! applied or recovered, person ready again), so the suites after it find the stack as they
//! expect. The test binary is its own (cargo runs test binaries one after another); run it
//! with `--test-threads=1`, as CI does. Needs the stack, the connectors and the services
//! (`cargo xtask services up && cargo xtask stack connectors`).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use chrono::{TimeZone, Utc};
use contract_runtime::client::HttpClient;
use contracts::person_api::{self, CreatePersonResponse, PersonInput, PersonPatch};
use contracts::topology::{self, connectors::PERSON_OUTBOX};
use e2e::{NOT_UP, Stack};
use ops::connectors::Connect;
use serde_json::Value;
use service_kit::health::OPTIONAL_DETAIL;

/// How long a component may take to be noticed, or to come back.
const SETTLE: Duration = Duration::from_secs(180);

fn person_url(path: &str) -> String {
    format!("{}{path}", e2e::service_url(topology::person::PORT))
}

fn persons() -> person_api::Client {
    person_api::Client::new(
        HttpClient::new(e2e::service_url(topology::person::PORT))
            .with_credentials(e2e::DEMO_USERNAME, e2e::DEMO_PASSWORD),
    )
}

/// `GET` one of person's health endpoints: status and body.
fn health(path: &str) -> Result<(u16, Value)> {
    e2e::get(&person_url(path))
}

/// Polls `probe` every half second until it returns `Some`, or fails after `timeout` with the
/// last observation.
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<(Option<T>, String)>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let (found, seen) = probe()?;
        if let Some(found) = found {
            return Ok(found);
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {timeout:?}; last seen: {seen}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until person's `/health/ready` is `200` with every check passing.
fn wait_person_ready(what: &str) -> Result<()> {
    wait_for(what, SETTLE, || {
        let (status, body) = health("/health/ready")?;
        Ok((
            (status == 200 && body["status"] == "ok").then_some(()),
            body.to_string(),
        ))
    })
}

/// Person's `/metrics` text.
fn metrics() -> Result<String> {
    let url = person_url("/metrics");
    let mut response = e2e::http()
        .get(&url)
        .call()
        .with_context(|| format!("GET {url}: {NOT_UP}"))?;
    ensure!(response.status() == 200, "GET {url}: {}", response.status());
    Ok(response.body_mut().read_to_string()?)
}

/// The value of the sample `name{labels}` (labels as exposed, e.g. `slot="x"`).
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
}

/// The person service's process id, as `cargo xtask services up` recorded it.
fn person_pid() -> Result<u32> {
    let path = e2e::root().join(".stack/run/person-service.pid");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: run `cargo xtask services up`", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("{} holds {text:?}", path.display()))
}

fn threads_of(pid: u32) -> Result<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("person (pid {pid}) is not running"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .context("no Threads: line in /proc/<pid>/status")?
        .trim()
        .parse()
        .context("Threads: is not a number")
}

fn person_input(first_name: &str, date_of_birth: chrono::DateTime<Utc>) -> PersonInput {
    PersonInput {
        first_name: first_name.into(),
        last_name: "Hardening".into(),
        date_of_birth: Some(date_of_birth),
    }
}

/// The check `name` of a health body, with its readiness and detail.
fn check(body: &Value, name: &str) -> (bool, String) {
    let check = &body["checks"][name];
    (
        check["ready"].as_bool().unwrap_or(false),
        check["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn without_the_registry_person_writes_stays_ready_and_says_degraded() -> Result<()> {
    wait_person_ready("person ready before the registry stops")?;
    // A running service has written before: its schema id is cached (a process that never
    // encoded an event needs the registry for its first write).
    let CreatePersonResponse::Created(_) = persons()
        .create_person(&person_input("Before", Utc::now()))
        .await
        .with_context(|| format!("person is not answering; {NOT_UP}"))?;

    e2e::xtask(&["stack", "stop", "registry"])?;
    let outcome = async {
        let (registry_detail, health_body) =
            wait_for("/health/ says degraded naming the registry", SETTLE, || {
                let (status, body) = health("/health/")?;
                let (ready, detail) = check(&body, "registry");
                let degraded =
                    status == 200 && body["status"] == "ok" && body["degraded"] == true && !ready;
                Ok((degraded.then(|| (detail, body.clone())), body.to_string()))
            })?;
        ensure!(
            registry_detail.starts_with(OPTIONAL_DETAIL),
            "the registry's check does not say it is optional: {health_body}"
        );
        let (status, ready) = health("/health/ready")?;
        ensure!(
            status == 200 && ready["status"] == "ok" && ready["degraded"] == true,
            "readiness without the registry: {status} {ready}"
        );
        let (status, live) = health("/health/live")?;
        ensure!(status == 200, "liveness: {status} {live}");

        let created = persons()
            .create_person(&person_input("During", Utc::now()))
            .await;
        ensure!(
            matches!(created, Ok(CreatePersonResponse::Created(_))),
            "a write without the registry: {created:?}"
        );
        Ok(())
    }
    .await;

    e2e::xtask(&["stack", "start", "registry"])?;
    wait_person_ready("person ready after the registry is back")?;
    outcome
}

#[test]
fn without_kafka_connect_person_is_not_ready_naming_its_connector() -> Result<()> {
    wait_person_ready("person ready before Connect stops")?;
    let relay = format!("relay:{}", PERSON_OUTBOX.name);

    e2e::xtask(&["stack", "stop", "connect"])?;
    let outcome = (|| {
        let body = wait_for("/health/ready fails on the connector", SETTLE, || {
            let (status, body) = health("/health/ready")?;
            let (ready, _) = check(&body, &relay);
            Ok((
                (status == 503 && !ready).then(|| body.clone()),
                body.to_string(),
            ))
        })?;
        ensure!(
            body["status"] == "unavailable",
            "readiness without Connect: {body}"
        );
        // The API itself works (the outbox keeps the events): /health/ stays 200, degraded.
        let (status, overall) = health("/health/")?;
        let (ready, detail) = check(&overall, &relay);
        ensure!(
            status == 200 && overall["status"] == "ok" && overall["degraded"] == true && !ready,
            "/health/ without Connect: {status} {overall}"
        );
        ensure!(
            detail.contains("Kafka Connect"),
            "the check does not say why: {detail}"
        );
        let labels = format!("connector=\"{}\"", PERSON_OUTBOX.name);
        wait_for("relay_connector_running is 0", SETTLE, || {
            let text = metrics()?;
            let value = sample(&text, "relay_connector_running", &labels);
            Ok(((value == Some(0.0)).then_some(()), format!("{value:?}")))
        })
    })();

    e2e::xtask(&["stack", "start", "connect"])?;
    e2e::xtask(&["stack", "connectors"])?;
    wait_person_ready("person ready after Connect is back")?;
    outcome
}

#[test]
fn a_dropped_slot_is_missing_in_readiness_and_metrics_until_recovered() -> Result<()> {
    let stack = Stack::load()?;
    wait_person_ready("person ready before the slot is dropped")?;
    let slot = PERSON_OUTBOX.slot;
    let slot_check = format!("slot:{slot}");
    let labels = format!("slot=\"{slot}\"");

    e2e::xtask(&["stack", "stop", "connect"])?;
    let outcome = (|| {
        // The walsender of the stopped Connect lets go of the slot within moments.
        let drop = format!("SELECT pg_drop_replication_slot('{slot}')");
        wait_for("the slot is dropped", SETTLE, || {
            match e2e::psql(&stack, stack.get("PG_SUPERUSER_URL")?, &drop) {
                Ok(()) => Ok((Some(()), "dropped".into())),
                Err(error) => Ok((None, format!("{error:#}"))),
            }
        })?;
        let detail = wait_for("/health/ready says the slot is missing", SETTLE, || {
            let (status, body) = health("/health/ready")?;
            let (ready, detail) = check(&body, &slot_check);
            let missing = status == 503 && !ready && detail.contains("missing");
            Ok((missing.then_some(detail), body.to_string()))
        })?;
        ensure!(detail.contains("recover"), "no way out named: {detail}");
        wait_for("/metrics says the slot is missing", SETTLE, || {
            let text = metrics()?;
            let exists = sample(&text, "replication_slot_exists", &labels);
            let active = sample(&text, "replication_slot_active", &labels);
            let seen = format!("exists {exists:?}, active {active:?}");
            Ok((
                (exists == Some(0.0) && active == Some(0.0)).then_some(()),
                seen,
            ))
        })
    })();

    // Back: the connector's stored offset points into the dropped slot's WAL, so it fails;
    // recovering restarts it from fresh offsets on a new slot (nothing was written to the
    // person outbox in the gap by this test).
    e2e::xtask(&["stack", "start", "connect"])?;
    let connect = Connect::new(stack.connect()?);
    let recovered = wait_for(
        "the connector recovers",
        SETTLE,
        || match ops::connectors::recover(
            &connect,
            vec![PERSON_OUTBOX.name.to_owned()],
            Duration::from_secs(120),
        ) {
            Ok(names) => Ok((Some(names), "recovered".into())),
            Err(error) => Ok((None, format!("{error:#}"))),
        },
    )?;
    ensure!(recovered == [PERSON_OUTBOX.name], "recovered {recovered:?}");
    wait_person_ready("person ready after the slot is recreated")?;
    let text = metrics()?;
    ensure!(
        sample(&text, "replication_slot_exists", &labels) == Some(1.0)
            && sample(&text, "replication_slot_active", &labels) == Some(1.0),
        "the new slot is not in /metrics"
    );
    ensure!(
        sample(&text, "replication_slot_retained_wal_bytes", &labels).is_some(),
        "no retained WAL for {slot}"
    );
    outcome
}

#[test]
fn a_flood_of_health_calls_does_not_grow_the_threads() -> Result<()> {
    let pid = person_pid()?;
    let flood = |calls_per_thread: usize| -> Result<()> {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                std::thread::spawn(move || -> Result<()> {
                    for _ in 0..calls_per_thread {
                        let (status, body) = health("/health/")?;
                        ensure!(status == 200, "/health/: {status} {body}");
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a flood thread panicked"))??;
        }
        Ok(())
    };
    // A first round lets the runtime start whatever threads it keeps (its blocking pool).
    flood(5)?;
    let before = threads_of(pid)?;
    flood(25)?;
    let after = threads_of(pid)?;
    println!("hardening: person threads {before} before, {after} after 400 /health/ calls");
    // One Kafka client per process and one check at a time: at most the blocking pool's
    // thread of the one metadata call in flight may come and go.
    ensure!(
        after <= before + 1,
        "400 /health/ calls grew person from {before} to {after} threads"
    );
    Ok(())
}

#[tokio::test]
async fn dates_of_birth_before_1900_or_in_the_future_are_400_naming_the_field() -> Result<()> {
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let too_early = Utc
        .with_ymd_and_hms(1899, 12, 31, 0, 0, 0)
        .single()
        .context("a valid date")?;
    for date_of_birth in [too_early, tomorrow] {
        let error = persons()
            .create_person(&person_input("Dob", date_of_birth))
            .await
            .expect_err("refused");
        ensure!(
            error.status().map(|s| s.as_u16()) == Some(400),
            "{date_of_birth}: {error:?}"
        );
        let problem = error.problem().context("a problem document")?;
        let violations = problem.errors.as_deref().unwrap_or_default();
        ensure!(
            violations
                .iter()
                .any(|v| v.pointer == "/body/date_of_birth"),
            "{date_of_birth}: {problem:?}"
        );
    }
    // The first accepted day, and a patch to the future refused the same way.
    let earliest = Utc
        .with_ymd_and_hms(1900, 1, 1, 0, 0, 0)
        .single()
        .context("a valid date")?;
    let CreatePersonResponse::Created(person) = persons()
        .create_person(&person_input("Dob", earliest))
        .await?;
    let patched = persons()
        .update_person(
            person.id,
            &PersonPatch {
                date_of_birth: Some(Some(tomorrow)),
                ..PersonPatch::default()
            },
        )
        .await
        .expect_err("refused");
    ensure!(
        patched.status().map(|s| s.as_u16()) == Some(400),
        "{patched:?}"
    );
    persons().delete_person(person.id).await?;
    Ok(())
}
