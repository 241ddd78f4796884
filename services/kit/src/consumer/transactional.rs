//! Translators that produce their output with Kafka transactions (read-process-write),
//! instead of writing it to an outbox for Debezium to relay.
//!
//! A [`Translator`] turns each consumed message into zero or more [`OutputRecord`]s. The
//! runtime ([`run`]) gathers a batch of messages (any partitions, each in order, under the
//! consumer's [`BatchLimits`]), translates them, and in one Kafka transaction produces the
//! outputs (and the dead letters of poison messages) and commits the consumed offsets with
//! the consumer's group metadata (`send_offsets_to_transaction`, KIP-447): the outputs
//! become visible to `read_committed` consumers exactly when the input is marked consumed.
//! A process killed mid-transaction leaves an open transaction that the broker aborts (at
//! once when the same `transactional.id` starts again, else after the transaction timeout);
//! a zombie that lost its partitions is fenced by the group generation in its offsets.
//!
//! Failures follow the consumer runtime's [`RetryPolicy`]: a transient one (registry or
//! broker away, a transaction that could not commit) aborts the transaction, rewinds the
//! batch's partitions to their committed offsets and tries again after the backoff, never
//! skipping; a message that can never translate is retried under [`decide`], then
//! dead-lettered (`<topic>.dlq`, the runtime's headers) inside the batch's transaction, and
//! the flow goes on — unless the partition reached the dead-letter limit, where it halts.
//!
//! There is no inbox: the transaction makes the outputs and the offsets one atomic step, so a
//! message is translated into committed output once. Output ids derived from the input (see
//! the translator) keep consumers' de-duplication working across both delivery modes.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use contract_runtime::event::CanonicalEvent;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, ClientContext, Offset, Statistics, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use uuid::Uuid;

use super::policy::{Attempt, AttemptResult, BatchLimits, ConsumerConfig, Decision, decide};
use super::{ConsumerHealth, HandleError, PartitionStatus, RawEvent, RetryPolicy, dlq};
use crate::cloudevents::{self, AVRO_CONTENT_TYPE, Attributes, SPEC_VERSION_1_0};
use crate::codec::{CodecError, EventCodec};
use crate::metrics::{self, EventOutcome};

/// One record a translation produces.
#[derive(Debug, Clone)]
pub struct OutputRecord {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    /// `None`: a tombstone.
    pub value: Option<Vec<u8>>,
    pub headers: OwnedHeaders,
}

/// The domain side of a transactional translator.
pub trait Translator: Send + Sync + 'static {
    /// What `raw` becomes, in order (nothing for a message that means nothing downstream).
    /// Runs inside the message's `process` span; may call the registry.
    fn translate(
        &self,
        raw: &RawEvent,
    ) -> impl Future<Output = Result<Vec<OutputRecord>, HandleError>> + Send;

    /// The W3C `traceparent` the message's handling continues, as
    /// [`super::Handler::trace_parent`].
    fn trace_parent(&self, raw: &RawEvent) -> Option<String> {
        crate::trace::traceparent_header(raw)
    }
}

/// How a translator delivers what it produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Delivery {
    /// Into the service's outbox, in the inbox's database transaction; Debezium relays it.
    Outbox,
    /// Straight to the topic, in a Kafka transaction with the consumed offsets ([`run`]).
    KafkaTransactions,
}

/// A translator's delivery settings, flattened into the service's configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct TranslatorConfig {
    /// How the CDC translator delivers the canonical events: through the outbox and its
    /// Debezium relay, or produced directly in Kafka transactions.
    #[arg(
        long,
        env = "TRANSLATOR_DELIVERY",
        value_enum,
        default_value = "outbox"
    )]
    pub translator_delivery: Delivery,

    /// The producer's `transactional.id` is `<group>.<this>`: unique per running instance
    /// and stable across its restarts, so a restarted instance aborts its predecessor's open
    /// transaction at once (default: the host name).
    #[arg(long, env = "TRANSLATOR_INSTANCE_ID")]
    pub translator_instance_id: Option<String>,
}

impl Default for TranslatorConfig {
    fn default() -> Self {
        Self {
            translator_delivery: Delivery::Outbox,
            translator_instance_id: None,
        }
    }
}

impl TranslatorConfig {
    /// The instance's part of the `transactional.id`: the configured one, else the host name.
    pub fn instance_id(&self) -> String {
        self.translator_instance_id.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_string())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "localhost".to_string())
        })
    }
}

/// The `transactional.id` of `group`'s instance `instance`.
pub fn transactional_id(group: &str, instance: &str) -> String {
    format!("{group}.{instance}")
}

/// How long an open transaction of a vanished producer (one that never comes back under its
/// `transactional.id`) holds back `read_committed` readers of its output partitions before
/// the broker aborts it. librdkafka's 60 s default would freeze a key's consumers that long.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one blocking transaction call (begin, offsets, commit, abort) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of one transactional translator.
#[derive(Debug, Clone)]
pub struct TransactionalSettings {
    pub group_id: String,
    pub topics: Vec<String>,
    pub bootstrap_servers: String,
    pub transactional_id: String,
    pub policy: RetryPolicy,
    pub batch: BatchLimits,
    /// As [`super::ConsumerSettings::session_timeout`].
    pub session_timeout: Duration,
    pub transaction_timeout: Duration,
}

impl TransactionalSettings {
    pub fn new(
        group_id: impl Into<String>,
        topics: &[&str],
        bootstrap_servers: impl Into<String>,
        transactional_id: impl Into<String>,
    ) -> Self {
        Self {
            group_id: group_id.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            bootstrap_servers: bootstrap_servers.into(),
            transactional_id: transactional_id.into(),
            policy: RetryPolicy::default(),
            batch: BatchLimits::default(),
            session_timeout: Duration::from_secs(10),
            transaction_timeout: TRANSACTION_TIMEOUT,
        }
    }

    /// These settings with the consumer runtime's retry policy and batch limits.
    pub fn configured(mut self, config: &ConsumerConfig) -> Self {
        self.policy = config.retry_policy();
        self.batch = config.batch_limits();
        self
    }
}

/// The EventRouter's own header: the outbox row's event id (`table.field.event.id`).
pub const EVENT_ROUTER_ID: &str = "id";

/// The headers Debezium's Outbox EventRouter gives a relayed outbox row, in its order: its own
/// `id` (the event id), then the placement in `ksqldb/migrations/*_outbox_connector.sql`:
/// `ce_id`, `ce_type`, `ce_source`, `ce_time`, `content-type`, `ce_specversion`,
/// `traceparent` (a NULL column is a header without a value), so that both delivery modes put
/// the same record on the wire.
pub fn event_router_headers(attributes: &Attributes, traceparent: Option<&str>) -> OwnedHeaders {
    let time = attributes.time_text();
    let columns: [(&str, Option<&str>); 8] = [
        (EVENT_ROUTER_ID, Some(&attributes.id)),
        (cloudevents::ID, Some(&attributes.id)),
        (cloudevents::TYPE, Some(&attributes.event_type)),
        (cloudevents::SOURCE, Some(&attributes.source)),
        (cloudevents::TIME, time.as_deref()),
        (
            cloudevents::CONTENT_TYPE,
            attributes.content_type.as_deref(),
        ),
        (cloudevents::SPECVERSION, Some(&attributes.specversion)),
        (crate::trace::TRACEPARENT, traceparent),
    ];
    columns
        .into_iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header { key, value })
        })
}

/// The record the outbox relay would put on `T`'s topic for this event (`None`: a tombstone
/// for `key`): Confluent-framed Avro value, the EventRouter's headers, `ce_time` now. Opens
/// the `publish <topic>` producer span as a child of the current span (the message's
/// `process` span) and sends its context as `traceparent`, as the outbox writer does.
pub async fn canonical_record<T: CanonicalEvent>(
    codec: &EventCodec,
    event_id: Uuid,
    key: &str,
    event: Option<&T>,
) -> Result<OutputRecord, CodecError> {
    let value = match event {
        Some(event) => Some(codec.encode(event).await?),
        None => None,
    };
    let span =
        crate::trace::publish_span::<T>(&tracing::Span::current(), event_id, key, value.is_none());
    let traceparent = span.in_scope(crate::trace::current_traceparent);
    let attributes = Attributes {
        id: event_id.to_string(),
        content_type: Some(AVRO_CONTENT_TYPE.to_string()),
        specversion: SPEC_VERSION_1_0.to_string(),
        ..Attributes::new(T::EVENT_TYPE, T::SOURCE)
    };
    Ok(OutputRecord {
        topic: T::TOPIC.to_string(),
        key: Some(key.as_bytes().to_vec()),
        value,
        headers: event_router_headers(&attributes, traceparent.as_deref()),
    })
}

/// What librdkafka says about a failed transaction call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionFailure {
    /// The producer is unusable (fenced by a newer instance, or another fatal error).
    pub fatal: bool,
    /// The transaction can only be aborted.
    pub requires_abort: bool,
    /// The same call may be repeated.
    pub retriable: bool,
    /// The call was `commit_transaction`, whose outcome may be unknown on a retriable error.
    pub during_commit: bool,
}

/// What to do about a failed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Call `commit_transaction` again: a timed-out commit may have committed, and only
    /// repeating it tells (aborting could then fail, and rewinding would duplicate).
    RetryCommit,
    /// Abort the transaction, rewind, retry the batch.
    Abort,
    /// Drop the producer and start a new one under the same `transactional.id` (which
    /// aborts whatever was open), rewind, retry the batch.
    NewProducer,
}

/// The recovery from `failure`; `commit_retries` is how often the commit was already repeated
/// (a commit that keeps timing out is eventually given up through a new producer, whose
/// initialisation settles the old transaction either way before the rewind reads the
/// committed offsets).
pub fn recovery(failure: TransactionFailure, commit_retries: u32) -> Recovery {
    const MAX_COMMIT_RETRIES: u32 = 3;
    if failure.fatal {
        Recovery::NewProducer
    } else if failure.during_commit && failure.retriable && !failure.requires_abort {
        if commit_retries < MAX_COMMIT_RETRIES {
            Recovery::RetryCommit
        } else {
            Recovery::NewProducer
        }
    } else {
        Recovery::Abort
    }
}

impl TransactionFailure {
    fn of(error: &KafkaError, during_commit: bool) -> Self {
        match error {
            KafkaError::Transaction(e) => Self {
                fatal: e.is_fatal(),
                requires_abort: e.txn_requires_abort(),
                retriable: e.is_retriable(),
                during_commit,
            },
            // A failed delivery or any other error: the transaction is abortable.
            _ => Self {
                fatal: false,
                requires_abort: true,
                retriable: false,
                during_commit,
            },
        }
    }
}

/// The offsets a batch commits: per partition, the one after its last message.
pub fn next_offsets<'a>(
    batch: impl IntoIterator<Item = &'a RawEvent>,
) -> BTreeMap<(String, i32), i64> {
    let mut next = BTreeMap::new();
    for raw in batch {
        let entry = next
            .entry((raw.topic.clone(), raw.partition))
            .or_insert(raw.offset + 1);
        *entry = (*entry).max(raw.offset + 1);
    }
    next
}

/// Where a rewound partition resumes: its committed offset, or (none committed yet) the
/// beginning, as `auto.offset.reset=earliest` would.
pub fn rewind_position(committed: Offset) -> Offset {
    match committed {
        Offset::Offset(offset) if offset >= 0 => Offset::Offset(offset),
        _ => Offset::Beginning,
    }
}

/// The consumer's context: assignment changes (counted, so a batch gathered across one is
/// discarded) and per-partition lag for health.
struct RelayContext {
    group: String,
    health: ConsumerHealth,
    rebalances: AtomicU64,
}

impl ClientContext for RelayContext {
    fn stats(&self, statistics: Statistics) {
        super::rebalance::record_lag(&self.group, &self.health, &statistics);
    }
}

impl ConsumerContext for RelayContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.rebalances.fetch_add(1, Ordering::SeqCst);
        if let Rebalance::Revoke(revoked) = rebalance {
            // Nothing to finish: no transaction is open while the consumer is polled.
            for element in revoked.elements() {
                self.health.update(
                    element.topic(),
                    element.partition(),
                    PartitionStatus::revoke,
                );
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.rebalances.fetch_add(1, Ordering::SeqCst);
        match rebalance {
            Rebalance::Assign(assigned) => {
                let now = Instant::now();
                for element in assigned.elements() {
                    self.health
                        .update(element.topic(), element.partition(), |s| s.assign(now));
                }
                tracing::info!(group = %self.group, partitions = assigned.count(), "partitions assigned");
            }
            Rebalance::Revoke(revoked) => {
                tracing::info!(group = %self.group, partitions = revoked.count(), "partitions revoked");
            }
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.group, %error, "rebalance error");
            }
        }
    }
}

type RelayConsumer = StreamConsumer<RelayContext>;

struct Relay<T> {
    settings: TransactionalSettings,
    translator: Arc<T>,
    consumer: Arc<RelayConsumer>,
    producer: FutureProducer,
    health: ConsumerHealth,
    shutdown: CancellationToken,
}

/// What became of one message of a batch.
enum Translated {
    Records(Vec<OutputRecord>),
    DeadLetter(OutputRecord),
}

/// How translating a batch ended.
enum Cut {
    /// Every message translated or dead-lettered.
    Whole,
    /// Message `at` failed transiently: nothing of the batch is committed.
    Transient { error: String },
    /// Message `at` reached the dead-letter limit: what precedes it is committed, then the
    /// partition waits `after` before looking at the message again.
    Halt {
        at: usize,
        after: Duration,
        error: String,
    },
    /// Shutdown while retrying.
    Stopped,
}

/// Runs a transactional translator until `shutdown` is cancelled (finishing the batch in
/// hand), then leaves the group.
pub async fn run<T: Translator>(
    settings: TransactionalSettings,
    translator: Arc<T>,
    health: ConsumerHealth,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let consumer: Arc<RelayConsumer> = Arc::new(
        super::group_consumer_config(
            &settings.bootstrap_servers,
            &settings.group_id,
            settings.session_timeout,
            &settings.batch,
        )
        // Offsets are committed only by the transactions.
        .set("enable.auto.commit", "false")
        // Stored (never committed) after each transaction, so the statistics' lag is
        // measured from what was translated, as for the other consumers.
        .set("enable.auto.offset.store", "false")
        .create_with_context(RelayContext {
            group: settings.group_id.clone(),
            health: health.clone(),
            rebalances: AtomicU64::new(0),
        })
        .context("cannot create the Kafka consumer")?,
    );
    let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
    dlq::ensure_topics(&settings.bootstrap_servers, &topics).await?;
    let Some(producer) = start_producer(&settings, &shutdown).await else {
        return Ok(());
    };
    consumer.subscribe(&topics).context("cannot subscribe")?;
    tracing::info!(group = %settings.group_id, topics = ?settings.topics, transactional_id = %settings.transactional_id, "transactional translator started");
    let mut relay = Relay {
        settings,
        translator,
        consumer,
        producer,
        health,
        shutdown,
    };
    relay.run().await;
    relay.consumer.unsubscribe();
    tracing::info!(group = %relay.settings.group_id, "transactional translator stopped");
    Ok(())
}

/// A transactional producer, initialised (which fences and aborts what an earlier instance
/// under the same id left open); retried until the broker answers or shutdown.
async fn start_producer(
    settings: &TransactionalSettings,
    shutdown: &CancellationToken,
) -> Option<FutureProducer> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let created = async {
            let producer: FutureProducer = producer_config(settings)
                .create()
                .context("cannot create the transactional producer")?;
            let init = producer.clone();
            tokio::task::spawn_blocking(move || init.init_transactions(CALL_TIMEOUT))
                .await
                .context("init_transactions panicked")?
                .context("init_transactions")?;
            anyhow::Ok(producer)
        }
        .await;
        match created {
            Ok(producer) => return Some(producer),
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), attempt, "cannot start the transactional producer; retrying")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(settings.policy.backoff.delay(attempt)) => {}
        }
    }
}

fn producer_config(settings: &TransactionalSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("transactional.id", &settings.transactional_id)
        .set(
            "transaction.timeout.ms",
            settings.transaction_timeout.as_millis().to_string(),
        )
        // The Java client's partitioner, which Debezium's relay uses: a key lands on the same
        // partition whichever delivery mode produced it, so switching keeps per-key order.
        .set("partitioner", "murmur2_random")
        // A translator's output follows its input at once (no 5 ms linger per batch).
        .set("linger.ms", "0");
    config
}

impl<T: Translator> Relay<T> {
    async fn run(&mut self) {
        // Consecutive failed attempts at the current batch position (transient ones).
        let mut failures: u32 = 0;
        loop {
            let Some((batch, stable)) = self.gather().await else {
                return;
            };
            if !stable {
                // Gathered across a rebalance: it may hold messages of partitions no longer
                // ours, or some twice. Start again from the committed offsets.
                if !self.rewind_until_done(&batch).await {
                    return;
                }
                continue;
            }
            match self.handle(&batch).await {
                Ok(()) => failures = 0,
                Err(error) => {
                    failures += 1;
                    let after = self.settings.policy.backoff.delay(failures);
                    tracing::warn!(group = %self.settings.group_id, attempts = failures, error = %error, "transactional batch failed; rewinding to the committed offsets and retrying");
                    for raw in &batch {
                        metrics::consumer_event(
                            &self.settings.group_id,
                            &raw.topic,
                            EventOutcome::Retried,
                        );
                        self.health.update(&raw.topic, raw.partition, |s| {
                            s.retrying_since.get_or_insert_with(Instant::now);
                            s.last_error = Some(error.clone());
                        });
                    }
                    if !self.rewind_until_done(&batch).await {
                        return;
                    }
                    tokio::select! {
                        () = self.shutdown.cancelled() => return,
                        () = tokio::time::sleep(after) => {}
                    }
                }
            }
            if self.shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// The next batch and whether no rebalance happened while it was gathered; `None` on
    /// shutdown.
    async fn gather(&self) -> Option<(Vec<RawEvent>, bool)> {
        let first = loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return None,
                message = self.consumer.recv() => match message {
                    Ok(message) => break owned(&message),
                    Err(error) => tracing::warn!(%error, "kafka consumer error"),
                },
            }
        };
        let rebalances = self.consumer.context().rebalances.load(Ordering::SeqCst);
        let started = Instant::now();
        let limits = &self.settings.batch;
        let mut batch = vec![first];
        while batch.len() < limits.max_events.max(1) {
            // Zero budget still takes what is already fetched: the timeout polls first.
            let budget = limits.max_wait.saturating_sub(started.elapsed());
            match tokio::time::timeout(budget, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(owned(&message)),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "kafka consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        let stable = self.consumer.context().rebalances.load(Ordering::SeqCst) == rebalances;
        Some((batch, stable))
    }

    /// Translates `batch` and commits what it can in one transaction; an error is transient
    /// (the caller rewinds and retries).
    async fn handle(&mut self, batch: &[RawEvent]) -> Result<(), String> {
        let group = self.settings.group_id.clone();
        let started = Instant::now();
        if let Some(last) = batch.last() {
            metrics::consumer_batch(&group, &last.topic, batch.len());
        }
        let mut translated: Vec<Translated> = Vec::with_capacity(batch.len());
        let mut streaks: HashMap<(String, i32), u32> = HashMap::new();
        let mut cut = Cut::Whole;
        for (index, raw) in batch.iter().enumerate() {
            let span = crate::trace::process_span(
                &group,
                raw,
                crate::trace::enabled()
                    .then(|| self.translator.trace_parent(raw))
                    .flatten(),
            );
            let streak = *streaks
                .entry((raw.topic.clone(), raw.partition))
                .or_insert_with(|| self.health.dead_letter_streak(&raw.topic, raw.partition));
            match self
                .translate_until_decided(raw, streak)
                .instrument(span)
                .await
            {
                Step::Done(records) => {
                    streaks.insert((raw.topic.clone(), raw.partition), 0);
                    translated.push(Translated::Records(records));
                }
                Step::DeadLetter(record) => {
                    streaks.insert((raw.topic.clone(), raw.partition), streak + 1);
                    translated.push(Translated::DeadLetter(record));
                }
                Step::Transient(error) => {
                    cut = Cut::Transient { error };
                    break;
                }
                Step::Halt { after, error } => {
                    cut = Cut::Halt {
                        at: index,
                        after,
                        error,
                    };
                    break;
                }
                Step::Stopped => {
                    cut = Cut::Stopped;
                    break;
                }
            }
        }
        match cut {
            Cut::Transient { error } => return Err(error),
            // Nothing committed: the next owner or run reads the batch again.
            Cut::Stopped => return Ok(()),
            Cut::Whole | Cut::Halt { .. } => {}
        }
        let done = &batch[..translated.len()];
        if !done.is_empty() {
            self.commit(done, &translated).await?;
            self.finished(done, &translated, started);
        }
        if let Cut::Halt { at, after, error } = cut {
            let raw = &batch[at];
            tracing::error!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, error = %error, "dead-letter limit reached: the partition stops on this message");
            self.health.update(&raw.topic, raw.partition, |s| {
                s.halted = true;
                s.retrying_since.get_or_insert_with(Instant::now);
                s.last_error = Some(format!("halted after dead letters in a row: {error}"));
            });
            // The rest of the batch is read again, from the committed offsets.
            if !self.rewind_until_done(&batch[at..]).await {
                return Ok(());
            }
            tokio::select! {
                () = self.shutdown.cancelled() => {}
                () = tokio::time::sleep(after) => {}
            }
        }
        Ok(())
    }

    async fn translate_until_decided(&self, raw: &RawEvent, streak: u32) -> Step {
        let started = Instant::now();
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let failure = match self.translator.translate(raw).await {
                Ok(records) => return Step::Done(records),
                Err(failure) => failure,
            };
            let (result, class) = match &failure {
                HandleError::Transient(_) => (AttemptResult::Transient, None),
                HandleError::Permanent { class, .. } => {
                    (AttemptResult::Permanent(*class), Some(*class))
                }
            };
            let message = match &failure {
                HandleError::Permanent { error, .. } => format!("{error:#}"),
                HandleError::Transient(error) => format!("{error:#}"),
            };
            let attempt = Attempt {
                result,
                attempts,
                elapsed: started.elapsed(),
                dead_letter_streak: streak,
            };
            match (
                decide(&self.settings.policy, &attempt, rand::random()),
                class,
            ) {
                (Decision::DeadLetter, Some(class)) => {
                    tracing::error!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, %class, error = %message, attempts, "dead-lettering");
                    return Step::DeadLetter(OutputRecord {
                        topic: dlq::dead_letter_topic(&raw.topic),
                        key: raw.key.clone(),
                        value: raw.value.clone(),
                        headers: dlq::headers(
                            &self.settings.group_id,
                            raw,
                            class.as_str(),
                            &message,
                            attempts,
                        ),
                    });
                }
                (Decision::Halt { after }, _) => {
                    return Step::Halt {
                        after,
                        error: message,
                    };
                }
                // A transient failure fails the batch: abort and rewind, never skip.
                _ if class.is_none() => return Step::Transient(message),
                (decision, _) => {
                    let after = match decision {
                        Decision::Retry { after } => after,
                        _ => self.settings.policy.backoff.delay(attempts),
                    };
                    tracing::warn!(topic = %raw.topic, partition = raw.partition, offset = raw.offset, attempts, error = %message, "retrying");
                    metrics::consumer_event(
                        &self.settings.group_id,
                        &raw.topic,
                        EventOutcome::Retried,
                    );
                    tokio::select! {
                        () = self.shutdown.cancelled() => return Step::Stopped,
                        () = tokio::time::sleep(after) => {}
                    }
                }
            }
        }
    }

    /// Produces the outputs of `done` and commits its offsets, in one transaction.
    async fn commit(&mut self, done: &[RawEvent], translated: &[Translated]) -> Result<(), String> {
        let mut commit_retries = 0;
        let failure = match self.transaction(done, translated).await {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        let (mut kind, mut error) = failure;
        loop {
            match recovery(kind, commit_retries) {
                Recovery::RetryCommit => {
                    commit_retries += 1;
                    let producer = self.producer.clone();
                    match blocking(move || producer.commit_transaction(CALL_TIMEOUT)).await {
                        Ok(()) => return Ok(()),
                        Err(e) => {
                            kind = TransactionFailure::of(&e, true);
                            error = format!("commit_transaction: {e}");
                        }
                    }
                }
                Recovery::Abort => {
                    let producer = self.producer.clone();
                    if let Err(e) = blocking(move || producer.abort_transaction(CALL_TIMEOUT)).await
                    {
                        tracing::warn!(error = %e, "abort_transaction failed; starting a new producer");
                        self.renew_producer().await;
                    }
                    return Err(error);
                }
                Recovery::NewProducer => {
                    self.renew_producer().await;
                    return Err(error);
                }
            }
        }
    }

    async fn transaction(
        &self,
        done: &[RawEvent],
        translated: &[Translated],
    ) -> Result<(), (TransactionFailure, String)> {
        let producer = self.producer.clone();
        blocking(move || producer.begin_transaction())
            .await
            .map_err(|e| {
                (
                    TransactionFailure::of(&e, false),
                    format!("begin_transaction: {e}"),
                )
            })?;
        let mut deliveries = Vec::new();
        for record in translated.iter().flat_map(|t| match t {
            Translated::Records(records) => records.as_slice(),
            Translated::DeadLetter(record) => std::slice::from_ref(record),
        }) {
            let mut future =
                FutureRecord::<[u8], [u8]>::to(&record.topic).headers(record.headers.clone());
            if let Some(key) = &record.key {
                future = future.key(key.as_slice());
            }
            if let Some(value) = &record.value {
                future = future.payload(value.as_slice());
            }
            match self.producer.send_result(future) {
                Ok(delivery) => deliveries.push(delivery),
                Err((e, _)) => {
                    return Err((
                        TransactionFailure::of(&e, false),
                        format!("cannot produce to {}: {e}", record.topic),
                    ));
                }
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    return Err((
                        TransactionFailure::of(&e, false),
                        format!("delivery failed: {e}"),
                    ));
                }
                Err(_) => {
                    return Err((
                        TransactionFailure::of(&KafkaError::Canceled, false),
                        "delivery canceled".into(),
                    ));
                }
            }
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in next_offsets(done) {
            offsets
                .add_partition_offset(&topic, partition, Offset::Offset(next))
                .map_err(|e| (TransactionFailure::of(&e, false), format!("offsets: {e}")))?;
        }
        let Some(metadata) = self.consumer.group_metadata() else {
            return Err((
                TransactionFailure::of(&KafkaError::Canceled, false),
                "the consumer has no group metadata".into(),
            ));
        };
        let producer = self.producer.clone();
        blocking(move || producer.send_offsets_to_transaction(&offsets, &metadata, CALL_TIMEOUT))
            .await
            .map_err(|e| {
                (
                    TransactionFailure::of(&e, false),
                    format!("send_offsets_to_transaction: {e}"),
                )
            })?;
        let producer = self.producer.clone();
        blocking(move || producer.commit_transaction(CALL_TIMEOUT))
            .await
            .map_err(|e| {
                (
                    TransactionFailure::of(&e, true),
                    format!("commit_transaction: {e}"),
                )
            })
    }

    async fn renew_producer(&mut self) {
        if let Some(producer) = start_producer(&self.settings, &self.shutdown).await {
            self.producer = producer;
        }
    }

    /// Bookkeeping after a committed transaction: health, metrics, stored offsets (for lag).
    fn finished(&self, done: &[RawEvent], translated: &[Translated], started: Instant) {
        let group = &self.settings.group_id;
        for (raw, outcome) in done.iter().zip(translated) {
            let dead = matches!(outcome, Translated::DeadLetter(_));
            metrics::event_finished(
                group,
                raw,
                if dead {
                    EventOutcome::DeadLettered
                } else {
                    EventOutcome::Processed
                },
                started,
            );
            self.health.update(&raw.topic, raw.partition, |s| {
                if dead {
                    s.dead_lettered += 1;
                    s.dead_letter_streak += 1;
                } else {
                    s.processed += 1;
                    s.dead_letter_streak = 0;
                }
                s.finished(raw.offset);
            });
        }
        let mut produced: BTreeMap<&str, usize> = BTreeMap::new();
        for outcome in translated {
            if let Translated::Records(records) = outcome {
                for record in records {
                    *produced.entry(record.topic.as_str()).or_default() += 1;
                }
            }
        }
        for (topic, count) in produced {
            metrics::transactional_produced(topic, count);
        }
        for ((topic, partition), next) in next_offsets(done) {
            // Stores `next - 1 + 1`: librdkafka stores the offset after the one given.
            if let Err(error) = self.consumer.store_offset(&topic, partition, next - 1) {
                tracing::debug!(%error, topic, partition, "offset not stored");
            }
        }
    }

    /// Seeks the partitions of `batch` that are still assigned back to their committed offsets, retrying until the broker answers: reading on from anywhere else
    /// could skip messages. Returns false on shutdown.
    async fn rewind_until_done(&self, batch: &[RawEvent]) -> bool {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.rewind(batch).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), attempt, "cannot rewind to the committed offsets; retrying")
                }
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return false,
                () = tokio::time::sleep(self.settings.policy.backoff.delay(attempt)) => {}
            }
        }
    }

    async fn rewind(&self, batch: &[RawEvent]) -> anyhow::Result<()> {
        let consumer = self.consumer.clone();
        let wanted: Vec<(String, i32)> = next_offsets(batch).into_keys().collect();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let assignment = consumer.assignment().context("reading the assignment")?;
            let mut partitions = TopicPartitionList::new();
            for element in assignment.elements() {
                let slot = (element.topic().to_string(), element.partition());
                if wanted.contains(&slot) {
                    partitions.add_partition(element.topic(), element.partition());
                }
            }
            if partitions.count() == 0 {
                return Ok(());
            }
            let committed = consumer
                .committed_offsets(partitions, CALL_TIMEOUT)
                .context("reading the committed offsets")?;
            for element in committed.elements() {
                let position = rewind_position(element.offset());
                consumer
                    .seek(element.topic(), element.partition(), position, CALL_TIMEOUT)
                    .with_context(|| {
                        format!("seeking {}[{}]", element.topic(), element.partition())
                    })?;
            }
            Ok(())
        })
        .await
        .context("rewind panicked")?
    }
}

/// What translating one message came to.
enum Step {
    Done(Vec<OutputRecord>),
    DeadLetter(OutputRecord),
    Transient(String),
    Halt { after: Duration, error: String },
    Stopped,
}

fn owned(message: &rdkafka::message::BorrowedMessage<'_>) -> RawEvent {
    RawEvent {
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers: message
            .headers()
            .map(rdkafka::message::BorrowedHeaders::detach),
    }
}

/// Runs one of librdkafka's blocking transaction calls off the async threads.
async fn blocking(
    call: impl FnOnce() -> Result<(), KafkaError> + Send + 'static,
) -> Result<(), KafkaError> {
    tokio::task::spawn_blocking(call)
        .await
        .unwrap_or(Err(KafkaError::Canceled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Headers as _;

    #[test]
    fn recovery_follows_what_librdkafka_says() {
        let failure = |fatal, requires_abort, retriable, during_commit| TransactionFailure {
            fatal,
            requires_abort,
            retriable,
            during_commit,
        };
        let cases = [
            // fatal (fenced): a new producer, whatever else is said
            (failure(true, false, false, false), 0, Recovery::NewProducer),
            (failure(true, true, true, true), 0, Recovery::NewProducer),
            // abortable: abort
            (failure(false, true, false, false), 0, Recovery::Abort),
            (failure(false, true, true, true), 0, Recovery::Abort),
            // a retriable commit (timeout): repeat the commit, a few times
            (failure(false, false, true, true), 0, Recovery::RetryCommit),
            (failure(false, false, true, true), 2, Recovery::RetryCommit),
            (failure(false, false, true, true), 3, Recovery::NewProducer),
            // retriable elsewhere (begin, offsets): abort and retry the batch
            (failure(false, false, true, false), 0, Recovery::Abort),
            // neither fatal nor abortable nor retriable: abort
            (failure(false, false, false, true), 0, Recovery::Abort),
        ];
        for (failure, retries, expected) in cases {
            assert_eq!(
                recovery(failure, retries),
                expected,
                "{failure:?}, {retries}"
            );
        }
    }

    fn raw(topic: &str, partition: i32, offset: i64) -> RawEvent {
        RawEvent {
            topic: topic.into(),
            partition,
            offset,
            key: None,
            value: None,
            headers: None,
        }
    }

    #[test]
    fn a_batch_commits_the_offset_after_each_partitions_last_message() {
        let batch = [
            raw("t", 0, 4),
            raw("t", 1, 9),
            raw("t", 0, 5),
            raw("u", 0, 1),
        ];
        let next: Vec<((String, i32), i64)> = next_offsets(&batch).into_iter().collect();
        assert_eq!(
            next,
            [
                (("t".into(), 0), 6),
                (("t".into(), 1), 10),
                (("u".into(), 0), 2)
            ]
        );
        assert!(next_offsets(&[]).is_empty());
    }

    #[test]
    fn a_partition_without_a_commit_rewinds_to_the_beginning() {
        let cases = [
            (Offset::Offset(42), Offset::Offset(42)),
            (Offset::Offset(0), Offset::Offset(0)),
            (Offset::Invalid, Offset::Beginning),
            (Offset::Offset(-1), Offset::Beginning),
            (Offset::End, Offset::Beginning),
        ];
        for (committed, expected) in cases {
            assert_eq!(rewind_position(committed), expected, "{committed:?}");
        }
    }

    #[test]
    fn headers_are_the_event_routers_in_its_order() {
        let attributes = Attributes {
            id: "e1".into(),
            ..Attributes::new("balance_sheet_created", "accounting-service")
        };
        let time = attributes.time_text().expect("a time");
        let traced = "00-4bf92f3577b34a736a2d5b2b8e1f0e01-00f067aa0ba902b7-01";
        let read = |headers: &OwnedHeaders| -> Vec<(String, Option<String>)> {
            headers
                .iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        h.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                    )
                })
                .collect()
        };
        let some = |s: &str| Some(s.to_string());
        let expected = |traceparent: Option<String>| {
            vec![
                ("id".to_string(), some("e1")),
                ("ce_id".to_string(), some("e1")),
                ("ce_type".to_string(), some("balance_sheet_created")),
                ("ce_source".to_string(), some("accounting-service")),
                ("ce_time".to_string(), some(&time)),
                ("content-type".to_string(), some("application/avro")),
                ("ce_specversion".to_string(), some("1.0")),
                ("traceparent".to_string(), traceparent),
            ]
        };
        assert_eq!(
            read(&event_router_headers(&attributes, Some(traced))),
            expected(some(traced))
        );
        assert_eq!(
            read(&event_router_headers(&attributes, None)),
            expected(None)
        );
        // What a consumer reads back is the same event.
        let back = Attributes::from_headers(Some(&event_router_headers(&attributes, None)))
            .expect("valid attributes");
        assert_eq!(back.id, "e1");
    }

    #[test]
    fn delivery_is_the_outbox_unless_told_otherwise() {
        #[derive(clap::Parser)]
        struct Settings {
            #[command(flatten)]
            translator: TranslatorConfig,
        }
        let parse = |extra: &[&str]| {
            let mut args = vec!["service"];
            args.extend_from_slice(extra);
            <Settings as clap::Parser>::try_parse_from(args)
                .map(|s| s.translator.translator_delivery)
        };
        // The test runner's environment does not choose (if it does, it decides the default).
        if std::env::var_os("TRANSLATOR_DELIVERY").is_none() {
            assert_eq!(parse(&[]).ok(), Some(Delivery::Outbox));
        }
        assert_eq!(
            parse(&["--translator-delivery", "kafka-transactions"]).ok(),
            Some(Delivery::KafkaTransactions)
        );
        assert_eq!(
            parse(&["--translator-delivery", "outbox"]).ok(),
            Some(Delivery::Outbox)
        );
        assert!(parse(&["--translator-delivery", "debezium"]).is_err());
    }

    #[test]
    fn the_transactional_id_names_the_group_and_the_instance() {
        assert_eq!(
            transactional_id("accounting-consumer-1", "host-a"),
            "accounting-consumer-1.host-a"
        );
        let config = TranslatorConfig {
            translator_instance_id: Some("b".into()),
            ..TranslatorConfig::default()
        };
        assert_eq!(config.instance_id(), "b");
        assert!(!TranslatorConfig::default().instance_id().is_empty());
    }
}
