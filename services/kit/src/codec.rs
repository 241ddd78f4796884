//! Canonical events ⇄ Kafka values in the Confluent wire format (byte 0 = 0, bytes 1-4 = the
//! registry's schema id, big-endian, then the Avro body), through `schema_registry_converter`.
//!
//! Encoding registers (idempotently) the schema compiled into the service and caches its id.
//! Decoding fetches the writer's schema by the id in the frame (cached) and resolves the data
//! to the schema the consumer was compiled with, so producers and consumers can be on
//! different compatible versions of a contract.

use std::time::Duration;

use crate::consumer::ErrorClass;
use apache_avro::types::Value;
use contract_runtime::event::CanonicalEvent;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{
    SchemaType, SubjectNameStrategy, SuppliedSchema,
};

/// The first byte of a Confluent-framed value.
pub const MAGIC_BYTE: u8 = 0;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Not something any Confluent-API producer wrote: permanent.
    #[error("not the Confluent wire format: {0}")]
    NotConfluentFrame(String),
    /// The registry does not know the frame's schema id: permanent.
    #[error("schema id {id} is unknown to the registry: {detail}")]
    UnknownSchema { id: u32, detail: String },
    /// The registry could not be asked: transient.
    #[error("schema registry unavailable: {0}")]
    RegistryUnavailable(String),
    /// The body does not decode with the writer's schema, or the writer's schema cannot be
    /// resolved to ours: permanent.
    #[error("undecodable Avro: {0}")]
    Undecodable(String),
    /// The data decodes but is not the record this consumer expects: permanent.
    #[error("contract violated: {0}")]
    ContractViolation(String),
    /// Our own event does not fit our own schema (a bug) or the registry refused it.
    #[error("cannot encode: {0}")]
    Encode(String),
}

impl CodecError {
    /// Whether trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RegistryUnavailable(_))
    }

    /// The class under which a permanent failure is dead-lettered; `None` when transient.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::NotConfluentFrame(_) => Some(ErrorClass::NotConfluentFrame),
            Self::UnknownSchema { .. } => Some(ErrorClass::UnknownSchemaId),
            Self::RegistryUnavailable(_) => None,
            Self::Undecodable(_) => Some(ErrorClass::UndecodableAvro),
            Self::ContractViolation(_) => Some(ErrorClass::ContractViolation),
            Self::Encode(_) => Some(ErrorClass::Encode),
        }
    }
}

/// Reads the schema id of a Confluent frame.
pub fn frame_schema_id(bytes: &[u8]) -> Result<u32, CodecError> {
    match bytes {
        [MAGIC_BYTE, a, b, c, d, ..] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        [] => Err(CodecError::NotConfluentFrame("empty value".into())),
        [first, ..] if *first != MAGIC_BYTE => Err(CodecError::NotConfluentFrame(format!(
            "first byte is {first:#04x}, not 0x00"
        ))),
        _ => Err(CodecError::NotConfluentFrame(format!(
            "only {} bytes, the frame needs 5",
            bytes.len()
        ))),
    }
}

/// The converter's subject strategy matching `T::SUBJECT` (events.toml `subject_strategy`):
/// `<topic>-value`, `<topic>-<record>` or `<record>`.
fn subject_strategy<T: CanonicalEvent>() -> SubjectNameStrategy {
    let schema =
        |name: Option<String>| SuppliedSchema::new(name, SchemaType::Avro, T::SCHEMA.to_string());
    let topic_prefix = format!("{}-", T::TOPIC);
    match T::SUBJECT.strip_prefix(&topic_prefix) {
        Some("value") => SubjectNameStrategy::TopicNameStrategyWithSchema(
            T::TOPIC.to_string(),
            false,
            schema(None),
        ),
        Some(record) => SubjectNameStrategy::TopicRecordNameStrategyWithSchema(
            T::TOPIC.to_string(),
            schema(Some(record.to_string())),
        ),
        None => {
            SubjectNameStrategy::RecordNameStrategyWithSchema(schema(Some(T::SUBJECT.to_string())))
        }
    }
}

/// Encoder and decoder of canonical events, sharing one registry connection setting.
pub struct EventCodec {
    encoder: AvroEncoder,
    decoder: AvroDecoder,
}

impl EventCodec {
    /// `registry_url` is the base of the Confluent API (Apicurio: `.../apis/ccompat/v7`).
    pub fn new(registry_url: &str) -> Result<Self, CodecError> {
        let settings = SrSettings::new_builder(registry_url.to_string())
            .set_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| CodecError::Encode(format!("schema registry settings: {e}")))?;
        Ok(Self {
            encoder: AvroEncoder::new(settings.clone()),
            decoder: AvroDecoder::new(settings),
        })
    }

    /// The event as a Confluent-framed Avro value under its topic's subject.
    pub async fn encode<T: CanonicalEvent>(&self, event: &T) -> Result<Vec<u8>, CodecError> {
        let strategy = subject_strategy::<T>();
        self.encoder
            .encode_struct(event, &strategy)
            .await
            .map_err(|e| {
                if e.retriable {
                    CodecError::RegistryUnavailable(describe(&e))
                } else {
                    CodecError::Encode(describe(&e))
                }
            })
    }

    /// Decodes a Confluent-framed value written with any registered schema compatible with
    /// `T`'s.
    pub async fn decode<T: CanonicalEvent>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        let (id, value) = self.decode_with_writer_schema(bytes).await?;
        let resolved = value.resolve(T::schema()).map_err(|e| {
            CodecError::ContractViolation(format!(
                "schema id {id} does not resolve to `{}`: {e}",
                T::EVENT_TYPE
            ))
        })?;
        apache_avro::from_value::<T>(&resolved).map_err(|e| {
            CodecError::ContractViolation(format!(
                "`{}` record does not map to its Rust type: {e}",
                T::EVENT_TYPE
            ))
        })
    }

    /// Decodes to a generic Avro value with the writer's schema (for tools such as the
    /// dead-letter inspector).
    pub async fn decode_generic(&self, bytes: &[u8]) -> Result<Value, CodecError> {
        Ok(self.decode_with_writer_schema(bytes).await?.1)
    }

    async fn decode_with_writer_schema(&self, bytes: &[u8]) -> Result<(u32, Value), CodecError> {
        let id = frame_schema_id(bytes)?;
        // Looking the schema up first separates "which schema?" failures from decoding ones.
        if let Err(error) = self.decoder.get_schema(id).await {
            let detail = describe(&error);
            // Only a 404 proves the id unknown. Anything else (5xx, timeouts, garbled answers)
            // says nothing about the data, and the converter caches non-retriable errors for
            // good, so they are cleared and reported as transient.
            return if detail.contains("status 404") {
                Err(CodecError::UnknownSchema { id, detail })
            } else {
                self.decoder.remove_errors_from_cache();
                Err(CodecError::RegistryUnavailable(detail))
            };
        }
        let decoded = self.decoder.decode(Some(bytes)).await.map_err(|e| {
            CodecError::Undecodable(format!("with schema id {id}: {}", describe(&e)))
        })?;
        Ok((id, decoded.value))
    }
}

fn describe(error: &SRCError) -> String {
    match &error.cause {
        Some(cause) => format!("{}: {cause}", error.error),
        None => error.error.clone(),
    }
}
