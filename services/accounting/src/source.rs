//! The accounting service's source of truth as the events it publishes: every balance sheet's
//! current state as a `balance_sheet_created` event, read by the operator CLI's reconcile
//! (what planning must hold) and written again by its resync ([`republish`]).
//!
//! Why resync writes accounting's outbox directly rather than touching the table for the CDC
//! translator to re-translate: the outbox row is the canonical event itself (the same record
//! the translator writes, mapped by [`canonical`]) with a fresh CloudEvents id, relayed by the
//! accounting outbox connector alone; a no-op `UPDATE` would be a write to the business table
//! and would depend on the CDC connector, the private topic and the translator as well — the
//! very path a lost slot breaks.

use contracts::events;
use service_kit::outbox::{Outbox, OutboxError, Republished};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::store::{self, BalanceSheetRow};

/// The canonical event of a balance sheet (what the CDC translator publishes for the row).
pub fn canonical(row: &BalanceSheetRow) -> events::BalanceSheet {
    events::BalanceSheet {
        id: row.id,
        person_id: row.person_id,
        date_calculated: row.date_calculated,
        assets: row.assets,
        liabilities: row.liabilities,
    }
}

/// Every balance sheet's current state, as its event carries it.
pub async fn current(pool: &PgPool) -> sqlx::Result<Vec<events::BalanceSheet>> {
    Ok(store::page(pool, 0, i64::MAX)
        .await?
        .iter()
        .map(canonical)
        .collect())
}

/// Publishes, in `tx`, the current state of each balance sheet of `ids`, and a tombstone for
/// each id that no sheet has. The rows stay locked (`FOR UPDATE`, in id order) until `tx`
/// ends: a REST change waits, so its CDC change — and the translator's event for it — come
/// after this event on the topic, and the newest state is the last one relayed.
pub async fn republish(
    tx: &mut PgConnection,
    outbox: &Outbox,
    ids: &[Uuid],
) -> Result<Republished, OutboxError> {
    let rows: Vec<BalanceSheetRow> =
        sqlx::query_as("SELECT * FROM balance_sheet WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
    let current: Vec<(Uuid, events::BalanceSheet)> =
        rows.iter().map(|row| (row.id, canonical(row))).collect();
    outbox.republish(tx, ids, &current).await
}
