//! Serde adapters between Rust types and Avro logical types, used by the generated event
//! records through `#[serde(with = "...")]`.
//!
//! rsgen-avro's own mapping reads an Avro `date` (days since the epoch) as seconds and makes
//! string UUIDs depend on a process-wide "human readable" switch in apache-avro. These adapters
//! write exactly the Avro representation of each logical type and read it back whichever way
//! apache-avro hands it over, so the generated types do not depend on either behaviour.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// The Avro `date` epoch.
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Accepts any integer the deserializer offers (apache-avro hands out `Int`, `Long` and the
/// logical values as their underlying integer).
struct IntegerVisitor(&'static str);

impl Visitor<'_> for IntegerVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_i32<E: de::Error>(self, v: i32) -> Result<i64, E> {
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} does not fit {}", self.0)))
    }
}

/// `{"type": "string", "logicalType": "uuid"}` as [`uuid::Uuid`].
pub mod uuid_string {
    use super::*;

    pub fn serialize<S: Serializer>(value: &uuid::Uuid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.hyphenated().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<uuid::Uuid, D::Error> {
        deserializer.deserialize_any(UuidVisitor)
    }

    struct UuidVisitor;

    impl Visitor<'_> for UuidVisitor {
        type Value = uuid::Uuid;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a UUID as text or 16 bytes")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<uuid::Uuid, E> {
            uuid::Uuid::parse_str(v).map_err(|e| E::custom(format!("invalid uuid {v:?}: {e}")))
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<uuid::Uuid, E> {
            uuid::Uuid::from_slice(v).map_err(|e| E::custom(format!("invalid uuid bytes: {e}")))
        }
    }
}

/// `{"type": "int", "logicalType": "date"}` (days since 1970-01-01) as [`NaiveDate`].
pub mod date_days {
    use super::*;

    pub fn to_days(date: &NaiveDate) -> i32 {
        // Every NaiveDate is within ±262143 years of the epoch, so this always fits an i32.
        i32::try_from(date.signed_duration_since(epoch()).num_days()).unwrap_or(i32::MAX)
    }

    pub fn from_days(days: i64) -> Option<NaiveDate> {
        epoch().checked_add_signed(chrono::Duration::try_days(days)?)
    }

    pub fn serialize<S: Serializer>(value: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(to_days(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let days = deserializer.deserialize_any(IntegerVisitor("days since 1970-01-01"))?;
        from_days(days).ok_or_else(|| de::Error::custom(format!("date out of range: {days} days")))
    }
}

/// `{"type": "long", "logicalType": "timestamp-millis"}` as [`DateTime<Utc>`].
pub mod timestamp_millis {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.timestamp_millis())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let millis =
            deserializer.deserialize_any(IntegerVisitor("milliseconds since the epoch"))?;
        DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| de::Error::custom(format!("timestamp out of range: {millis} ms")))
    }
}

/// `{"type": "long", "logicalType": "timestamp-micros"}` as [`DateTime<Utc>`].
pub mod timestamp_micros {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.timestamp_micros())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let micros =
            deserializer.deserialize_any(IntegerVisitor("microseconds since the epoch"))?;
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| de::Error::custom(format!("timestamp out of range: {micros} µs")))
    }
}

/// The same adapters for `["null", <logical type>]` unions, as `Option<T>`.
pub mod optional {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    macro_rules! optional_adapter {
        ($name:ident, $inner:ident, $ty:ty) => {
            pub mod $name {
                use super::*;

                struct Wrapped($ty);

                impl Serialize for Wrapped {
                    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                        crate::avro::$inner::serialize(&self.0, serializer)
                    }
                }

                impl<'de> Deserialize<'de> for Wrapped {
                    fn deserialize<D: Deserializer<'de>>(
                        deserializer: D,
                    ) -> Result<Self, D::Error> {
                        crate::avro::$inner::deserialize(deserializer).map(Wrapped)
                    }
                }

                pub fn serialize<S: Serializer>(
                    value: &Option<$ty>,
                    serializer: S,
                ) -> Result<S::Ok, S::Error> {
                    value
                        .as_ref()
                        .map(|v| Wrapped(v.clone()))
                        .serialize(serializer)
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(
                    deserializer: D,
                ) -> Result<Option<$ty>, D::Error> {
                    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|w| w.0))
                }
            }
        };
    }

    optional_adapter!(uuid_string, uuid_string, uuid::Uuid);
    optional_adapter!(date_days, date_days, chrono::NaiveDate);
    optional_adapter!(
        timestamp_millis,
        timestamp_millis,
        chrono::DateTime<chrono::Utc>
    );
    optional_adapter!(
        timestamp_micros,
        timestamp_micros,
        chrono::DateTime<chrono::Utc>
    );
}
