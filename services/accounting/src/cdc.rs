//! The accounting consumer (its group and private topic are in `contracts/system.toml`):
//! translates Debezium's change events of the balance-sheet table (JSON without schemas)
//! into the canonical `balance_sheet_created` event, written to accounting's outbox.
//!
//! With `TRANSLATOR_DELIVERY=kafka-transactions` the same translation is produced straight to
//! the public topic by [`CanonicalRecords`] on the kit's transactional runtime
//! (`service_kit::consumer::transactional`), as the records the outbox relay would write.
//!
//! Every change publishes the sheet's full current state (the topic is an entity-state topic,
//! whatever the event's historical name); a deleted row publishes a tombstone. The canonical
//! event id is derived from the change's position in the WAL, so a change Debezium delivers
//! twice yields the same `ce_id` and is de-duplicated here and downstream.

use std::sync::Arc;

use contract_runtime::event::CanonicalEvent;
use contracts::consumers::accounting::AccountingConsumer;
use contracts::events;
use serde::Deserialize;
use service_kit::codec::{CodecError, EventCodec};
use service_kit::consumer::transactional::{OutputRecord, Translator, canonical_record};
use service_kit::consumer::{BatchItem, ErrorClass, HandleError, Handler, RawEvent};
use service_kit::outbox::{BatchEntry, Outbox};

use crate::store::BalanceSheetRow;
use sqlx::PgConnection;
use uuid::Uuid;

/// Namespace of the event ids derived from WAL positions.
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d1f_1a57_9b2e_4c8a_a3f4_0c5e_6b7d_8e9f);

#[derive(Debug, Deserialize)]
struct Source {
    lsn: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    op: String,
    before: Option<serde_json::Value>,
    /// The row as Debezium's JsonConverter writes it (timestamptz as an ISO-8601 string).
    after: Option<BalanceSheetRow>,
    source: Source,
}

/// Only the captured row's trace context, read before the message is handled.
#[derive(Debug, Deserialize)]
struct TraceOnly {
    after: Option<TraceColumn>,
}

#[derive(Debug, Deserialize)]
struct TraceColumn {
    traceparent: Option<String>,
}

/// The `traceparent` the REST request stored in the row (the after-image's column), which the
/// translation continues; `None` for deletes (the before-image holds only the key), rows
/// written without tracing, and anything unreadable (decoding reports that).
pub fn captured_traceparent(raw: &RawEvent) -> Option<String> {
    let value = raw.value.as_deref()?;
    serde_json::from_slice::<TraceOnly>(value)
        .ok()?
        .after?
        .traceparent
}

/// What one CDC message means for the canonical topic.
#[derive(Debug)]
pub enum Change {
    /// Created, updated or snapshot-read: publish the full state.
    Upsert {
        event_id: Uuid,
        sheet: events::BalanceSheet,
    },
    /// Deleted: publish a tombstone.
    Delete { event_id: Uuid, id: Uuid },
    /// Debezium's own tombstone after a delete, or a truncate: nothing to publish.
    Nothing,
}

pub struct CdcTranslator {
    pub outbox: Outbox,
}

/// What accounting consumes: its own table's changes, read by the [`CdcTranslator`].
pub struct Consumers {
    pub outbox: Outbox,
}

impl AccountingConsumer for Consumers {
    type PrivateAccountingBalSheetCdc = CdcTranslator;

    fn private_accounting_bal_sheet_cdc(&self) -> CdcTranslator {
        CdcTranslator {
            outbox: self.outbox.clone(),
        }
    }
}

fn event_id(lsn: Option<i64>, op: &str, id: Uuid, raw: &RawEvent) -> Uuid {
    // Without an LSN (never seen from pgoutput) the message position still identifies it.
    let position = lsn.map_or_else(|| raw.position(), |lsn| lsn.to_string());
    Uuid::new_v5(
        &EVENT_ID_NAMESPACE,
        format!("{position}/{op}/{id}").as_bytes(),
    )
}

/// Reads one CDC message.
pub fn parse(raw: &RawEvent) -> Result<Change, HandleError> {
    let Some(value) = &raw.value else {
        return Ok(Change::Nothing);
    };
    let envelope: Envelope = serde_json::from_slice(value).map_err(|e| {
        HandleError::contract_violation(format!(
            "not a Debezium change event of balance_sheet: {e}"
        ))
    })?;
    match envelope.op.as_str() {
        "c" | "u" | "r" => {
            let row = envelope.after.ok_or_else(|| {
                HandleError::contract_violation(format!("`{}` change without `after`", envelope.op))
            })?;
            Ok(Change::Upsert {
                event_id: event_id(envelope.source.lsn, &envelope.op, row.id, raw),
                sheet: crate::source::canonical(&row),
            })
        }
        "d" => {
            let id = envelope
                .before
                .as_ref()
                .and_then(|b| b.get("id"))
                .and_then(|id| id.as_str())
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| HandleError::contract_violation("delete without `before.id`"))?;
            Ok(Change::Delete {
                event_id: event_id(envelope.source.lsn, "d", id, raw),
                id,
            })
        }
        _ => Ok(Change::Nothing),
    }
}

impl Handler for CdcTranslator {
    type Event = Change;

    async fn decode(&self, raw: &RawEvent) -> Result<Change, HandleError> {
        parse(raw)
    }

    fn trace_parent(&self, raw: &RawEvent) -> Option<String> {
        captured_traceparent(raw)
    }

    fn event_id(&self, change: &Change, raw: &RawEvent) -> String {
        match change {
            Change::Upsert { event_id, .. } | Change::Delete { event_id, .. } => {
                event_id.to_string()
            }
            Change::Nothing => raw.position(),
        }
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        change: &Change,
        _raw: &RawEvent,
    ) -> Result<(), HandleError> {
        match change {
            Change::Upsert { event_id, sheet } => {
                self.outbox
                    .publish_with_id(tx, sheet, *event_id)
                    .await
                    .map_err(outbox_error)?;
            }
            Change::Delete { event_id, id } => {
                self.outbox
                    .publish_tombstone_with_id::<events::BalanceSheet>(
                        tx,
                        &id.to_string(),
                        *event_id,
                    )
                    .await
                    .map_err(outbox_error)?;
            }
            Change::Nothing => {}
        }
        Ok(())
    }

    /// The whole batch's outbox rows in one multi-row insert.
    async fn apply_batch(
        &self,
        tx: &mut PgConnection,
        batch: &[BatchItem<'_, Change>],
    ) -> Result<(), HandleError> {
        self.outbox
            .publish_batch_with_ids(tx, &outbox_entries(batch))
            .await
            .map_err(outbox_error)
    }
}

/// The outbox rows a batch of changes publishes, in order: every change is an event of its
/// own (downstream counts them), so nothing is collapsed; Debezium's own tombstones publish
/// nothing.
fn outbox_entries<'a>(
    batch: &'a [BatchItem<'_, Change>],
) -> Vec<BatchEntry<'a, events::BalanceSheet>> {
    batch
        .iter()
        .filter_map(|item| match &item.event {
            Change::Upsert { event_id, sheet } => Some(BatchEntry {
                event_id: *event_id,
                key: sheet.key(),
                event: Some(sheet),
                parent: item.span,
            }),
            Change::Delete { event_id, id } => Some(BatchEntry {
                event_id: *event_id,
                key: id.to_string(),
                event: None,
                parent: item.span,
            }),
            Change::Nothing => None,
        })
        .collect()
}

/// The CDC translator of the `kafka-transactions` delivery: each change becomes the record
/// the outbox relay would have put on the public topic (same key, value, headers and event
/// id), produced in the runtime's transaction.
pub struct CanonicalRecords {
    pub codec: Arc<EventCodec>,
}

impl Translator for CanonicalRecords {
    async fn translate(&self, raw: &RawEvent) -> Result<Vec<OutputRecord>, HandleError> {
        let record = match parse(raw)? {
            Change::Upsert { event_id, sheet } => {
                canonical_record(&self.codec, event_id, &sheet.key(), Some(&sheet)).await
            }
            Change::Delete { event_id, id } => {
                canonical_record::<events::BalanceSheet>(
                    &self.codec,
                    event_id,
                    &id.to_string(),
                    None,
                )
                .await
            }
            Change::Nothing => return Ok(Vec::new()),
        };
        record.map(|record| vec![record]).map_err(codec_error)
    }

    fn trace_parent(&self, raw: &RawEvent) -> Option<String> {
        captured_traceparent(raw)
    }
}

fn codec_error(error: CodecError) -> HandleError {
    if error.is_transient() {
        HandleError::Transient(error.into())
    } else {
        let class = error.class().unwrap_or(ErrorClass::Encode);
        HandleError::permanent(class, error)
    }
}

fn outbox_error(error: service_kit::outbox::OutboxError) -> HandleError {
    if error.is_transient() {
        HandleError::Transient(error.into())
    } else {
        HandleError::permanent(ErrorClass::Encode, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(value: &str) -> RawEvent {
        RawEvent {
            topic: contracts::topology::private_topics::PRIVATE_ACCOUNTING_BAL_SHEET_CDC
                .name
                .into(),
            partition: 0,
            offset: 7,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            headers: None,
        }
    }

    const CREATE: &str = r#"{"before":null,"after":{"id":"8ab01372-1e2e-493a-88b6-da171b116ef2","person_id":"10cdc09d-757c-4e4f-96bc-367a7de72f70","date_calculated":"2022-12-08T04:41:29.568289Z","assets":3340000,"liabilities":537300},"source":{"lsn":24023128,"txId":748},"op":"c","ts_ms":1670474489570}"#;

    #[test]
    fn a_create_becomes_the_full_state() {
        let Change::Upsert { sheet, event_id } = parse(&raw(CREATE)).expect("parses") else {
            panic!("not an upsert")
        };
        assert_eq!(sheet.assets, 3_340_000);
        assert_eq!(sheet.liabilities, 537_300);
        assert_eq!(
            sheet.date_calculated.timestamp_micros(),
            1_670_474_489_568_289
        );
        // The same change read twice yields the same event id; another offset does not matter.
        let again = RawEvent {
            offset: 99,
            ..raw(CREATE)
        };
        let Change::Upsert {
            event_id: second, ..
        } = parse(&again).expect("parses")
        else {
            panic!()
        };
        assert_eq!(event_id, second);
    }

    #[test]
    fn the_captured_trace_context_is_read_from_the_after_image() {
        assert_eq!(captured_traceparent(&raw(CREATE)), None);
        let traced = CREATE.replace(
            r#""liabilities":537300}"#,
            r#""liabilities":537300,"traceparent":"00-4bf92f3577b34a736a2d5b2b8e1f0e01-00f067aa0ba902b7-01"}"#,
        );
        assert_eq!(
            captured_traceparent(&raw(&traced)).as_deref(),
            Some("00-4bf92f3577b34a736a2d5b2b8e1f0e01-00f067aa0ba902b7-01")
        );
        // Still a valid change: the extra column does not disturb decoding.
        assert!(matches!(parse(&raw(&traced)), Ok(Change::Upsert { .. })));
        assert_eq!(captured_traceparent(&raw("not json")), None);
    }

    #[test]
    fn a_delete_becomes_a_tombstone() {
        let delete = r#"{"before":{"id":"8ab01372-1e2e-493a-88b6-da171b116ef2","person_id":null,"date_calculated":null,"assets":null,"liabilities":null},"after":null,"source":{"lsn":24023200},"op":"d"}"#;
        assert!(matches!(parse(&raw(delete)), Ok(Change::Delete { .. })));
    }

    #[test]
    fn a_batch_publishes_every_change_in_order_and_nothing_for_debeziums_tombstones() {
        let delete = r#"{"before":{"id":"8ab01372-1e2e-493a-88b6-da171b116ef2"},"after":null,"source":{"lsn":24023200},"op":"d"}"#;
        let messages = [
            raw(CREATE),
            RawEvent {
                value: None,
                ..raw("")
            },
            raw(&CREATE.replace("24023128", "24023150")),
            raw(delete),
        ];
        let changes: Vec<Change> = messages.iter().map(|m| parse(m).expect("parses")).collect();
        let span = tracing::Span::none();
        let batch: Vec<BatchItem<'_, Change>> = changes
            .into_iter()
            .zip(&messages)
            .map(|(event, raw)| BatchItem {
                event,
                raw,
                span: &span,
            })
            .collect();
        let entries = outbox_entries(&batch);
        let sheet = "8ab01372-1e2e-493a-88b6-da171b116ef2";
        let shape: Vec<(&str, bool)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.event.is_some()))
            .collect();
        assert_eq!(shape, [(sheet, true), (sheet, true), (sheet, false)]);
        // Two updates of one row are two events, with distinct ids.
        assert_ne!(entries[0].event_id, entries[1].event_id);
    }

    #[test]
    fn garbage_is_a_permanent_error() {
        assert!(matches!(
            parse(&raw("not json")),
            Err(HandleError::Permanent { .. })
        ));
        let tombstone = RawEvent {
            value: None,
            ..raw("")
        };
        assert!(matches!(parse(&tombstone), Ok(Change::Nothing)));
    }
}
