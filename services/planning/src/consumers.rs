//! Planning's read model from the canonical entity topics: the domain side of the generated
//! `contracts::consumers::planning::PlanningConsumer` (which names the groups and topics).
//!
//! Both topics carry full entity state keyed by entity id, and a tombstone (null value) when
//! the entity is deleted. Applying an event is an upsert or a delete, so the model converges
//! to the same state whatever the interleaving of the two topics: a balance sheet that arrives
//! before its person is stored and counted once the person arrives.
//!
//! A batch is applied as set operations over its net effect per entity
//! ([`collapse`]): one multi-row delete, one multi-row upsert. The per-event methods are the
//! path of a batch that failed for good, applied again one message at a time.

use contracts::consumers::planning::PlanningConsumer;
use contracts::events;
use service_kit::consumer::HandleError;
use service_kit::consumer::entity::{EntityChange, collapse};
use service_kit::conventions::known_date_of_birth;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store;

/// Writes the consumed events into planning's tables.
pub struct ReadModel;

impl PlanningConsumer for ReadModel {
    async fn upsert_person(
        &self,
        tx: &mut PgConnection,
        person: &events::Person,
    ) -> Result<(), HandleError> {
        store::upsert_person(tx, person, known_date_of_birth(person.date_of_birth)).await?;
        Ok(())
    }

    async fn delete_person(&self, tx: &mut PgConnection, id: Uuid) -> Result<(), HandleError> {
        store::delete_person(tx, id).await?;
        Ok(())
    }

    async fn apply_person_batch(
        &self,
        tx: &mut PgConnection,
        changes: &[&EntityChange<events::Person>],
    ) -> Result<(), HandleError> {
        store::apply_persons(tx, &collapse(changes), |person| {
            known_date_of_birth(person.date_of_birth)
        })
        .await?;
        Ok(())
    }

    async fn upsert_balance_sheet(
        &self,
        tx: &mut PgConnection,
        sheet: &events::BalanceSheet,
    ) -> Result<(), HandleError> {
        store::upsert_balance_sheet(tx, sheet).await?;
        Ok(())
    }

    async fn delete_balance_sheet(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
    ) -> Result<(), HandleError> {
        store::delete_balance_sheet(tx, id).await?;
        Ok(())
    }

    async fn apply_balance_sheet_batch(
        &self,
        tx: &mut PgConnection,
        changes: &[&EntityChange<events::BalanceSheet>],
    ) -> Result<(), HandleError> {
        store::apply_balance_sheets(tx, &collapse(changes)).await?;
        Ok(())
    }
}
