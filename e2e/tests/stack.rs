//! Integration tests against the real local stack: Kafka, the registry's Confluent API,
//! Kafka Connect with the Debezium connectors, PostgreSQL.
//!
//! They read the connection facts from the environment, else from `.stack/env`, and fail
//! (never skip) with the command to run when the stack is not up. Run them with
//! `cargo xtask stack test` (up + connectors + these tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};

const NOT_UP: &str = "the local stack is not up: run `cargo xtask stack up` (and \
                      `cargo xtask stack connectors`), or `cargo xtask stack test`";

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Connection facts: environment variables override `.stack/env`.
struct Stack {
    facts: BTreeMap<String, String>,
}

impl Stack {
    fn load() -> Result<Self> {
        let path = root().join(".stack/env");
        let mut facts = BTreeMap::new();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for line in text.lines().map(str::trim) {
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    if let Some((key, value)) = line.split_once('=') {
                        facts.insert(key.trim().to_owned(), value.trim().to_owned());
                    }
                }
            }
            Err(error) if std::env::var_os("KAFKA_BOOTSTRAP_SERVERS").is_none() => {
                bail!("{NOT_UP} ({} is unreadable: {error})", path.display());
            }
            Err(_) => {}
        }
        for (key, value) in std::env::vars() {
            if facts.contains_key(&key) {
                facts.insert(key, value);
            }
        }
        Ok(Self { facts })
    }

    fn get(&self, key: &str) -> Result<&str> {
        self.facts
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("{key} is not set; {NOT_UP}"))
    }

    fn kafka(&self) -> Result<&str> {
        self.get("KAFKA_BOOTSTRAP_SERVERS")
    }

    fn registry(&self) -> Result<&str> {
        self.get("SCHEMA_REGISTRY_URL")
    }

    fn connect(&self) -> Result<&str> {
        self.get("KAFKA_CONNECT_URL")
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Sends a request; returns the status and the JSON body (Null when empty).
fn call(
    request: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    what: &str,
) -> Result<(u16, Value)> {
    let mut response = request.with_context(|| format!("{what}: {NOT_UP}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("{what}: reading the body"))?;
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).with_context(|| format!("{what}: non-JSON body {text:?}"))?
    };
    Ok((status, body))
}

const SCHEMA_REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";

fn registry_post(url: &str, body: &Value) -> Result<(u16, Value)> {
    call(
        http()
            .post(url)
            .header("Content-Type", SCHEMA_REGISTRY_JSON)
            .send(body.to_string()),
        &format!("POST {url}"),
    )
}

fn get(url: &str) -> Result<(u16, Value)> {
    call(http().get(url).call(), &format!("GET {url}"))
}

fn kafka_config(stack: &Stack) -> Result<ClientConfig> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", stack.kafka()?);
    Ok(config)
}

fn admin(stack: &Stack) -> Result<AdminClient<DefaultClientContext>> {
    kafka_config(stack)?
        .create()
        .context("creating a Kafka admin client")
}

/// Runs `cargo xtask <args>` in the workspace (same cargo as the one running the tests).
fn xtask(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .current_dir(root())
        .args(["run", "--quiet", "-p", "xtask", "--"])
        .args(args)
        .status()
        .with_context(|| format!("running {cargo} xtask {}", args.join(" ")))?;
    ensure!(
        status.success(),
        "`cargo xtask {}` failed: {status}",
        args.join(" ")
    );
    Ok(())
}

/// Runs one SQL script through `psql` against `url`.
fn psql(stack: &Stack, url: &str, sql: &str) -> Result<()> {
    let psql = stack
        .get("STACK_PG_BIN_DIR")
        .map(|dir| Path::new(dir).join("psql"))
        .unwrap_or_else(|_| PathBuf::from("psql"));
    let output = Command::new(&psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .with_context(|| format!("running {}", psql.display()))?;
    ensure!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// A consumer positioned at the current end of every partition of `topic`, so it only sees
/// what is produced after this call.
fn consumer_at_end(stack: &Stack, topic: &str) -> Result<BaseConsumer> {
    let consumer: BaseConsumer = kafka_config(stack)?
        .set("group.id", format!("e2e-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .context("creating a consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("reading metadata of {topic}: {NOT_UP}"))?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    ensure!(partitions > 0, "topic {topic} does not exist");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..i32::try_from(partitions)? {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .with_context(|| format!("reading watermarks of {topic}/{partition}"))?;
        assignment.add_partition_offset(topic, partition, Offset::Offset(high))?;
    }
    consumer
        .assign(&assignment)
        .context("assigning partitions")?;
    Ok(consumer)
}

/// Polls until a message satisfies `wanted`, or fails after `timeout`.
fn poll_until(
    consumer: &BaseConsumer,
    timeout: Duration,
    wanted: impl Fn(&OwnedMessage) -> bool,
) -> Result<OwnedMessage> {
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let message = message.detach();
                if wanted(&message) {
                    return Ok(message);
                }
            }
            // Transient (e.g. a subscribed topic that Connect has not created yet): keep
            // polling, and report the last one if nothing arrives.
            Some(Err(error)) => last_error = Some(error),
            None => {}
        }
    }
    bail!("no matching message within {timeout:?} (last consumer error: {last_error:?})")
}

fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == name)
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

// ---------------------------------------------------------------------------------------
// Kafka

#[test]
fn kafka_round_trips_a_keyed_message_with_headers() -> Result<()> {
    let stack = Stack::load()?;
    let topic = format!("e2e_round_trip_{}", uuid::Uuid::new_v4().simple());
    let admin = admin(&stack)?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    // The broker does not auto-create topics: create it like any deliberate topic.
    let created = futures::executor::block_on(admin.create_topics(
        &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
        &options,
    ))
    .with_context(|| format!("creating {topic}: {NOT_UP}"))?;
    for result in created {
        result.map_err(|(name, code)| anyhow!("creating {name}: {code}"))?;
    }

    let producer: BaseProducer = kafka_config(&stack)?
        .set("enable.idempotence", "true")
        .create()
        .context("creating a producer")?;
    let value = [0u8, 0, 0, 0, 7, 42, 43];
    producer
        .send(
            BaseRecord::to(&topic)
                .key("entity-1")
                .payload(&value[..])
                .headers(OwnedHeaders::new().insert(Header {
                    key: "ce_type",
                    value: Some("e2e_test"),
                })),
        )
        .map_err(|(error, _)| anyhow!("producing: {error}"))?;
    producer
        .flush(Duration::from_secs(10))
        .context("flushing the producer")?;

    let consumer: BaseConsumer = kafka_config(&stack)?
        .set("group.id", format!("e2e-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .create()
        .context("creating a consumer")?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let message = poll_until(&consumer, Duration::from_secs(20), |_| true)?;
    assert_eq!(message.key(), Some(&b"entity-1"[..]));
    assert_eq!(message.payload(), Some(&value[..]));
    assert_eq!(header(&message, "ce_type").as_deref(), Some("e2e_test"));

    futures::executor::block_on(admin.delete_topics(&[&topic], &options))
        .context("deleting the test topic")?;
    Ok(())
}

#[test]
fn stack_topics_exist_and_public_ones_are_compacted() -> Result<()> {
    let stack = Stack::load()?;
    let admin = admin(&stack)?;
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let expected = [
        ("public_person_entity_events", "compact"),
        ("public_balance_sheet_entity_events", "compact"),
        ("private_accounting_bal_sheet_cdc", "delete"),
    ];
    let resources: Vec<ResourceSpecifier<'_>> = expected
        .iter()
        .map(|(topic, _)| ResourceSpecifier::Topic(topic))
        .collect();
    let described = futures::executor::block_on(admin.describe_configs(&resources, &options))
        .with_context(|| format!("describing topic configs: {NOT_UP}"))?;
    for ((topic, policy), result) in expected.iter().zip(described) {
        let resource = result.map_err(|code| anyhow!("describing {topic}: {code}"))?;
        let found = resource
            .get("cleanup.policy")
            .and_then(|entry| entry.value.clone());
        assert_eq!(found.as_deref(), Some(*policy), "cleanup.policy of {topic}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Schema registry (Confluent-compatible API of Apicurio)

#[test]
fn registry_keeps_schema_ids_across_a_restart_and_enforces_forward_compatibility() -> Result<()> {
    let stack = Stack::load()?;
    let base = stack.registry()?.to_owned();
    let subject = format!("e2e-{}-value", uuid::Uuid::new_v4().simple());
    let schema = json!({
        "type": "record", "name": "E2eProbe", "namespace": "e2e",
        "fields": [{"name": "a", "type": "string"}]
    });

    let (status, config) = get(&format!("{base}/config"))?;
    assert_eq!(status, 200);
    assert_eq!(
        config["compatibilityLevel"], "FORWARD",
        "global compatibility"
    );

    let (status, registered) = registry_post(
        &format!("{base}/subjects/{subject}/versions"),
        &json!({ "schema": schema.to_string() }),
    )?;
    assert_eq!(status, 200, "registering: {registered}");
    let id = registered["id"]
        .as_i64()
        .with_context(|| format!("no id in {registered}"))?;

    let read_back = |id: i64| -> Result<Value> {
        let (status, body) = get(&format!("{base}/schemas/ids/{id}"))?;
        ensure!(status == 200, "GET /schemas/ids/{id}: {status} {body}");
        let text = body["schema"].as_str().context("no schema text")?;
        serde_json::from_str(text).context("the stored schema is not JSON")
    };
    assert_eq!(read_back(id)?, schema);

    // FORWARD: data written with the new schema must stay readable with the old one, which
    // needs `a` (no default): dropping it must be refused.
    let incompatible = json!({
        "type": "record", "name": "E2eProbe", "namespace": "e2e",
        "fields": [{"name": "b", "type": "string"}]
    });
    let (status, body) = registry_post(
        &format!("{base}/subjects/{subject}/versions"),
        &json!({ "schema": incompatible.to_string() }),
    )?;
    assert_eq!(
        status, 409,
        "an incompatible schema must be rejected: {body}"
    );

    xtask(&["stack", "restart", "registry"])?;

    assert_eq!(read_back(id)?, schema, "schema id {id} after a restart");
    let (status, again) = registry_post(
        &format!("{base}/subjects/{subject}/versions"),
        &json!({ "schema": schema.to_string() }),
    )?;
    assert_eq!(status, 200);
    assert_eq!(
        again["id"].as_i64(),
        Some(id),
        "re-registering after a restart"
    );

    // Subject deletion is enabled (tests clean up after themselves).
    let (status, body) = call(
        http().delete(&format!("{base}/subjects/{subject}")).call(),
        "DELETE subject",
    )?;
    assert_eq!(status, 200, "soft-deleting {subject}: {body}");
    let (status, body) = call(
        http()
            .delete(&format!("{base}/subjects/{subject}?permanent=true"))
            .call(),
        "DELETE subject permanently",
    )?;
    assert_eq!(status, 200, "deleting {subject} permanently: {body}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Kafka Connect + Debezium

const CONNECTORS: [&str; 3] = [
    "person_outbox",
    "accounting_outbox",
    "accounting_bal_sheet_cdc",
];

#[test]
fn connectors_run_and_relay_outbox_rows_and_balance_sheet_changes() -> Result<()> {
    let stack = Stack::load()?;
    // Idempotent: creates the tables if needed and (re)applies the declared connectors.
    xtask(&["stack", "connectors"])?;
    let connect = stack.connect()?;
    for name in CONNECTORS {
        let (status, body) = get(&format!("{connect}/connectors/{name}/status"))?;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["connector"]["state"], "RUNNING", "{name}: {body}");
        let tasks = body["tasks"].as_array().cloned().unwrap_or_default();
        assert!(!tasks.is_empty(), "{name} has no task: {body}");
        for task in tasks {
            assert_eq!(task["state"], "RUNNING", "{name}: {body}");
        }
    }

    // Outbox: the EventRouter routes by aggregatetype, so a throwaway topic keeps test
    // events off the public ones (Connect creates it through topic.creation.*).
    let topic = format!("e2e_outbox_{}", uuid::Uuid::new_v4().simple());
    let event_id = uuid::Uuid::new_v4();
    let tombstone_id = uuid::Uuid::new_v4();
    let key = uuid::Uuid::new_v4();
    psql(
        &stack,
        stack.get("DATABASE_URL_PERSON")?,
        &format!(
            "BEGIN;
             INSERT INTO outbox VALUES
               ('{event_id}', '{topic}', '{key}', 'person_entity_state', 'person-service',
                '2024-05-06T07:08:09.123Z', 'application/avro', '1.0', '\\x00000000012a'::bytea),
               ('{tombstone_id}', '{topic}', '{key}', 'person_entity_state', 'person-service',
                '2024-05-06T07:08:10Z', 'application/avro', '1.0', NULL);
             DELETE FROM outbox WHERE id IN ('{event_id}', '{tombstone_id}');
             COMMIT;"
        ),
    )?;
    let started = Instant::now();
    let consumer: BaseConsumer = kafka_config(&stack)?
        .set("group.id", format!("e2e-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .context("creating a consumer")?;
    consumer
        .subscribe(&[&topic])
        .context("subscribing to the test outbox topic")?;
    let event = poll_until(&consumer, Duration::from_secs(60), |message| {
        header(message, "ce_id").as_deref() == Some(&event_id.to_string())
    })?;
    println!("outbox event relayed in {:?}", started.elapsed());
    assert_eq!(event.key(), Some(key.to_string().as_bytes()));
    assert_eq!(event.payload(), Some(&[0u8, 0, 0, 0, 1, 42][..]));
    assert_eq!(
        header(&event, "ce_type").as_deref(),
        Some("person_entity_state")
    );
    assert_eq!(
        header(&event, "ce_source").as_deref(),
        Some("person-service")
    );
    assert_eq!(
        header(&event, "ce_time").as_deref(),
        Some("2024-05-06T07:08:09.123Z")
    );
    assert_eq!(
        header(&event, "content-type").as_deref(),
        Some("application/avro")
    );
    assert_eq!(header(&event, "ce_specversion").as_deref(), Some("1.0"));
    let tombstone = poll_until(&consumer, Duration::from_secs(30), |message| {
        header(message, "ce_id").as_deref() == Some(&tombstone_id.to_string())
    })?;
    assert_eq!(tombstone.key(), Some(key.to_string().as_bytes()));
    assert_eq!(tombstone.payload(), None, "a NULL payload is a tombstone");
    drop(consumer);
    let admin = admin(&stack)?;
    futures::executor::block_on(admin.delete_topics(&[&topic], &AdminOptions::new()))
        .context("deleting the test outbox topic")?;

    // CDC: a balance sheet row appears on the private topic, keyed by its id.
    let cdc = consumer_at_end(&stack, "private_accounting_bal_sheet_cdc")?;
    let sheet_id = uuid::Uuid::new_v4();
    let accounting = stack.get("DATABASE_URL_ACCOUNTING")?;
    psql(
        &stack,
        accounting,
        &format!(
            "INSERT INTO balance_sheet VALUES ('{sheet_id}', '{}', \
             '2024-05-06T07:08:09.5Z', 3340000, 537300)",
            uuid::Uuid::new_v4()
        ),
    )?;
    let change = poll_until(&cdc, Duration::from_secs(60), |message| {
        message.key() == Some(sheet_id.to_string().as_bytes())
    })?;
    let envelope: Value =
        serde_json::from_slice(change.payload().context("the CDC event has no value")?)?;
    assert_eq!(envelope["op"], "c");
    assert_eq!(envelope["after"]["assets"], 3340000);
    assert_eq!(envelope["after"]["liabilities"], 537300);
    // timestamptz arrives as an ISO-8601 UTC string (Debezium's ZonedTimestamp).
    let date = envelope["after"]["date_calculated"]
        .as_str()
        .unwrap_or_default();
    assert!(
        date.starts_with("2024-05-06T07:08:09.5") && date.ends_with('Z'),
        "date_calculated: {date}"
    );
    psql(
        &stack,
        accounting,
        &format!("DELETE FROM balance_sheet WHERE id = '{sheet_id}'"),
    )?;
    Ok(())
}
