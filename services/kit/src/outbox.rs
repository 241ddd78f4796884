//! The transactional outbox writer.
//!
//! A service writes its state change and the event describing it in one database transaction
//! by calling [`Outbox::publish`] with that transaction. The row is inserted and deleted at
//! once: Debezium's Outbox EventRouter reads the INSERT from the WAL and ignores the DELETE,
//! so the table never grows and no purge job is needed (ksqldb/README.md has the connector
//! side). The value is already Confluent-framed Avro; the relay copies it byte for byte.
//!
//! Each write is a `publish <topic>` producer span, and its W3C context goes into the row's
//! `traceparent` column, which the EventRouter places in the Kafka message's `traceparent`
//! header: the consumer's span continues the trace across the relay. Without tracing the
//! column is NULL.

use std::sync::Arc;

use contract_runtime::event::CanonicalEvent;
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

use crate::cloudevents::{AVRO_CONTENT_TYPE, Attributes, SPEC_VERSION_1_0};
use crate::codec::{CodecError, EventCodec};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("cannot encode the event: {0}")]
    Codec(#[from] CodecError),
    #[error("cannot write the outbox row: {0}")]
    Database(#[from] sqlx::Error),
}

impl OutboxError {
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Codec(e) => e.is_transient(),
            Self::Database(_) => true,
        }
    }
}

/// Writes canonical events into the outbox table of the caller's transaction.
#[derive(Clone)]
pub struct Outbox {
    codec: Arc<EventCodec>,
}

/// What was written, for logs and responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub event_id: Uuid,
    pub topic: &'static str,
    pub key: String,
}

impl Outbox {
    pub fn new(codec: Arc<EventCodec>) -> Self {
        Self { codec }
    }

    /// Publishes `event` as part of the transaction `tx` belongs to, with a fresh event id.
    pub async fn publish<T: CanonicalEvent>(
        &self,
        tx: &mut PgConnection,
        event: &T,
    ) -> Result<Published, OutboxError> {
        self.publish_with_id(tx, event, Uuid::new_v4()).await
    }

    /// Publishes `event` with a caller-chosen event id: a translator that may see the same
    /// input twice derives the id from the input, so that consumers de-duplicate the output.
    pub async fn publish_with_id<T: CanonicalEvent>(
        &self,
        tx: &mut PgConnection,
        event: &T,
        event_id: Uuid,
    ) -> Result<Published, OutboxError> {
        let payload = self.codec.encode(event).await?;
        let key = event.key();
        write_row::<T>(tx, event_id, &key, Some(&payload)).await?;
        Ok(Published {
            event_id,
            topic: T::TOPIC,
            key,
        })
    }

    /// Publishes a tombstone (null value) for `key` on `T`'s topic: on a compacted entity topic
    /// this says "the entity is gone", and compaction eventually drops its history.
    pub async fn publish_tombstone<T: CanonicalEvent>(
        &self,
        tx: &mut PgConnection,
        key: &str,
    ) -> Result<Published, OutboxError> {
        self.publish_tombstone_with_id::<T>(tx, key, Uuid::new_v4())
            .await
    }

    /// [`Outbox::publish_tombstone`] with a caller-chosen event id (see
    /// [`Outbox::publish_with_id`]).
    pub async fn publish_tombstone_with_id<T: CanonicalEvent>(
        &self,
        tx: &mut PgConnection,
        key: &str,
        event_id: Uuid,
    ) -> Result<Published, OutboxError> {
        write_row::<T>(tx, event_id, key, None).await?;
        Ok(Published {
            event_id,
            topic: T::TOPIC,
            key: key.to_string(),
        })
    }
}

async fn write_row<T: CanonicalEvent>(
    tx: &mut PgConnection,
    event_id: Uuid,
    key: &str,
    payload: Option<&[u8]>,
) -> Result<(), sqlx::Error> {
    let span = if crate::trace::enabled() {
        tracing::info_span!(
            "outbox_publish",
            otel.name = format!("publish {}", T::TOPIC),
            otel.kind = "producer",
            messaging.system = "kafka",
            messaging.operation.type = "send",
            messaging.destination.name = T::TOPIC,
            messaging.message.id = %event_id,
            messaging.kafka.message.key = key,
            messaging.kafka.message.tombstone = payload.is_none(),
        )
    } else {
        tracing::Span::none()
    };
    let traceparent = span.in_scope(crate::trace::current_traceparent);
    insert_and_delete::<T>(tx, event_id, key, payload, traceparent.as_deref())
        .instrument(span)
        .await?;
    crate::metrics::outbox_written(T::TOPIC);
    Ok(())
}

async fn insert_and_delete<T: CanonicalEvent>(
    tx: &mut PgConnection,
    event_id: Uuid,
    key: &str,
    payload: Option<&[u8]>,
    traceparent: Option<&str>,
) -> Result<(), sqlx::Error> {
    let attributes = Attributes {
        id: event_id.to_string(),
        ..Attributes::new(T::EVENT_TYPE, T::SOURCE)
    };
    sqlx::query(
        "INSERT INTO outbox (id, aggregatetype, aggregateid, type, source, time, content_type, specversion, payload, traceparent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(event_id)
    .bind(T::TOPIC)
    .bind(key)
    .bind(T::EVENT_TYPE)
    .bind(T::SOURCE)
    .bind(attributes.time_text().unwrap_or_default())
    .bind(AVRO_CONTENT_TYPE)
    .bind(SPEC_VERSION_1_0)
    .bind(payload)
    .bind(traceparent)
    .execute(&mut *tx)
    .await?;
    // Debezium has the INSERT from the WAL; the DELETE keeps the table empty.
    sqlx::query("DELETE FROM outbox WHERE id = $1")
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
