//! The inbox: which events a consumer group has applied.
//!
//! Retention is bounded: rows are kept for [`super::ConsumerSettings::inbox_retention`]
//! (7 days by default) and purged hourly, so the table holds about a week of events. The
//! window only has to cover redelivery, and Kafka redelivers only messages whose offsets were
//! not committed yet: at most the last 5 s of work before a crash (the auto-commit interval),
//! or a partition's in-flight messages at a rebalance — seconds to minutes old. A deliberate
//! replay from the beginning (`cargo xtask rebuild planning`) deletes the group's rows first,
//! so the replayed events apply again. Dead-lettered messages leave a marker row
//! (`dead-letter/<topic>:<partition>:<offset>`) under the same retention, so a redelivered
//! poison message is not dead-lettered twice.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{HandleError, Handler, RawEvent};

pub(super) enum Outcome {
    Applied,
    Duplicate,
}

/// Decodes, then records the event id and applies the effect in one transaction.
pub(super) async fn handle_once<H: Handler>(
    pool: &PgPool,
    group: &str,
    handler: &H,
    raw: &RawEvent,
) -> Result<Outcome, HandleError> {
    let event = handler.decode(raw).await?;
    let event_id = handler.event_id(&event, raw);
    let mut tx = pool.begin().await?;
    let recorded = sqlx::query(
        "INSERT INTO inbox (consumer_group, event_id, topic, kafka_partition, kafka_offset) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(group)
    .bind(&event_id)
    .bind(&raw.topic)
    .bind(raw.partition)
    .bind(raw.offset)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if recorded == 0 {
        tracing::debug!(event_id, topic = %raw.topic, offset = raw.offset, "duplicate skipped");
        tx.rollback().await?;
        return Ok(Outcome::Duplicate);
    }
    handler.apply(&mut tx, &event, raw).await?;
    tx.commit().await?;
    Ok(Outcome::Applied)
}

/// Deletes the group's inbox rows older than `retention`, hourly, until shutdown.
pub(super) async fn purge_periodically(
    pool: PgPool,
    group: String,
    retention: Duration,
    shutdown: CancellationToken,
) {
    let mut interval = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let result = sqlx::query("DELETE FROM inbox WHERE consumer_group = $1 AND processed_at < now() - make_interval(secs => $2)")
            .bind(&group)
            .bind(retention.as_secs_f64())
            .execute(&pool)
            .await;
        match result {
            Ok(done) => tracing::debug!(group, purged = done.rows_affected(), "inbox purge"),
            Err(error) => tracing::warn!(%error, group, "inbox purge failed; will try again"),
        }
    }
}

/// The inbox id under which a dead-lettered message is remembered: its position, since a
/// message that cannot be handled may have no readable event id.
fn dead_letter_marker(raw: &RawEvent) -> String {
    format!("dead-letter/{}", raw.position())
}

/// Whether this group already copied the message to the dead-letter topic.
pub(super) async fn was_dead_lettered(
    pool: &PgPool,
    group: &str,
    raw: &RawEvent,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer_group = $1 AND event_id = $2)",
    )
    .bind(group)
    .bind(dead_letter_marker(raw))
    .fetch_one(pool)
    .await
}

/// Remembers that the message was dead-lettered, so a redelivery (the offset was not
/// committed yet) does not dead-letter it twice.
pub(super) async fn record_dead_letter(
    pool: &PgPool,
    group: &str,
    raw: &RawEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO inbox (consumer_group, event_id, topic, kafka_partition, kafka_offset) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(group)
    .bind(dead_letter_marker(raw))
    .bind(&raw.topic)
    .bind(raw.partition)
    .bind(raw.offset)
    .execute(pool)
    .await?;
    Ok(())
}
