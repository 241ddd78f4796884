//! The two consumers that build planning's read model from the canonical entity topics.
//!
//! Both topics carry full entity state keyed by entity id, and a tombstone (null value) when
//! the entity is deleted. Applying an event is an upsert or a delete, so the model converges
//! to the same state whatever the interleaving of the two topics: a balance sheet that arrives
//! before its person is stored and counted once the person arrives.

use std::sync::Arc;

use contracts::events;
use service_kit::codec::EventCodec;
use service_kit::consumer::entity::{EntityChange, decode_entity};
use service_kit::consumer::{HandleError, Handler, RawEvent};
use service_kit::conventions::known_date_of_birth;
use sqlx::PgConnection;

use crate::store;

pub const PERSONS_GROUP: &str = "planning-consumer-1";
pub const BALANCE_SHEETS_GROUP: &str = "planning-consumer-2";

pub struct PersonProjector {
    pub codec: Arc<EventCodec>,
}

impl Handler for PersonProjector {
    type Event = EntityChange<events::Person>;

    async fn decode(&self, raw: &RawEvent) -> Result<Self::Event, HandleError> {
        decode_entity(&self.codec, raw).await
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        change: &Self::Event,
        _raw: &RawEvent,
    ) -> Result<(), HandleError> {
        match change {
            EntityChange::Upsert(person) => {
                store::upsert_person(tx, person, known_date_of_birth(person.date_of_birth)).await?
            }
            EntityChange::Deleted(id) => store::delete_person(tx, *id).await?,
        }
        Ok(())
    }
}

pub struct BalanceSheetProjector {
    pub codec: Arc<EventCodec>,
}

impl Handler for BalanceSheetProjector {
    type Event = EntityChange<events::BalanceSheet>;

    async fn decode(&self, raw: &RawEvent) -> Result<Self::Event, HandleError> {
        decode_entity(&self.codec, raw).await
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        change: &Self::Event,
        _raw: &RawEvent,
    ) -> Result<(), HandleError> {
        match change {
            EntityChange::Upsert(sheet) => store::upsert_balance_sheet(tx, sheet).await?,
            EntityChange::Deleted(id) => store::delete_balance_sheet(tx, *id).await?,
        }
        Ok(())
    }
}
