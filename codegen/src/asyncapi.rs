//! `generated/asyncapi.yaml`: the whole system as one AsyncAPI 3.0 document.
//!
//! Built from the same contracts as the code: `events.toml` (each event's topic, key,
//! producer, CloudEvents facts and compatibility level), the Avro schemas it names, and
//! `system.toml` (who consumes what, in which group; private topics; connectors). So the
//! document cannot drift from the code: `gen --check` compares it like every generated file,
//! and CI validates it with the official AsyncAPI parser and its Avro schema parser.
//!
//! - channels: one per topic, with the Kafka channel binding (topic, partitions, replicas and
//!   cleanup policy, from `[[topic]]` in events.toml and `[[private_topic]]` in system.toml);
//! - messages: one per event, the Avro schema as payload (`schemaFormat` for Avro 1.9.0), the
//!   CloudEvents binary-mode headers, and the Kafka message binding (key, schema id in the
//!   payload with Confluent framing, topic-name subject strategy);
//! - operations: each producer's `send` and each subscription's `receive`, the consumer group
//!   in the Kafka operation binding.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::topology::{ConnectorRole, System};
use crate::{CodegenError, EventSpec, Manifest, Result};

/// The document's file in the output crate (`generated/asyncapi.yaml` in this repository).
pub const ASYNCAPI_FILE: &str = "asyncapi.yaml";

/// The Avro schema format the payloads declare (the version `@asyncapi/avro-schema-parser`
/// supports, and the spec our schemas use).
pub const AVRO_SCHEMA_FORMAT: &str = "application/vnd.apache.avro;version=1.9.0";

const KAFKA_BINDING_VERSION: &str = "0.5.0";
const SERVER: &str = "kafka";

/// The AsyncAPI document (YAML), starting with `header` (the Rust files' `@generated` line) as
/// a YAML comment.
pub fn generate_asyncapi(
    contracts: &Path,
    manifest: &Manifest,
    system: &System,
    header: &str,
) -> Result<String> {
    let mut doc = Mapping::new();
    doc.insert("asyncapi".into(), "3.0.0".into());
    doc.insert("info".into(), info());
    doc.insert("defaultContentType".into(), "application/avro".into());
    doc.insert("servers".into(), servers());

    let mut channels = Mapping::new();
    let mut operations = Mapping::new();
    let mut messages = Mapping::new();
    for event in &manifest.events {
        let schema_path = contracts.join(&event.schema);
        let schema_text =
            std::fs::read_to_string(&schema_path).map_err(|e| CodegenError::io(&schema_path, e))?;
        let schema: Value =
            serde_yaml::from_str(&schema_text).map_err(|e| CodegenError::Parse {
                file: schema_path.clone(),
                message: e.to_string(),
            })?;
        messages.insert(
            event.event_type.clone().into(),
            event_message(event, &schema, &schema_path)?,
        );
        let settings = manifest.topic(&event.topic).map(|topic| TopicSettings {
            partitions: topic.partitions,
            replicas: topic.replication_factor,
            cleanup_policy: &topic.cleanup_policy,
        });
        let channel = event_channel(event, settings.as_ref());
        match channels.get_mut(event.topic.as_str()) {
            // Several event types on one topic (the record-name subject strategies): one
            // channel carrying each of their messages.
            Some(Value::Mapping(existing)) => merge_channel(existing, channel),
            _ => {
                channels.insert(event.topic.clone().into(), channel);
            }
        }
        operations.insert(
            format!("{}_sends_{}", event.producer, event.event_type).into(),
            send_operation(event, system),
        );
    }
    for topic in &system.private_topics {
        let message = format!("{}_change", topic.connector);
        messages.insert(message.clone().into(), private_message(topic));
        channels.insert(
            topic.name.clone().into(),
            channel(
                &topic.name,
                &format!(
                    "Private topic of {owner}, written by the Debezium connector `{connector}` \
                     ({format}); not a contract: only {owner} reads it.",
                    owner = topic.owner,
                    connector = topic.connector,
                    format = topic.format,
                ),
                &message,
                Some(&TopicSettings {
                    partitions: topic.partitions,
                    replicas: topic.replication_factor,
                    cleanup_policy: &topic.cleanup_policy,
                }),
            ),
        );
        let table = system
            .connector(&topic.connector)
            .map(|c| format!(" capturing `{}`", c.table))
            .unwrap_or_default();
        operations.insert(
            format!("{}_sends_{}", topic.owner, topic.name).into(),
            operation(
                "send",
                &topic.name,
                &message,
                &format!(
                    "The Debezium connector `{}` of {}{table} writes every change.",
                    topic.connector, topic.owner
                ),
                None,
            ),
        );
    }
    for subscription in &system.subscriptions {
        let message = match &subscription.event {
            Some(event) => event.clone(),
            None => system
                .private_topics
                .iter()
                .find(|t| t.name == subscription.topic)
                .map(|t| format!("{}_change", t.connector))
                .ok_or_else(|| {
                    CodegenError::invalid(
                        contracts.join(crate::topology::SYSTEM_FILE),
                        "/subscription",
                        format!(
                            "subscription `{}` reads `{}`, which is neither an event's topic \
                             nor a private topic",
                            subscription.group, subscription.topic
                        ),
                    )
                })?,
        };
        operations.insert(
            format!("{}_receives_{}", subscription.service, message).into(),
            operation(
                "receive",
                &subscription.topic,
                &message,
                &format!(
                    "{} consumes `{}` in the consumer group `{}` ({} subscription).",
                    subscription.service,
                    subscription.topic,
                    subscription.group,
                    subscription.kind.as_str()
                ),
                Some(&subscription.group),
            ),
        );
    }
    doc.insert("channels".into(), Value::Mapping(channels));
    doc.insert("operations".into(), Value::Mapping(operations));
    let mut components = Mapping::new();
    components.insert("messages".into(), Value::Mapping(messages));
    doc.insert("components".into(), Value::Mapping(components));

    let yaml = serde_yaml::to_string(&Value::Mapping(doc)).map_err(|e| CodegenError::Parse {
        file: ASYNCAPI_FILE.into(),
        message: e.to_string(),
    })?;
    let header = header.replacen("//", "#", 1);
    Ok(format!("{header}\n{yaml}"))
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Mapping(
        entries
            .into_iter()
            .map(|(key, value)| (Value::from(key), value))
            .collect(),
    )
}

fn reference(pointer: &str) -> Value {
    map([("$ref", pointer.into())])
}

fn kafka_binding<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut binding = match map(entries) {
        Value::Mapping(binding) => binding,
        _ => Mapping::new(),
    };
    binding.insert("bindingVersion".into(), KAFKA_BINDING_VERSION.into());
    map([("kafka", Value::Mapping(binding))])
}

fn info() -> Value {
    map([
        (
            "title",
            "Person, accounting and planning: events on Kafka".into(),
        ),
        ("version", env!("CARGO_PKG_VERSION").into()),
        (
            "description",
            "Every event of the system, who produces and who consumes it. Generated by \
             `cargo xtask gen` from contracts/events.toml, the Avro schemas and \
             contracts/system.toml; values are Avro in the Confluent wire format (byte 0x00, \
             the 4-byte schema id, the body) with CloudEvents 1.0 binary-mode headers."
                .into(),
        ),
    ])
}

fn servers() -> Value {
    // No address is written here: the deployment decides it (locally `cargo xtask stack env`
    // prints both), and the stack's ports live in one place, xtask's stack configuration.
    map([(
        SERVER,
        map([
            ("host", "{bootstrap_servers}".into()),
            ("protocol", "kafka".into()),
            (
                "description",
                "The deployment's Kafka cluster and its schema registry (Apicurio Registry \
                 serving the Confluent-compatible API at `/apis/ccompat/v7`; the services read \
                 their addresses from KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL)."
                    .into(),
            ),
            (
                "variables",
                map([(
                    "bootstrap_servers",
                    map([(
                        "description",
                        "Kafka bootstrap servers, `host:port` (KAFKA_BOOTSTRAP_SERVERS).".into(),
                    )]),
                )]),
            ),
            (
                "bindings",
                kafka_binding([
                    ("schemaRegistryUrl", "{SCHEMA_REGISTRY_URL}".into()),
                    ("schemaRegistryVendor", "confluent".into()),
                ]),
            ),
        ]),
    )])
}

/// The Kafka settings a topic is created with, as the manifests declare them.
struct TopicSettings<'a> {
    partitions: u32,
    replicas: u16,
    cleanup_policy: &'a str,
}

fn channel(
    topic: &str,
    description: &str,
    message: &str,
    settings: Option<&TopicSettings<'_>>,
) -> Value {
    let binding = match settings {
        Some(settings) => kafka_binding([
            ("topic", topic.into()),
            ("partitions", u64::from(settings.partitions).into()),
            ("replicas", u64::from(settings.replicas).into()),
            (
                "topicConfiguration",
                map([(
                    "cleanup.policy",
                    Value::Sequence(vec![settings.cleanup_policy.into()]),
                )]),
            ),
        ]),
        // A topic without `[[topic]]` settings: the document states none.
        None => kafka_binding([("topic", topic.into())]),
    };
    map([
        ("address", topic.into()),
        ("description", description.into()),
        (
            "messages",
            map([(
                message,
                reference(&format!("#/components/messages/{message}")),
            )]),
        ),
        (
            "servers",
            Value::Sequence(vec![reference(&format!("#/servers/{SERVER}"))]),
        ),
        ("bindings", binding),
    ])
}

/// Adds `other`'s messages and description to the channel `existing` of the same topic.
fn merge_channel(existing: &mut Mapping, other: Value) {
    let Value::Mapping(other) = other else {
        return;
    };
    if let (Some(Value::Mapping(messages)), Some(Value::Mapping(more))) =
        (existing.get_mut("messages"), other.get("messages"))
    {
        messages.extend(more.clone());
    }
    if let (Some(Value::String(description)), Some(Value::String(more))) =
        (existing.get_mut("description"), other.get("description"))
    {
        description.push(' ');
        description.push_str(more);
    }
}

fn event_channel(event: &EventSpec, settings: Option<&TopicSettings<'_>>) -> Value {
    channel(
        &event.topic,
        &format!(
            "Canonical `{}` events, produced by {} only; registry subject `{}` \
             (compatibility {}).",
            event.event_type,
            event.producer,
            event.subject(),
            event.compatibility
        ),
        &event.event_type,
        settings,
    )
}

fn operation(
    action: &str,
    topic: &str,
    message: &str,
    description: &str,
    group: Option<&str>,
) -> Value {
    let channel = format!("#/channels/{}", escape_pointer(topic));
    let mut entries = vec![
        ("action", Value::from(action)),
        ("channel", reference(&channel)),
        ("description", description.into()),
        (
            "messages",
            Value::Sequence(vec![reference(&format!("{channel}/messages/{message}"))]),
        ),
    ];
    if let Some(group) = group {
        entries.push((
            "bindings",
            kafka_binding([(
                "groupId",
                map([
                    ("type", "string".into()),
                    ("enum", Value::Sequence(vec![group.into()])),
                ]),
            )]),
        ));
    }
    Value::Mapping(
        entries
            .into_iter()
            .map(|(key, value)| (Value::from(key), value))
            .collect(),
    )
}

fn send_operation(event: &EventSpec, system: &System) -> Value {
    let relay = system
        .connectors
        .iter()
        .find(|c| c.role == ConnectorRole::Outbox && c.events.contains(&event.event_type))
        .map(|c| {
            format!(
                " through its transactional outbox (`{}`), relayed by the Debezium connector \
                 `{}` (Outbox EventRouter)",
                c.table, c.name
            )
        })
        .unwrap_or_default();
    operation(
        "send",
        &event.topic,
        &event.event_type,
        &format!(
            "{} publishes `{}`{relay}, {}.",
            event.producer,
            event.event_type,
            match event.key_kind() {
                crate::Key::Field(field) => format!("keyed by `{field}`"),
                crate::Key::Fields(fields, separator) =>
                    format!("keyed by `{}` joined by `{separator}`", fields.join("`, `")),
                crate::Key::None => "without a key".to_string(),
            }
        ),
        None,
    )
}

fn event_message(event: &EventSpec, schema: &Value, schema_path: &Path) -> Result<Value> {
    let key = key_schema(event, schema, schema_path)?;
    let title = schema
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&event.event_type)
        .to_owned();
    let mut entries = vec![
        ("name", Value::from(event.event_type.as_str())),
        ("title", title.into()),
    ];
    if let Some(doc) = schema.get("doc").and_then(Value::as_str) {
        entries.push(("summary", doc.into()));
    }
    entries.extend([
        ("contentType", "application/avro".into()),
        ("headers", cloudevents_headers(event)),
        (
            "payload",
            map([
                ("schemaFormat", AVRO_SCHEMA_FORMAT.into()),
                ("schema", schema.clone()),
            ]),
        ),
        (
            "bindings",
            kafka_binding([
                ("key", key),
                ("schemaIdLocation", "payload".into()),
                ("schemaIdPayloadEncoding", "confluent".into()),
                (
                    "schemaLookupStrategy",
                    event.subject_strategy.confluent_name().into(),
                ),
            ]),
        ),
    ]);
    Ok(Value::Mapping(
        entries
            .into_iter()
            .map(|(key, value)| (Value::from(key), value))
            .collect(),
    ))
}

/// The message key: the key field's value as UTF-8 text (a uuid's canonical text).
fn key_schema(event: &EventSpec, schema: &Value, schema_path: &Path) -> Result<Value> {
    let key_field = match event.key_kind() {
        crate::Key::Field(field) => field,
        crate::Key::Fields(fields, separator) => {
            return Ok(Value::Mapping(
                [
                    ("type", Value::from("string")),
                    (
                        "description",
                        format!(
                            "The record's `{}` as UTF-8 text, joined by `{separator}`.",
                            fields.join("`, `")
                        )
                        .into(),
                    ),
                ]
                .into_iter()
                .map(|(key, value)| (Value::from(key), value))
                .collect(),
            ));
        }
        crate::Key::None => {
            return Ok(Value::Mapping(
                [
                    ("type", Value::from("null")),
                    (
                        "description",
                        Value::from("No key: published with a null key."),
                    ),
                ]
                .into_iter()
                .map(|(key, value)| (Value::from(key), value))
                .collect(),
            ));
        }
    };
    let field = schema
        .get("fields")
        .and_then(Value::as_sequence)
        .and_then(|fields| {
            fields
                .iter()
                .find(|f| f.get("name").and_then(Value::as_str) == Some(key_field.as_str()))
        })
        .ok_or_else(|| {
            CodegenError::invalid(
                schema_path,
                "/fields",
                format!("the key field `{key_field}` is not a field of the record"),
            )
        })?;
    let logical = field
        .get("type")
        .and_then(|t| t.get("logicalType"))
        .and_then(Value::as_str);
    let mut key = vec![
        ("type", Value::from("string")),
        (
            "description",
            format!("The record's `{key_field}` as UTF-8 text.").into(),
        ),
    ];
    if logical == Some("uuid") {
        key.push(("format", "uuid".into()));
    }
    Ok(Value::Mapping(
        key.into_iter()
            .map(|(key, value)| (Value::from(key), value))
            .collect(),
    ))
}

/// CloudEvents 1.0 binary mode on Kafka: the attributes as `ce_*` headers.
fn cloudevents_headers(event: &EventSpec) -> Value {
    let constant = |value: &str, description: &str| {
        map([
            ("type", "string".into()),
            ("const", value.into()),
            ("description", description.into()),
        ])
    };
    map([
        ("type", "object".into()),
        (
            "required",
            Value::Sequence(
                ["ce_id", "ce_source", "ce_type", "ce_time", "content-type"]
                    .into_iter()
                    .map(Value::from)
                    .collect(),
            ),
        ),
        (
            "properties",
            map([
                (
                    "ce_id",
                    map([
                        ("type", "string".into()),
                        ("format", "uuid".into()),
                        (
                            "description",
                            "The event's id; consumers apply each id once.".into(),
                        ),
                    ]),
                ),
                ("ce_source", constant(&event.source, "CloudEvents source.")),
                ("ce_type", constant(&event.event_type, "CloudEvents type.")),
                (
                    "ce_time",
                    map([
                        ("type", "string".into()),
                        ("format", "date-time".into()),
                        ("description", "When the change happened (RFC 3339).".into()),
                    ]),
                ),
                (
                    "content-type",
                    constant("application/avro", "Content type of the value."),
                ),
                (
                    "ce_specversion",
                    constant(
                        "1.0",
                        "Sent as 1.0; consumers accept its absence (the seed's relay omits \
                         it).",
                    ),
                ),
            ]),
        ),
    ])
}

fn private_message(topic: &crate::topology::PrivateTopic) -> Value {
    map([
        ("name", format!("{}_change", topic.connector).into()),
        (
            "title",
            format!("Change of {}'s captured table", topic.owner).into(),
        ),
        ("contentType", "application/json".into()),
        (
            "payload",
            map([
                ("type", "object".into()),
                (
                    "description",
                    format!(
                        "A Debezium change event envelope ({}): `before`, `after`, `op`, \
                         `source`, `ts_ms`; a tombstone follows each delete.",
                        topic.format
                    )
                    .into(),
                ),
            ]),
        ),
        (
            "bindings",
            kafka_binding([(
                "key",
                map([
                    ("type", "object".into()),
                    (
                        "description",
                        "The captured row's primary key (Debezium JSON).".into(),
                    ),
                ]),
            )]),
        ),
    ])
}

/// A channel name inside a JSON pointer (`~` and `/` escaped).
fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_document() -> Value {
        let contracts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts");
        let manifest = Manifest::load(&contracts).expect("events.toml loads");
        let system = System::load(&contracts).expect("system.toml loads");
        let text = generate_asyncapi(&contracts, &manifest, &system, crate::GENERATED_HEADER)
            .expect("generates");
        serde_yaml::from_str(&text).expect("the document is YAML")
    }

    #[test]
    fn every_event_has_a_channel_an_avro_message_and_its_producer_and_consumers() {
        let doc = repository_document();
        let contracts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts");
        let manifest = Manifest::load(&contracts).expect("events.toml loads");
        let system = System::load(&contracts).expect("system.toml loads");
        for event in &manifest.events {
            let channel = &doc["channels"][event.topic.as_str()];
            assert_eq!(channel["address"].as_str(), Some(event.topic.as_str()));
            // The topic's settings, as `[[topic]]` declares them.
            let topic = manifest.topic(&event.topic).expect("declared");
            let binding = &channel["bindings"]["kafka"];
            assert_eq!(
                binding["partitions"].as_u64(),
                Some(u64::from(topic.partitions))
            );
            assert_eq!(
                binding["replicas"].as_u64(),
                Some(u64::from(topic.replication_factor))
            );
            assert_eq!(
                binding["topicConfiguration"]["cleanup.policy"][0].as_str(),
                Some(topic.cleanup_policy.as_str())
            );
            let message = &doc["components"]["messages"][event.event_type.as_str()];
            assert_eq!(
                message["payload"]["schemaFormat"].as_str(),
                Some(AVRO_SCHEMA_FORMAT)
            );
            assert_eq!(
                message["payload"]["schema"]["type"].as_str(),
                Some("record")
            );
            assert_eq!(
                message["headers"]["properties"]["ce_type"]["const"].as_str(),
                Some(event.event_type.as_str())
            );
            assert_eq!(
                message["bindings"]["kafka"]["schemaIdLocation"].as_str(),
                Some("payload")
            );
            let send = &doc["operations"]
                [format!("{}_sends_{}", event.producer, event.event_type).as_str()];
            assert_eq!(send["action"].as_str(), Some("send"));
        }
        for subscription in &system.subscriptions {
            let receive = doc["operations"]
                .as_mapping()
                .expect("operations")
                .values()
                .find(|op| {
                    op["bindings"]["kafka"]["groupId"]["enum"][0].as_str()
                        == Some(subscription.group.as_str())
                })
                .unwrap_or_else(|| panic!("no operation for group {}", subscription.group));
            assert_eq!(receive["action"].as_str(), Some("receive"));
            assert_eq!(
                receive["channel"]["$ref"].as_str(),
                Some(format!("#/channels/{}", subscription.topic).as_str())
            );
        }
    }

    #[test]
    fn event_types_sharing_a_topic_share_its_channel() {
        let manifest: Manifest = toml::from_str(
            r#"
[[event]]
type = "payment_received"
schema = "events/payment.avsc"
record = "shop.PaymentReceived"
topic = "payments"
subject_strategy = "record_name"
key_field = "id"
producer = "shop"
source = "shop"
compatibility = "FORWARD"

[[event]]
type = "refund_issued"
schema = "events/payment.avsc"
record = "shop.RefundIssued"
topic = "payments"
subject_strategy = "topic_record_name"
key_field = "id"
producer = "shop"
source = "shop"
compatibility = "FORWARD"
"#,
        )
        .expect("a manifest");
        let [first, second] = manifest.events.as_slice() else {
            panic!("two events")
        };
        let Value::Mapping(mut channel) = event_channel(first, None) else {
            panic!("a mapping")
        };
        merge_channel(&mut channel, event_channel(second, None));
        let messages: Vec<&str> = channel["messages"]
            .as_mapping()
            .expect("messages")
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(messages, ["payment_received", "refund_issued"]);
        let description = channel["description"].as_str().expect("description");
        assert!(
            description.contains("subject `shop.PaymentReceived`")
                && description.contains("subject `payments-shop.RefundIssued`"),
            "{description}"
        );
    }
}
