//! `x-accept-digit-string`: integers that may arrive as JSON strings of digits.
//!
//! The seed system (Django REST Framework) accepts `"liabilities": "537300"`, so ours must too.
//! Use with `#[serde(deserialize_with = "contract_runtime::digit_string::deserialize")]`, or
//! `deserialize_option` (with `default`) for an optional field. Serialization writes numbers.

use serde::{Deserialize, Deserializer};

use crate::validate::parse_digit_string;

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrDigits {
    Number(i64),
    Digits(String),
}

fn to_integer<'de, D, T>(value: NumberOrDigits) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let integer = match value {
        NumberOrDigits::Number(integer) => integer,
        NumberOrDigits::Digits(text) => {
            parse_digit_string(&text).map_err(serde::de::Error::custom)?
        }
    };
    T::try_from(integer).map_err(|_| serde::de::Error::custom("integer out of range"))
}

/// Deserializes an integer field that may arrive as a JSON string of digits (`x-accept-digit-string`).
pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    to_integer::<D, T>(NumberOrDigits::deserialize(deserializer)?)
}

/// Deserializes an optional integer field that may arrive as a JSON string of digits.
pub fn deserialize_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    Option::<NumberOrDigits>::deserialize(deserializer)?
        .map(to_integer::<D, T>)
        .transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sheet {
        #[serde(deserialize_with = "super::deserialize")]
        liabilities: i64,
        #[serde(default, deserialize_with = "super::deserialize_option")]
        assets: Option<i32>,
    }

    #[test]
    fn accepts_numbers_and_digit_strings() {
        let sheet: Sheet =
            serde_json::from_str(r#"{"liabilities": "537300", "assets": 5}"#).expect("digits");
        assert_eq!(
            sheet,
            Sheet {
                liabilities: 537_300,
                assets: Some(5)
            }
        );
        let sheet: Sheet = serde_json::from_str(r#"{"liabilities": 1}"#).expect("number");
        assert_eq!(sheet.assets, None);
        assert!(serde_json::from_str::<Sheet>(r#"{"liabilities": "1e3"}"#).is_err());
        assert!(
            serde_json::from_str::<Sheet>(r#"{"liabilities": 1, "assets": "3000000000"}"#).is_err()
        );
    }
}
