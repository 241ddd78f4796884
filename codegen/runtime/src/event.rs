//! What every canonical event type knows about itself, implemented by the generated records.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::problem::Violation;
use crate::validate::{IntegerRules, NumberRules, StringRules, Validator};

/// A record that travels on Kafka as a canonical event: the facts of `contracts/events.toml`
/// bound to the Rust type generated from its Avro schema.
pub trait CanonicalEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// CloudEvents `type` (`ce_type`).
    const EVENT_TYPE: &'static str;
    /// CloudEvents `source` (`ce_source`) of the producing service.
    const SOURCE: &'static str;
    /// The topic the event is published to.
    const TOPIC: &'static str;
    /// The registry subject of the value schema (`<topic>-value` under the topic-name
    /// strategy, the record's full name or `<topic>-<full name>` under the others).
    const SUBJECT: &'static str;
    /// The Avro schema as written in `contracts/`, with the records it refers to in other
    /// files inlined, so that it parses on its own.
    const SCHEMA: &'static str;

    /// The parsed schema (parsed once).
    fn schema() -> &'static apache_avro::Schema;

    /// How the message key is made ([`KeySource`]); the manifest's `key_field` or `key`.
    const KEY: KeySource = KeySource::Field("id");

    /// The Kafka message key as UTF-8 text, made as [`KEY`](Self::KEY) says. Empty for
    /// [`KeySource::None`]: such an event is published with a null key.
    fn key(&self) -> String;

    /// What the Avro schema admits but the contract does not: the limits of the OpenAPI
    /// schema the manifest names for the event (`constraints = "api/x.yaml#/..."`) on the
    /// same-named fields, and text PostgreSQL cannot store (NUL characters). Pointers are the
    /// record's field paths (`/first_name`). Events without constraints check only NUL.
    fn violations(&self) -> Vec<Violation> {
        Vec::new()
    }
}

/// Where an event's message key comes from (`events.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// One field's value as text (`key_field = "id"`).
    Field(&'static str),
    /// Several fields' values as text, joined by the separator
    /// (`key = { fields = ["tenant", "id"], separator = ":" }`).
    Fields {
        /// The field names, in key order.
        fields: &'static [&'static str],
        /// Between two values.
        separator: &'static str,
    },
    /// No key (`key = "none"`): the record is published with a null key, so Kafka spreads
    /// such events over the partitions and keeps no order between them.
    None,
}

/// The wire facts of one canonical event, for tools that handle every event generically
/// (compatibility checks, dead-letter inspection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// CloudEvents `type`.
    pub event_type: &'static str,
    /// CloudEvents `source`.
    pub source: &'static str,
    /// The topic.
    pub topic: &'static str,
    /// The registry subject of the value schema.
    pub subject: &'static str,
    /// The schema text ([`CanonicalEvent::SCHEMA`]).
    pub schema: &'static str,
    /// The producing service.
    pub producer: &'static str,
}

/// Collects the violations of one event; the generated [`CanonicalEvent::violations`] calls
/// it once per checked field. The limits mean what they mean in the OpenAPI schema they come
/// from (the same checks as a request body, [`Validator`]).
#[derive(Debug, Default)]
pub struct EventChecks {
    validator: Validator,
}

impl EventChecks {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A text field: no NUL character (PostgreSQL `text` cannot hold one; the string check
    /// reports it), then `rules`.
    pub fn text(&mut self, at: &str, value: &str, rules: StringRules) {
        self.validator
            .string(&Value::String(value.to_owned()), at, rules);
    }

    /// An optional text field: checked as [`text`](Self::text) when present.
    pub fn optional_text(&mut self, at: &str, value: Option<&str>, rules: StringRules) {
        if let Some(value) = value {
            self.text(at, value, rules);
        }
    }

    /// An `int` or `long` field against `rules`.
    pub fn integer(&mut self, at: &str, value: i64, rules: IntegerRules) {
        self.validator.integer(&Value::from(value), at, rules);
    }

    /// An optional `int` or `long` field: checked when present.
    pub fn optional_integer(&mut self, at: &str, value: Option<i64>, rules: IntegerRules) {
        if let Some(value) = value {
            self.integer(at, value, rules);
        }
    }

    /// A `float` or `double` field against `rules` (a non-finite value is a violation).
    pub fn number(&mut self, at: &str, value: f64, rules: NumberRules) {
        match serde_json::Number::from_f64(value) {
            Some(number) => self.validator.number(&Value::Number(number), at, rules),
            None => self.validator.push(at, "must be a finite number"),
        }
    }

    /// An optional `float` or `double` field: checked when present.
    pub fn optional_number(&mut self, at: &str, value: Option<f64>, rules: NumberRules) {
        if let Some(value) = value {
            self.number(at, value, rules);
        }
    }

    /// Every violation found, in the order checked.
    pub fn finish(self) -> Vec<Violation> {
        self.validator.violations().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_nul_and_over_its_limit_reports_both() {
        let mut checks = EventChecks::new();
        checks.text(
            "/first_name",
            "Ba\0rt",
            StringRules::new().min_length(1).max_length(3),
        );
        checks.text("/last_name", "Simpson", StringRules::new().max_length(50));
        let violations = checks.finish();
        let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(pointers, ["/first_name", "/first_name"], "{violations:?}");
        assert!(violations[0].message.contains("NUL"), "{violations:?}");
    }

    #[test]
    fn integers_and_numbers_are_checked_against_their_range() {
        let mut checks = EventChecks::new();
        checks.integer("/assets", -1, IntegerRules::int64().minimum(0));
        checks.integer("/liabilities", 0, IntegerRules::int64().minimum(0));
        checks.optional_integer("/count", None, IntegerRules::int64().minimum(0));
        checks.number("/ratio", f64::NAN, NumberRules::new());
        let pointers: Vec<String> = checks.finish().into_iter().map(|v| v.pointer).collect();
        assert_eq!(pointers, ["/assets", "/ratio"]);
    }
}
