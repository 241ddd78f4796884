//! The consumer's librdkafka context: what happens when partitions come and go, and the lag
//! each partition reports.
//!
//! On revocation (cooperative-sticky assignment: only the partitions that move are revoked)
//! the workers of the revoked partitions finish their in-flight message and end, and the
//! offsets they stored are committed synchronously — all before librdkafka hands the
//! partitions over. Without this, the next owner would start from an older committed offset
//! while the old worker still applied queued messages: the inbox would stop a double effect,
//! but an older state of an entity could then overwrite a newer one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Statistics, TopicPartitionList};

use super::partition::WorkerHandle;
use super::{ConsumerHealth, PartitionStatus};

pub(super) type RuntimeConsumer = rdkafka::consumer::StreamConsumer<RuntimeContext>;

/// The partition workers of one consumer, by (topic, partition).
pub(super) type Workers = Arc<Mutex<HashMap<(String, i32), WorkerHandle>>>;

/// How long a revocation waits for a worker's in-flight message. Well below the rebalance
/// timeout (`max.poll.interval.ms`, 5 min), above one database transaction.
const REVOKE_WAIT: Duration = Duration::from_secs(30);

pub(super) struct RuntimeContext {
    pub group: String,
    pub workers: Workers,
    pub health: ConsumerHealth,
}

impl RuntimeContext {
    fn lock_workers(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i32), WorkerHandle>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClientContext for RuntimeContext {
    fn stats(&self, statistics: Statistics) {
        record_lag(&self.group, &self.health, &statistics);
    }
}

/// Records each owned partition's lag from librdkafka's statistics in `health` and the
/// metrics: against what this process stored (finished) when it stored anything since the
/// assignment, else against the group's committed offset.
pub(super) fn record_lag(group: &str, health: &ConsumerHealth, statistics: &Statistics) {
    let now = Instant::now();
    for (topic, stats) in &statistics.topics {
        for (partition, p) in &stats.partitions {
            // -1 is librdkafka's internal "unassigned" partition; lags of -1 are unknown.
            if *partition < 0 || p.fetch_state == "none" {
                continue;
            }
            let lag = if p.stored_offset >= 0 {
                p.consumer_lag_stored
            } else {
                p.consumer_lag
            };
            if lag >= 0 {
                crate::metrics::partition_lag(group, topic, *partition, lag);
            }
            health.update(topic, *partition, |s| {
                s.lag = (lag >= 0).then_some(lag);
                s.lag_seen = Some(now);
            });
        }
    }
}

impl ConsumerContext for RuntimeContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(revoked) = rebalance else {
            return;
        };
        let mut stopping = Vec::new();
        {
            let mut workers = self.lock_workers();
            for element in revoked.elements() {
                let slot = (element.topic().to_string(), element.partition());
                if let Some(worker) = workers.remove(&slot) {
                    stopping.push((slot, worker));
                }
            }
        }
        for ((topic, partition), worker) in stopping {
            if worker.paused() {
                super::partition::resume_base(consumer, &topic, partition);
            }
            if !worker.finish_blocking(REVOKE_WAIT) {
                tracing::warn!(
                    topic,
                    partition,
                    "the worker of a revoked partition did not stop in time; its next owner may \
                     apply messages it still holds (the inbox prevents double effects)"
                );
            }
            // The partition's retries (if any) are now its next owner's.
            self.health
                .update(&topic, partition, PartitionStatus::revoke);
        }
        // Whatever the stopped workers stored, committed before the partitions move.
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => {
                tracing::info!(group = %self.group, partitions = revoked.count(), "committed on revocation")
            }
            // NoOffset: nothing was stored since the last commit.
            Err(error) => tracing::debug!(group = %self.group, %error, "commit on revocation"),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(assigned) => {
                let now = Instant::now();
                for element in assigned.elements() {
                    self.health
                        .update(element.topic(), element.partition(), |s| s.assign(now));
                }
                tracing::info!(group = %self.group, partitions = ?describe(assigned), "partitions assigned");
            }
            Rebalance::Revoke(revoked) => {
                tracing::info!(group = %self.group, partitions = ?describe(revoked), "partitions revoked");
            }
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.group, %error, "rebalance error");
            }
        }
    }
}

fn describe(list: &TopicPartitionList) -> Vec<String> {
    list.elements()
        .iter()
        .map(|e| format!("{}[{}]", e.topic(), e.partition()))
        .collect()
}
