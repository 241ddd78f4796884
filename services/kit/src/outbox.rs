//! The transactional outbox writer.
//!
//! A service writes its state change and the event describing it atomically: in one
//! statement with [`Outbox::change_and_publish`] (the change's SQL with the outbox insert
//! appended as a CTE, one round trip in autocommit), or in its own transaction with
//! [`Outbox::publish`]. The kit's migration `0004_outbox_delete_on_insert.sql` deletes each
//! row at the end of the statement that inserted it: Debezium's Outbox EventRouter reads the
//! INSERT from the WAL and ignores the DELETE, so the table never grows and no purge job is
//! needed (ksqldb/README.md has the connector side). The value is already Confluent-framed
//! Avro; the relay copies it byte for byte.
//!
//! Each write is a `publish <topic>` producer span, and its W3C context goes into the row's
//! `traceparent` column, which the EventRouter places in the Kafka message's `traceparent`
//! header: the consumer's span continues the trace across the relay. Without tracing the
//! column is NULL.

use std::sync::Arc;

use contract_runtime::event::CanonicalEvent;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Arguments, Execute, FromRow, PgConnection, PgExecutor, Postgres};
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

impl Outbox {
    /// Runs `change` and publishes `event` in the same statement, with a fresh event id:
    /// the outbox insert is appended to `change` as a CTE selecting from its `RETURNING`
    /// row, so the event is written exactly when the change affected a row, and in
    /// autocommit (`db` a pool) the whole write is one round trip. Returns that row, `None`
    /// when the change affected none (and nothing was published).
    ///
    /// `change` is one `INSERT`, `UPDATE` or `DELETE ... RETURNING` (not itself a `WITH`) of
    /// at most one row — a second would repeat the event id and fail the statement — with
    /// its parameters numbered from `$1`; the outbox's are numbered after them. `event` is
    /// encoded before the statement runs, so it must follow from what the caller knows (the
    /// id it chose, the request's fields), not from the database. An `UPDATE` or `DELETE`
    /// locks its row itself until the statement commits, so concurrent changes of one entity
    /// still publish in the order they commit.
    pub async fn change_and_publish<T, R>(
        &self,
        db: impl PgExecutor<'_>,
        change: Query<'_, Postgres, PgArguments>,
        event: &T,
    ) -> Result<Option<R>, OutboxError>
    where
        T: CanonicalEvent,
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let payload = self.codec.encode(event).await?;
        let key = event.key();
        Ok(change_with_row::<T, R>(db, change, Uuid::new_v4(), &key, Some(&payload)).await?)
    }

    /// [`Outbox::change_and_publish`] with a tombstone for `key` (see
    /// [`Outbox::publish_tombstone`]): typically `DELETE ... RETURNING id`.
    pub async fn change_and_publish_tombstone<T, R>(
        &self,
        db: impl PgExecutor<'_>,
        change: Query<'_, Postgres, PgArguments>,
        key: &str,
    ) -> Result<Option<R>, OutboxError>
    where
        T: CanonicalEvent,
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(change_with_row::<T, R>(db, change, Uuid::new_v4(), key, None).await?)
    }
}

/// `change` with the outbox row inserted from its `RETURNING` row, in one statement.
async fn change_with_row<T: CanonicalEvent, R>(
    db: impl PgExecutor<'_>,
    mut change: Query<'_, Postgres, PgArguments>,
    event_id: Uuid,
    key: &str,
    payload: Option<&[u8]>,
) -> Result<Option<R>, sqlx::Error>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let span = crate::trace::publish_span::<T>(
        &tracing::Span::current(),
        event_id,
        key,
        payload.is_none(),
    );
    let traceparent = span.in_scope(crate::trace::current_traceparent);
    let mut arguments = change
        .take_arguments()
        .map_err(sqlx::Error::Encode)?
        .unwrap_or_default();
    let sql = with_outbox_insert(change.sql(), arguments.len() + 1);
    let attributes = Attributes {
        id: event_id.to_string(),
        ..Attributes::new(T::EVENT_TYPE, T::SOURCE)
    };
    // In the order of `outbox_columns!`.
    arguments.add(event_id).map_err(sqlx::Error::Encode)?;
    arguments.add(T::TOPIC).map_err(sqlx::Error::Encode)?;
    arguments.add(key).map_err(sqlx::Error::Encode)?;
    arguments.add(T::EVENT_TYPE).map_err(sqlx::Error::Encode)?;
    arguments.add(T::SOURCE).map_err(sqlx::Error::Encode)?;
    arguments
        .add(attributes.time_text().unwrap_or_default())
        .map_err(sqlx::Error::Encode)?;
    arguments
        .add(AVRO_CONTENT_TYPE)
        .map_err(sqlx::Error::Encode)?;
    arguments
        .add(SPEC_VERSION_1_0)
        .map_err(sqlx::Error::Encode)?;
    arguments.add(payload).map_err(sqlx::Error::Encode)?;
    arguments
        .add(traceparent.as_deref())
        .map_err(sqlx::Error::Encode)?;
    let row = sqlx::query_as_with::<_, R, _>(&sql, arguments)
        .fetch_optional(db)
        .instrument(span)
        .await?;
    if row.is_some() {
        crate::metrics::outbox_written(T::TOPIC);
    }
    Ok(row)
}

/// The outbox's columns, in the order every insert binds them.
macro_rules! outbox_columns {
    () => {
        "id, aggregatetype, aggregateid, type, source, time, content_type, specversion, payload, traceparent"
    };
}

/// How many columns [`outbox_columns!`] names.
const OUTBOX_COLUMN_COUNT: usize = 10;

/// `change` (its `RETURNING` row named `changed`) followed by the outbox insert of one row
/// per changed row, its parameters numbered from `$first`; the statement returns `changed`.
fn with_outbox_insert(change: &str, first: usize) -> String {
    let parameters: Vec<String> = (first..first + OUTBOX_COLUMN_COUNT)
        .map(|n| format!("${n}"))
        .collect();
    format!(
        "WITH changed AS ({change}), published AS (INSERT INTO outbox ({}) SELECT {} FROM changed) \
         SELECT * FROM changed",
        outbox_columns!(),
        parameters.join(", ")
    )
}

async fn write_row<T: CanonicalEvent>(
    tx: &mut PgConnection,
    event_id: Uuid,
    key: &str,
    payload: Option<&[u8]>,
) -> Result<(), sqlx::Error> {
    let span = crate::trace::publish_span::<T>(
        &tracing::Span::current(),
        event_id,
        key,
        payload.is_none(),
    );
    let traceparent = span.in_scope(crate::trace::current_traceparent);
    insert_row::<T>(tx, event_id, key, payload, traceparent.as_deref())
        .instrument(span)
        .await?;
    crate::metrics::outbox_written(T::TOPIC);
    Ok(())
}

async fn insert_row<T: CanonicalEvent>(
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
    sqlx::query(concat!(
        "INSERT INTO outbox (",
        outbox_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
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
    .execute(tx)
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
    /// multi-row insert (rows in the entries' order, so the WAL and the topic keep it) instead
    /// of a statement per event. Each entry is a `publish <topic>` span,
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
            let span = crate::trace::publish_span::<T>(
                entry.parent,
                entry.event_id,
                &entry.key,
                payload.is_none(),
            );
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
        sqlx::query(concat!(
            "INSERT INTO outbox (",
            outbox_columns!(),
            ") SELECT t.id, $1, t.aggregateid, $2, $3, t.time, $4, $5, t.payload, t.traceparent \
             FROM UNNEST($6::uuid[], $7::text[], $8::text[], $9::bytea[], $10::text[]) WITH ORDINALITY \
             AS t (id, aggregateid, time, payload, traceparent, position) ORDER BY t.position"
        ))
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
        for _ in entries {
            crate::metrics::outbox_written(T::TOPIC);
        }
        drop(spans);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_insert_follows_the_change_and_numbers_its_parameters_after_the_changes() {
        let cases = [
            (
                "DELETE FROM person WHERE id = $1 RETURNING id",
                2,
                "WITH changed AS (DELETE FROM person WHERE id = $1 RETURNING id), \
                 published AS (INSERT INTO outbox (id, aggregatetype, aggregateid, type, source, time, content_type, specversion, payload, traceparent) \
                 SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM changed) SELECT * FROM changed",
            ),
            (
                "INSERT INTO t (a) VALUES (now()) RETURNING *",
                1,
                "WITH changed AS (INSERT INTO t (a) VALUES (now()) RETURNING *), \
                 published AS (INSERT INTO outbox (id, aggregatetype, aggregateid, type, source, time, content_type, specversion, payload, traceparent) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM changed) SELECT * FROM changed",
            ),
        ];
        for (change, first, expected) in cases {
            assert_eq!(with_outbox_insert(change, first), expected, "{change}");
        }
        assert_eq!(
            outbox_columns!().split(", ").count(),
            OUTBOX_COLUMN_COUNT,
            "the count matches the list"
        );
    }
}
