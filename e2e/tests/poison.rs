//! Poison on the real stack: events that decode but must not apply — values the database
//! cannot store, missing or foreign CloudEvents attributes — are dead-lettered once, with
//! their class, and the events behind them on the same partition apply.
//!
//! Each test produces the poison and then valid events onto one partition, waits for the valid
//! ones in planning (so the poison, before them in the partition, has been handled), then
//! reads the dead-letter topic up to its end.
//!
//! Needs the stack, the connectors and the services: `cargo xtask ci` starts them all.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use chrono::{NaiveDate, Utc};
use contract_runtime::client::HttpClient;
use contract_runtime::event::CanonicalEvent;
use contracts::events::{BalanceSheet, Person};
use contracts::planning_api::{self, GetRatiosResponse, Ratio};
use e2e::{NOT_UP, Stack, kafka_config};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use service_kit::codec::EventCodec;
use service_kit::consumer::{DeadLetterHeaders, dead_letter_topic};
use uuid::Uuid;

const CONSISTENCY_TIMEOUT: Duration = Duration::from_secs(60);
/// Every message of a test goes to this partition, so the valid events queue behind the poison.
const PARTITION: i32 = 0;

fn planning() -> planning_api::Client {
    planning_api::Client::new(
        HttpClient::new(e2e::service_url(contracts::topology::planning::PORT))
            .with_credentials(e2e::DEMO_USERNAME, e2e::DEMO_PASSWORD),
    )
}

/// Planning's ratio for `person_id` once `done` holds for it (`None` = 404).
async fn wait_for_ratio(
    person_id: Uuid,
    what: &str,
    done: impl Fn(Option<&Ratio>) -> bool,
) -> Result<Option<Ratio>> {
    let deadline = Instant::now() + CONSISTENCY_TIMEOUT;
    loop {
        let answer = match planning().get_ratios(person_id).await {
            Ok(GetRatiosResponse::Ok(ratios)) => ratios.into_iter().next(),
            Err(error) if error.status() == Some(http::StatusCode::NOT_FOUND) => None,
            Err(error) => bail!(
                "planning is not answering ({error}); {NOT_UP}, then `cargo xtask services up`"
            ),
        };
        if done(answer.as_ref()) {
            return Ok(answer);
        }
        if Instant::now() > deadline {
            bail!("planning did not reach `{what}` within {CONSISTENCY_TIMEOUT:?}: {answer:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The CloudEvents headers a producer following the wire contract writes for `T`.
fn ce_headers<T: CanonicalEvent>() -> Vec<(&'static str, String)> {
    vec![
        ("ce_id", Uuid::new_v4().to_string()),
        ("ce_source", T::SOURCE.to_string()),
        ("ce_type", T::EVENT_TYPE.to_string()),
        ("ce_time", Utc::now().to_rfc3339()),
        ("content-type", "application/avro".to_string()),
    ]
}

fn without(headers: Vec<(&'static str, String)>, name: &str) -> Vec<(&'static str, String)> {
    headers.into_iter().filter(|(k, _)| *k != name).collect()
}

fn replaced(
    headers: Vec<(&'static str, String)>,
    name: &str,
    value: &str,
) -> Vec<(&'static str, String)> {
    headers
        .into_iter()
        .map(|(k, v)| {
            if k == name {
                (k, value.to_string())
            } else {
                (k, v)
            }
        })
        .collect()
}

struct Wire {
    producer: FutureProducer,
    codec: EventCodec,
    stack: Stack,
}

impl Wire {
    fn new() -> Result<Self> {
        let stack = Stack::load()?;
        Ok(Self {
            producer: kafka_config(&stack)?.create()?,
            codec: EventCodec::new(stack.registry()?)?,
            stack,
        })
    }

    /// Produces `event` onto its topic's test partition with `headers`.
    async fn send<T: CanonicalEvent>(
        &self,
        event: &T,
        headers: &[(&'static str, String)],
    ) -> Result<()> {
        let value = self.codec.encode(event).await?;
        let headers = headers.iter().fold(OwnedHeaders::new(), |h, (key, value)| {
            h.insert(Header {
                key,
                value: Some(value.as_str()),
            })
        });
        let key = event.key();
        self.producer
            .send(
                FutureRecord::to(T::TOPIC)
                    .partition(PARTITION)
                    .key(&key)
                    .payload(&value)
                    .headers(headers),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| anyhow::anyhow!("producing to {}: {error}", T::TOPIC))?;
        Ok(())
    }

    /// The end of `topic`'s dead-letter topic now: where this test's letters start.
    fn dead_letters_end(&self, topic: &str) -> Result<i64> {
        let consumer: BaseConsumer = kafka_config(&self.stack)?.create()?;
        let (_, high) = consumer
            .fetch_watermarks(&dead_letter_topic(topic), 0, Duration::from_secs(10))
            .with_context(|| format!("watermarks of {}", dead_letter_topic(topic)))?;
        Ok(high)
    }

    /// The dead letters of `key` written to `topic`'s dead-letter topic since `from`.
    fn dead_letters(&self, topic: &str, from: i64, key: &str) -> Result<Vec<OwnedMessage>> {
        let dlq = dead_letter_topic(topic);
        let consumer: BaseConsumer = kafka_config(&self.stack)?
            .set("group.id", format!("e2e-{}", Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .create()?;
        let (_, high) = consumer.fetch_watermarks(&dlq, 0, Duration::from_secs(10))?;
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(&dlq, 0, Offset::Offset(from))?;
        consumer.assign(&assignment)?;
        let mut letters = Vec::new();
        let mut next = from;
        let deadline = Instant::now() + Duration::from_secs(30);
        while next < high {
            ensure!(Instant::now() < deadline, "cannot read {dlq} up to {high}");
            if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                let message = message?.detach();
                next = message.offset() + 1;
                if message.key() == Some(key.as_bytes()) {
                    letters.push(message);
                }
            }
        }
        Ok(letters)
    }
}

fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    message
        .headers()?
        .iter()
        .filter(|h| h.key == name)
        .last()
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn person(first_name: &str, born: NaiveDate) -> Person {
    Person {
        id: Uuid::new_v4(),
        first_name: first_name.to_string(),
        last_name: "Poison".to_string(),
        date_of_birth: born,
    }
}

fn born() -> NaiveDate {
    NaiveDate::from_ymd_opt(1980, 2, 23).expect("a date")
}

/// Produces `poison` with `headers`, then two valid persons behind it; waits for both in
/// planning; returns the poison's dead letters.
async fn person_poison(
    poison: &Person,
    headers: Vec<(&'static str, String)>,
) -> Result<Vec<OwnedMessage>> {
    let wire = Wire::new()?;
    let from = wire.dead_letters_end(Person::TOPIC)?;
    wire.send(poison, &headers).await?;
    let behind = [person("Behind", born()), person("Behind too", born())];
    for valid in &behind {
        wire.send(valid, &ce_headers::<Person>()).await?;
    }
    for valid in &behind {
        wait_for_ratio(valid.id, "the person behind the poison known", |r| {
            r.is_some()
        })
        .await?;
    }
    // The poison never applied.
    let poisoned = wait_for_ratio(poison.id, "not found", |_| true).await?;
    ensure!(poisoned.is_none(), "the poison was applied: {poisoned:?}");
    wire.dead_letters(Person::TOPIC, from, &poison.id.to_string())
}

fn assert_one_letter(letters: &[OwnedMessage], class: &str, mentions: &str) -> Result<()> {
    ensure!(
        letters.len() == 1,
        "expected one dead letter, found {}",
        letters.len()
    );
    let letter = &letters[0];
    assert_eq!(
        header(letter, DeadLetterHeaders::ERROR_CLASS).as_deref(),
        Some(class)
    );
    ensure!(
        header(letter, DeadLetterHeaders::CONSUMER_GROUP).is_some_and(|g| !g.is_empty()),
        "the dead letter names no consumer group"
    );
    assert_eq!(
        header(letter, DeadLetterHeaders::ORIGINAL_PARTITION).as_deref(),
        Some(PARTITION.to_string().as_str())
    );
    let message = header(letter, DeadLetterHeaders::ERROR_MESSAGE).unwrap_or_default();
    ensure!(
        message.contains(mentions),
        "the dead letter's message does not mention `{mentions}`: {message}"
    );
    Ok(())
}

#[tokio::test]
async fn a_nul_byte_in_a_name_is_dead_lettered_once_and_the_events_behind_it_apply() -> Result<()> {
    // Valid Avro (a string may hold U+0000), but PostgreSQL text cannot (SQLSTATE 22021, a
    // data exception); the contract check sees it first.
    let poison = person("ab\u{0}cd", born());
    let letters = person_poison(&poison, ce_headers::<Person>()).await?;
    assert_one_letter(&letters, "contract_violation", "/first_name")
}

#[tokio::test]
async fn a_200_character_name_is_dead_lettered_once() -> Result<()> {
    // The person API allows 50 characters; the topic must not carry what the API refuses.
    let poison = person(&"n".repeat(200), born());
    let letters = person_poison(&poison, ce_headers::<Person>()).await?;
    assert_one_letter(&letters, "contract_violation", "/first_name")
}

#[tokio::test]
async fn a_balance_sheet_with_assets_of_i64_min_is_dead_lettered_and_ratios_still_answer()
-> Result<()> {
    let wire = Wire::new()?;
    let owner = person("Owner", born());
    wire.send(&owner, &ce_headers::<Person>()).await?;
    let from = wire.dead_letters_end(BalanceSheet::TOPIC)?;
    let sheet = |assets, liabilities, days_ago| BalanceSheet {
        id: Uuid::new_v4(),
        person_id: owner.id,
        date_calculated: Utc::now() - chrono::Duration::days(days_ago),
        assets,
        liabilities,
    };
    // The poison is the later sheet: applied, it would be the one the ratio reads.
    let poison = sheet(i64::MIN, 0, 1);
    wire.send(&poison, &ce_headers::<BalanceSheet>()).await?;
    let valid = sheet(1_000, 250, 2);
    wire.send(&valid, &ce_headers::<BalanceSheet>()).await?;
    let ratio = wait_for_ratio(owner.id, "ratio 0.75 from the valid sheet", |r| {
        r.is_some_and(|r| r.result.ratio == Some(0.75))
    })
    .await?;
    ensure!(ratio.is_some(), "planning answers the ratio");
    let letters = wire.dead_letters(BalanceSheet::TOPIC, from, &poison.id.to_string())?;
    assert_one_letter(&letters, "contract_violation", "/assets")
}

#[tokio::test]
async fn a_date_postgresql_cannot_store_is_dead_lettered_once() -> Result<()> {
    // Within Avro's and chrono's range, before PostgreSQL's first date (4713 BC): 22008.
    let ancient = NaiveDate::from_ymd_opt(-5000, 1, 1).context("a date")?;
    let poison = person("Ancient", ancient);
    let letters = person_poison(&poison, ce_headers::<Person>()).await?;
    assert_one_letter(&letters, "data_exception", "22008")
}

#[tokio::test]
async fn an_event_without_ce_id_is_dead_lettered_once() -> Result<()> {
    let poison = person("No id", born());
    let letters = person_poison(&poison, without(ce_headers::<Person>(), "ce_id")).await?;
    assert_one_letter(&letters, "contract_violation", "ce_id")
}

#[tokio::test]
async fn an_event_with_another_events_type_is_dead_lettered_once() -> Result<()> {
    // A person's body under the balance sheet's type: not this topic's event, however well
    // the body decodes.
    let poison = person("Foreign", born());
    let headers = replaced(ce_headers::<Person>(), "ce_type", BalanceSheet::EVENT_TYPE);
    let letters = person_poison(&poison, headers).await?;
    assert_one_letter(&letters, "contract_violation", BalanceSheet::EVENT_TYPE)
}
