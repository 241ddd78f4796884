//! What the generated `oneOf` / `anyOf` enums with a `discriminator` call to decode: the
//! discriminating property picks the variant, whose type then decodes the whole value.

use serde::de::{DeserializeOwned, Error};
use serde_json::Value;

/// The discriminating property of `value`, if it is an object holding that property as text.
pub fn tag<'v>(value: &'v Value, property: &str) -> Option<&'v str> {
    value.get(property)?.as_str()
}

/// Decodes `value` as the variant's type, with the error type of the calling deserializer.
pub fn decode<T: DeserializeOwned, E: Error>(value: Value) -> Result<T, E> {
    serde_json::from_value(value).map_err(E::custom)
}
