//! One task per partition: messages of a partition are handled strictly in order, while
//! partitions proceed independently of each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{ConsumerHealth, ConsumerSettings, HandleError, Handler, RawEvent, dlq, inbox};

/// Capped exponential backoff with full jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The pause before attempt `attempt + 1` (attempts count from 1): a random duration up to
    /// `initial · 2^(attempt-1)`, capped at `max`, so that consumers retrying against the same
    /// recovering dependency spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self.initial.saturating_mul(1 << exponent).min(self.max);
        let jitter: f64 = rand::random();
        ceiling.mul_f64(jitter.max(0.1))
    }
}

/// What a partition's task is doing, for health reports.
#[derive(Debug, Clone, Default)]
pub struct PartitionStatus {
    pub processed: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub last_offset: Option<i64>,
    pub retrying_since: Option<Instant>,
    pub last_error: Option<String>,
}

impl PartitionStatus {
    pub fn retrying_for(&self) -> Option<Duration> {
        self.retrying_since.map(|s| s.elapsed())
    }
}

pub(super) struct WorkerContext<H> {
    pub settings: ConsumerSettings,
    pub pool: PgPool,
    pub handler: Arc<H>,
    pub producer: FutureProducer,
    pub consumer: Arc<StreamConsumer>,
    pub health: ConsumerHealth,
    pub shutdown: CancellationToken,
}

pub(super) struct WorkerHandle {
    topic: String,
    partition: i32,
    queue: mpsc::UnboundedSender<RawEvent>,
    depth: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Queues a message; pauses fetching for the partition when its queue is full.
    pub fn enqueue(&self, raw: RawEvent, consumer: &StreamConsumer, high_water: usize) {
        let depth = self.depth.fetch_add(1, Ordering::SeqCst) + 1;
        if self.queue.send(raw).is_err() {
            // The task ended (shutdown); the message will be redelivered after restart.
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

    /// Lets the task finish its in-flight message, then waits for it.
    pub async fn finish(self) {
        drop(self.queue);
        let _ = self.task.await;
    }
}

pub(super) fn resume(consumer: &StreamConsumer, topic: &str, partition: i32) {
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
    resume: mpsc::UnboundedSender<(String, i32)>,
) -> WorkerHandle {
    let (queue, mut receiver) = mpsc::unbounded_channel::<RawEvent>();
    let depth = Arc::new(AtomicUsize::new(0));
    let paused = Arc::new(AtomicBool::new(false));
    let task = {
        let depth = depth.clone();
        let paused = paused.clone();
        let topic = topic.to_string();
        tokio::spawn(async move {
            let low_water = context.settings.partition_queue_high_water / 2;
            while let Some(raw) = receiver.recv().await {
                if context.shutdown.is_cancelled() {
                    break;
                }
                let offset = raw.offset;
                if !handle_until_done(&context, &raw).await {
                    break; // shutdown while retrying: the offset stays uncommitted
                }
                if let Err(error) = context.consumer.store_offset(&topic, partition, offset) {
                    // The partition was revoked meanwhile; its new owner re-reads the message
                    // and the inbox recognises it.
                    tracing::debug!(%error, topic, partition, offset, "offset not stored");
                }
                let left = depth.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
                if left <= low_water && paused.swap(false, Ordering::SeqCst) {
                    let _ = resume.send((topic.clone(), partition));
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
        task,
    }
}

/// Handles one message until it is applied, recognised as a duplicate or dead-lettered.
/// Returns false when shutdown interrupted it before that.
async fn handle_until_done<H: Handler>(context: &WorkerContext<H>, raw: &RawEvent) -> bool {
    let settings = &context.settings;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let failure = match inbox::handle_once(
            &context.pool,
            &settings.group_id,
            context.handler.as_ref(),
            raw,
        )
        .await
        {
            Ok(outcome) => {
                context.health.update(&raw.topic, raw.partition, |s| {
                    match outcome {
                        inbox::Outcome::Applied => s.processed += 1,
                        inbox::Outcome::Duplicate => s.duplicates += 1,
                    }
                    s.last_offset = Some(raw.offset);
                    s.retrying_since = None;
                    s.last_error = None;
                });
                return true;
            }
            Err(failure) => failure,
        };
        match &failure {
            HandleError::Permanent { class, error }
                if attempt >= settings.max_permanent_attempts =>
            {
                tracing::error!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, class, error = %format!("{error:#}"), attempt, "dead-lettering");
                if !dead_letter_until_done(context, raw, class, &format!("{error:#}"), attempt)
                    .await
                {
                    return false;
                }
                context.health.update(&raw.topic, raw.partition, |s| {
                    s.dead_lettered += 1;
                    s.last_offset = Some(raw.offset);
                    s.retrying_since = None;
                });
                return true;
            }
            _ => {
                tracing::warn!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, attempt, error = %failure, "retrying");
                context.health.update(&raw.topic, raw.partition, |s| {
                    s.retrying_since.get_or_insert_with(Instant::now);
                    s.last_error = Some(failure.to_string());
                });
            }
        }
        tokio::select! {
            () = context.shutdown.cancelled() => return false,
            () = tokio::time::sleep(settings.backoff.delay(attempt)) => {}
        }
    }
}

async fn dead_letter_until_done<H>(
    context: &WorkerContext<H>,
    raw: &RawEvent,
    class: &str,
    message: &str,
    attempts: u32,
) -> bool {
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        match dlq::send(
            &context.producer,
            &context.settings.group_id,
            raw,
            class,
            message,
            attempts,
        )
        .await
        {
            Ok(()) => return true,
            Err(error) => tracing::warn!(%error, attempt, "cannot write the dead letter; retrying"),
        }
        tokio::select! {
            () = context.shutdown.cancelled() => return false,
            () = tokio::time::sleep(context.settings.backoff.delay(attempt)) => {}
        }
    }
}
