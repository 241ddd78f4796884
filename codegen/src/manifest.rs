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
}

/// One canonical event type and its wire facts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// CloudEvents `type`, e.g. `person_entity_state`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Avro schema file, relative to `contracts/`.
    pub schema: PathBuf,
    /// The Kafka topic it is published to.
    pub topic: String,
    /// Name of the record field whose value is the message key.
    pub key_field: String,
    /// The producing service (one of the API specs' names).
    pub producer: String,
    /// CloudEvents `source`.
    pub source: String,
    /// Registry compatibility level of its subject.
    pub compatibility: Compatibility,
}

impl EventSpec {
    /// The registry subject under the topic-name strategy.
    pub fn subject(&self) -> String {
        format!("{}-value", self.topic)
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
        let mut types = BTreeSet::new();
        let mut topics = BTreeSet::new();
        for (i, event) in self.events.iter().enumerate() {
            let pointer = format!("/event/{i}");
            if !types.insert(&event.event_type) {
                return Err(CodegenError::invalid(
                    file,
                    pointer,
                    format!("event type `{}` declared twice", event.event_type),
                ));
            }
            if !topics.insert(&event.topic) {
                return Err(CodegenError::invalid(
                    file,
                    pointer,
                    format!("topic `{}` bound to two event types", event.topic),
                ));
            }
            let is_ident = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            if !is_ident(&event.event_type) {
                return Err(CodegenError::invalid(
                    file,
                    format!("{pointer}/type"),
                    "event type must be snake_case",
                ));
            }
            if !is_ident(&event.producer) {
                return Err(CodegenError::invalid(
                    file,
                    format!("{pointer}/producer"),
                    "producer must be snake_case",
                ));
            }
        }
        Ok(())
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
