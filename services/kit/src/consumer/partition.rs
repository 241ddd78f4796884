//! One task per partition: messages of a partition are handled strictly in order, while
//! partitions proceed independently of each other.
//!
//! A worker stops when its partition is revoked (see [`super::rebalance`]): it finishes the
//! message in flight, drops what is still queued (the partition's next owner reads it again
//! from the committed offset) and ends, so two owners never apply the same partition at the
//! same time and per-key order holds across rebalances.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::Consumer;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::policy::{
    Attempt, AttemptResult, BatchDecision, BatchLimits, Decision, Gather, decide, decide_batch,
    gather,
};
use super::rebalance::RuntimeConsumer;
use super::{ConsumerHealth, ConsumerSettings, HandleError, Handler, RawEvent, dlq, inbox};
use crate::metrics::{self, EventOutcome};
use rdkafka::producer::FutureProducer;

/// What a partition's task is doing, for health reports.
#[derive(Debug, Clone, Default)]
pub struct PartitionStatus {
    pub processed: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub last_offset: Option<i64>,
    /// When the last message was finished (applied, skipped or dead-lettered), or the
    /// partition assigned, whichever is later.
    pub progress_at: Option<Instant>,
    pub retrying_since: Option<Instant>,
    pub last_error: Option<String>,
    /// Messages dead-lettered in a row (reset by the next message applied).
    pub dead_letter_streak: u32,
    /// Whether the partition stopped on a message because it reached the dead-letter limit.
    pub halted: bool,
    /// Messages between what this consumer has finished and the partition's end, from
    /// librdkafka's statistics; `None` until known.
    pub lag: Option<i64>,
    /// When the lag was last reported.
    pub lag_seen: Option<Instant>,
    /// Whether this process currently owns the partition.
    pub assigned: bool,
}

impl PartitionStatus {
    pub fn retrying_for(&self) -> Option<Duration> {
        self.retrying_since.map(|s| s.elapsed())
    }

    /// Whether the partition has messages waiting and has finished none for `threshold`
    /// (a stalled fetch, a paused partition never resumed, or a message retried forever).
    pub fn stalled_for(&self, threshold: Duration) -> bool {
        self.assigned
            && self.lag.is_some_and(|lag| lag > 0)
            && self
                .progress_at
                .is_some_and(|progress| progress.elapsed() > threshold)
            && self.lag_seen.is_some_and(|seen| seen.elapsed() < threshold)
    }
}

pub(super) struct WorkerContext<H> {
    pub settings: ConsumerSettings,
    pub pool: PgPool,
    pub handler: Arc<H>,
    pub producer: FutureProducer,
    pub consumer: Arc<RuntimeConsumer>,
    pub health: ConsumerHealth,
}

pub(super) struct WorkerHandle {
    topic: String,
    partition: i32,
    queue: mpsc::UnboundedSender<RawEvent>,
    depth: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
    stop: CancellationToken,
    /// Disconnected when the task has ended (its sender is dropped with the task).
    ended: std::sync::mpsc::Receiver<()>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Queues a message; pauses fetching for the partition when its queue is full.
    pub fn enqueue(&self, raw: RawEvent, consumer: &RuntimeConsumer, high_water: usize) {
        let depth = self.depth.fetch_add(1, Ordering::SeqCst) + 1;
        if self.queue.send(raw).is_err() {
            // The task ended (stopping); the message will be read again by the next owner.
            return;
        }
        if depth >= high_water && !self.paused.swap(true, Ordering::SeqCst) {
            let mut list = TopicPartitionList::new();
            list.add_partition(&self.topic, self.partition);
            if let Err(error) = consumer.pause(&list) {
                tracing::warn!(%error, topic = %self.topic, partition = self.partition, "cannot pause");
                self.paused.store(false, Ordering::SeqCst);
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Whether this worker paused its partition (which must be resumed before it is handed
    /// back, or a later owner in this process would never fetch it).
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Lets the task finish its in-flight message, then waits for it.
    pub async fn finish(self) {
        self.stop.cancel();
        drop(self.queue);
        let _ = self.task.await;
    }

    /// [`WorkerHandle::finish`] for synchronous callers (librdkafka's rebalance callback):
    /// waits at most `timeout`; returns whether the task ended.
    pub fn finish_blocking(self, timeout: Duration) -> bool {
        self.stop.cancel();
        drop(self.queue);
        let wait = || {
            matches!(
                self.ended.recv_timeout(timeout),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) | Ok(())
            )
        };
        // The callback runs on a runtime worker thread, inside the consumer's poll: hand the
        // thread's other tasks (among them the worker being waited for) to another thread.
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            Ok(_) => {
                // A current-thread runtime cannot run the worker while we block; the worker
                // was cancelled and its queue dropped, so it ends at its next await.
                false
            }
            Err(_) => wait(),
        }
    }
}

pub(super) fn resume(consumer: &RuntimeConsumer, topic: &str, partition: i32) {
    resume_base(consumer, topic, partition);
}

/// Resumes fetching a partition this process paused.
pub(super) fn resume_base<C: rdkafka::consumer::ConsumerContext>(
    consumer: &impl Consumer<C>,
    topic: &str,
    partition: i32,
) {
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, partition);
    if let Err(error) = consumer.resume(&list) {
        tracing::warn!(%error, topic, partition, "cannot resume");
    }
}

pub(super) fn spawn<H: Handler>(
    context: Arc<WorkerContext<H>>,
    topic: &str,
    partition: i32,
    stop: CancellationToken,
    resume: mpsc::UnboundedSender<(String, i32)>,
) -> WorkerHandle {
    let (queue, mut receiver) = mpsc::unbounded_channel::<RawEvent>();
    let (ended_tx, ended) = std::sync::mpsc::channel::<()>();
    let depth = Arc::new(AtomicUsize::new(0));
    let paused = Arc::new(AtomicBool::new(false));
    let task = {
        let depth = depth.clone();
        let paused = paused.clone();
        let stop = stop.clone();
        let topic = topic.to_string();
        tokio::spawn(async move {
            let _ended = ended_tx;
            let progress = Progress {
                topic: topic.clone(),
                partition,
                depth,
                paused,
                low_water: context.settings.partition_queue_high_water / 2,
                resume,
            };
            loop {
                let first = tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    raw = receiver.recv() => match raw {
                        Some(raw) => raw,
                        None => break,
                    },
                };
                let batch = gather_batch(&context.settings.batch, first, &mut receiver).await;
                if !handle_batch_until_done(&context, &batch, &progress, &stop).await {
                    break; // stopped while retrying: the offsets stay uncommitted
                }
            }
        })
    };
    WorkerHandle {
        topic: topic.to_string(),
        partition,
        queue,
        depth,
        paused,
        stop,
        ended,
        task,
    }
}

/// Takes `first` and what else the queue holds, as [`gather`] decides.
async fn gather_batch(
    limits: &BatchLimits,
    first: RawEvent,
    receiver: &mut mpsc::UnboundedReceiver<RawEvent>,
) -> Vec<RawEvent> {
    let started = Instant::now();
    let mut batch = vec![first];
    loop {
        match gather(limits, batch.len(), started.elapsed(), !receiver.is_empty()) {
            Gather::Apply => return batch,
            Gather::Take => match receiver.try_recv() {
                Ok(raw) => batch.push(raw),
                Err(_) => return batch,
            },
            Gather::Wait(budget) => match tokio::time::timeout(budget, receiver.recv()).await {
                Ok(Some(raw)) => batch.push(raw),
                // Closed (stopping) or the budget spent.
                Ok(None) | Err(_) => return batch,
            },
        }
    }
}

/// What a worker does once messages are finished: stores the offset for commit and resumes
/// a partition it paused when the queue has drained to the low-water mark.
struct Progress {
    topic: String,
    partition: i32,
    depth: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
    low_water: usize,
    resume: mpsc::UnboundedSender<(String, i32)>,
}

impl Progress {
    /// `count` messages up to `offset` (the last of them) are finished.
    fn finished<H>(&self, context: &WorkerContext<H>, offset: i64, count: usize) {
        let (topic, partition) = (self.topic.as_str(), self.partition);
        if let Err(error) = context.consumer.store_offset(topic, partition, offset) {
            // Only when the partition was taken away without a revocation callback (lost
            // with the group membership); its next owner re-reads the messages and the
            // inbox recognises them.
            tracing::warn!(%error, topic, partition, offset, "offset not stored");
        }
        let left = self
            .depth
            .fetch_sub(count, Ordering::SeqCst)
            .saturating_sub(count);
        if left <= self.low_water && self.paused.swap(false, Ordering::SeqCst) {
            let _ = self.resume.send((self.topic.clone(), self.partition));
        }
    }
}

/// Handles a batch until all its messages are applied, recognised as duplicates or
/// dead-lettered, storing offsets as it goes. Returns false when `stop` interrupted it.
async fn handle_batch_until_done<H: Handler>(
    context: &WorkerContext<H>,
    batch: &[RawEvent],
    progress: &Progress,
    stop: &CancellationToken,
) -> bool {
    let settings = &context.settings;
    let group = settings.group_id.as_str();
    let pending: Vec<inbox::Pending<'_>> = batch
        .iter()
        .map(|raw| {
            let parent = crate::trace::enabled()
                .then(|| context.handler.trace_parent(raw))
                .flatten();
            inbox::Pending {
                raw,
                span: crate::trace::process_span(group, raw, parent),
            }
        })
        .collect();
    let Some(last) = batch.last() else {
        return true;
    };
    metrics::consumer_batch(group, &last.topic, batch.len());
    let started = Instant::now();
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let result =
            inbox::handle_batch(&context.pool, group, context.handler.as_ref(), &pending).await;
        let attempt = match &result {
            Ok(_) => AttemptResult::Done,
            Err(HandleError::Transient(_)) => AttemptResult::Transient,
            Err(HandleError::Permanent { class, .. }) => AttemptResult::Permanent(*class),
        };
        let failure = match result {
            Ok(outcomes) => {
                let (mut applied, mut duplicates) = (0, 0);
                for (item, outcome) in pending.iter().zip(&outcomes) {
                    let raw = item.raw;
                    match outcome {
                        inbox::Outcome::Applied => applied += 1,
                        inbox::Outcome::Duplicate => duplicates += 1,
                    }
                    metrics::event_finished(
                        group,
                        raw,
                        match outcome {
                            inbox::Outcome::Applied => EventOutcome::Processed,
                            inbox::Outcome::Duplicate => EventOutcome::Duplicate,
                        },
                        started,
                    );
                }
                context.health.update(&last.topic, last.partition, |s| {
                    s.processed += applied;
                    s.duplicates += duplicates;
                    s.dead_letter_streak = 0;
                    s.finished(last.offset);
                });
                progress.finished(context, last.offset, batch.len());
                return true;
            }
            Err(failure) => failure,
        };
        match decide_batch(&settings.policy, attempt, attempts, rand::random()) {
            // Commit is never the answer to a failure; one by one, each message's own
            // policy decides again.
            BatchDecision::Commit | BatchDecision::OneByOne => {
                tracing::warn!(topic = %last.topic, partition = last.partition, first_offset = batch[0].offset, last_offset = last.offset, error = %failure, "batch failed for good; applying its messages one by one");
                for item in &pending {
                    if !handle_until_done(context, item.raw, stop)
                        .instrument(item.span.clone())
                        .await
                    {
                        return false;
                    }
                    progress.finished(context, item.raw.offset, 1);
                }
                return true;
            }
            BatchDecision::Retry { after } => {
                tracing::warn!(topic = %last.topic, partition = last.partition, first_offset = batch[0].offset, last_offset = last.offset, attempts, error = %failure, "retrying the batch");
                for raw in batch {
                    metrics::consumer_event(group, &raw.topic, EventOutcome::Retried);
                }
                context.health.update(&last.topic, last.partition, |s| {
                    s.retrying_since.get_or_insert_with(Instant::now);
                    s.last_error = Some(failure.to_string());
                });
                tokio::select! {
                    () = stop.cancelled() => return false,
                    () = tokio::time::sleep(after) => {}
                }
            }
        }
    }
}

/// Handles one message until it is applied, recognised as a duplicate or dead-lettered.
/// Returns false when `stop` interrupted it before that.
async fn handle_until_done<H: Handler>(
    context: &WorkerContext<H>,
    raw: &RawEvent,
    stop: &CancellationToken,
) -> bool {
    let settings = &context.settings;
    let started = Instant::now();
    let finished = |outcome| metrics::event_finished(&settings.group_id, raw, outcome, started);
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let result = inbox::handle_once(
            &context.pool,
            &settings.group_id,
            context.handler.as_ref(),
            raw,
        )
        .await;
        let attempt = Attempt {
            result: match &result {
                Ok(_) => AttemptResult::Done,
                Err(HandleError::Transient(_)) => AttemptResult::Transient,
                Err(HandleError::Permanent { class, .. }) => AttemptResult::Permanent(*class),
            },
            attempts,
            elapsed: started.elapsed(),
            dead_letter_streak: context.health.dead_letter_streak(&raw.topic, raw.partition),
        };
        let decision = decide(&settings.policy, &attempt, rand::random());
        let failure = match result {
            Ok(outcome) => {
                // Whatever was decided, an applied message is done (decide says Commit).
                context.health.update(&raw.topic, raw.partition, |s| {
                    match outcome {
                        inbox::Outcome::Applied => s.processed += 1,
                        inbox::Outcome::Duplicate => s.duplicates += 1,
                    }
                    s.dead_letter_streak = 0;
                    s.finished(raw.offset);
                });
                finished(match outcome {
                    inbox::Outcome::Applied => EventOutcome::Processed,
                    inbox::Outcome::Duplicate => EventOutcome::Duplicate,
                });
                return true;
            }
            Err(failure) => failure,
        };
        let pause = match (decision, failure.class()) {
            (Decision::DeadLetter, Some(class)) => {
                let message = match &failure {
                    HandleError::Permanent { error, .. } => format!("{error:#}"),
                    HandleError::Transient(error) => format!("{error:#}"),
                };
                tracing::error!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, %class, error = %message, attempts, "dead-lettering");
                if !dead_letter_until_done(context, raw, class.as_str(), &message, attempts, stop)
                    .await
                {
                    return false;
                }
                context.health.update(&raw.topic, raw.partition, |s| {
                    s.dead_lettered += 1;
                    s.dead_letter_streak += 1;
                    s.finished(raw.offset);
                });
                finished(EventOutcome::DeadLettered);
                return true;
            }
            (Decision::Halt { after }, _) => {
                tracing::error!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, streak = attempt.dead_letter_streak, error = %failure, "dead-letter limit reached: the partition stops on this message");
                context.health.update(&raw.topic, raw.partition, |s| {
                    s.halted = true;
                    s.retrying_since.get_or_insert_with(Instant::now);
                    s.last_error = Some(format!(
                        "halted after {} dead letters in a row: {failure}",
                        attempt.dead_letter_streak
                    ));
                });
                after
            }
            // Retry, and the combinations decide() never answers for a failure.
            (decision, _) => {
                let after = match decision {
                    Decision::Retry { after } => after,
                    _ => settings.policy.backoff.delay(attempts),
                };
                tracing::warn!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, attempts, error = %failure, "retrying");
                metrics::consumer_event(&settings.group_id, &raw.topic, EventOutcome::Retried);
                context.health.update(&raw.topic, raw.partition, |s| {
                    s.retrying_since.get_or_insert_with(Instant::now);
                    s.last_error = Some(failure.to_string());
                });
                after
            }
        };
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

impl PartitionStatus {
    /// The partition is now this process's: its progress clock starts.
    pub(crate) fn assign(&mut self, now: Instant) {
        self.assigned = true;
        self.progress_at = Some(now);
    }

    /// The partition went to another member: its retries (if any) are now the next owner's.
    pub(crate) fn revoke(&mut self) {
        self.assigned = false;
        self.retrying_since = None;
        self.last_error = None;
        self.halted = false;
    }

    /// A message at `offset` is done (applied, skipped or dead-lettered).
    pub(crate) fn finished(&mut self, offset: i64) {
        self.last_offset = Some(offset);
        self.progress_at = Some(Instant::now());
        self.retrying_since = None;
        self.last_error = None;
        self.halted = false;
    }
}

/// Copies the message to its dead-letter topic, once: a marker in the inbox says it was
/// already dead-lettered (by an earlier run that died before committing the offset).
async fn dead_letter_until_done<H>(
    context: &WorkerContext<H>,
    raw: &RawEvent,
    class: &str,
    message: &str,
    attempts: u32,
    stop: &CancellationToken,
) -> bool {
    let group = &context.settings.group_id;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let result = async {
            if inbox::was_dead_lettered(&context.pool, group, raw).await? {
                tracing::info!(topic = %raw.topic, offset = raw.offset, "already dead-lettered");
                return Ok(());
            }
            dlq::send(&context.producer, group, raw, class, message, attempts).await?;
            inbox::record_dead_letter(&context.pool, group, raw).await?;
            anyhow::Ok(())
        }
        .await;
        match result {
            Ok(()) => return true,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), attempt, "cannot write the dead letter; retrying")
            }
        }
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tokio::time::sleep(context.settings.policy.backoff.delay(attempt)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_with_waiting_messages_and_no_progress_is_stalled() {
        let threshold = Duration::from_secs(60);
        let now = Instant::now();
        let status = PartitionStatus {
            assigned: true,
            lag: Some(5),
            lag_seen: Some(now),
            progress_at: now.checked_sub(Duration::from_secs(120)),
            ..Default::default()
        };
        assert!(status.stalled_for(threshold));
        let progressing = PartitionStatus {
            progress_at: Some(now),
            ..status.clone()
        };
        assert!(!progressing.stalled_for(threshold));
        let caught_up = PartitionStatus {
            lag: Some(0),
            ..status.clone()
        };
        assert!(!caught_up.stalled_for(threshold));
        let revoked = PartitionStatus {
            assigned: false,
            ..status
        };
        assert!(!revoked.stalled_for(threshold));
    }
}
