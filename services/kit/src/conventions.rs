//! Conventions on top of the canonical schemas, shared by producers and consumers.

use chrono::NaiveDate;

/// The canonical person schema (the seed's) cannot say "date of birth unknown", while the
/// person REST contract allows it. Until the schema evolves to an optional field, an unknown
/// date travels as 0001-01-01: a date every language's date type can hold (Python's
/// `date.min`), and which no real person of this system has. Consumers read it as unknown.
pub const UNKNOWN_DATE_OF_BIRTH: NaiveDate = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(date) => date,
    None => panic!("0001-01-01 is a valid date"),
};

/// A date of birth from a person event, `None` when it carries the unknown marker.
pub fn known_date_of_birth(date: NaiveDate) -> Option<NaiveDate> {
    (date != UNKNOWN_DATE_OF_BIRTH).then_some(date)
}
