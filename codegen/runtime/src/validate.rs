//! Checks of JSON documents against the rules of an OpenAPI schema.
//!
//! Generated `validate_<schema>` functions walk a request document with a [`Validator`], which
//! collects every [`Violation`] instead of stopping at the first, so that one `400` response
//! can list them all. Each check takes the JSON pointer of the value it looks at.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::{LazyLock, Mutex};

use serde_json::{Map, Value};

use crate::problem::{Problem, Violation};

/// The pointer of `token` inside the value at `at`, escaping `~` and `/` (RFC 6901).
pub fn pointer(at: &str, token: impl Display) -> String {
    let token = token.to_string().replace('~', "~0").replace('/', "~1");
    format!("{at}/{token}")
}

/// Collects the violations found in one request.
#[derive(Debug, Default)]
pub struct Validator {
    violations: Vec<Violation>,
}

/// The check of one alternative of a `oneOf` / `anyOf`: records what `value`, found at the
/// pointer, breaks.
pub type Check = fn(&Value, &str, &mut Validator);

/// A `format` of `type: string` that the validator checks and the models parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    /// RFC 4122 UUID, parsed to `uuid::Uuid`.
    Uuid,
    /// RFC 3339 date-time with offset, parsed to `chrono::DateTime<Utc>`.
    DateTime,
    /// RFC 3339 full-date (`2024-02-29`), parsed to `chrono::NaiveDate`.
    Date,
    /// An e-mail address: a local part and a domain around one `@` (the shape, not RFC 5321
    /// in full: no quoted local parts).
    Email,
    /// An absolute URI (RFC 3986), as the `url` crate parses it.
    Uri,
    /// An RFC 1123 host name: dot-separated labels of letters, digits and `-`.
    Hostname,
    /// An IPv4 address in dotted-quad form, parsed to `std::net::Ipv4Addr`.
    Ipv4,
    /// An IPv6 address, parsed to `std::net::Ipv6Addr`.
    Ipv6,
    /// Base64-encoded bytes (RFC 4648, with padding).
    Byte,
}

/// Rules of a `type: string` schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringRules {
    /// The `format` whose syntax the text must have.
    pub format: Option<StringFormat>,
    /// In characters (Unicode scalar values), as JSON Schema counts them.
    pub min_length: Option<usize>,
    /// `maxLength`, in characters.
    pub max_length: Option<usize>,
    /// An unanchored ECMA-262 regular expression, as in JSON Schema (look-around included).
    pub pattern: Option<&'static str>,
    /// The `enum` values.
    pub one_of: Option<&'static [&'static str]>,
}

impl StringRules {
    /// No rules: any string.
    pub const fn new() -> Self {
        Self {
            format: None,
            min_length: None,
            max_length: None,
            pattern: None,
            one_of: None,
        }
    }
    /// `format`.
    pub const fn format(mut self, format: StringFormat) -> Self {
        self.format = Some(format);
        self
    }
    /// `minLength`.
    pub const fn min_length(mut self, min: usize) -> Self {
        self.min_length = Some(min);
        self
    }
    /// `maxLength`.
    pub const fn max_length(mut self, max: usize) -> Self {
        self.max_length = Some(max);
        self
    }
    /// `pattern`.
    pub const fn pattern(mut self, pattern: &'static str) -> Self {
        self.pattern = Some(pattern);
        self
    }
    /// `enum`: the only values allowed.
    pub const fn one_of(mut self, values: &'static [&'static str]) -> Self {
        self.one_of = Some(values);
        self
    }
}

/// The `format` of `type: integer`: the range a value must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntegerFormat {
    /// `int8`: -128 to 127.
    Int8,
    /// `int16`.
    Int16,
    /// `int32`.
    Int32,
    /// Also used when the schema names no format.
    #[default]
    Int64,
    /// `uint8`: 0 to 255.
    Uint8,
    /// `uint16`.
    Uint16,
    /// `uint32`.
    Uint32,
    /// `uint64`.
    Uint64,
}

impl IntegerFormat {
    /// The smallest and largest value of the format.
    pub const fn range(self) -> (i128, i128) {
        match self {
            Self::Int8 => (i8::MIN as i128, i8::MAX as i128),
            Self::Int16 => (i16::MIN as i128, i16::MAX as i128),
            Self::Int32 => (i32::MIN as i128, i32::MAX as i128),
            Self::Int64 => (i64::MIN as i128, i64::MAX as i128),
            Self::Uint8 => (0, u8::MAX as i128),
            Self::Uint16 => (0, u16::MAX as i128),
            Self::Uint32 => (0, u32::MAX as i128),
            Self::Uint64 => (0, u64::MAX as i128),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Int8 => "an 8-bit signed integer",
            Self::Int16 => "a 16-bit signed integer",
            Self::Int32 => "a 32-bit signed integer",
            Self::Int64 => "a 64-bit signed integer",
            Self::Uint8 => "an 8-bit unsigned integer",
            Self::Uint16 => "a 16-bit unsigned integer",
            Self::Uint32 => "a 32-bit unsigned integer",
            Self::Uint64 => "a 64-bit unsigned integer",
        }
    }
}

/// Rules of a `type: integer` schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntegerRules {
    /// The range the value must fit (from the schema's `format`).
    pub format: IntegerFormat,
    /// `minimum`.
    pub minimum: Option<i64>,
    /// `exclusiveMinimum`: the minimum itself is not allowed.
    pub exclusive_minimum: bool,
    /// `maximum`.
    pub maximum: Option<i64>,
    /// `exclusiveMaximum`: the maximum itself is not allowed.
    pub exclusive_maximum: bool,
    /// `multipleOf`.
    pub multiple_of: Option<u64>,
    /// `enum`: the only values allowed.
    pub one_of: Option<&'static [i64]>,
    /// `x-accept-digit-string`: a JSON string of ASCII digits (`"537300"`) counts as the integer.
    pub accept_digit_string: bool,
}

impl IntegerRules {
    /// `format: int8`.
    pub const fn int8() -> Self {
        Self::with_format(IntegerFormat::Int8)
    }
    /// `format: int16`.
    pub const fn int16() -> Self {
        Self::with_format(IntegerFormat::Int16)
    }
    /// `format: int32`.
    pub const fn int32() -> Self {
        Self::with_format(IntegerFormat::Int32)
    }
    /// `format: int64`, or no format.
    pub const fn int64() -> Self {
        Self::with_format(IntegerFormat::Int64)
    }
    /// `format: uint8`.
    pub const fn uint8() -> Self {
        Self::with_format(IntegerFormat::Uint8)
    }
    /// `format: uint16`.
    pub const fn uint16() -> Self {
        Self::with_format(IntegerFormat::Uint16)
    }
    /// `format: uint32`.
    pub const fn uint32() -> Self {
        Self::with_format(IntegerFormat::Uint32)
    }
    /// `format: uint64`.
    pub const fn uint64() -> Self {
        Self::with_format(IntegerFormat::Uint64)
    }
    const fn with_format(format: IntegerFormat) -> Self {
        Self {
            format,
            minimum: None,
            exclusive_minimum: false,
            maximum: None,
            exclusive_maximum: false,
            multiple_of: None,
            one_of: None,
            accept_digit_string: false,
        }
    }
    /// `minimum`.
    pub const fn minimum(mut self, minimum: i64) -> Self {
        self.minimum = Some(minimum);
        self
    }
    /// `exclusiveMinimum` (3.1's number, or 3.0's `minimum` with `exclusiveMinimum: true`).
    pub const fn exclusive_minimum(mut self, minimum: i64) -> Self {
        self.minimum = Some(minimum);
        self.exclusive_minimum = true;
        self
    }
    /// `maximum`.
    pub const fn maximum(mut self, maximum: i64) -> Self {
        self.maximum = Some(maximum);
        self
    }
    /// `exclusiveMaximum` (3.1's number, or 3.0's `maximum` with `exclusiveMaximum: true`).
    pub const fn exclusive_maximum(mut self, maximum: i64) -> Self {
        self.maximum = Some(maximum);
        self.exclusive_maximum = true;
        self
    }
    /// `multipleOf` (positive).
    pub const fn multiple_of(mut self, divisor: u64) -> Self {
        self.multiple_of = Some(divisor);
        self
    }
    /// `enum`.
    pub const fn one_of(mut self, values: &'static [i64]) -> Self {
        self.one_of = Some(values);
        self
    }
    /// `x-accept-digit-string: true`.
    pub const fn accept_digit_string(mut self) -> Self {
        self.accept_digit_string = true;
        self
    }
}

/// Rules of a `type: number` schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumberRules {
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `exclusiveMinimum`: the minimum itself is not allowed.
    pub exclusive_minimum: bool,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `exclusiveMaximum`: the maximum itself is not allowed.
    pub exclusive_maximum: bool,
    /// `multipleOf` (positive).
    pub multiple_of: Option<f64>,
}

impl NumberRules {
    /// No rules: any finite number.
    pub const fn new() -> Self {
        Self {
            minimum: None,
            exclusive_minimum: false,
            maximum: None,
            exclusive_maximum: false,
            multiple_of: None,
        }
    }
    /// `multipleOf` (positive).
    pub const fn multiple_of(mut self, divisor: f64) -> Self {
        self.multiple_of = Some(divisor);
        self
    }
    /// `minimum`.
    pub const fn minimum(mut self, minimum: f64) -> Self {
        self.minimum = Some(minimum);
        self
    }
    /// `exclusiveMinimum`.
    pub const fn exclusive_minimum(mut self, minimum: f64) -> Self {
        self.minimum = Some(minimum);
        self.exclusive_minimum = true;
        self
    }
    /// `maximum`.
    pub const fn maximum(mut self, maximum: f64) -> Self {
        self.maximum = Some(maximum);
        self
    }
    /// `exclusiveMaximum`.
    pub const fn exclusive_maximum(mut self, maximum: f64) -> Self {
        self.maximum = Some(maximum);
        self.exclusive_maximum = true;
        self
    }
}

/// Rules of a `type: array` schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArrayRules {
    /// `minItems`.
    pub min_items: Option<usize>,
    /// `maxItems`.
    pub max_items: Option<usize>,
    /// `uniqueItems: true`.
    pub unique_items: bool,
}

impl ArrayRules {
    /// No rules: any array.
    pub const fn new() -> Self {
        Self {
            min_items: None,
            max_items: None,
            unique_items: false,
        }
    }
    /// `uniqueItems: true`: no two items may be equal.
    pub const fn unique_items(mut self) -> Self {
        self.unique_items = true;
        self
    }
    /// `minItems`.
    pub const fn min_items(mut self, min: usize) -> Self {
        self.min_items = Some(min);
        self
    }
    /// `maxItems`.
    pub const fn max_items(mut self, max: usize) -> Self {
        self.max_items = Some(max);
        self
    }
}

impl Validator {
    /// An empty validator: nothing found yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the value at `at` (a JSON pointer) breaks the contract, saying how.
    pub fn push(&mut self, at: &str, message: impl Into<String>) {
        self.violations.push(Violation::new(at, message));
    }

    /// Whether nothing has been found.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }

    /// Everything found so far, in the order found.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// `Ok` if nothing was found, else the `400` problem listing every violation.
    pub fn finish(self) -> Result<(), Problem> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(Problem::invalid(self.violations))
        }
    }

    /// The value as an object, or `None` after recording that it is not one.
    pub fn object<'v>(&mut self, value: &'v Value, at: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(object) => Some(object),
            other => {
                self.wrong_type(at, "an object", other);
                None
            }
        }
    }

    /// Records each of `names` missing from `object`.
    pub fn required(&mut self, object: &Map<String, Value>, at: &str, names: &[&str]) {
        for name in names {
            if !object.contains_key(*name) {
                self.push(&pointer(at, name), "is required");
            }
        }
    }

    /// Records each property of `object` not among `known` (`additionalProperties: false`).
    pub fn only_properties(&mut self, object: &Map<String, Value>, at: &str, known: &[&str]) {
        for name in object.keys() {
            if !known.contains(&name.as_str()) {
                self.push(&pointer(at, name), "is not an allowed property");
            }
        }
    }

    /// Records each of `names` present in `object`: `readOnly` properties are the service's
    /// to set, so a request must not send them.
    pub fn read_only(&mut self, object: &Map<String, Value>, at: &str, names: &[&str]) {
        for name in names {
            if object.contains_key(*name) {
                self.push(
                    &pointer(at, name),
                    "is read-only: the service sets it, a request must not send it",
                );
            }
        }
    }

    /// Records a value that is not a boolean.
    pub fn boolean(&mut self, value: &Value, at: &str) {
        if !value.is_boolean() {
            self.wrong_type(at, "a boolean", value);
        }
    }

    /// Records every way `value` breaks `rules`: its type, format, length, pattern and `enum`, and NUL characters PostgreSQL cannot store.
    pub fn string(&mut self, value: &Value, at: &str, rules: StringRules) {
        let Value::String(text) = value else {
            self.wrong_type(at, "a string", value);
            return;
        };
        self.storable_text(text, at);
        if let Some(format) = rules.format
            && let Err(message) = check_format(text, format)
        {
            self.push(at, message);
        }
        let length = text.chars().count();
        if let Some(min) = rules.min_length.filter(|min| length < *min) {
            self.push(at, format!("must be at least {min} {}", characters(min)));
        }
        if let Some(max) = rules.max_length.filter(|max| length > *max) {
            self.push(at, format!("must be at most {max} {}", characters(max)));
        }
        if let Some(pattern) = rules.pattern {
            match compiled(pattern) {
                Some(regex) if regex.find(text).is_some() => {}
                Some(_) => self.push(at, format!("must match the pattern `{pattern}`")),
                None => self.push(at, format!("cannot be checked: bad pattern `{pattern}`")),
            }
        }
        if let Some(allowed) = rules.one_of
            && !allowed.contains(&text.as_str())
        {
            let list = allowed
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>();
            self.push(at, format!("must be one of {}", list.join(", ")));
        }
    }

    /// Records every way `value` breaks `rules`: its type, the format's range, the bounds, `multipleOf`, `enum`.
    pub fn integer(&mut self, value: &Value, at: &str, rules: IntegerRules) {
        let integer: i128 = match value {
            Value::Number(number) => {
                if let Some(integer) = number.as_i64() {
                    i128::from(integer)
                } else if let Some(integer) = number.as_u64() {
                    i128::from(integer)
                } else if number.as_f64().is_some_and(|f| f.fract() == 0.0) {
                    self.push(at, format!("must fit in {}", rules.format.describe()));
                    return;
                } else {
                    self.push(at, "must be an integer");
                    return;
                }
            }
            Value::String(text) if rules.accept_digit_string => match parse_digit_string(text) {
                Ok(integer) => i128::from(integer),
                Err(message) => {
                    self.push(at, message);
                    return;
                }
            },
            other => {
                let expected = if rules.accept_digit_string {
                    "an integer or a string of digits"
                } else {
                    "an integer"
                };
                self.wrong_type(at, expected, other);
                return;
            }
        };
        let (lowest, highest) = rules.format.range();
        if integer < lowest || integer > highest {
            self.push(at, format!("must fit in {}", rules.format.describe()));
        }
        if let Some(min) = rules.minimum {
            if rules.exclusive_minimum && integer <= i128::from(min) {
                self.push(at, format!("must be greater than {min}"));
            } else if integer < i128::from(min) {
                self.push(at, format!("must be at least {min}"));
            }
        }
        if let Some(max) = rules.maximum {
            if rules.exclusive_maximum && integer >= i128::from(max) {
                self.push(at, format!("must be less than {max}"));
            } else if integer > i128::from(max) {
                self.push(at, format!("must be at most {max}"));
            }
        }
        if let Some(divisor) = rules.multiple_of
            && divisor > 0
            && integer % i128::from(divisor) != 0
        {
            self.push(at, format!("must be a multiple of {divisor}"));
        }
        if let Some(allowed) = rules.one_of
            && !allowed.iter().any(|a| i128::from(*a) == integer)
        {
            let list = allowed.iter().map(i64::to_string).collect::<Vec<_>>();
            self.push(at, format!("must be one of {}", list.join(", ")));
        }
    }

    /// Records every way `value` breaks `rules`: its type, the bounds, `multipleOf`.
    pub fn number(&mut self, value: &Value, at: &str, rules: NumberRules) {
        let Some(number) = value.as_f64() else {
            self.wrong_type(at, "a number", value);
            return;
        };
        if let Some(min) = rules.minimum {
            if rules.exclusive_minimum && number <= min {
                self.push(at, format!("must be greater than {min}"));
            } else if number < min {
                self.push(at, format!("must be at least {min}"));
            }
        }
        if let Some(max) = rules.maximum {
            if rules.exclusive_maximum && number >= max {
                self.push(at, format!("must be less than {max}"));
            } else if number > max {
                self.push(at, format!("must be at most {max}"));
            }
        }
        if let Some(divisor) = rules.multiple_of
            && divisor > 0.0
        {
            let quotient = number / divisor;
            // Within a relative epsilon: 0.3 is a multiple of 0.1 although 0.3 / 0.1 is not 3.
            if (quotient - quotient.round()).abs() > 1e-9 * quotient.abs().max(1.0) {
                self.push(at, format!("must be a multiple of {divisor}"));
            }
        }
    }

    /// The value's items, or `None` after recording that it is not an array.
    pub fn array<'v>(
        &mut self,
        value: &'v Value,
        at: &str,
        rules: ArrayRules,
    ) -> Option<&'v [Value]> {
        let Value::Array(items) = value else {
            self.wrong_type(at, "an array", value);
            return None;
        };
        if let Some(min) = rules.min_items.filter(|min| items.len() < *min) {
            self.push(
                at,
                format!("must have at least {min} {}", plural(min, "item")),
            );
        }
        if let Some(max) = rules.max_items.filter(|max| items.len() > *max) {
            self.push(
                at,
                format!("must have at most {max} {}", plural(max, "item")),
            );
        }
        if rules.unique_items {
            for (index, item) in items.iter().enumerate() {
                if let Some(first) = items[..index].iter().position(|earlier| earlier == item) {
                    self.push(&pointer(at, index), format!("repeats item {first}"));
                }
            }
        }
        Some(items)
    }

    /// Records an object with fewer than `min` or more than `max` properties.
    pub fn property_count(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        min: Option<usize>,
        max: Option<usize>,
    ) {
        let count = object.len();
        if let Some(min) = min.filter(|min| count < *min) {
            self.push(
                at,
                format!("must have at least {min} {}", plural(min, "property")),
            );
        }
        if let Some(max) = max.filter(|max| count > *max) {
            self.push(
                at,
                format!("must have at most {max} {}", plural(max, "property")),
            );
        }
    }

    /// Any JSON value is allowed, but no text in it (keys included) that PostgreSQL cannot
    /// store.
    pub fn any(&mut self, value: &Value, at: &str) {
        match value {
            Value::String(text) => self.storable_text(text, at),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.any(item, &pointer(at, index));
                }
            }
            Value::Object(object) => {
                for (name, item) in object {
                    let item_at = pointer(at, name);
                    if name.contains('\0') {
                        self.push(
                            &item_at,
                            "the property name must not contain the NUL character (U+0000)",
                        );
                    }
                    self.any(item, &item_at);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// No value is allowed (`not: {}`).
    pub fn never(&mut self, _value: &Value, at: &str) {
        self.push(at, "must be absent: the contract allows no value here");
    }

    /// `null` is the only value allowed (`enum: [null]`, `type: 'null'`).
    pub fn null(&mut self, value: &Value, at: &str) {
        if !value.is_null() {
            self.wrong_type(at, "null", value);
        }
    }

    /// `oneOf`: exactly one of the alternatives must accept `value`; otherwise the violation
    /// says, for each alternative, why it did not (or which ones all matched).
    pub fn one_of(&mut self, value: &Value, at: &str, alternatives: &[(&str, Check)]) {
        self.alternatives(value, at, alternatives, true);
    }

    /// `anyOf`: at least one of the alternatives must accept `value`.
    pub fn any_of(&mut self, value: &Value, at: &str, alternatives: &[(&str, Check)]) {
        self.alternatives(value, at, alternatives, false);
    }

    fn alternatives(
        &mut self,
        value: &Value,
        at: &str,
        alternatives: &[(&str, Check)],
        exactly_one: bool,
    ) {
        let mut matched = Vec::new();
        let mut reasons = Vec::new();
        for (name, check) in alternatives {
            let mut trial = Validator::new();
            check(value, at, &mut trial);
            if trial.is_valid() {
                matched.push(*name);
            } else {
                let why = trial
                    .violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                reasons.push(format!("{name}: {why}"));
            }
        }
        if matched.is_empty() {
            self.push(
                at,
                format!("matches none of the alternatives ({})", reasons.join("; ")),
            );
        } else if exactly_one && matched.len() > 1 {
            self.push(
                at,
                format!(
                    "must match exactly one alternative but matches {}",
                    matched.join(", ")
                ),
            );
        }
    }

    /// `oneOf` with a `discriminator`: the object's `property` names the alternative (one of
    /// `alternatives`' tags), which alone is checked.
    pub fn discriminated(
        &mut self,
        value: &Value,
        at: &str,
        property: &str,
        alternatives: &[(&str, Check)],
    ) {
        let Some(object) = self.object(value, at) else {
            return;
        };
        let tags = || {
            alternatives
                .iter()
                .map(|(tag, _)| format!("\"{tag}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let property_at = pointer(at, property);
        match object.get(property) {
            None => self.push(&property_at, format!("is required (one of {})", tags())),
            Some(Value::String(tag)) => match alternatives.iter().find(|(t, _)| t == tag) {
                Some((_, check)) => check(value, at, self),
                None => self.push(&property_at, format!("must be one of {}", tags())),
            },
            Some(other) => self.wrong_type(&property_at, "a string", other),
        }
    }

    /// Records text that PostgreSQL cannot store in a `text` column: the NUL character.
    fn storable_text(&mut self, text: &str, at: &str) {
        if text.contains('\0') {
            self.push(at, "must not contain the NUL character (U+0000)");
        }
    }

    fn wrong_type(&mut self, at: &str, expected: &str, found: &Value) {
        let found = match found {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        self.push(at, format!("must be {expected}, not {found}"));
    }
}

fn characters(count: usize) -> &'static str {
    plural(count, "character")
}

fn plural(count: usize, noun: &'static str) -> &'static str {
    match (count, noun) {
        (1, noun) => noun,
        (_, "character") => "characters",
        (_, "item") => "items",
        (_, "property") => "properties",
        (_, noun) => noun,
    }
}

fn check_format(text: &str, format: StringFormat) -> Result<(), String> {
    let ok = match format {
        StringFormat::Uuid => uuid::Uuid::try_parse(text).is_ok(),
        StringFormat::DateTime => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        StringFormat::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        StringFormat::Email => is_email(text),
        StringFormat::Uri => url::Url::parse(text).is_ok(),
        StringFormat::Hostname => is_hostname(text),
        StringFormat::Ipv4 => text.parse::<std::net::Ipv4Addr>().is_ok(),
        StringFormat::Ipv6 => text.parse::<std::net::Ipv6Addr>().is_ok(),
        StringFormat::Byte => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .is_ok()
        }
    };
    if ok {
        return Ok(());
    }
    Err(match format {
        StringFormat::Uuid => "must be a UUID".to_string(),
        StringFormat::DateTime => {
            "must be an RFC 3339 date-time such as 2024-02-29T13:45:00Z".to_string()
        }
        StringFormat::Date => "must be an RFC 3339 date such as 2024-02-29".to_string(),
        StringFormat::Email => "must be an e-mail address".to_string(),
        StringFormat::Uri => "must be an absolute URI".to_string(),
        StringFormat::Hostname => "must be a host name".to_string(),
        StringFormat::Ipv4 => "must be an IPv4 address".to_string(),
        StringFormat::Ipv6 => "must be an IPv6 address".to_string(),
        StringFormat::Byte => "must be base64-encoded".to_string(),
    })
}

fn is_email(text: &str) -> bool {
    match text.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.contains(char::is_whitespace)
                && !local.contains('@')
                && is_hostname(domain)
        }
        None => false,
    }
}

fn is_hostname(text: &str) -> bool {
    let text = text.strip_suffix('.').unwrap_or(text);
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Parses the `x-accept-digit-string` form of an integer: an optional `-` and ASCII digits.
pub fn parse_digit_string(text: &str) -> Result<i64, &'static str> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be an integer or a string of digits");
    }
    text.parse()
        .map_err(|_| "must fit in a 64-bit signed integer")
}

/// Each pattern is compiled once per process (ECMA-262 syntax, as JSON Schema specifies); the
/// generator has checked that it compiles.
fn compiled(pattern: &'static str) -> Option<regress::Regex> {
    static PATTERNS: LazyLock<Mutex<BTreeMap<&'static str, Option<regress::Regex>>>> =
        LazyLock::new(Mutex::default);
    let mut patterns = PATTERNS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    patterns
        .entry(pattern)
        .or_insert_with(|| compile_pattern(pattern).ok())
        .clone()
}

/// An OpenAPI `pattern` as a regular expression with ECMA-262 semantics, look-around included.
/// JSON Schema reads patterns in ECMA-262's Unicode mode (the `u` flag), where `\p{L}` is a
/// letter; a pattern that is valid only outside that mode (`\-` outside a class, say) is read
/// without it.
pub fn compile_pattern(pattern: &str) -> Result<regress::Regex, regress::Error> {
    regress::Regex::with_flags(pattern, "u").or_else(|_| regress::Regex::new(pattern))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(check: impl FnOnce(&mut Validator)) -> Vec<String> {
        let mut validator = Validator::new();
        check(&mut validator);
        validator
            .violations()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn pointers_escape_tilde_and_slash() {
        assert_eq!(pointer("/body", "a/b~c"), "/body/a~1b~0c");
        assert_eq!(pointer("/body/items", 3), "/body/items/3");
    }

    #[test]
    fn string_rules_count_characters_and_report_everything() {
        let rules = StringRules::new()
            .min_length(2)
            .max_length(3)
            .pattern("^[a-zäöü]+$");
        assert!(messages(|v| v.string(&json!("äöü"), "/s", rules)).is_empty());
        assert_eq!(
            messages(|v| v.string(&json!("ABCD"), "/s", rules)),
            [
                "/s: must be at most 3 characters",
                "/s: must match the pattern `^[a-zäöü]+$`"
            ]
        );
        assert_eq!(
            messages(|v| v.string(&json!(null), "/s", rules)),
            ["/s: must be a string, not null"]
        );
    }

    #[test]
    fn string_formats() {
        let uuid = StringRules::new().format(StringFormat::Uuid);
        let date_time = StringRules::new().format(StringFormat::DateTime);
        let date = StringRules::new().format(StringFormat::Date);
        let ok = |value: &str, rules| messages(|v| v.string(&json!(value), "/x", rules)).is_empty();
        assert!(ok("10cdc09d-757c-4e4f-96bc-367a7de72f70", uuid));
        assert!(!ok("10cdc09d", uuid));
        assert!(ok("1980-02-23T00:00:00Z", date_time));
        assert!(ok("2022-12-08T04:41:29.568289+01:00", date_time));
        assert!(!ok("1980-02-23", date_time));
        assert!(ok("1980-02-29", date));
        assert!(!ok("1981-02-29", date));
    }

    #[test]
    fn string_enum() {
        let rules = StringRules::new().one_of(&["ok", "unavailable"]);
        assert_eq!(
            messages(|v| v.string(&json!("OK"), "/status", rules)),
            [r#"/status: must be one of "ok", "unavailable""#]
        );
    }

    #[test]
    fn integer_ranges_and_digit_strings() {
        let rules = IntegerRules::int64().minimum(0);
        assert!(messages(|v| v.integer(&json!(0), "/n", rules)).is_empty());
        assert_eq!(
            messages(|v| v.integer(&json!(-1), "/n", rules)),
            ["/n: must be at least 0"]
        );
        assert_eq!(
            messages(|v| v.integer(&json!("5"), "/n", rules)),
            ["/n: must be an integer, not a string"]
        );
        assert_eq!(
            messages(|v| v.integer(&json!(1.5), "/n", rules)),
            ["/n: must be an integer"]
        );
        let digits = rules.accept_digit_string();
        assert!(messages(|v| v.integer(&json!("537300"), "/n", digits)).is_empty());
        assert_eq!(
            messages(|v| v.integer(&json!("-3"), "/n", digits)),
            ["/n: must be at least 0"]
        );
        assert_eq!(
            messages(|v| v.integer(&json!("5e3"), "/n", digits)),
            ["/n: must be an integer or a string of digits"]
        );
        assert_eq!(
            messages(|v| v.integer(&json!("99999999999999999999"), "/n", digits)),
            ["/n: must fit in a 64-bit signed integer"]
        );
        assert_eq!(
            messages(|v| v.integer(&json!(3_000_000_000_i64), "/n", IntegerRules::int32())),
            ["/n: must fit in a 32-bit signed integer"]
        );
        assert_eq!(
            messages(|v| v.integer(&json!(5), "/n", IntegerRules::int64().exclusive_maximum(5))),
            ["/n: must be less than 5"]
        );
    }

    #[test]
    fn objects_arrays_and_numbers() {
        let document = json!({"a": 1, "extra": true});
        let found = messages(|v| {
            let object = v.object(&document, "/body").expect("an object");
            v.required(object, "/body", &["a", "b"]);
            v.only_properties(object, "/body", &["a", "b"]);
        });
        assert_eq!(
            found,
            [
                "/body/b: is required",
                "/body/extra: is not an allowed property"
            ]
        );
        assert_eq!(
            messages(|v| {
                v.array(&json!([1]), "/xs", ArrayRules::new().min_items(2));
            }),
            ["/xs: must have at least 2 items"]
        );
        assert_eq!(
            messages(|v| v.number(&json!(1.5), "/r", NumberRules::new().maximum(1.0))),
            ["/r: must be at most 1"]
        );
        assert_eq!(
            messages(|v| v.boolean(&json!("true"), "/b")),
            ["/b: must be a boolean, not a string"]
        );
    }
}
