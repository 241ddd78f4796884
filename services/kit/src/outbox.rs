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

/// What [`Outbox::republish`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Republished {
    /// Full-state events of entities that exist.
    pub states: usize,
    /// Tombstones of ids no entity has (any more).
    pub tombstones: usize,
}

impl Outbox {
    pub fn new(codec: Arc<EventCodec>) -> Self {
        Self { codec }
    }

    /// Publishes, in `tx`, each entity's current state (`current`: its id and its event) and a
    /// tombstone for each of `ids` that `current` lacks: a resync of entity topics from their
    /// source. The caller reads `current` in `tx` with the rows locked, as its API's changes
    /// lock them, so that a change committing meanwhile is relayed after this state. Ids are
    /// never reused (v4, chosen by the services), so an entity gone now stays gone.
    pub async fn republish<T: CanonicalEvent>(
        &self,
        tx: &mut PgConnection,
        ids: &[Uuid],
        current: &[(Uuid, T)],
    ) -> Result<Republished, OutboxError> {
        let mut republished = Republished::default();
        for (_, event) in current {
            self.publish(tx, event).await?;
            republished.states += 1;
        }
        let present: std::collections::HashSet<Uuid> = current.iter().map(|(id, _)| *id).collect();
        for id in ids.iter().filter(|id| !present.contains(id)) {
            self.publish_tombstone::<T>(tx, &id.to_string()).await?;
            republished.tombstones += 1;
        }
        Ok(republished)
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
    let span = publish_span::<T>(&tracing::Span::current(), event_id, key, payload.is_none());
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

/// One event of [`Outbox::publish_batch_with_ids`].
#[derive(Debug)]
pub struct BatchEntry<'a, T> {
    /// Its event id (see [`Outbox::publish_with_id`]).
    pub event_id: Uuid,
    /// The Kafka message key.
    pub key: String,
    /// The event; `None` publishes a tombstone for `key`.
    pub event: Option<&'a T>,
    /// The span the event belongs to (a translator's consumed message): the parent of its
    /// `publish` span, whose context goes into the row.
    pub parent: &'a tracing::Span,
}

impl Outbox {
    /// Publishes `entries`, in order, as part of the transaction `tx` belongs to: one
    /// multi-row insert (rows in the entries' order, so the WAL and the topic keep it) and one
    /// delete, instead of two statements per event. Each entry is a `publish <topic>` span,
    /// a child of its `parent`.
    pub async fn publish_batch_with_ids<T: CanonicalEvent>(
        &self,
        tx: &mut PgConnection,
        entries: &[BatchEntry<'_, T>],
    ) -> Result<(), OutboxError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(entries.len());
        let mut keys = Vec::with_capacity(entries.len());
        let mut times = Vec::with_capacity(entries.len());
        let mut payloads: Vec<Option<Vec<u8>>> = Vec::with_capacity(entries.len());
        let mut traceparents = Vec::with_capacity(entries.len());
        let mut spans = Vec::with_capacity(entries.len());
        for entry in entries {
            let payload = match entry.event {
                Some(event) => Some(self.codec.encode(event).await?),
                None => None,
            };
            let span =
                publish_span::<T>(entry.parent, entry.event_id, &entry.key, payload.is_none());
            traceparents.push(span.in_scope(crate::trace::current_traceparent));
            spans.push(span);
            let attributes = Attributes {
                id: entry.event_id.to_string(),
                ..Attributes::new(T::EVENT_TYPE, T::SOURCE)
            };
            ids.push(entry.event_id);
            keys.push(entry.key.as_str());
            times.push(attributes.time_text().unwrap_or_default());
            payloads.push(payload);
        }
        sqlx::query(
            "INSERT INTO outbox (id, aggregatetype, aggregateid, type, source, time, content_type, specversion, payload, traceparent) \
             SELECT t.id, $1, t.aggregateid, $2, $3, t.time, $4, $5, t.payload, t.traceparent \
             FROM UNNEST($6::uuid[], $7::text[], $8::text[], $9::bytea[], $10::text[]) WITH ORDINALITY \
             AS t (id, aggregateid, time, payload, traceparent, position) ORDER BY t.position",
        )
        .bind(T::TOPIC)
        .bind(T::EVENT_TYPE)
        .bind(T::SOURCE)
        .bind(AVRO_CONTENT_TYPE)
        .bind(SPEC_VERSION_1_0)
        .bind(&ids)
        .bind(&keys)
        .bind(&times)
        .bind(&payloads)
        .bind(&traceparents)
        .execute(&mut *tx)
        .await?;
        // Debezium has the INSERTs from the WAL; the DELETE keeps the table empty.
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        for _ in entries {
            crate::metrics::outbox_written(T::TOPIC);
        }
        drop(spans);
        Ok(())
    }
}

/// The `publish <topic>` producer span of one outbox row, a child of `parent` (the caller's
/// current span for a single write, the consumed message's span for a translator's batch).
fn publish_span<T: CanonicalEvent>(
    parent: &tracing::Span,
    event_id: Uuid,
    key: &str,
    tombstone: bool,
) -> tracing::Span {
    if !crate::trace::enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        parent: parent,
        "outbox_publish",
        otel.name = format!("publish {}", T::TOPIC),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.destination.name = T::TOPIC,
        messaging.message.id = %event_id,
        messaging.kafka.message.key = key,
        messaging.kafka.message.tombstone = tombstone,
    )
}
