//! CloudEvents 1.0 in binary content mode on Kafka: attributes travel as `ce_*` headers, the
//! data as the message value (the Kafka protocol binding).
//!
//! Written here rather than with `cloudevents-sdk`: its Kafka binding is tied to an older
//! rdkafka than ours, and the mapping is a handful of headers. The seed's relay sends no
//! `ce_specversion`; a missing one is read as 1.0, as the wire contract requires.

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use uuid::Uuid;

pub const ID: &str = "ce_id";
pub const SOURCE: &str = "ce_source";
pub const TYPE: &str = "ce_type";
pub const TIME: &str = "ce_time";
pub const SPECVERSION: &str = "ce_specversion";
pub const CONTENT_TYPE: &str = "content-type";

pub const SPEC_VERSION_1_0: &str = "1.0";
pub const AVRO_CONTENT_TYPE: &str = "application/avro";

/// The context attributes of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub id: String,
    pub source: String,
    pub event_type: String,
    pub time: Option<DateTime<Utc>>,
    pub specversion: String,
    pub content_type: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttributesError {
    #[error("required CloudEvents header `{0}` is missing")]
    Missing(&'static str),
    #[error("CloudEvents header `{0}` is not UTF-8")]
    NotUtf8(&'static str),
    #[error("unsupported CloudEvents specversion `{0}`")]
    UnsupportedVersion(String),
    #[error("CloudEvents header `ce_time` is not an RFC 3339 time: {0}")]
    BadTime(String),
}

impl Attributes {
    /// Fresh attributes for a new event: a random id, the current time, Avro content.
    pub fn new(event_type: &str, source: &str) -> Self {
        Self {
            id: Uuid::new_v4().to_string(),
            source: source.to_string(),
            event_type: event_type.to_string(),
            time: Some(Utc::now()),
            specversion: SPEC_VERSION_1_0.to_string(),
            content_type: Some(AVRO_CONTENT_TYPE.to_string()),
        }
    }

    /// `ce_time` as written on the wire.
    pub fn time_text(&self) -> Option<String> {
        self.time
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    /// Reads the attributes from Kafka headers.
    pub fn from_headers(headers: Option<&impl Headers>) -> Result<Self, AttributesError> {
        let text = |name: &'static str| -> Result<Option<String>, AttributesError> {
            let Some(headers) = headers else {
                return Ok(None);
            };
            // The last occurrence wins, as with HTTP headers set twice.
            let found = headers.iter().filter(|h| h.key == name).last();
            match found.and_then(|h| h.value) {
                None => Ok(None),
                Some(bytes) => std::str::from_utf8(bytes)
                    .map(|s| Some(s.to_string()))
                    .map_err(|_| AttributesError::NotUtf8(name)),
            }
        };
        let specversion = text(SPECVERSION)?.unwrap_or_else(|| SPEC_VERSION_1_0.to_string());
        if specversion != SPEC_VERSION_1_0 {
            return Err(AttributesError::UnsupportedVersion(specversion));
        }
        let time = match text(TIME)? {
            None => None,
            Some(t) => Some(
                DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| AttributesError::BadTime(t.clone()))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(Self {
            id: text(ID)?.ok_or(AttributesError::Missing(ID))?,
            source: text(SOURCE)?.ok_or(AttributesError::Missing(SOURCE))?,
            event_type: text(TYPE)?.ok_or(AttributesError::Missing(TYPE))?,
            time,
            specversion,
            content_type: text(CONTENT_TYPE)?,
        })
    }

    /// The attributes as Kafka headers.
    pub fn to_headers(&self) -> OwnedHeaders {
        let time = self.time_text();
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: ID,
                value: Some(&self.id),
            })
            .insert(Header {
                key: SOURCE,
                value: Some(&self.source),
            })
            .insert(Header {
                key: TYPE,
                value: Some(&self.event_type),
            })
            .insert(Header {
                key: SPECVERSION,
                value: Some(&self.specversion),
            });
        if let Some(time) = &time {
            headers = headers.insert(Header {
                key: TIME,
                value: Some(time),
            });
        }
        if let Some(content_type) = &self.content_type {
            headers = headers.insert(Header {
                key: CONTENT_TYPE,
                value: Some(content_type),
            });
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_headers() {
        let attributes = Attributes::new("person_entity_state", "person-service");
        let back = Attributes::from_headers(Some(&attributes.to_headers())).expect("valid");
        // ce_time travels with microsecond precision.
        assert_eq!(back.time_text(), attributes.time_text());
        assert_eq!(
            Attributes { time: None, ..back },
            Attributes {
                time: None,
                ..attributes
            }
        );
    }

    #[test]
    fn missing_specversion_means_1_0() {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: ID,
                value: Some("e1"),
            })
            .insert(Header {
                key: SOURCE,
                value: Some("person-service"),
            })
            .insert(Header {
                key: TYPE,
                value: Some("person_entity_state"),
            })
            .insert(Header {
                key: TIME,
                value: Some("2022-12-08T04:41:29.568289Z"),
            })
            .insert(Header {
                key: CONTENT_TYPE,
                value: Some("application/avro"),
            });
        let attributes = Attributes::from_headers(Some(&headers)).expect("valid");
        assert_eq!(attributes.specversion, "1.0");
        assert_eq!(attributes.id, "e1");
    }

    #[test]
    fn missing_id_is_an_error() {
        let headers = OwnedHeaders::new().insert(Header {
            key: SOURCE,
            value: Some("x"),
        });
        assert_eq!(
            Attributes::from_headers(Some(&headers)),
            Err(AttributesError::Missing(ID))
        );
        assert_eq!(
            Attributes::from_headers(None::<&OwnedHeaders>),
            Err(AttributesError::Missing(ID))
        );
    }

    #[test]
    fn other_spec_versions_are_refused() {
        let headers = OwnedHeaders::new().insert(Header {
            key: SPECVERSION,
            value: Some("0.3"),
        });
        assert!(matches!(
            Attributes::from_headers(Some(&headers)),
            Err(AttributesError::UnsupportedVersion(_))
        ));
    }
}
