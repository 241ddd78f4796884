//! Accounting's CDC translator on the kit's transactional runtime (`TRANSLATOR_DELIVERY=
//! kafka-transactions`) against the real stack: Debezium's real change events of balance
//! sheets written through the running accounting API, translated in-process and produced in
//! Kafka transactions.
//!
//! The translator runs here as a consumer group of its own, positioned at the CDC topic's
//! end, and writes to a scratch topic instead of the public one (the running services keep
//! their own delivery), so the tests neither compete with accounting's group nor put a second
//! copy of each event on the public topic.
//!
//! Needs the stack, the connectors and the services (accounting in its default `outbox`
//! delivery, as `cargo xtask services up` and CI start it): `cargo xtask ci` starts them all.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accounting_service::cdc::CanonicalRecords;
use anyhow::{Context, Result, bail, ensure};
use contract_runtime::client::HttpClient;
use contract_runtime::event::CanonicalEvent;
use contracts::events::BalanceSheet;
use contracts::{accounting_api, topology};
use e2e::{Stack, consumer_at_end, header, kafka_config, poll_until};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use service_kit::codec::EventCodec;
use service_kit::consumer::transactional::{self, OutputRecord, TransactionalSettings, Translator};
use service_kit::consumer::{
    Backoff, ConsumerHealth, DeadLetterHeaders, HandleError, RawEvent, RetryPolicy,
    dead_letter_topic,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const CDC_TOPIC: &str = topology::private_topics::PRIVATE_ACCOUNTING_BAL_SHEET_CDC.name;
const TIMEOUT: Duration = Duration::from_secs(60);

fn accounting() -> accounting_api::Client {
    accounting_api::Client::new(
        HttpClient::new(e2e::service_url(topology::accounting::PORT))
            .with_credentials(e2e::DEMO_USERNAME, e2e::DEMO_PASSWORD),
    )
}

async fn create_sheet(assets: i64) -> Result<accounting_api::BalanceSheet> {
    let accounting_api::CreateBalanceSheetResponse::Created(sheet) = accounting()
        .create_balance_sheet(&accounting_api::BalanceSheetInput {
            person_id: Uuid::new_v4(),
            date_calculated: None,
            assets,
            liabilities: 1,
        })
        .await
        .context("the accounting service is not answering")?;
    Ok(sheet)
}

async fn update_sheet(id: Uuid, assets: i64) -> Result<()> {
    let patch = accounting_api::BalanceSheetPatch {
        assets: Some(assets),
        ..Default::default()
    };
    accounting().update_balance_sheet(id, &patch).await?;
    Ok(())
}

async fn delete_sheet(id: Uuid) -> Result<()> {
    accounting().delete_balance_sheet(id).await?;
    Ok(())
}

/// Accounting's translator with its canonical records sent to `topic` instead of the public
/// topic, optionally slowed down per message (so a crash lands inside a transaction).
struct Redirected {
    inner: CanonicalRecords,
    topic: String,
    delay: Duration,
}

impl Translator for Redirected {
    async fn translate(&self, raw: &RawEvent) -> Result<Vec<OutputRecord>, HandleError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let records = self.inner.translate(raw).await?;
        Ok(records
            .into_iter()
            .map(|record| {
                assert_eq!(record.topic, BalanceSheet::TOPIC);
                OutputRecord {
                    topic: self.topic.clone(),
                    ..record
                }
            })
            .collect())
    }
}

struct Fixture {
    stack: Stack,
    codec: Arc<EventCodec>,
}

/// A running in-process translator.
struct Running {
    task: JoinHandle<Result<()>>,
    stop: CancellationToken,
    health: ConsumerHealth,
}

impl Fixture {
    fn new() -> Result<Self> {
        let stack = Stack::load()?;
        let codec = Arc::new(EventCodec::new(stack.registry()?)?);
        Ok(Self { stack, codec })
    }

    async fn scratch_topic(&self, what: &str) -> Result<String> {
        self.scratch_topic_with(what, 1).await
    }

    async fn scratch_topic_with(&self, what: &str, partitions: i32) -> Result<String> {
        let name = format!("e2e_txn_{what}_{}", Uuid::new_v4().simple());
        let admin = e2e::admin(&self.stack)?;
        let results = admin
            .create_topics(
                &[NewTopic::new(&name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
            )
            .await?;
        for result in results {
            result.map_err(|(topic, code)| anyhow::anyhow!("creating {topic}: {code}"))?;
        }
        Ok(name)
    }

    /// A fresh group whose committed offsets on `topic` are `offsets` (partition → offset),
    /// or the current end of every partition.
    fn fresh_group(&self, topic: &str, offsets: Option<BTreeMap<i32, i64>>) -> Result<String> {
        let group = format!("e2e-txn-{}", Uuid::new_v4().simple());
        let consumer: BaseConsumer = kafka_config(&self.stack)?
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()?;
        let offsets = match offsets {
            Some(offsets) => offsets,
            None => {
                let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
                let partitions = metadata
                    .topics()
                    .first()
                    .map(|t| t.partitions().len())
                    .unwrap_or(0);
                let mut ends = BTreeMap::new();
                for partition in 0..i32::try_from(partitions)? {
                    let (_, high) =
                        consumer.fetch_watermarks(topic, partition, Duration::from_secs(10))?;
                    ends.insert(partition, high);
                }
                ends
            }
        };
        let mut list = TopicPartitionList::new();
        for (partition, offset) in offsets {
            list.add_partition_offset(topic, partition, Offset::Offset(offset))?;
        }
        consumer.commit(&list, CommitMode::Sync)?;
        Ok(group)
    }

    fn start(
        &self,
        group: &str,
        input: &str,
        output: &str,
        transactional_id: &str,
        delay: Duration,
    ) -> Result<Running> {
        let mut settings =
            TransactionalSettings::new(group, &[input], self.stack.kafka()?, transactional_id);
        settings.policy = RetryPolicy {
            backoff: Backoff {
                initial: Duration::from_millis(50),
                max: Duration::from_millis(500),
            },
            max_permanent_attempts: 1,
            ..RetryPolicy::default()
        };
        let translator = Redirected {
            inner: CanonicalRecords {
                codec: self.codec.clone(),
            },
            topic: output.to_string(),
            delay,
        };
        let stop = CancellationToken::new();
        let health = ConsumerHealth::default();
        let task = tokio::spawn(transactional::run(
            settings,
            Arc::new(translator),
            health.clone(),
            stop.clone(),
        ));
        Ok(Running { task, stop, health })
    }

    fn partitions(&self, topic: &str) -> Result<i32> {
        let consumer: BaseConsumer = kafka_config(&self.stack)?.create()?;
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let count = metadata
            .topics()
            .first()
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        ensure!(count > 0, "topic {topic} does not exist");
        Ok(i32::try_from(count)?)
    }

    /// Every committed record of `topic` (all partitions) until `done` holds for them, then
    /// whatever else arrives within `settle` (a duplicate would show there).
    fn read_committed(
        &self,
        topic: &str,
        done: impl Fn(&[OwnedMessage]) -> bool,
        settle: Duration,
    ) -> Result<Vec<OwnedMessage>> {
        let consumer: BaseConsumer = kafka_config(&self.stack)?
            .set("group.id", format!("e2e-{}", Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .create()?;
        let mut list = TopicPartitionList::new();
        for partition in 0..self.partitions(topic)? {
            list.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
        consumer.assign(&list)?;
        let mut records = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        let mut settled_at: Option<Instant> = None;
        loop {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
                records.push(message.detach());
            }
            if settled_at.is_none() && done(&records) {
                settled_at = Some(Instant::now() + settle);
            }
            match settled_at {
                Some(at) if Instant::now() >= at => return Ok(records),
                None if Instant::now() > deadline => bail!(
                    "{topic}: only {} committed records within {TIMEOUT:?}",
                    records.len()
                ),
                _ => {}
            }
        }
    }
}

impl Running {
    async fn stop(self) -> Result<()> {
        self.stop.cancel();
        self.task.await.context("the translator panicked")?
    }
}

fn key_of(message: &OwnedMessage) -> Option<String> {
    message
        .key()
        .map(|k| String::from_utf8_lossy(k).into_owned())
}

/// Header names and values (as text: every header of these records is text, and a
/// difference then reads plainly).
fn headers_of(message: &OwnedMessage) -> Vec<(String, Option<String>)> {
    message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        h.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first `count` messages of `consumer` whose key is `key`.
fn messages_with_key(
    consumer: &BaseConsumer,
    key: &str,
    count: usize,
) -> Result<Vec<OwnedMessage>> {
    let mut found = Vec::new();
    while found.len() < count {
        found.push(poll_until(consumer, TIMEOUT, |m| {
            key_of(m).as_deref() == Some(key)
        })?);
    }
    Ok(found)
}

/// One change of one sheet, relayed by the outbox and produced by the transactional path, is
/// the same record: key, value after the schema id, and every header but `ce_time`.
#[tokio::test(flavor = "multi_thread")]
async fn transactional_records_are_the_outbox_relays_records() -> Result<()> {
    let fixture = Fixture::new()?;
    let public = consumer_at_end(&fixture.stack, BalanceSheet::TOPIC)?;
    let cdc = consumer_at_end(&fixture.stack, CDC_TOPIC)?;

    let sheet = create_sheet(1_000).await?;
    update_sheet(sheet.id, 2_000).await?;
    delete_sheet(sheet.id).await?;
    let key = sheet.id.to_string();
    let relayed = messages_with_key(&public, &key, 3)?;
    let captured = messages_with_key(&cdc, &key, 3)?;

    // The translator starts at the sheet's first change.
    let group = fixture.fresh_group(
        CDC_TOPIC,
        Some(BTreeMap::from([(
            captured[0].partition(),
            captured[0].offset(),
        )])),
    )?;
    // As many partitions as the public topic: a key must land on the same one either way.
    let output = fixture
        .scratch_topic_with("compare", fixture.partitions(BalanceSheet::TOPIC)?)
        .await?;
    let translator = fixture.start(
        &group,
        CDC_TOPIC,
        &output,
        &format!("{group}.compare"),
        Duration::ZERO,
    )?;
    let produced = fixture.read_committed(
        &output,
        |records| {
            records
                .iter()
                .filter(|m| key_of(m).as_deref() == Some(&key))
                .count()
                >= 3
        },
        Duration::ZERO,
    )?;
    translator.stop().await?;
    let produced: Vec<&OwnedMessage> = produced
        .iter()
        .filter(|m| key_of(m).as_deref() == Some(&key))
        .collect();

    ensure!(
        produced.len() == 3,
        "expected 3 records, got {}",
        produced.len()
    );
    for (index, (relayed, produced)) in relayed.iter().zip(&produced).enumerate() {
        assert_eq!(key_of(relayed), key_of(produced), "key of change {index}");
        assert_eq!(
            relayed.partition(),
            produced.partition(),
            "partition of change {index}"
        );
        match (relayed.payload(), produced.payload()) {
            (Some(a), Some(b)) => {
                assert_eq!(a.first(), Some(&0), "Confluent magic byte");
                assert_eq!(b.first(), Some(&0), "Confluent magic byte");
                assert_eq!(a.get(5..), b.get(5..), "Avro body of change {index}");
            }
            (None, None) => assert_eq!(index, 2, "only the delete is a tombstone"),
            (a, b) => panic!("change {index}: value {a:?} relayed, {b:?} produced"),
        }
        let without_time = |headers: Vec<(String, Option<String>)>| -> Vec<_> {
            headers
                .into_iter()
                .map(|(k, v)| if k == "ce_time" { (k, None) } else { (k, v) })
                .collect()
        };
        assert_eq!(
            without_time(headers_of(relayed)),
            without_time(headers_of(produced)),
            "headers of change {index}"
        );
        assert!(header(produced, "ce_time").is_some(), "ce_time is sent");
    }
    Ok(())
}

/// The translator is dropped in the middle of a stream of changes (a transaction open) and a
/// new one takes over under the same `transactional.id`: among the committed records every
/// change is there exactly once, each sheet's in order.
#[tokio::test(flavor = "multi_thread")]
async fn a_translator_dropped_mid_stream_loses_and_duplicates_nothing() -> Result<()> {
    let fixture = Fixture::new()?;
    let group = fixture.fresh_group(CDC_TOPIC, None)?;
    let output = fixture.scratch_topic("crash").await?;
    let transactional_id = format!("{group}.instance");
    // 30 ms per message: a batch of changes takes long enough to be cut by the drop.
    let delay = Duration::from_millis(30);
    let first = fixture.start(&group, CDC_TOPIC, &output, &transactional_id, delay)?;

    let mut sheets = Vec::new();
    for n in 0..20 {
        sheets.push(create_sheet(100 + n).await?.id);
    }
    // Mid-stream: the first translator has work queued and, likely, a transaction open.
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.task.abort();
    let _ = first.task.await;
    let second = fixture.start(&group, CDC_TOPIC, &output, &transactional_id, delay)?;
    for (n, id) in sheets.iter().enumerate() {
        update_sheet(*id, 10_000 + i64::try_from(n)?).await?;
    }
    for id in &sheets[..5] {
        delete_sheet(*id).await?;
    }
    // Per sheet: created, updated, and for the first five deleted.
    let expected: usize = 20 + 20 + 5;
    let records = fixture.read_committed(
        &output,
        |records| records.len() >= expected,
        Duration::from_secs(3),
    )?;
    let partitions = second.health.partitions();
    second.stop().await?;

    let ids: Vec<String> = records
        .iter()
        .map(|m| header(m, "ce_id").context("ce_id"))
        .collect::<Result<_>>()?;
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "duplicated events among committed records"
    );
    assert_eq!(records.len(), expected, "lost or extra events");
    for (n, id) in sheets.iter().enumerate() {
        let key = id.to_string();
        let mine: Vec<Option<i64>> = {
            let mut values = Vec::new();
            for message in records
                .iter()
                .filter(|m| key_of(m).as_deref() == Some(&key))
            {
                values.push(match message.payload() {
                    None => None,
                    Some(bytes) => Some(fixture.codec.decode::<BalanceSheet>(bytes).await?.assets),
                });
            }
            values
        };
        let n = i64::try_from(n)?;
        let mut wanted = vec![Some(100 + n), Some(10_000 + n)];
        if n < 5 {
            wanted.push(None);
        }
        assert_eq!(mine, wanted, "changes of sheet {n} in order");
    }
    ensure!(
        partitions
            .iter()
            .any(|(_, _, s)| s.assigned && s.processed > 0),
        "the second translator reports its partition assigned and progressing: {partitions:?}"
    );
    Ok(())
}

/// A change that can never translate is dead-lettered, with the runtime's headers, in the
/// transaction of its batch, and the changes behind it are produced.
#[tokio::test(flavor = "multi_thread")]
async fn poison_is_dead_lettered_and_the_flow_goes_on() -> Result<()> {
    let fixture = Fixture::new()?;
    let input = fixture.scratch_topic("poison_in").await?;
    let output = fixture.scratch_topic("poison_out").await?;
    let change = |id: Uuid, lsn: u64| {
        format!(
            r#"{{"before":null,"after":{{"id":"{id}","person_id":"{}","date_calculated":"2022-12-08T04:41:29.568289Z","assets":5,"liabilities":1}},"source":{{"lsn":{lsn}}},"op":"c"}}"#,
            Uuid::new_v4()
        )
    };
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let producer: FutureProducer = kafka_config(&fixture.stack)?.create()?;
    for (key, value) in [
        (a.to_string(), change(a, 1)),
        ("poison".to_string(), "not a change event".to_string()),
        (b.to_string(), change(b, 2)),
    ] {
        producer
            .send(
                FutureRecord::to(&input).key(&key).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("producing: {e}"))?;
    }
    let group = fixture.fresh_group(&input, Some(BTreeMap::from([(0, 0)])))?;
    let translator = fixture.start(
        &group,
        &input,
        &output,
        &format!("{group}.poison"),
        Duration::ZERO,
    )?;
    let produced = fixture.read_committed(&output, |r| r.len() >= 2, Duration::from_secs(1))?;
    let dead = fixture.read_committed(
        &dead_letter_topic(&input),
        |r| !r.is_empty(),
        Duration::from_secs(1),
    )?;
    translator.stop().await?;

    let keys: Vec<Option<String>> = produced.iter().map(key_of).collect();
    assert_eq!(keys, [Some(a.to_string()), Some(b.to_string())]);
    ensure!(dead.len() == 1, "one dead letter, got {}", dead.len());
    let letter = &dead[0];
    assert_eq!(letter.payload(), Some(&b"not a change event"[..]));
    assert_eq!(
        header(letter, DeadLetterHeaders::ORIGINAL_TOPIC).as_deref(),
        Some(input.as_str())
    );
    assert_eq!(
        header(letter, DeadLetterHeaders::ORIGINAL_OFFSET).as_deref(),
        Some("1")
    );
    assert_eq!(
        header(letter, DeadLetterHeaders::CONSUMER_GROUP).as_deref(),
        Some(group.as_str())
    );
    assert_eq!(
        header(letter, DeadLetterHeaders::ERROR_CLASS).as_deref(),
        Some("contract_violation")
    );
    Ok(())
}
