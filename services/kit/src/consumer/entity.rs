//! Reading entity-state topics: every message carries the full state of one entity keyed by
//! its id, or a tombstone (null value) when the entity is deleted.
//!
//! What a message must be to be applied (anything else is a contract violation and goes to the
//! dead-letter topic):
//! - the key is the entity id as UUID text;
//! - a value is a Confluent-framed Avro record that resolves to the consumer's event type and
//!   whose id is the key;
//! - a value carries the CloudEvents attributes the wire contract requires of every producer,
//!   the seed's included: `ce_id`, `ce_source` and `ce_type` (`ce_specversion` may be missing
//!   and means 1.0), and `ce_type` names the topic's event type — a message of another event
//!   type on this topic is not this entity's state, however well its body decodes;
//! - the value keeps within the contract's limits ([`CanonicalEvent::violations`]: the
//!   OpenAPI limits of the same fields — name lengths, ranges — and no text PostgreSQL cannot
//!   store), so a reader never meets a value the producer's own API would have refused;
//! - a tombstone needs no attributes (Kafka's delete marker carries no event), but a `ce_type`
//!   it does carry must name the topic's event type.

use std::collections::BTreeMap;

use contract_runtime::event::CanonicalEvent;
use rdkafka::message::Headers;
use uuid::Uuid;

use super::{HandleError, RawEvent};
use crate::cloudevents::{self, Attributes};
use crate::codec::EventCodec;

/// A state change of one entity.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityChange<T> {
    Upsert(T),
    Deleted(Uuid),
}

/// The net effect of a batch of changes (in partition order) on an entity table, as two set
/// operations: delete the rows of [`Collapsed::deletes`], then upsert [`Collapsed::upserts`].
/// Applying it leaves the table as applying the changes one after the other would: the last
/// state of an entity wins, a tombstone after an upsert deletes, an upsert after a tombstone
/// starts the entity afresh.
#[derive(Debug, PartialEq)]
pub struct Collapsed<'a, T> {
    /// Entities whose row goes: their last change is a tombstone, or a tombstone came before
    /// their last upserts (which then write a new row). Sorted by id.
    pub deletes: Vec<Uuid>,
    /// The last state of every entity whose last change is an upsert. Sorted by key, so no
    /// key appears twice (a multi-row `ON CONFLICT DO UPDATE` must not touch a row twice)
    /// and concurrent writers lock rows in the same order.
    pub upserts: Vec<NetUpsert<'a, T>>,
}

/// An entity's last state in a batch and how many upserts led to it since the batch began or
/// since its last tombstone in the batch: what a per-event count (such as planning's
/// `applied_events`) adds.
#[derive(Debug, PartialEq)]
pub struct NetUpsert<'a, T> {
    pub state: &'a T,
    pub upserts: u32,
}

/// Collapses `changes` (one partition's, in order) per entity into its net effect.
pub fn collapse<'a, T: CanonicalEvent>(changes: &[&'a EntityChange<T>]) -> Collapsed<'a, T> {
    enum Net<'a, T> {
        Upsert {
            state: &'a T,
            upserts: u32,
            deleted_first: Option<Uuid>,
        },
        Deleted(Uuid),
    }
    let mut by_key: BTreeMap<String, Net<'a, T>> = BTreeMap::new();
    for change in changes {
        match change {
            EntityChange::Upsert(state) => {
                let next = match by_key.remove(&state.key()) {
                    None => Net::Upsert {
                        state,
                        upserts: 1,
                        deleted_first: None,
                    },
                    Some(Net::Upsert {
                        upserts,
                        deleted_first,
                        ..
                    }) => Net::Upsert {
                        state,
                        upserts: upserts.saturating_add(1),
                        deleted_first,
                    },
                    Some(Net::Deleted(id)) => Net::Upsert {
                        state,
                        upserts: 1,
                        deleted_first: Some(id),
                    },
                };
                by_key.insert(state.key(), next);
            }
            EntityChange::Deleted(id) => {
                by_key.insert(id.to_string(), Net::Deleted(*id));
            }
        }
    }
    let mut collapsed = Collapsed {
        deletes: Vec::new(),
        upserts: Vec::new(),
    };
    for net in by_key.into_values() {
        match net {
            Net::Deleted(id) => collapsed.deletes.push(id),
            Net::Upsert {
                state,
                upserts,
                deleted_first,
            } => {
                collapsed.deletes.extend(deleted_first);
                collapsed.upserts.push(NetUpsert { state, upserts });
            }
        }
    }
    collapsed.deletes.sort_unstable();
    collapsed
}

/// Decodes an entity-state message into the change it means (see the module's rules).
pub async fn decode_entity<T: CanonicalEvent>(
    codec: &EventCodec,
    raw: &RawEvent,
) -> Result<EntityChange<T>, HandleError> {
    let key = entity_key(raw)?;
    let Some(value) = &raw.value else {
        check_tombstone_headers::<T>(raw)?;
        return Ok(EntityChange::Deleted(key));
    };
    let event: T = codec.decode(value).await?;
    check_event::<T>(&event, key, raw)?;
    Ok(EntityChange::Upsert(event))
}

/// The key as an entity id.
pub fn entity_key(raw: &RawEvent) -> Result<Uuid, HandleError> {
    raw.key_text()
        .and_then(|k| Uuid::parse_str(k).ok())
        .ok_or_else(|| HandleError::contract_violation("the key is not an entity id (UUID text)"))
}

/// The checks of a decoded value against its message: id and key agree, the CloudEvents
/// attributes are there and name `T`, the values keep within the contract's limits.
pub fn check_event<T: CanonicalEvent>(
    event: &T,
    key: Uuid,
    raw: &RawEvent,
) -> Result<(), HandleError> {
    if event.key() != key.to_string() {
        return Err(HandleError::contract_violation(format!(
            "key {key} differs from the event's id {}",
            event.key()
        )));
    }
    let attributes = Attributes::from_headers(raw.headers.as_ref())
        .map_err(|e| HandleError::contract_violation(format!("{e}")))?;
    check_event_type::<T>(&attributes.event_type)?;
    let violations = event.violations();
    if violations.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}", v.pointer, v.message))
        .collect();
    Err(HandleError::contract_violation(format!(
        "`{}` outside the contract's limits: {}",
        T::EVENT_TYPE,
        listed.join("; ")
    )))
}

fn check_tombstone_headers<T: CanonicalEvent>(raw: &RawEvent) -> Result<(), HandleError> {
    let Some(headers) = raw.headers.as_ref() else {
        return Ok(());
    };
    let event_type = headers
        .iter()
        .filter(|h| h.key == cloudevents::TYPE)
        .last()
        .and_then(|h| h.value);
    match event_type {
        None => Ok(()),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(event_type) => check_event_type::<T>(event_type),
            Err(_) => Err(HandleError::contract_violation(
                "CloudEvents header `ce_type` is not UTF-8",
            )),
        },
    }
}

fn check_event_type<T: CanonicalEvent>(event_type: &str) -> Result<(), HandleError> {
    if event_type == T::EVENT_TYPE {
        Ok(())
    } else {
        Err(HandleError::contract_violation(format!(
            "`ce_type` is `{event_type}`, but {} carries `{}`",
            T::TOPIC,
            T::EVENT_TYPE
        )))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use contracts::events::{BalanceSheet, Person};
    use rdkafka::message::{Header, OwnedHeaders};

    use super::*;
    use crate::consumer::ErrorClass;

    const ID: &str = "8ab01372-1e2e-493a-88b6-da171b116ef2";

    fn person() -> Person {
        Person {
            id: Uuid::parse_str(ID).expect("uuid"),
            first_name: "Bart".into(),
            last_name: "Simpson".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1980, 2, 23).expect("date"),
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> OwnedHeaders {
        pairs.iter().fold(OwnedHeaders::new(), |h, (key, value)| {
            h.insert(Header {
                key,
                value: Some(*value),
            })
        })
    }

    /// The headers the seed's relay writes: no `ce_specversion`.
    const SEED_HEADERS: &[(&str, &str)] = &[
        ("ce_id", "0b0e3c7c-8c1f-4a5e-9d7e-2f0a1b2c3d4e"),
        ("ce_source", "person-service"),
        ("ce_type", "person_entity_state"),
        ("ce_time", "2026-11-24T10:00:00Z"),
        ("content-type", "application/avro"),
    ];

    fn raw(key: Option<&str>, value: Option<&[u8]>, headers: Option<OwnedHeaders>) -> RawEvent {
        RawEvent {
            topic: Person::TOPIC.into(),
            partition: 0,
            offset: 1,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(<[u8]>::to_vec),
            headers,
        }
    }

    fn violation(result: Result<(), HandleError>) -> String {
        match result {
            Err(HandleError::Permanent {
                class: ErrorClass::ContractViolation,
                error,
            }) => error.to_string(),
            other => panic!("expected a contract violation, got {other:?}"),
        }
    }

    #[test]
    fn an_event_with_the_seeds_headers_passes() {
        let message = raw(Some(ID), Some(b"x"), Some(headers(SEED_HEADERS)));
        let key = entity_key(&message).expect("a uuid key");
        check_event(&person(), key, &message).expect("the seed's headers are enough");
    }

    #[test]
    fn an_event_without_ce_id_or_without_headers_is_a_violation() {
        let without_id: Vec<_> = SEED_HEADERS
            .iter()
            .copied()
            .filter(|(k, _)| *k != "ce_id")
            .collect();
        let message = raw(Some(ID), Some(b"x"), Some(headers(&without_id)));
        let key = entity_key(&message).expect("key");
        assert!(violation(check_event(&person(), key, &message)).contains("ce_id"));
        let bare = raw(Some(ID), Some(b"x"), None);
        assert!(violation(check_event(&person(), key, &bare)).contains("ce_id"));
    }

    #[test]
    fn an_event_with_another_events_type_is_a_violation() {
        let foreign: Vec<_> = SEED_HEADERS
            .iter()
            .map(|&(k, v)| {
                if k == "ce_type" {
                    (k, BalanceSheet::EVENT_TYPE)
                } else {
                    (k, v)
                }
            })
            .collect();
        let message = raw(Some(ID), Some(b"x"), Some(headers(&foreign)));
        let key = entity_key(&message).expect("key");
        let text = violation(check_event(&person(), key, &message));
        assert!(text.contains("balance_sheet_created"), "{text}");
    }

    #[test]
    fn key_and_id_must_agree_and_the_key_must_be_a_uuid() {
        let other = "10cdc09d-757c-4e4f-96bc-367a7de72f70";
        let message = raw(Some(other), Some(b"x"), Some(headers(SEED_HEADERS)));
        let key = entity_key(&message).expect("key");
        assert!(violation(check_event(&person(), key, &message)).contains("differs"));
        for bad in [None, Some("not-a-uuid")] {
            let message = raw(bad, Some(b"x"), None);
            assert!(violation(entity_key(&message).map(|_| ())).contains("UUID"));
        }
    }

    #[test]
    fn values_outside_the_contracts_limits_are_violations() {
        let message = raw(Some(ID), Some(b"x"), Some(headers(SEED_HEADERS)));
        let key = entity_key(&message).expect("key");
        let long = Person {
            first_name: "x".repeat(200),
            ..person()
        };
        let text = violation(check_event(&long, key, &message));
        assert!(text.contains("/first_name"), "{text}");
        let nul = Person {
            last_name: "ab\u{0}cd".into(),
            ..person()
        };
        assert!(violation(check_event(&nul, key, &message)).contains("/last_name"));
        let sheet = BalanceSheet {
            id: key,
            person_id: Uuid::new_v4(),
            date_calculated: chrono::Utc::now(),
            assets: i64::MIN,
            liabilities: 0,
        };
        let sheet_message = RawEvent {
            topic: BalanceSheet::TOPIC.into(),
            headers: Some(headers(&[
                ("ce_id", "x"),
                ("ce_source", BalanceSheet::SOURCE),
                ("ce_type", BalanceSheet::EVENT_TYPE),
            ])),
            ..message
        };
        assert!(violation(check_event(&sheet, key, &sheet_message)).contains("/assets"));
    }

    #[test]
    fn a_batch_collapses_to_the_last_state_of_each_entity_and_its_upsert_count() {
        let a = Uuid::from_u128(0xa);
        let b = Uuid::from_u128(0xb);
        let named = |id: Uuid, first_name: &str| {
            EntityChange::Upsert(Person {
                id,
                first_name: first_name.into(),
                ..person()
            })
        };
        let a1 = named(a, "a1");
        let a2 = named(a, "a2");
        let a3 = named(a, "a3");
        let b1 = named(b, "b1");
        let gone_a = EntityChange::<Person>::Deleted(a);
        let gone_b = EntityChange::<Person>::Deleted(b);
        /// A case: its changes, the deletes, the upserts as (first name, count).
        type Case<'a> = (
            &'a str,
            Vec<&'a EntityChange<Person>>,
            Vec<Uuid>,
            Vec<(&'a str, u32)>,
        );
        let table: Vec<Case<'_>> = vec![
            ("one upsert", vec![&a1], vec![], vec![("a1", 1)]),
            (
                "the last state wins",
                vec![&a1, &a2, &a3],
                vec![],
                vec![("a3", 3)],
            ),
            (
                "a tombstone after an upsert deletes",
                vec![&a1, &gone_a],
                vec![a],
                vec![],
            ),
            ("a lone tombstone", vec![&gone_a], vec![a], vec![]),
            (
                "an upsert after a tombstone starts afresh",
                vec![&a1, &a2, &gone_a, &a3],
                vec![a],
                vec![("a3", 1)],
            ),
            (
                "deleted, upserted twice",
                vec![&gone_a, &a1, &a2],
                vec![a],
                vec![("a2", 2)],
            ),
            ("deleted twice", vec![&gone_a, &gone_a], vec![a], vec![]),
            (
                "entities are independent, sorted by key",
                vec![&b1, &a1, &gone_b, &a2],
                vec![b],
                vec![("a2", 2)],
            ),
            (
                "interleaved, both live",
                vec![&b1, &a1, &a2],
                vec![],
                vec![("a2", 2), ("b1", 1)],
            ),
            ("empty", vec![], vec![], vec![]),
        ];
        for (name, changes, deletes, upserts) in table {
            let collapsed = collapse(&changes);
            assert_eq!(collapsed.deletes, deletes, "{name}: deletes");
            let got: Vec<(String, u32)> = collapsed
                .upserts
                .iter()
                .map(|u| (u.state.first_name.clone(), u.upserts))
                .collect();
            let want: Vec<(String, u32)> =
                upserts.iter().map(|(n, c)| (n.to_string(), *c)).collect();
            assert_eq!(got, want, "{name}: upserts");
        }
    }

    #[test]
    fn tombstones_need_no_headers_but_a_foreign_type_is_a_violation() {
        check_tombstone_headers::<Person>(&raw(Some(ID), None, None)).expect("bare tombstone");
        check_tombstone_headers::<Person>(&raw(Some(ID), None, Some(headers(SEED_HEADERS))))
            .expect("tombstone with the topic's type");
        let foreign = headers(&[("ce_type", BalanceSheet::EVENT_TYPE)]);
        violation(check_tombstone_headers::<Person>(&raw(
            Some(ID),
            None,
            Some(foreign),
        )));
    }
}
