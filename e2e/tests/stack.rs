//! Integration tests against the real local stack: Kafka, the registry's Confluent API,
//! Kafka Connect with the Debezium connectors, PostgreSQL.
//!
//! They read the connection facts from the environment, else from `.stack/env`, and fail
//! (never skip) with the command to run when the stack is not up. Run them with
//! `cargo xtask stack test` (up + connectors + these tests).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use contract_runtime::event::CanonicalEvent;
use e2e::{
    NOT_UP, Stack, admin, call, consumer_at_end, get, header, http, kafka_config, poll_until, psql,
    registry_post, xtask,
};
use rdkafka::admin::{AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};

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
    // Entity topics compacted; private topics as the manifest declares them.
    let mut expected: Vec<(&str, &str)> = vec![
        (contracts::events::Person::TOPIC, "compact"),
        (contracts::events::BalanceSheet::TOPIC, "compact"),
    ];
    expected.extend(
        contracts::topology::SYSTEM
            .private_topics
            .iter()
            .map(|topic| (topic.name, topic.cleanup_policy)),
    );
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

/// The private topic accounting's CDC connector writes.
const CDC_TOPIC: &str = contracts::topology::private_topics::PRIVATE_ACCOUNTING_BAL_SHEET_CDC.name;

#[test]
fn connectors_run_and_relay_outbox_rows_and_balance_sheet_changes() -> Result<()> {
    let stack = Stack::load()?;
    // Idempotent: creates the tables if needed and (re)applies the declared connectors.
    xtask(&["stack", "connectors"])?;
    let connect = stack.connect()?;
    for name in contracts::topology::SYSTEM
        .connectors
        .iter()
        .map(|c| c.name)
    {
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
    let cdc = consumer_at_end(&stack, CDC_TOPIC)?;
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
