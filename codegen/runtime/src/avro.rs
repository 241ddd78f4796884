//! Serde adapters between Rust types and Avro logical types, used by the generated event
//! records through `#[serde(with = "...")]` (a plain logical-type field) or, for logical types
//! inside arrays, maps and unions, through [`serialize`]/[`deserialize`] with an [`Adapter`]
//! built from the unit types below (`Seq<DateDays>` is `Vec<NaiveDate>` as an Avro array of
//! `date`).
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

    /// Writes the value as Avro represents it.
    pub fn serialize<S: Serializer>(value: &uuid::Uuid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.hyphenated().to_string())
    }

    /// Reads the Avro representation.
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

    /// Days since 1970-01-01.
    pub fn to_days(date: &NaiveDate) -> i32 {
        // Every NaiveDate is within ±262143 years of the epoch, so this always fits an i32.
        i32::try_from(date.signed_duration_since(epoch()).num_days()).unwrap_or(i32::MAX)
    }

    /// The date `days` after 1970-01-01, if representable.
    pub fn from_days(days: i64) -> Option<NaiveDate> {
        epoch().checked_add_signed(chrono::Duration::try_days(days)?)
    }

    /// Writes the value as Avro represents it.
    pub fn serialize<S: Serializer>(value: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(to_days(value))
    }

    /// Reads the Avro representation.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let days = deserializer.deserialize_any(IntegerVisitor("days since 1970-01-01"))?;
        from_days(days).ok_or_else(|| de::Error::custom(format!("date out of range: {days} days")))
    }
}

/// `{"type": "long", "logicalType": "timestamp-millis"}` as [`DateTime<Utc>`].
pub mod timestamp_millis {
    use super::*;

    /// Writes the value as Avro represents it.
    pub fn serialize<S: Serializer>(
        value: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.timestamp_millis())
    }

    /// Reads the Avro representation.
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

    /// Writes the value as Avro represents it.
    pub fn serialize<S: Serializer>(
        value: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.timestamp_micros())
    }

    /// Reads the Avro representation.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let micros =
            deserializer.deserialize_any(IntegerVisitor("microseconds since the epoch"))?;
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| de::Error::custom(format!("timestamp out of range: {micros} µs")))
    }
}

/// The same adapters for `["null", <logical type>]` unions (or `[<logical type>, "null"]`), as
/// `Option<T>`.
pub mod optional {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    macro_rules! optional_adapter {
        ($name:ident, $inner:ident, $ty:ty) => {
            /// The adapter for `Option` of the type.
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

                /// Writes the value as Avro represents it.
                pub fn serialize<S: Serializer>(
                    value: &Option<$ty>,
                    serializer: S,
                ) -> Result<S::Ok, S::Error> {
                    value
                        .as_ref()
                        .map(|v| Wrapped(v.clone()))
                        .serialize(serializer)
                }

                /// Reads the Avro representation.
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

pub use bigdecimal::BigDecimal;

/// Reads any byte sequence the deserializer offers (apache-avro hands out `bytes`, `fixed`,
/// decimals and durations as bytes).
struct BytesVisitor;

impl Visitor<'_> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        Ok(v.as_bytes().to_vec())
    }
}

fn read_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_byte_buf(BytesVisitor)
}

/// A Rust type's mapping to one Avro type: the generated code names an adapter type where a
/// field's Rust type is not serde's natural mapping of its Avro type.
pub trait Adapter {
    /// The Rust type.
    type Value;
    /// Writes `value` as the Avro representation.
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error>;
    /// Reads the Avro representation.
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error>;
}

/// `#[serde(serialize_with = "contract_runtime::avro::serialize::<_, A>")]`.
pub fn serialize<S: Serializer, A: Adapter>(
    value: &A::Value,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    A::write(value, serializer)
}

/// `#[serde(deserialize_with = "contract_runtime::avro::deserialize::<_, A>")]`.
pub fn deserialize<'de, D: Deserializer<'de>, A: Adapter>(
    deserializer: D,
) -> Result<A::Value, D::Error> {
    A::read(deserializer)
}

/// Wraps a value so that serde collections (de)serialize it through `A`.
struct Through<A: Adapter>(A::Value);

impl<A: Adapter> serde::Serialize for Through<A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        A::write(&self.0, serializer)
    }
}

impl<'de, A: Adapter> serde::Deserialize<'de> for Through<A> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        A::read(deserializer).map(Through)
    }
}

/// Borrowing counterpart of [`Through`] for serialization.
struct ThroughRef<'a, A: Adapter>(&'a A::Value);

impl<A: Adapter> serde::Serialize for ThroughRef<'_, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        A::write(self.0, serializer)
    }
}

macro_rules! module_adapter {
    ($(#[$doc:meta])* $name:ident, $module:ident, $ty:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Adapter for $name {
            type Value = $ty;
            fn write<S: Serializer>(value: &$ty, serializer: S) -> Result<S::Ok, S::Error> {
                $module::serialize(value, serializer)
            }
            fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                $module::deserialize(deserializer)
            }
        }
    };
}

module_adapter!(
    /// `uuid` on `string` as [`uuid::Uuid`].
    UuidString,
    uuid_string,
    uuid::Uuid
);
module_adapter!(
    /// `date` on `int` as [`NaiveDate`].
    DateDays,
    date_days,
    NaiveDate
);
module_adapter!(
    /// `timestamp-millis` on `long` as [`DateTime<Utc>`].
    TimestampMillis,
    timestamp_millis,
    DateTime<Utc>
);
module_adapter!(
    /// `timestamp-micros` on `long` as [`DateTime<Utc>`].
    TimestampMicros,
    timestamp_micros,
    DateTime<Utc>
);

/// `local-timestamp-millis` on `long` (no time zone) as [`chrono::NaiveDateTime`].
#[derive(Debug, Clone, Copy)]
pub struct LocalTimestampMillis;

impl Adapter for LocalTimestampMillis {
    type Value = chrono::NaiveDateTime;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.and_utc().timestamp_millis())
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        let millis =
            deserializer.deserialize_any(IntegerVisitor("milliseconds since 1970-01-01T00:00"))?;
        DateTime::from_timestamp_millis(millis)
            .map(|t| t.naive_utc())
            .ok_or_else(|| de::Error::custom(format!("local timestamp out of range: {millis} ms")))
    }
}

/// `local-timestamp-micros` on `long` (no time zone) as [`chrono::NaiveDateTime`].
#[derive(Debug, Clone, Copy)]
pub struct LocalTimestampMicros;

impl Adapter for LocalTimestampMicros {
    type Value = chrono::NaiveDateTime;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.and_utc().timestamp_micros())
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        let micros =
            deserializer.deserialize_any(IntegerVisitor("microseconds since 1970-01-01T00:00"))?;
        DateTime::from_timestamp_micros(micros)
            .map(|t| t.naive_utc())
            .ok_or_else(|| de::Error::custom(format!("local timestamp out of range: {micros} µs")))
    }
}

fn time_from(units: i64, per_second: i64) -> Option<chrono::NaiveTime> {
    let seconds = u32::try_from(units.checked_div(per_second)?).ok()?;
    let nanos = u32::try_from((units % per_second) * (1_000_000_000 / per_second)).ok()?;
    chrono::NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
}

fn units_since_midnight(time: &chrono::NaiveTime, per_second: i64) -> i64 {
    use chrono::Timelike;
    i64::from(time.num_seconds_from_midnight()) * per_second
        + i64::from(time.nanosecond()) / (1_000_000_000 / per_second)
}

/// `time-millis` on `int` (milliseconds after midnight) as [`chrono::NaiveTime`].
#[derive(Debug, Clone, Copy)]
pub struct TimeMillis;

impl Adapter for TimeMillis {
    type Value = chrono::NaiveTime;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = i32::try_from(units_since_midnight(value, 1_000))
            .map_err(|_| serde::ser::Error::custom("time of day beyond an i32 of milliseconds"))?;
        serializer.serialize_i32(millis)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        let millis = deserializer.deserialize_any(IntegerVisitor("milliseconds after midnight"))?;
        time_from(millis, 1_000)
            .ok_or_else(|| de::Error::custom(format!("time of day out of range: {millis} ms")))
    }
}

/// `time-micros` on `long` (microseconds after midnight) as [`chrono::NaiveTime`].
#[derive(Debug, Clone, Copy)]
pub struct TimeMicros;

impl Adapter for TimeMicros {
    type Value = chrono::NaiveTime;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(units_since_midnight(value, 1_000_000))
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        let micros = deserializer.deserialize_any(IntegerVisitor("microseconds after midnight"))?;
        time_from(micros, 1_000_000)
            .ok_or_else(|| de::Error::custom(format!("time of day out of range: {micros} µs")))
    }
}

/// Avro's `duration`: months, days and milliseconds, each unsigned and independent of the
/// others (a month is not a number of days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    /// Whole months.
    pub months: u32,
    /// Whole days.
    pub days: u32,
    /// Milliseconds.
    pub millis: u32,
}

impl Duration {
    /// The 12 bytes of Avro's representation: three little-endian `u32`.
    pub fn to_bytes(self) -> [u8; 12] {
        let mut out = [0; 12];
        out[..4].copy_from_slice(&self.months.to_le_bytes());
        out[4..8].copy_from_slice(&self.days.to_le_bytes());
        out[8..].copy_from_slice(&self.millis.to_le_bytes());
        out
    }

    /// Reads Avro's 12-byte representation.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let word = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?))
        };
        (bytes.len() == 12).then_some(())?;
        Some(Self {
            months: word(0)?,
            days: word(4)?,
            millis: word(8)?,
        })
    }
}

/// `duration` on `fixed` (size 12) as [`Duration`].
#[derive(Debug, Clone, Copy)]
pub struct AvroDuration;

impl Adapter for AvroDuration {
    type Value = Duration;
    fn write<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        apache_avro::serde::fixed::serialize(&value.to_bytes(), serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let bytes = read_bytes(deserializer)?;
        Duration::from_bytes(&bytes).ok_or_else(|| {
            de::Error::custom(format!("a duration has 12 bytes, not {}", bytes.len()))
        })
    }
}

/// `bytes` as `Vec<u8>`.
#[derive(Debug, Clone, Copy)]
pub struct Bytes;

impl Adapter for Bytes {
    type Value = Vec<u8>;
    fn write<S: Serializer>(value: &Vec<u8>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(value)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        read_bytes(deserializer)
    }
}

/// `fixed` of `N` bytes as `[u8; N]`.
#[derive(Debug, Clone, Copy)]
pub struct Fixed<const N: usize>;

impl<const N: usize> Adapter for Fixed<N> {
    type Value = [u8; N];
    fn write<S: Serializer>(value: &[u8; N], serializer: S) -> Result<S::Ok, S::Error> {
        apache_avro::serde::fixed::serialize(value, serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; N], D::Error> {
        let bytes = read_bytes(deserializer)?;
        <[u8; N]>::try_from(bytes.as_slice())
            .map_err(|_| de::Error::custom(format!("expected {N} bytes, got {}", bytes.len())))
    }
}

/// The unscaled value of `value` at `scale` as big-endian two's complement, refusing a value
/// with more decimal places than the scale or more digits than the precision (never rounded).
fn unscaled_bytes(value: &BigDecimal, precision: u32, scale: u32) -> Result<Vec<u8>, String> {
    let (unscaled, exponent) = value.normalized().into_bigint_and_exponent();
    if exponent > i64::from(scale) {
        return Err(format!("{value} has more than {scale} decimal places"));
    }
    let (unscaled, _) = BigDecimal::new(unscaled, exponent)
        .with_scale(i64::from(scale))
        .into_bigint_and_exponent();
    let digits = unscaled.magnitude().to_string().len();
    if digits > precision as usize {
        return Err(format!("{value} has more than {precision} digits"));
    }
    Ok(unscaled.to_signed_bytes_be())
}

/// Two's complement `bytes` widened to at least `len` bytes.
fn sign_extend(bytes: &[u8], len: usize) -> Vec<u8> {
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let mut out = vec![fill; len.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes);
    out
}

/// The fewest two's complement bytes that hold every value of `precision` digits (apache-avro's
/// rule: `floor(log10(2^(8n-1) - 1)) >= precision`).
fn bytes_for_precision(precision: u32) -> usize {
    (1..)
        .find(|&n: &i32| (2f64.powi(8 * n - 1) - 1.0).log10().floor() >= f64::from(precision))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX)
}

fn from_unscaled(bytes: &[u8], scale: u32) -> BigDecimal {
    BigDecimal::new(
        bigdecimal::num_bigint::BigInt::from_signed_bytes_be(bytes),
        i64::from(scale),
    )
}

/// `decimal` on `bytes` with the schema's precision and scale, as [`BigDecimal`] (exact).
#[derive(Debug, Clone, Copy)]
pub struct DecimalBytes<const PRECISION: u32, const SCALE: u32>;

impl<const PRECISION: u32, const SCALE: u32> Adapter for DecimalBytes<PRECISION, SCALE> {
    type Value = BigDecimal;
    fn write<S: Serializer>(value: &BigDecimal, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = unscaled_bytes(value, PRECISION, SCALE).map_err(serde::ser::Error::custom)?;
        // apache-avro refuses (on resolution) decimal bytes shorter than the precision needs.
        serializer.serialize_bytes(&sign_extend(&bytes, bytes_for_precision(PRECISION)))
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BigDecimal, D::Error> {
        Ok(from_unscaled(&read_bytes(deserializer)?, SCALE))
    }
}

/// `decimal` on a `fixed` of `SIZE` bytes, as [`BigDecimal`] (exact, sign-extended to the size).
#[derive(Debug, Clone, Copy)]
pub struct DecimalFixed<const SIZE: usize, const PRECISION: u32, const SCALE: u32>;

impl<const SIZE: usize, const PRECISION: u32, const SCALE: u32> Adapter
    for DecimalFixed<SIZE, PRECISION, SCALE>
{
    type Value = BigDecimal;
    fn write<S: Serializer>(value: &BigDecimal, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = unscaled_bytes(value, PRECISION, SCALE).map_err(serde::ser::Error::custom)?;
        if bytes.len() > SIZE {
            return Err(serde::ser::Error::custom(format!(
                "{value} does not fit {SIZE} bytes"
            )));
        }
        apache_avro::serde::fixed::serialize(&sign_extend(&bytes, SIZE), serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BigDecimal, D::Error> {
        Ok(from_unscaled(&read_bytes(deserializer)?, SCALE))
    }
}

/// `["null", T]` (or `[T, "null"]`) through `A` as `Option<A::Value>`.
#[derive(Debug, Clone, Copy)]
pub struct Optional<A>(std::marker::PhantomData<A>);

impl<A: Adapter> Adapter for Optional<A> {
    type Value = Option<A::Value>;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_some(&ThroughRef::<A>(value)),
            None => serializer.serialize_none(),
        }
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        Ok(<Option<Through<A>> as serde::Deserialize>::deserialize(deserializer)?.map(|t| t.0))
    }
}

/// An Avro array of `A` as `Vec<A::Value>`.
#[derive(Debug, Clone, Copy)]
pub struct Seq<A>(std::marker::PhantomData<A>);

impl<A: Adapter> Adapter for Seq<A> {
    type Value = Vec<A::Value>;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(value.iter().map(ThroughRef::<A>))
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        let items = <Vec<Through<A>> as serde::Deserialize>::deserialize(deserializer)?;
        Ok(items.into_iter().map(|t| t.0).collect())
    }
}

/// An Avro map of `A` as `BTreeMap<String, A::Value>`.
#[derive(Debug, Clone, Copy)]
pub struct Map<A>(std::marker::PhantomData<A>);

impl<A: Adapter> Adapter for Map<A> {
    type Value = std::collections::BTreeMap<String, A::Value>;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(value.iter().map(|(k, v)| (k, ThroughRef::<A>(v))))
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        let entries =
            <std::collections::BTreeMap<String, Through<A>> as serde::Deserialize>::deserialize(
                deserializer,
            )?;
        Ok(entries.into_iter().map(|(k, t)| (k, t.0)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_and_refuse_what_their_scale_cannot_hold() {
        let value: BigDecimal = "-1234.50".parse().expect("decimal");
        let bytes = unscaled_bytes(&value, 9, 2).expect("fits");
        // -123450 = 0xFE_1DC6 in two's complement.
        assert_eq!(bytes, [0xfe, 0x1d, 0xc6]);
        assert_eq!(from_unscaled(&bytes, 2), value);
        assert!(unscaled_bytes(&"0.125".parse().expect("decimal"), 9, 2).is_err());
        assert!(unscaled_bytes(&"12345678.9".parse().expect("decimal"), 9, 2).is_err());
        assert_eq!(bytes_for_precision(9), 4);
        assert_eq!(bytes_for_precision(18), 8);
        assert_eq!(sign_extend(&[0xce], 4), [0xff, 0xff, 0xff, 0xce]);
    }

    #[test]
    fn times_and_durations_use_avro_units() {
        let time = chrono::NaiveTime::from_hms_milli_opt(1, 2, 3, 4).expect("time");
        assert_eq!(units_since_midnight(&time, 1_000), 3_723_004);
        assert_eq!(time_from(3_723_004, 1_000), Some(time));
        let duration = Duration {
            months: 1,
            days: 2,
            millis: 3,
        };
        assert_eq!(duration.to_bytes(), [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(Duration::from_bytes(&duration.to_bytes()), Some(duration));
    }
}
