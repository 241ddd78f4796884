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

use std::collections::HashSet;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{BatchItem, HandleError, Handler, RawEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Applied,
    Duplicate,
}

/// A message of a batch with its `process` span.
pub(super) struct Pending<'a> {
    pub raw: &'a RawEvent,
    pub span: tracing::Span,
}

/// Decodes every message of `batch`, then in one transaction records their ids in the inbox
/// (one multi-row insert returning the ids it had not seen) and applies those not seen
/// before with [`Handler::apply_batch`]. The outcome of each message, in batch order; the
/// first error of any message fails the whole batch (nothing is committed).
pub(super) async fn handle_batch<H: Handler>(
    pool: &PgPool,
    group: &str,
    handler: &H,
    batch: &[Pending<'_>],
) -> Result<Vec<Outcome>, HandleError> {
    let Some(first) = batch.first() else {
        return Ok(Vec::new());
    };
    let mut events = Vec::with_capacity(batch.len());
    for pending in batch {
        let event = handler
            .decode(pending.raw)
            .instrument(pending.span.clone())
            .await?;
        events.push(event);
    }
    let ids: Vec<String> = events
        .iter()
        .zip(batch)
        .map(|(event, pending)| handler.event_id(event, pending.raw))
        .collect();
    let candidates = first_occurrences(&ids);
    let candidate_ids: Vec<&str> = candidates.iter().map(|&i| ids[i].as_str()).collect();
    let candidate_offsets: Vec<i64> = candidates.iter().map(|&i| batch[i].raw.offset).collect();
    let mut tx = pool.begin().await?;
    // One partition per batch: topic and partition are the first message's.
    let recorded: Vec<String> = sqlx::query_scalar(
        "INSERT INTO inbox (consumer_group, event_id, topic, kafka_partition, kafka_offset) \
         SELECT $1, t.event_id, $2, $3, t.kafka_offset \
         FROM UNNEST($4::text[], $5::bigint[]) AS t (event_id, kafka_offset) \
         ON CONFLICT DO NOTHING RETURNING event_id",
    )
    .bind(group)
    .bind(&first.raw.topic)
    .bind(first.raw.partition)
    .bind(&candidate_ids)
    .bind(&candidate_offsets)
    .fetch_all(&mut *tx)
    .await?;
    let recorded: HashSet<&str> = recorded.iter().map(String::as_str).collect();
    let outcomes = outcomes(&ids, &recorded);
    let fresh: Vec<BatchItem<'_, H::Event>> = events
        .into_iter()
        .zip(batch)
        .zip(&outcomes)
        .filter(|(_, outcome)| **outcome == Outcome::Applied)
        .map(|((event, pending), _)| BatchItem {
            event,
            raw: pending.raw,
            span: &pending.span,
        })
        .collect();
    for ((pending, id), outcome) in batch.iter().zip(&ids).zip(&outcomes) {
        if *outcome == Outcome::Duplicate {
            tracing::debug!(parent: &pending.span, event_id = %id, topic = %pending.raw.topic, offset = pending.raw.offset, "duplicate skipped");
        }
    }
    if fresh.is_empty() {
        tx.rollback().await?;
        return Ok(outcomes);
    }
    handler.apply_batch(&mut tx, &fresh).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The positions of the first message of each distinct id, in batch order: what the inbox
/// insert proposes (a later message with the same id is a redelivery within the batch).
fn first_occurrences(ids: &[String]) -> Vec<usize> {
    let mut seen = HashSet::with_capacity(ids.len());
    (0..ids.len())
        .filter(|&i| seen.insert(ids[i].as_str()))
        .collect()
}

/// Per message of a batch: applied when its id is one the inbox insert `recorded` and no
/// earlier message of the batch has it; a duplicate otherwise (the inbox had it already, or
/// the batch repeats it).
fn outcomes(ids: &[String], recorded: &HashSet<&str>) -> Vec<Outcome> {
    let mut applied = HashSet::with_capacity(ids.len());
    ids.iter()
        .map(|id| {
            if recorded.contains(id.as_str()) && applied.insert(id.as_str()) {
                Outcome::Applied
            } else {
                Outcome::Duplicate
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_is_applied_once_per_batch_and_only_when_the_inbox_had_not_seen_it() {
        use Outcome::{Applied, Duplicate};
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        /// A case: the batch's ids, those the insert recorded, the outcomes.
        type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [Outcome]);
        let table: &[Case<'_>] = &[
            (
                "all new",
                &["a", "b", "c"],
                &["a", "b", "c"],
                &[Applied, Applied, Applied],
            ),
            ("all seen before", &["a", "b"], &[], &[Duplicate, Duplicate]),
            (
                "one seen before",
                &["a", "b", "c"],
                &["a", "c"],
                &[Applied, Duplicate, Applied],
            ),
            (
                "repeated in the batch",
                &["a", "b", "a"],
                &["a", "b"],
                &[Applied, Applied, Duplicate],
            ),
            (
                "repeated and seen before",
                &["a", "a"],
                &[],
                &[Duplicate, Duplicate],
            ),
            ("empty", &[], &[], &[]),
        ];
        for (name, batch, recorded, expected) in table {
            let recorded: HashSet<&str> = recorded.iter().copied().collect();
            assert_eq!(outcomes(&ids(batch), &recorded), *expected, "{name}");
        }
        assert_eq!(
            first_occurrences(&ids(&["a", "b", "a", "c", "b"])),
            [0, 1, 3]
        );
        assert_eq!(first_occurrences(&ids(&[])), Vec::<usize>::new());
    }
}
