//! The ledger's view of an entity's state: what planning must hold for a write the load
//! generator made, compared field by field with planning's row together with its count of
//! applied events (the operator CLI's reconcile compares whole events instead; the ledger
//! needs a state it can also build from a REST request before the write is acknowledged).

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// What planning holds (or should hold) for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonState {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
}

impl PersonState {
    /// The state planning derives from a person as the person service stores it.
    pub fn from_source(
        first_name: String,
        last_name: String,
        date_of_birth: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            first_name,
            last_name,
            date_of_birth: date_of_birth
                .map(|d| d.date_naive())
                .and_then(service_kit::conventions::known_date_of_birth),
        }
    }
}

/// What planning holds (or should hold) for a balance sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetState {
    pub person_id: Uuid,
    /// Milliseconds since the epoch: the event's precision.
    pub date_calculated_ms: i64,
    pub assets: i64,
    pub liabilities: i64,
}

impl SheetState {
    pub fn from_source(
        person_id: Uuid,
        date_calculated: DateTime<Utc>,
        assets: i64,
        liabilities: i64,
    ) -> Self {
        Self {
            person_id,
            date_calculated_ms: date_calculated.timestamp_millis(),
            assets,
            liabilities,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_values_map_as_the_events_carry_them() {
        let midnight = DateTime::parse_from_rfc3339("1980-02-23T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let state = PersonState::from_source("B".into(), "S".into(), Some(midnight));
        assert_eq!(state.date_of_birth, NaiveDate::from_ymd_opt(1980, 2, 23));
        let unknown = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(
            PersonState::from_source("B".into(), "S".into(), Some(unknown)).date_of_birth,
            None
        );
        let micros = DateTime::parse_from_rfc3339("2026-01-01T10:00:00.123456Z")
            .expect("valid")
            .with_timezone(&Utc);
        let sheet = SheetState::from_source(Uuid::nil(), micros, 1, 2);
        assert_eq!(sheet.date_calculated_ms % 1000, 123);
    }
}
