//! The consumer runtime: effectively-once effects over Kafka's at-least-once delivery.
//!
//! For every message, in order within its partition:
//! 1. the [`Handler`] decodes it (outside any transaction);
//! 2. in one database transaction the event id is recorded in the `inbox` table of this
//!    consumer group and the handler applies the effect; an id already there means a
//!    redelivery, and the effect is skipped;
//! 3. only after that transaction commits is the offset stored for commit.
//!
//! Messages go in batches: a partition's worker takes what its partition has ready (up to
//! [`BatchLimits::max_events`], waiting at most [`BatchLimits::max_wait`] — by default not at
//! all — so a lone message is not held back, see [`gather`]) and applies the batch in one
//! transaction: one multi-row inbox insert that returns the ids not seen before, then
//! [`Handler::apply_batch`] with those messages in partition order (set operations where the
//! handler has them), then one commit and the batch's last offset. A batch that fails for
//! good — a poison message, a value the database refuses — is applied again one message at a
//! time under the per-message policy below ([`decide_batch`]), so only the culprit is retried
//! and dead-lettered; a transient failure retries the whole batch with the policy's backoff.
//! Every message keeps its own `process` span, counters and consistency lag.
//!
//! Partitions are processed concurrently, each by its own task, so a partition that waits
//! on a failing dependency holds back only itself (it is paused on the broker side when its
//! queue fills). What happens after a failed attempt is [`decide`]d by the [`RetryPolicy`]:
//! transient errors retry with capped exponential backoff and jitter, never committing or
//! skipping; permanent ones (typed by [`ErrorClass`]) go, after the policy's attempts, to the
//! dead-letter topic `<topic>.dlq` and the partition moves on — unless the partition already
//! dead-lettered [`RetryPolicy::dead_letter_limit`] messages in a row: then it halts on the
//! message and reports unhealthy, so a bad deploy cannot empty a topic into its dead letters.
//!
//! [`transactional`] is the alternative for translators whose effect is only records on
//! Kafka: no database, no inbox; the outputs and the consumed offsets commit in one Kafka
//! transaction, under the same retry policy and dead-letter conventions.

mod dlq;
pub mod entity;
mod error;
mod inbox;
mod partition;
mod policy;
mod rebalance;
pub mod transactional;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::producer::FutureProducer;
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use dlq::{DLQ_SUFFIX, DeadLetterHeaders, dead_letter_topic};
pub use error::{ErrorClass, HandleError, sqlstate_class_is_permanent};
pub use partition::PartitionStatus;
pub use policy::{
    Attempt, AttemptResult, Backoff, BatchDecision, BatchLimits, ConsumerConfig, Decision, Gather,
    RetryPolicy, decide, decide_batch, gather,
};

use rebalance::{RuntimeConsumer, RuntimeContext};

/// A consumed message, owned so it can move to its partition's task.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Option<OwnedHeaders>,
}

impl RawEvent {
    /// The key as UTF-8 text (entity ids are), if it is.
    pub fn key_text(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
    }

    /// `topic:partition:offset`, the identity of a message that carries no event id.
    pub fn position(&self) -> String {
        format!("{}:{}:{}", self.topic, self.partition, self.offset)
    }
}

/// The domain side of a consumer: how to read a message and what it changes.
pub trait Handler: Send + Sync + 'static {
    /// The decoded message.
    type Event: Send + Sync;

    /// Decodes a message. Runs outside the transaction; may call the registry.
    fn decode(
        &self,
        raw: &RawEvent,
    ) -> impl Future<Output = Result<Self::Event, HandleError>> + Send;

    /// Applies the event's effect inside `tx`, the transaction that also records the event in
    /// the inbox.
    fn apply(
        &self,
        tx: &mut PgConnection,
        event: &Self::Event,
        raw: &RawEvent,
    ) -> impl Future<Output = Result<(), HandleError>> + Send;

    /// Applies the effects of `batch` — decoded messages of one partition not applied before,
    /// in partition order — inside `tx`, the transaction that records them all in the inbox.
    /// The default applies each with [`Handler::apply`], in order, inside its message's span;
    /// a handler with set operations (multi-row upserts) overrides it, keeping the outcome of
    /// applying the messages one after the other (the last state of a key wins). Any error
    /// fails the whole batch; a permanent one makes the runtime apply the batch again one
    /// message at a time with [`Handler::apply`].
    fn apply_batch(
        &self,
        tx: &mut PgConnection,
        batch: &[BatchItem<'_, Self::Event>],
    ) -> impl Future<Output = Result<(), HandleError>> + Send {
        async move {
            for item in batch {
                self.apply(tx, &item.event, item.raw)
                    .instrument(item.span.clone())
                    .await?;
            }
            Ok(())
        }
    }

    /// The W3C `traceparent` the message's handling continues (its `process` span's parent):
    /// by default the message's `traceparent` header. Called only while tracing is on.
    fn trace_parent(&self, raw: &RawEvent) -> Option<String> {
        crate::trace::traceparent_header(raw)
    }

    /// The id under which the event is de-duplicated: the CloudEvents `ce_id` header when
    /// present, else the message's position.
    fn event_id(&self, _event: &Self::Event, raw: &RawEvent) -> String {
        crate::cloudevents::Attributes::from_headers(raw.headers.as_ref())
            .map(|a| a.id)
            .unwrap_or_else(|_| raw.position())
    }
}

/// One decoded message of a batch (see [`Handler::apply_batch`]).
#[derive(Debug)]
pub struct BatchItem<'a, E> {
    pub event: E,
    pub raw: &'a RawEvent,
    /// The message's `process` span (disabled while tracing is off): what the handler makes
    /// the parent of spans it opens for this message, such as an outbox write.
    pub span: &'a tracing::Span,
}

/// Full batches a partition's queue holds before its fetching is paused.
pub const PAUSE_AFTER_BATCHES: usize = 8;

/// Settings of one consumer group.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub group_id: String,
    pub topics: Vec<String>,
    pub bootstrap_servers: String,
    /// Retries, dead letters and the dead-letter limit.
    pub policy: RetryPolicy,
    /// How many messages of a partition go into one transaction.
    pub batch: BatchLimits,
    /// A partition whose queue holds this many messages is paused until it drains to half
    /// ([`PAUSE_AFTER_BATCHES`] batches: a pause costs a fetch round trip, so it must be rare
    /// while a worker catches up, yet bound the memory of a slow one).
    pub partition_queue_high_water: usize,
    /// Inbox rows older than this are purged (see [`inbox`]).
    pub inbox_retention: Duration,
    /// How long the broker waits for a silent member (a killed process) before handing its
    /// partitions to the others. librdkafka heartbeats from its own thread, so a busy process
    /// is not mistaken for a dead one; 10 s instead of the default 45 s bounds how long a
    /// crashed consumer's partitions stand still.
    pub session_timeout: Duration,
}

impl ConsumerSettings {
    pub fn new(
        group_id: impl Into<String>,
        topics: &[&str],
        bootstrap_servers: impl Into<String>,
    ) -> Self {
        Self {
            group_id: group_id.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            bootstrap_servers: bootstrap_servers.into(),
            policy: RetryPolicy::default(),
            batch: BatchLimits::default(),
            partition_queue_high_water: PAUSE_AFTER_BATCHES * policy::DEFAULT_BATCH_MAX_EVENTS,
            inbox_retention: Duration::from_secs(7 * 24 * 3600),
            session_timeout: Duration::from_secs(10),
        }
    }
}

impl ConsumerSettings {
    /// These settings with the runtime configuration read from the environment.
    pub fn configured(mut self, config: &ConsumerConfig) -> Self {
        self.policy = config.retry_policy();
        self.batch = config.batch_limits();
        self.partition_queue_high_water = (PAUSE_AFTER_BATCHES * self.batch.max_events).max(256);
        self
    }
}

/// Live state of a running consumer, for `/health/`.
#[derive(Debug, Clone, Default)]
pub struct ConsumerHealth {
    partitions: Arc<std::sync::Mutex<HashMap<(String, i32), PartitionStatus>>>,
}

impl ConsumerHealth {
    /// Partitions that have been retrying one message for longer than `threshold`, and those
    /// halted by the dead-letter limit (at once).
    pub fn stuck(&self, threshold: Duration) -> Vec<(String, i32, PartitionStatus)> {
        self.select(|s| s.halted || s.retrying_for().is_some_and(|d| d > threshold))
    }

    /// Partitions halted because they dead-lettered too many messages in a row.
    pub fn halted(&self) -> Vec<(String, i32, PartitionStatus)> {
        self.select(|s| s.halted)
    }

    /// Partitions with messages waiting that finished none for `threshold`.
    pub fn stalled(&self, threshold: Duration) -> Vec<(String, i32, PartitionStatus)> {
        self.select(|s| s.stalled_for(threshold))
    }

    /// The summed lag of the partitions this process owns, `None` while no lag is known.
    pub fn total_lag(&self) -> Option<i64> {
        let assigned = self.select(|s| s.assigned);
        let lags: Vec<i64> = assigned.iter().filter_map(|(_, _, s)| s.lag).collect();
        (!lags.is_empty()).then(|| lags.iter().sum())
    }

    /// Every partition this process has seen, in (topic, partition) order.
    pub fn partitions(&self) -> Vec<(String, i32, PartitionStatus)> {
        self.select(|_| true)
    }

    fn select(
        &self,
        keep: impl Fn(&PartitionStatus) -> bool,
    ) -> Vec<(String, i32, PartitionStatus)> {
        let partitions = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        let mut selected: Vec<_> = partitions
            .iter()
            .filter(|(_, s)| keep(s))
            .map(|((t, p), s)| (t.clone(), *p, s.clone()))
            .collect();
        selected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        selected
    }

    pub(crate) fn dead_letter_streak(&self, topic: &str, partition: i32) -> u32 {
        let partitions = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        partitions
            .get(&(topic.to_string(), partition))
            .map_or(0, |s| s.dead_letter_streak)
    }

    pub(crate) fn update(&self, topic: &str, partition: i32, f: impl FnOnce(&mut PartitionStatus)) {
        let mut partitions = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        f(partitions
            .entry((topic.to_string(), partition))
            .or_default());
    }
}

/// The consumer settings of every runtime of the kit: group membership, read committed,
/// cooperative rebalancing, crash detection, fetching with bounded prefetch, and the
/// statistics health reads its lag from. Each runtime adds how it commits offsets.
pub(crate) fn group_consumer_config(
    bootstrap_servers: &str,
    group_id: &str,
    session_timeout: Duration,
    batch: &BatchLimits,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group_id)
        .set("auto.offset.reset", "earliest")
        // Also makes the offset fetch at assignment wait for pending transactional offsets
        // (KIP-447's require_stable).
        .set("isolation.level", "read_committed")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set(
            "session.timeout.ms",
            session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (session_timeout.as_millis() / 3).to_string(),
        )
        // librdkafka's 500 ms long poll held a resumed partition back for as long.
        .set("fetch.wait.max.ms", "100")
        // librdkafka prefetches up to 100,000 messages or 64 MiB per client by default,
        // beside a runtime's own queues: a replaying consumer's memory was mostly that. Two
        // batches per partition keep a worker fed (a fetch on a busy partition returns in a
        // round trip), and 4 MiB bounds the rest.
        .set(
            "queued.min.messages",
            (2 * batch.max_events).max(100).to_string(),
        )
        .set("queued.max.messages.kbytes", "4096")
        .set("fetch.max.bytes", (4 << 20).to_string())
        // Per-partition lag for health (see `rebalance::record_lag`).
        .set("statistics.interval.ms", "5000");
    config
}

/// Runs one consumer group until `shutdown` is cancelled, then finishes the in-flight
/// messages, commits and leaves the group.
pub async fn run<H: Handler>(
    settings: ConsumerSettings,
    pool: PgPool,
    handler: Arc<H>,
    health: ConsumerHealth,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let workers: rebalance::Workers = Arc::default();
    let consumer: Arc<RuntimeConsumer> = Arc::new(
        group_consumer_config(
            &settings.bootstrap_servers,
            &settings.group_id,
            settings.session_timeout,
            &settings.batch,
        )
        // Stored offsets are committed every 5 s, on revocation and at shutdown; a crash
        // loses at most the last 5 s of commits, which the inbox absorbs.
        .set("enable.auto.commit", "true")
        // Offsets are stored only after the effect's transaction committed.
        .set("enable.auto.offset.store", "false")
        // A partition paused by its full queue (see `partition`) is fetched again only with
        // the broker's next fetch response: librdkafka's 1 s backoff once its own queue is
        // full stalled a replay for about a second per pause.
        .set("fetch.queue.backoff.ms", "50")
        .create_with_context(RuntimeContext {
            group: settings.group_id.clone(),
            workers: workers.clone(),
            health: health.clone(),
        })
        .context("cannot create the Kafka consumer")?,
    );
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("enable.idempotence", "true")
        .create()
        .context("cannot create the dead-letter producer")?;
    let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
    dlq::ensure_topics(&settings.bootstrap_servers, &topics).await?;
    consumer.subscribe(&topics).context("cannot subscribe")?;
    tracing::info!(group = %settings.group_id, topics = ?settings.topics, "consumer started");

    let purge = tokio::spawn(inbox::purge_periodically(
        pool.clone(),
        settings.group_id.clone(),
        settings.inbox_retention,
        shutdown.clone(),
    ));

    let context = Arc::new(partition::WorkerContext {
        settings: settings.clone(),
        pool,
        handler,
        producer,
        consumer: consumer.clone(),
        health,
    });
    let (resume_tx, mut resume_rx) = mpsc::unbounded_channel::<(String, i32)>();

    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some((topic, partition)) = resume_rx.recv() => {
                partition::resume(&consumer, &topic, partition);
            }
            message = consumer.recv() => {
                let message = match message {
                    Ok(m) => m,
                    Err(error) => {
                        // librdkafka reconnects by itself; the error is informational.
                        tracing::warn!(%error, "kafka consumer error");
                        continue;
                    }
                };
                let raw = RawEvent {
                    topic: message.topic().to_string(),
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                    headers: message.headers().map(rdkafka::message::BorrowedHeaders::detach),
                };
                drop(message);
                let mut workers = workers.lock().unwrap_or_else(|p| p.into_inner());
                let slot = (raw.topic.clone(), raw.partition);
                // A worker ends only when stopped; one found ended (never expected) is
                // replaced rather than fed messages nobody reads.
                if workers.get(&slot).is_some_and(partition::WorkerHandle::is_finished) {
                    workers.remove(&slot);
                }
                let worker = workers.entry(slot).or_insert_with(|| {
                    partition::spawn(
                        context.clone(),
                        &raw.topic,
                        raw.partition,
                        shutdown.child_token(),
                        resume_tx.clone(),
                    )
                });
                worker.enqueue(raw, &consumer, settings.partition_queue_high_water);
            }
        }
    }

    tracing::info!(group = %settings.group_id, "consumer stopping: finishing in-flight messages");
    let stopping: Vec<partition::WorkerHandle> = workers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .map(|(_, worker)| worker)
        .collect();
    for worker in stopping {
        worker.finish().await;
    }
    purge.abort();
    if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing stored since the last automatic commit is reported as an error too.
        tracing::debug!(%error, "final commit");
    }
    consumer.unsubscribe();
    drop(context);
    // Dropping the last handle closes the consumer, which leaves the group at once instead of
    // letting the broker wait for the session timeout.
    drop(consumer);
    tracing::info!(group = %settings.group_id, "consumer stopped");
    Ok(())
}
