//! The person service's source of truth as the events it publishes: every person's current
//! state as a `person_entity_state` event (the same [`canonical`] mapping the REST API
//! publishes), read by the operator CLI's reconcile (what planning must hold) and written
//! again by its resync ([`republish`]), exactly as the API writes it: the outbox row in the
//! transaction that holds the person's row lock, relayed by the EventRouter like any other.

use contracts::events;
use service_kit::outbox::{Outbox, OutboxError, Republished};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use crate::api::canonical;
use crate::store::{self, PersonRow};

/// Every person's current state, as its event carries it.
pub async fn current(pool: &PgPool) -> sqlx::Result<Vec<events::Person>> {
    Ok(store::page(pool, 0, i64::MAX)
        .await?
        .iter()
        .map(canonical)
        .collect())
}

/// Publishes, in `tx`, the current state of each person of `ids`, and a tombstone for each id
/// that no person has. The rows stay locked (`FOR UPDATE`, in id order) until `tx` ends, as
/// the API's changes lock them: a change that commits meanwhile waits, so its event follows
/// this one on the topic and the newest state is the last one relayed.
pub async fn republish(
    tx: &mut PgConnection,
    outbox: &Outbox,
    ids: &[Uuid],
) -> Result<Republished, OutboxError> {
    let rows: Vec<PersonRow> =
        sqlx::query_as("SELECT * FROM person WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
    let current: Vec<(Uuid, events::Person)> =
        rows.iter().map(|row| (row.id, canonical(row))).collect();
    outbox.republish(tx, ids, &current).await
}
