//! Optional *and* nullable fields of PATCH bodies, where leaving a field out ("keep it") and
//! sending `null` ("clear it") mean different things: `None` is absent, `Some(None)` is `null`,
//! `Some(Some(value))` is a value.
//!
//! Use with `#[serde(default, skip_serializing_if = "Option::is_none",
//! with = "contract_runtime::double_option")]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serializes `Some(None)` as `null` and `Some(Some(v))` as `v` (`None` is skipped by `skip_serializing_if`).
pub fn serialize<S, T>(value: &Option<Option<T>>, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize,
{
    match value {
        Some(Some(value)) => value.serialize(serializer),
        // `None` is skipped by `skip_serializing_if`; if not, `null` is the closest meaning.
        Some(None) | None => serializer.serialize_none(),
    }
}

/// Deserializes a present `null` as `Some(None)` and a value as `Some(Some(v))`; an absent field is `None` through `#[serde(default)]`.
pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    // Only called when the field is present; `default` gives `None` when it is absent.
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Patch {
        #[serde(default, skip_serializing_if = "Option::is_none", with = "super")]
        note: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_differ() {
        let parse = |json: &str| serde_json::from_str::<Patch>(json).expect("patch").note;
        assert_eq!(parse("{}"), None);
        assert_eq!(parse(r#"{"note": null}"#), Some(None));
        assert_eq!(parse(r#"{"note": "x"}"#), Some(Some("x".to_string())));
        let json = |note| serde_json::to_string(&Patch { note }).expect("json");
        assert_eq!(json(None), "{}");
        assert_eq!(json(Some(None)), r#"{"note":null}"#);
    }
}
