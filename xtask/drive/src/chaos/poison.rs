//! Poison: messages no consumer can ever handle, produced straight onto the public topics.
//! Each must end in `<topic>.dlq` exactly once, with the documented headers and the right
//! error class, while the partition moves on: bytes no decoder reads, and valid Avro whose
//! values or CloudEvents attributes break the contract.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use contract_runtime::event::CanonicalEvent;
use contracts::events;
use rand::Rng;
use rand::rngs::StdRng;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use service_kit::cloudevents::{self, AVRO_CONTENT_TYPE, Attributes};
use service_kit::codec::{EventCodec, MAGIC_BYTE};
use uuid::Uuid;

use crate::dlq::DeadLetter;
use crate::stack::StackInfo;

/// Header naming the kind of poison, kept on the dead letter (the original headers are).
pub const POISON_HEADER: &str = "chaos_poison";

/// One injected message.
#[derive(Debug, Clone)]
pub struct Poison {
    pub topic: &'static str,
    pub key: String,
    pub kind: &'static str,
    /// The `dlq_error_class` it must be dead-lettered with.
    pub expected_class: &'static str,
}

/// A CloudEvents header set of `T`'s (fresh id), as the outbox relay writes it.
fn ce_headers<T: CanonicalEvent>() -> Vec<(&'static str, String)> {
    let attributes = Attributes::new(T::EVENT_TYPE, T::SOURCE);
    let mut headers = vec![
        (cloudevents::ID, attributes.id.clone()),
        (cloudevents::SOURCE, attributes.source.clone()),
        (cloudevents::TYPE, attributes.event_type.clone()),
        (cloudevents::SPECVERSION, attributes.specversion.clone()),
        (cloudevents::CONTENT_TYPE, AVRO_CONTENT_TYPE.to_owned()),
    ];
    headers.extend(attributes.time_text().map(|time| (cloudevents::TIME, time)));
    headers
}

/// One value that decodes but breaks the contract, with its headers.
struct ValuePoison {
    topic: &'static str,
    key: String,
    kind: &'static str,
    value: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

/// The contract-breaking values of issue 14 (items 2 and 4): each decodes with its schema,
/// and each must be dead-lettered as a contract violation, checked before anything is
/// written (the e2e poison tests hold the same cases one by one).
async fn value_poison(codec: &EventCodec) -> Result<Vec<ValuePoison>> {
    let born = NaiveDate::from_ymd_opt(1980, 2, 23).context("a valid date")?;
    let person = |first_name: String| events::Person {
        id: Uuid::new_v4(),
        first_name,
        last_name: "Poison".into(),
        date_of_birth: born,
    };
    let mut poison = Vec::new();
    for (kind, event, headers) in [
        (
            "nul-in-first-name",
            person("Poi\0son".into()),
            ce_headers::<events::Person>(),
        ),
        (
            "name-of-200-characters",
            person("n".repeat(200)),
            ce_headers::<events::Person>(),
        ),
        (
            "without-ce-id",
            person("Valid".into()),
            ce_headers::<events::Person>()
                .into_iter()
                .filter(|(name, _)| *name != cloudevents::ID)
                .collect(),
        ),
        (
            "foreign-ce-type",
            person("Valid".into()),
            ce_headers::<events::Person>()
                .into_iter()
                .map(|(name, value)| {
                    if name == cloudevents::TYPE {
                        (name, events::BalanceSheet::EVENT_TYPE.to_owned())
                    } else {
                        (name, value)
                    }
                })
                .collect(),
        ),
    ] {
        poison.push(ValuePoison {
            topic: events::Person::TOPIC,
            key: event.key(),
            kind,
            value: codec.encode(&event).await?,
            headers,
        });
    }
    let sheet = events::BalanceSheet {
        id: Uuid::new_v4(),
        person_id: Uuid::new_v4(),
        date_calculated: Utc::now(),
        assets: i64::MIN,
        liabilities: 0,
    };
    poison.push(ValuePoison {
        topic: events::BalanceSheet::TOPIC,
        key: sheet.key(),
        kind: "assets-i64-min",
        value: codec.encode(&sheet).await?,
        headers: ce_headers::<events::BalanceSheet>(),
    });
    Ok(poison)
}

/// Produces three undecodable poison messages onto each public entity topic, and the five
/// contract-breaking values of [`value_poison`].
pub async fn inject(info: &StackInfo, rng: &mut StdRng) -> Result<Vec<Poison>> {
    let codec = EventCodec::new(&info.schema_registry_url)?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &info.kafka_bootstrap_servers)
        .set("enable.idempotence", "true")
        .create()
        .context("cannot create a Kafka producer")?;
    let person = events::Person {
        id: Uuid::new_v4(),
        first_name: "Poison".into(),
        last_name: "Person".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1980, 2, 23).unwrap_or_default(),
    };
    let sheet = events::BalanceSheet {
        id: Uuid::new_v4(),
        person_id: person.id,
        date_calculated: Utc::now(),
        assets: 1,
        liabilities: 1,
    };
    // The other topic's record, properly framed with its registered schema id.
    let person_framed = codec.encode(&person).await?;
    let sheet_framed = codec.encode(&sheet).await?;
    let mut poison = Vec::new();
    for (topic, wrong_schema) in [
        (events::Person::TOPIC, sheet_framed),
        (events::BalanceSheet::TOPIC, person_framed),
    ] {
        let mut random = vec![0u8; 48];
        rng.fill(&mut random[..]);
        random[0] = rng.random_range(1..=u8::MAX); // anything but the magic byte
        let mut unknown_id = vec![MAGIC_BYTE];
        // Far above any id the registry hands out.
        unknown_id.extend_from_slice(
            &rng.random_range(2_000_000_000u32..2_100_000_000)
                .to_be_bytes(),
        );
        unknown_id.extend_from_slice(&random[..16]);
        for (kind, value, expected_class) in [
            ("random-bytes", random.clone(), "not_confluent_frame"),
            ("unknown-schema-id", unknown_id, "unknown_schema_id"),
            ("wrong-schema", wrong_schema.clone(), "contract_violation"),
        ] {
            let key = Uuid::new_v4().to_string();
            let headers = OwnedHeaders::new().insert(Header {
                key: POISON_HEADER,
                value: Some(kind),
            });
            let record = FutureRecord::to(topic)
                .key(key.as_str())
                .payload(value.as_slice())
                .headers(headers);
            producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(error, _)| {
                    anyhow::anyhow!("cannot produce poison to {topic}: {error}")
                })?;
            poison.push(Poison {
                topic,
                key,
                kind,
                expected_class,
            });
        }
    }
    for case in value_poison(&codec).await? {
        let headers = case
            .headers
            .iter()
            .fold(OwnedHeaders::new(), |headers, (name, value)| {
                headers.insert(Header {
                    key: name,
                    value: Some(value.as_str()),
                })
            })
            .insert(Header {
                key: POISON_HEADER,
                value: Some(case.kind),
            });
        let record = FutureRecord::to(case.topic)
            .key(case.key.as_str())
            .payload(case.value.as_slice())
            .headers(headers);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| {
                anyhow::anyhow!(
                    "cannot produce {} poison to {}: {error}",
                    case.kind,
                    case.topic
                )
            })?;
        poison.push(Poison {
            topic: case.topic,
            key: case.key,
            kind: case.kind,
            expected_class: "contract_violation",
        });
    }
    Ok(poison)
}

/// After verification the poison keys get a tombstone: compaction then drops the poison, so
/// a later rebuild does not dead-letter it again.
pub async fn tombstone(info: &StackInfo, poison: &[Poison]) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &info.kafka_bootstrap_servers)
        .set("enable.idempotence", "true")
        .create()
        .context("cannot create a Kafka producer")?;
    for p in poison {
        let record = FutureRecord::<str, [u8]>::to(p.topic).key(p.key.as_str());
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| {
                anyhow::anyhow!("cannot tombstone poison on {}: {error}", p.topic)
            })?;
    }
    Ok(())
}

/// How the dead letters of a phase compare with its poison.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Poison dead-lettered exactly once, with every header and the right class.
    pub dead_lettered: usize,
    /// Dead letters that are not poison of this phase, or repeat one, or are wrong.
    pub unexpected: Vec<String>,
    /// Poison not (yet) dead-lettered.
    pub missing: Vec<String>,
}

/// Matches dead letters (keyed by their original topic and key) against the poison.
pub fn verify(poison: &[Poison], letters: &[DeadLetter]) -> Verdict {
    let mut verdict = Verdict::default();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for letter in letters {
        let key = letter.message.key_text().unwrap_or_default();
        let topic = letter.original_topic().unwrap_or_default();
        let where_ = format!(
            "{} (class {})",
            letter.original_position(),
            letter.error_class().as_deref().unwrap_or("?")
        );
        let Some(p) = poison.iter().find(|p| p.topic == topic && p.key == key) else {
            verdict.unexpected.push(format!("not poison: {where_}"));
            continue;
        };
        let count = seen.entry((topic, key)).or_default();
        *count += 1;
        let missing_headers = letter.missing_headers();
        if *count > 1 {
            verdict
                .unexpected
                .push(format!("{} dead-lettered twice: {where_}", p.kind));
        } else if !missing_headers.is_empty() {
            verdict.unexpected.push(format!(
                "{} lacks headers {missing_headers:?}: {where_}",
                p.kind
            ));
        } else if letter.error_class().as_deref() != Some(p.expected_class) {
            verdict.unexpected.push(format!(
                "{} expected class {}: {where_}",
                p.kind, p.expected_class
            ));
        } else {
            verdict.dead_lettered += 1;
        }
    }
    verdict.missing = poison
        .iter()
        .filter(|p| !seen.contains_key(&(p.topic.to_string(), p.key.clone())))
        .map(|p| format!("{} on {} (key {})", p.kind, p.topic, p.key))
        .collect();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka_groups::StoredMessage;
    use service_kit::consumer::DeadLetterHeaders as H;

    fn letter(topic: &str, key: &str, class: &str) -> DeadLetter {
        let headers = [
            (H::ORIGINAL_TOPIC, topic),
            (H::ORIGINAL_PARTITION, "0"),
            (H::ORIGINAL_OFFSET, "7"),
            (H::CONSUMER_GROUP, "g"),
            (H::ERROR_CLASS, class),
            (H::ERROR_MESSAGE, "m"),
            (H::ATTEMPTS, "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Some(v.as_bytes().to_vec())))
        .collect();
        DeadLetter {
            message: StoredMessage {
                partition: 0,
                offset: 0,
                key: Some(key.as_bytes().to_vec()),
                value: None,
                headers,
            },
        }
    }

    fn poison(key: &str, class: &'static str) -> Poison {
        Poison {
            topic: "t",
            key: key.into(),
            kind: "k",
            expected_class: class,
        }
    }

    #[test]
    fn only_each_poison_once_with_its_class_passes() {
        let injected = [poison("a", "x"), poison("b", "y")];
        let good = verify(&injected, &[letter("t", "a", "x"), letter("t", "b", "y")]);
        assert_eq!(
            (
                good.dead_lettered,
                good.unexpected.len(),
                good.missing.len()
            ),
            (2, 0, 0)
        );

        let bad = verify(
            &injected,
            &[
                letter("t", "a", "x"),
                letter("t", "a", "x"),
                letter("t", "b", "wrong"),
                letter("t", "c", "x"),
            ],
        );
        assert_eq!(bad.dead_lettered, 1);
        assert_eq!(bad.unexpected.len(), 3, "{:?}", bad.unexpected);
        assert!(bad.missing.is_empty());

        let none = verify(&injected, &[]);
        assert_eq!(none.missing.len(), 2);
    }
}
