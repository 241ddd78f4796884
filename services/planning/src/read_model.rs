//! Planning's read model in the generated event types: what its tables hold, read back as the
//! events that produced them ([`persons`], [`balance_sheets`]), and what it keeps of an event
//! ([`keep_person`], [`keep_balance_sheet`]). The operator CLI's reconcile and rebuild compare
//! these whole values with the sources' events, so a field added to a schema and to this
//! mapping is compared without anyone listing it again; a field planning does not keep is
//! dropped by the `keep_*` functions on the expected side too.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use contracts::events;
use service_kit::conventions::{UNKNOWN_DATE_OF_BIRTH, known_date_of_birth};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

/// A row of `person`.
#[derive(Debug, Clone, FromRow)]
struct PersonRow {
    id: Uuid,
    first_name: String,
    last_name: String,
    /// `NULL`: unknown (the event's [`UNKNOWN_DATE_OF_BIRTH`] marker).
    date_of_birth: Option<NaiveDate>,
}

impl PersonRow {
    /// The row the consumer writes for `event` (see `consumers.rs`).
    fn of(event: &events::Person) -> Self {
        Self {
            id: event.id,
            first_name: event.first_name.clone(),
            last_name: event.last_name.clone(),
            date_of_birth: known_date_of_birth(event.date_of_birth),
        }
    }

    fn event(self) -> events::Person {
        events::Person {
            id: self.id,
            first_name: self.first_name,
            last_name: self.last_name,
            date_of_birth: self.date_of_birth.unwrap_or(UNKNOWN_DATE_OF_BIRTH),
        }
    }
}

/// A row of `balance_sheet`.
#[derive(Debug, Clone, FromRow)]
struct BalanceSheetRow {
    id: Uuid,
    person_id: Uuid,
    date_calculated: DateTime<Utc>,
    assets: i64,
    liabilities: i64,
}

impl BalanceSheetRow {
    fn of(event: &events::BalanceSheet) -> Self {
        Self {
            id: event.id,
            person_id: event.person_id,
            date_calculated: event.date_calculated,
            assets: event.assets,
            liabilities: event.liabilities,
        }
    }

    fn event(self) -> events::BalanceSheet {
        events::BalanceSheet {
            id: self.id,
            person_id: self.person_id,
            date_calculated: self.date_calculated,
            assets: self.assets,
            liabilities: self.liabilities,
        }
    }
}

/// What planning keeps of a person event, as an event: equal to what [`persons`] reads back
/// once the event is applied.
pub fn keep_person(event: &events::Person) -> events::Person {
    PersonRow::of(event).event()
}

/// What planning keeps of a balance-sheet event, as an event.
pub fn keep_balance_sheet(event: &events::BalanceSheet) -> events::BalanceSheet {
    BalanceSheetRow::of(event).event()
}

/// Every person planning holds, by id.
pub async fn persons(pool: &PgPool) -> sqlx::Result<BTreeMap<Uuid, events::Person>> {
    let rows: Vec<PersonRow> =
        sqlx::query_as("SELECT id, first_name, last_name, date_of_birth FROM person")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.event())).collect())
}

/// Every balance sheet planning holds, by id.
pub async fn balance_sheets(pool: &PgPool) -> sqlx::Result<BTreeMap<Uuid, events::BalanceSheet>> {
    let rows: Vec<BalanceSheetRow> = sqlx::query_as(
        "SELECT id, person_id, date_calculated, assets, liabilities FROM balance_sheet",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.event())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_date_of_birth_is_kept_as_the_marker_and_a_known_one_as_it_is() {
        let born = NaiveDate::from_ymd_opt(1980, 2, 23).expect("valid date");
        let person = |date_of_birth| events::Person {
            id: Uuid::nil(),
            first_name: "Bart".into(),
            last_name: "Simpson".into(),
            date_of_birth,
        };
        assert_eq!(
            PersonRow::of(&person(UNKNOWN_DATE_OF_BIRTH)).date_of_birth,
            None
        );
        assert_eq!(
            keep_person(&person(UNKNOWN_DATE_OF_BIRTH)),
            person(UNKNOWN_DATE_OF_BIRTH)
        );
        assert_eq!(PersonRow::of(&person(born)).date_of_birth, Some(born));
        assert_eq!(keep_person(&person(born)), person(born));
    }
}
