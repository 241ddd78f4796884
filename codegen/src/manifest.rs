//! `contracts/events.toml`: which event goes to which topic, keyed how, produced by whom.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{CodegenError, Result};

/// The manifest's file name inside the contracts directory.
pub const MANIFEST_FILE: &str = "events.toml";

/// The parsed `events.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Every canonical event, in file order.
    #[serde(rename = "event")]
    pub events: Vec<EventSpec>,
    /// The Kafka settings of the events' topics (`[[topic]]`), in file order. A topic without
    /// them has none in the manifest: the AsyncAPI channel then states none, and a system
    /// manifest (`system.toml`) refuses it, since its topics are created from these settings.
    #[serde(default, rename = "topic")]
    pub topics: Vec<TopicSpec>,
}

/// `[[topic]]`: a public topic, one canonical events are published to, and the settings it is
/// created with. The one place these facts are written: `contracts::topology::public_topics`,
/// the AsyncAPI channel bindings and the stack's topic creation come from here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The topic, as the events' `topic` names it.
    pub name: String,
    /// Number of partitions: the unit of ordering (per key) and of consumer parallelism.
    pub partitions: u32,
    /// Copies of each partition the brokers keep.
    pub replication_factor: u16,
    /// Kafka `cleanup.policy`: `compact` (the latest value per key is kept, as entity-state
    /// topics need) or `delete` (records expire).
    pub cleanup_policy: String,
}

/// The cleanup policies a topic may declare.
pub const CLEANUP_POLICIES: &[&str] = &["delete", "compact"];

/// One canonical event type and its wire facts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// CloudEvents `type`, e.g. `person_entity_state`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Avro schema file, relative to `contracts/`.
    pub schema: PathBuf,
    /// The full name of the event's record, when the file holds several schemas (or for the
    /// record-name subject strategies); default: the file's one top-level record.
    #[serde(default)]
    pub record: Option<String>,
    /// The Kafka topic it is published to.
    pub topic: String,
    /// Name of the record field whose value is the message key (or use [`EventSpec::key`]).
    #[serde(default)]
    pub key_field: Option<String>,
    /// How the key is made when it is not one field: `"none"` or
    /// `{ fields = [...], separator = ":" }`.
    #[serde(default)]
    pub key: Option<KeySpec>,
    /// The producing service (one of the API specs' names).
    pub producer: String,
    /// CloudEvents `source`.
    pub source: String,
    /// Registry compatibility level of its subject.
    pub compatibility: Compatibility,
    /// How the registry subject is named; several event types may share a topic under the
    /// record-name strategies.
    #[serde(default)]
    pub subject_strategy: SubjectStrategy,
    /// The OpenAPI schema whose limits the record's same-named fields share, as
    /// `<spec file relative to contracts/>#<JSON pointer>`.
    #[serde(default)]
    pub constraints: Option<String>,
}

/// `key = ...` in `events.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    /// `key = "none"`: published with a null key.
    None(NoKey),
    /// `key = { fields = ["tenant", "id"], separator = ":" }`.
    Fields {
        /// The fields whose values, as text, make the key, in order.
        fields: Vec<String>,
        /// Put between two values (default `:`).
        #[serde(default = "default_separator")]
        separator: String,
    },
}

/// The word `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum NoKey {
    /// `"none"`.
    #[serde(rename = "none")]
    None,
}

fn default_separator() -> String {
    ":".into()
}

/// How the message key of an event is made, as the manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// One field.
    Field(String),
    /// Several fields joined by a separator.
    Fields(Vec<String>, String),
    /// No key.
    None,
}

/// Confluent's subject name strategies for the value schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectStrategy {
    /// `<topic>-value`: one event type per topic (the default).
    #[default]
    TopicName,
    /// `<record full name>`: the record's versions are checked together, whatever the topic.
    RecordName,
    /// `<topic>-<record full name>`: per topic and record.
    TopicRecordName,
}

impl SubjectStrategy {
    /// The strategy's name in Confluent's serializer settings.
    pub fn confluent_name(self) -> &'static str {
        match self {
            Self::TopicName => "TopicNameStrategy",
            Self::RecordName => "RecordNameStrategy",
            Self::TopicRecordName => "TopicRecordNameStrategy",
        }
    }
}

impl EventSpec {
    /// The registry subject of the value schema under the event's strategy. The record-name
    /// strategies need [`EventSpec::record`] (checked when the manifest is loaded).
    pub fn subject(&self) -> String {
        let record = self.record.as_deref().unwrap_or_default();
        match self.subject_strategy {
            SubjectStrategy::TopicName => format!("{}-value", self.topic),
            SubjectStrategy::RecordName => record.to_string(),
            SubjectStrategy::TopicRecordName => format!("{}-{record}", self.topic),
        }
    }

    /// How the key is made (validated: exactly one of `key_field` and `key`).
    pub fn key_kind(&self) -> Key {
        match (&self.key_field, &self.key) {
            (Some(field), _) => Key::Field(field.clone()),
            (None, Some(KeySpec::Fields { fields, separator })) => {
                Key::Fields(fields.clone(), separator.clone())
            }
            (None, Some(KeySpec::None(_)) | None) => Key::None,
        }
    }
}

/// Confluent Schema Registry compatibility levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// No check.
    None,
    /// New readers read the previous version's data.
    Backward,
    /// New readers read every earlier version's data.
    BackwardTransitive,
    /// Previous readers read the new version's data.
    Forward,
    /// Every earlier reader reads the new version's data.
    ForwardTransitive,
    /// Backward and forward against the previous version.
    Full,
    /// Backward and forward against every earlier version.
    FullTransitive,
}

impl Compatibility {
    /// The registry's name of the level (`FORWARD`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// The Rust path of the matching `contract_runtime::registry::Compatibility` variant.
    pub fn runtime_variant(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Backward => "Backward",
            Self::BackwardTransitive => "BackwardTransitive",
            Self::Forward => "Forward",
            Self::ForwardTransitive => "ForwardTransitive",
            Self::Full => "Full",
            Self::FullTransitive => "FullTransitive",
        }
    }
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Manifest {
    /// Reads and validates `contracts/events.toml`.
    pub fn load(contracts: &Path) -> Result<Self> {
        let file = contracts.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| CodegenError::io(&file, e))?;
        Self::parse(&text, &file)
    }

    /// Reads `contracts/events.toml`; every problem found.
    pub fn load_all(contracts: &Path) -> std::result::Result<Self, Vec<CodegenError>> {
        let file = contracts.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| vec![CodegenError::io(&file, e)])?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| {
            vec![CodegenError::Parse {
                file: file.clone(),
                message: e.to_string(),
            }]
        })?;
        let problems = manifest.problems(&file);
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(problems)
        }
    }

    /// Parses and validates manifest text read from `file`.
    pub fn parse(text: &str, file: &Path) -> Result<Self> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| CodegenError::Parse {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
        manifest.validate(file)?;
        Ok(manifest)
    }

    fn validate(&self, file: &Path) -> Result<()> {
        let errors = self.problems(file);
        match errors.into_iter().next() {
            None => Ok(()),
            Some(first) => Err(first),
        }
    }

    /// Every problem of the manifest.
    pub fn problems(&self, file: &Path) -> Vec<CodegenError> {
        let mut errors = Vec::new();
        let mut types = BTreeSet::new();
        let mut subjects = BTreeSet::new();
        let is_ident = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let mut topic_names = BTreeSet::new();
        for (i, topic) in self.topics.iter().enumerate() {
            let at = |field: &str| format!("/topic/{i}{field}");
            if !topic_names.insert(topic.name.as_str()) {
                errors.push(CodegenError::invalid(
                    file,
                    at("/name"),
                    format!("topic `{}` declared twice", topic.name),
                ));
            }
            if !self.events.iter().any(|event| event.topic == topic.name) {
                errors.push(
                    CodegenError::invalid(
                        file,
                        at("/name"),
                        format!("no event is published to topic `{}`", topic.name),
                    )
                    .with_fix(
                        "remove it, or declare a topic that is not a contract in system.toml as a `[[private_topic]]`",
                    ),
                );
            }
            if topic.partitions == 0 {
                errors.push(CodegenError::invalid(
                    file,
                    at("/partitions"),
                    "a topic needs at least one partition",
                ));
            }
            if topic.replication_factor == 0 {
                errors.push(CodegenError::invalid(
                    file,
                    at("/replication_factor"),
                    "a topic needs at least one replica",
                ));
            }
            if !CLEANUP_POLICIES.contains(&topic.cleanup_policy.as_str()) {
                errors.push(CodegenError::invalid(
                    file,
                    at("/cleanup_policy"),
                    "cleanup_policy must be `delete` or `compact`",
                ));
            }
        }
        for (i, event) in self.events.iter().enumerate() {
            let pointer = format!("/event/{i}");
            let invalid = |at: &str, what: String| {
                CodegenError::invalid(file, format!("{pointer}{at}"), what)
            };
            if !types.insert(&event.event_type) {
                errors.push(invalid(
                    "/type",
                    format!("event type `{}` declared twice", event.event_type),
                ));
            }
            if !is_ident(&event.event_type) {
                errors.push(invalid("/type", "event type must be snake_case".into()));
            }
            if !is_ident(&event.producer) {
                errors.push(invalid("/producer", "producer must be snake_case".into()));
            }
            let shares_topic = self
                .events
                .iter()
                .any(|other| !std::ptr::eq(other, event) && other.topic == event.topic);
            if shares_topic && event.subject_strategy == SubjectStrategy::TopicName {
                errors.push(
                    invalid(
                        "/topic",
                        format!(
                            "topic `{}` is bound to several event types, but this one's subject is `<topic>-value`",
                            event.topic
                        ),
                    )
                    .with_fix(
                        "give every event type on the topic `subject_strategy = \"record_name\"` or `\"topic_record_name\"` (and its `record`)",
                    ),
                );
            }
            if event.subject_strategy != SubjectStrategy::TopicName && event.record.is_none() {
                errors.push(
                    invalid(
                        "/record",
                        "the record-name subject strategies need the record's full name".into(),
                    )
                    .with_fix("add `record = \"<namespace>.<Name>\"`"),
                );
            } else if !subjects.insert(event.subject()) {
                errors.push(invalid(
                    "",
                    format!("subject `{}` is used by two event types", event.subject()),
                ));
            }
            match (&event.key_field, &event.key) {
                (Some(_), Some(_)) => errors.push(
                    invalid("/key", "both `key_field` and `key` are given".into())
                        .with_fix("keep one of them"),
                ),
                (None, None) => errors.push(
                    invalid("", "no key: neither `key_field` nor `key`".into()).with_fix(
                        "add `key_field = \"<field>\"`, `key = { fields = [...] }` or `key = \"none\"`",
                    ),
                ),
                (None, Some(KeySpec::Fields { fields, .. })) if fields.is_empty() => {
                    errors.push(invalid("/key/fields", "no fields".into()))
                }
                _ => {}
            }
        }
        errors
    }

    /// The settings of `topic`, if the manifest declares them.
    pub fn topic(&self, topic: &str) -> Option<&TopicSpec> {
        self.topics.iter().find(|t| t.name == topic)
    }

    /// Producing services in name order, each with its events.
    pub fn producers(&self) -> Vec<(&str, Vec<&EventSpec>)> {
        let names: BTreeSet<&str> = self.events.iter().map(|e| e.producer.as_str()).collect();
        names
            .into_iter()
            .map(|p| (p, self.events.iter().filter(|e| e.producer == p).collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"
[[event]]
type = "opened"
schema = "events/opened.avsc"
topic = "accounts"
key_field = "id"
producer = "bank"
source = "bank-service"
compatibility = "FORWARD"
"#;

    fn problems(topics: &str) -> Vec<String> {
        let text = format!("{EVENT}{topics}");
        let manifest: Manifest = toml::from_str(&text).expect("well-formed TOML");
        manifest
            .problems(Path::new("events.toml"))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn topic_settings_are_checked() {
        let good = "[[topic]]\nname = \"accounts\"\npartitions = 6\nreplication_factor = 3\ncleanup_policy = \"compact\"\n";
        assert_eq!(problems(good), Vec::<String>::new());
        assert_eq!(problems(""), Vec::<String>::new(), "settings are optional");
        let cases = [
            (
                "[[topic]]\nname = \"accounts\"\npartitions = 0\nreplication_factor = 1\ncleanup_policy = \"delete\"\n",
                "events.toml#/topic/0/partitions: invalid contract: a topic needs at least one partition",
            ),
            (
                "[[topic]]\nname = \"accounts\"\npartitions = 1\nreplication_factor = 0\ncleanup_policy = \"delete\"\n",
                "events.toml#/topic/0/replication_factor: invalid contract: a topic needs at least one replica",
            ),
            (
                "[[topic]]\nname = \"accounts\"\npartitions = 1\nreplication_factor = 1\ncleanup_policy = \"keep\"\n",
                "events.toml#/topic/0/cleanup_policy: invalid contract: cleanup_policy must be `delete` or `compact`",
            ),
            (
                "[[topic]]\nname = \"loans\"\npartitions = 1\nreplication_factor = 1\ncleanup_policy = \"delete\"\n",
                "events.toml#/topic/0/name: invalid contract: no event is published to topic `loans`",
            ),
        ];
        for (topics, expected) in cases {
            let found = problems(topics);
            assert_eq!(found.len(), 1, "{found:#?}");
            assert!(found[0].starts_with(expected), "{found:#?}");
        }
        let twice = format!("{good}{good}");
        assert!(
            problems(&twice)
                .iter()
                .any(|p| p.contains("topic `accounts` declared twice")),
            "{:#?}",
            problems(&twice)
        );
    }
}
