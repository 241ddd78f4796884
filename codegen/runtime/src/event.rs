//! What every canonical event type knows about itself, implemented by the generated records.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A record that travels on Kafka as a canonical event: the facts of `contracts/events.toml`
/// bound to the Rust type generated from its Avro schema.
pub trait CanonicalEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// CloudEvents `type` (`ce_type`).
    const EVENT_TYPE: &'static str;
    /// CloudEvents `source` (`ce_source`) of the producing service.
    const SOURCE: &'static str;
    /// The topic the event is published to.
    const TOPIC: &'static str;
    /// The registry subject of the value schema (`<topic>-value`).
    const SUBJECT: &'static str;
    /// The Avro schema as written in `contracts/`, compact JSON.
    const SCHEMA: &'static str;

    /// The parsed schema (parsed once).
    fn schema() -> &'static apache_avro::Schema;

    /// The Kafka message key: the entity id as UTF-8 text.
    fn key(&self) -> String;
}

/// The wire facts of one canonical event, for tools that handle every event generically
/// (compatibility checks, dead-letter inspection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    pub event_type: &'static str,
    pub source: &'static str,
    pub topic: &'static str,
    pub subject: &'static str,
    pub schema: &'static str,
    pub producer: &'static str,
}
