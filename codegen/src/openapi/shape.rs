//! Schemas, read from the raw document rather than through `openapiv3::Schema`: openapiv3
//! quietly drops keywords it does not model and falls back to "any" for schemas it cannot
//! classify, while the generator must reject every keyword it does not implement.

use serde_yaml::{Mapping, Value};

use super::Spec;
use super::names::child;
use crate::{CodegenError, Result};

/// A schema, as the generator understands it.
#[derive(Debug, Clone)]
pub struct Node {
    pub shape: Shape,
    pub nullable: bool,
    pub description: Option<String>,
    /// Where the schema is in its file, for error messages.
    pub pointer: String,
}

#[derive(Debug, Clone)]
pub enum Shape {
    /// `$ref: '#/components/schemas/<name>'`.
    Ref(String),
    String(StringShape),
    Integer(IntegerShape),
    Number(NumberShape),
    Boolean,
    Array(ArrayShape),
    Object(ObjectShape),
    /// `{}`: any JSON value.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    Uuid,
    DateTime,
    Date,
}

#[derive(Debug, Clone, Default)]
pub struct StringShape {
    pub format: Option<StringFormat>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct IntegerShape {
    pub int32: bool,
    pub minimum: Option<i64>,
    pub exclusive_minimum: bool,
    pub maximum: Option<i64>,
    pub exclusive_maximum: bool,
    pub values: Vec<i64>,
    /// `x-accept-digit-string: true`.
    pub digit_string: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NumberShape {
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
}

#[derive(Debug, Clone)]
pub struct ArrayShape {
    pub items: Box<Node>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ObjectShape {
    pub properties: Vec<(String, Node)>,
    pub required: Vec<String>,
    pub additional: Additional,
}

#[derive(Debug, Clone)]
pub enum Additional {
    /// Not mentioned, or `true`: other properties are ignored.
    Allowed,
    /// `false`: other properties are violations.
    Forbidden,
    /// A schema: the object is a map whose values follow it.
    Schema(Box<Node>),
}

const COMPONENT_PREFIX: &str = "#/components/schemas/";

/// Keywords every schema may carry.
const COMMON: &[&str] = &[
    "type",
    "description",
    "title",
    "nullable",
    "example",
    "deprecated",
];

fn unsupported_keyword(key: &str) -> Option<&'static str> {
    Some(match key {
        "oneOf" | "anyOf" | "allOf" | "not" => {
            "schema composition (`oneOf`, `anyOf`, `allOf`, `not`)"
        }
        "discriminator" => "`discriminator`",
        "readOnly" | "writeOnly" => "`readOnly` / `writeOnly`",
        "default" => "`default` (the generated code would not apply it)",
        "multipleOf" => "`multipleOf`",
        "uniqueItems" => "`uniqueItems`",
        "minProperties" | "maxProperties" => "`minProperties` / `maxProperties`",
        "xml" => "`xml`",
        _ => return None,
    })
}

impl Spec {
    /// The schema at `pointer` (whose raw JSON is `value`). `component` is true for
    /// `components/schemas/<name>` itself, the only place `x-rust-type` may appear.
    pub fn node(&self, value: &Value, pointer: &str, component: bool) -> Result<Node> {
        let Value::Mapping(object) = value else {
            return Err(self.invalid(pointer, "a schema must be an object"));
        };
        let description = match object.get("description") {
            None => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => return Err(self.invalid(&child(pointer, "description"), "must be a string")),
        };
        if let Some(reference) = object.get("$ref") {
            for key in self.keys(object, pointer)? {
                if key != "$ref" && key != "description" {
                    return Err(self.unsupported(
                        &child(pointer, key),
                        format!("`{key}` beside `$ref` (OpenAPI 3.0 ignores it; move it into the referenced schema)"),
                    ));
                }
            }
            let name = self.component_ref(reference, &child(pointer, "$ref"))?;
            return Ok(Node {
                shape: Shape::Ref(name),
                nullable: false,
                description,
                pointer: pointer.to_string(),
            });
        }
        let keys = self.keys(object, pointer)?;
        for key in &keys {
            if let Some(what) = unsupported_keyword(key) {
                return Err(self.unsupported(&child(pointer, key), what));
            }
        }
        let nullable = self.flag(object, "nullable", pointer)?;
        let typ = match object.get("type") {
            None => None,
            Some(Value::String(typ)) => Some(typ.as_str()),
            Some(_) => {
                return Err(
                    self.unsupported(&child(pointer, "type"), "`type` other than a single string")
                );
            }
        };
        let specific: &[&str] = match typ {
            None => &[],
            Some("string") => &["format", "minLength", "maxLength", "pattern", "enum"],
            Some("integer") => &[
                "format",
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "enum",
                "x-accept-digit-string",
            ],
            Some("number") => &[
                "format",
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
            ],
            Some("boolean") => &[],
            Some("array") => &["items", "minItems", "maxItems"],
            Some("object") => &["properties", "required", "additionalProperties"],
            Some(other) => {
                return Err(
                    self.invalid(&child(pointer, "type"), format!("unknown type `{other}`"))
                );
            }
        };
        for key in keys {
            let allowed = COMMON.contains(&key)
                || specific.contains(&key)
                || (component && key == "x-rust-type");
            if !allowed {
                let what = match typ {
                    Some(typ) => format!("`{key}` in a schema of type `{typ}`"),
                    None => format!("`{key}` in a schema without `type`"),
                };
                return Err(self.unsupported(&child(pointer, key), what));
            }
        }
        let shape = match typ {
            None => Shape::Any,
            Some("string") => Shape::String(self.string_shape(object, pointer)?),
            Some("integer") => Shape::Integer(self.integer_shape(object, pointer)?),
            Some("number") => Shape::Number(
                NumberShape {
                    minimum: self.number(object, "minimum", pointer)?,
                    exclusive_minimum: self.flag(object, "exclusiveMinimum", pointer)?,
                    maximum: self.number(object, "maximum", pointer)?,
                    exclusive_maximum: self.flag(object, "exclusiveMaximum", pointer)?,
                }
                .checked(self, object, pointer)?,
            ),
            Some("boolean") => Shape::Boolean,
            Some("array") => {
                let items_pointer = child(pointer, "items");
                let items = object
                    .get("items")
                    .ok_or_else(|| self.invalid(pointer, "an array schema needs `items`"))?;
                Shape::Array(ArrayShape {
                    items: Box::new(self.node(items, &items_pointer, false)?),
                    min_items: self.count(object, "minItems", pointer)?,
                    max_items: self.count(object, "maxItems", pointer)?,
                })
            }
            Some(_) => Shape::Object(self.object_shape(object, pointer)?),
        };
        Ok(Node {
            shape,
            nullable,
            description,
            pointer: pointer.to_string(),
        })
    }

    /// The component name of a `$ref`; anything but a local component schema is unsupported.
    pub fn component_ref(&self, reference: &Value, pointer: &str) -> Result<String> {
        let Value::String(reference) = reference else {
            return Err(self.invalid(pointer, "`$ref` must be a string"));
        };
        let Some(name) = reference.strip_prefix(COMPONENT_PREFIX) else {
            return Err(self.unsupported(
                pointer,
                format!("`$ref: {reference}`: only references to `#/components/schemas/<name>` in the same file"),
            ));
        };
        if name.contains('/') {
            return Err(self.unsupported(pointer, format!("`$ref: {reference}` into a schema")));
        }
        if self.raw_component(name).is_none() {
            return Err(self.invalid(pointer, format!("`$ref: {reference}`: no such schema")));
        }
        Ok(name.to_string())
    }

    fn string_shape(&self, object: &Mapping, pointer: &str) -> Result<StringShape> {
        let format = match object.get("format") {
            None => None,
            Some(Value::String(format)) => Some(match format.as_str() {
                "uuid" => StringFormat::Uuid,
                "date-time" => StringFormat::DateTime,
                "date" => StringFormat::Date,
                other => {
                    return Err(self.unsupported(
                        &child(pointer, "format"),
                        format!("string format `{other}` (supported: uuid, date-time, date)"),
                    ));
                }
            }),
            Some(_) => return Err(self.invalid(&child(pointer, "format"), "must be a string")),
        };
        let pattern = match object.get("pattern") {
            None => None,
            Some(Value::String(pattern)) => {
                regex::Regex::new(pattern).map_err(|error| {
                    self.invalid(
                        &child(pointer, "pattern"),
                        format!("not a valid pattern: {error}"),
                    )
                })?;
                Some(pattern.clone())
            }
            Some(_) => return Err(self.invalid(&child(pointer, "pattern"), "must be a string")),
        };
        let mut values = Vec::new();
        if let Some(list) = object.get("enum") {
            let enum_pointer = child(pointer, "enum");
            let Value::Sequence(list) = list else {
                return Err(self.invalid(&enum_pointer, "must be an array"));
            };
            for (index, value) in list.iter().enumerate() {
                match value {
                    Value::String(text) => values.push(text.clone()),
                    // `null` among the values just restates `nullable: true`.
                    Value::Null if self.flag(object, "nullable", pointer)? => {}
                    _ => {
                        return Err(self.invalid(
                            &child(&enum_pointer, &index.to_string()),
                            "enum values of a string schema must be strings",
                        ));
                    }
                }
            }
            if values.is_empty() {
                return Err(self.invalid(&enum_pointer, "an enum needs at least one value"));
            }
            if format.is_some() {
                return Err(self.unsupported(&enum_pointer, "`enum` together with `format`"));
            }
        }
        Ok(StringShape {
            format,
            min_length: self.count(object, "minLength", pointer)?,
            max_length: self.count(object, "maxLength", pointer)?,
            pattern,
            values,
        })
    }

    fn integer_shape(&self, object: &Mapping, pointer: &str) -> Result<IntegerShape> {
        let int32 = match object.get("format") {
            None => false,
            Some(Value::String(format)) if format == "int64" => false,
            Some(Value::String(format)) if format == "int32" => true,
            Some(other) => {
                return Err(self.unsupported(
                    &child(pointer, "format"),
                    format!(
                        "integer format `{}` (supported: int32, int64)",
                        other.as_str().unwrap_or("?")
                    ),
                ));
            }
        };
        let integer = |key: &str| -> Result<Option<i64>> {
            match object.get(key) {
                None => Ok(None),
                Some(value) => value
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| self.invalid(&child(pointer, key), "must be an integer")),
            }
        };
        let mut values = Vec::new();
        if let Some(list) = object.get("enum") {
            let enum_pointer = child(pointer, "enum");
            let Some(list) = list.as_sequence() else {
                return Err(self.invalid(&enum_pointer, "must be an array"));
            };
            for (index, value) in list.iter().enumerate() {
                values.push(value.as_i64().ok_or_else(|| {
                    self.invalid(
                        &child(&enum_pointer, &index.to_string()),
                        "must be an integer",
                    )
                })?);
            }
        }
        Ok(IntegerShape {
            int32,
            minimum: integer("minimum")?,
            exclusive_minimum: self.flag(object, "exclusiveMinimum", pointer)?,
            maximum: integer("maximum")?,
            exclusive_maximum: self.flag(object, "exclusiveMaximum", pointer)?,
            values,
            digit_string: self.flag(object, "x-accept-digit-string", pointer)?,
        })
    }

    fn object_shape(&self, object: &Mapping, pointer: &str) -> Result<ObjectShape> {
        let mut properties = Vec::new();
        if let Some(value) = object.get("properties") {
            let properties_pointer = child(pointer, "properties");
            let Value::Mapping(map) = value else {
                return Err(self.invalid(&properties_pointer, "must be an object"));
            };
            for (name, schema) in map {
                let Some(name) = name.as_str() else {
                    return Err(self.invalid(&properties_pointer, "property names must be strings"));
                };
                let node = self.node(schema, &child(&properties_pointer, name), false)?;
                properties.push((name.to_string(), node));
            }
        }
        let mut required = Vec::new();
        if let Some(value) = object.get("required") {
            let required_pointer = child(pointer, "required");
            let Value::Sequence(names) = value else {
                return Err(self.invalid(&required_pointer, "must be an array"));
            };
            for (index, name) in names.iter().enumerate() {
                let at = child(&required_pointer, &index.to_string());
                let Value::String(name) = name else {
                    return Err(self.invalid(&at, "must be a string"));
                };
                if !properties.iter().any(|(property, _)| property == name) {
                    return Err(self.invalid(&at, format!("`{name}` is not among the properties")));
                }
                required.push(name.clone());
            }
        }
        let additional_pointer = child(pointer, "additionalProperties");
        let additional = match object.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Additional::Allowed,
            Some(Value::Bool(false)) => Additional::Forbidden,
            Some(schema @ Value::Mapping(_)) => {
                if !properties.is_empty() {
                    return Err(self.unsupported(
                        &additional_pointer,
                        "`additionalProperties` with a schema beside `properties`",
                    ));
                }
                Additional::Schema(Box::new(self.node(schema, &additional_pointer, false)?))
            }
            Some(_) => {
                return Err(self.invalid(&additional_pointer, "must be a boolean or a schema"));
            }
        };
        Ok(ObjectShape {
            properties,
            required,
            additional,
        })
    }

    fn flag(&self, object: &Mapping, key: &str, pointer: &str) -> Result<bool> {
        match object.get(key) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(self.invalid(&child(pointer, key), "must be true or false")),
        }
    }

    fn count(&self, object: &Mapping, key: &str, pointer: &str) -> Result<Option<u64>> {
        match object.get(key) {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                self.invalid(&child(pointer, key), "must be a non-negative integer")
            }),
        }
    }

    fn number(&self, object: &Mapping, key: &str, pointer: &str) -> Result<Option<f64>> {
        match object.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.invalid(&child(pointer, key), "must be a number")),
        }
    }

    /// The keys of a mapping, which must all be strings.
    pub fn keys<'v>(&self, mapping: &'v Mapping, pointer: &str) -> Result<Vec<&'v str>> {
        mapping
            .keys()
            .map(|key| {
                key.as_str()
                    .ok_or_else(|| self.invalid(pointer, "keys must be strings"))
            })
            .collect()
    }

    pub fn unsupported(&self, pointer: &str, what: impl Into<String>) -> CodegenError {
        CodegenError::unsupported(&self.path, pointer, what)
    }

    pub fn invalid(&self, pointer: &str, what: impl Into<String>) -> CodegenError {
        CodegenError::invalid(&self.path, pointer, what)
    }
}

impl NumberShape {
    fn checked(self, spec: &Spec, object: &Mapping, pointer: &str) -> Result<Self> {
        match object.get("format") {
            None => {}
            Some(Value::String(format)) if format == "double" || format == "float" => {}
            Some(other) => {
                return Err(spec.unsupported(
                    &child(pointer, "format"),
                    format!(
                        "number format `{}` (supported: double, float)",
                        other.as_str().unwrap_or("?")
                    ),
                ));
            }
        }
        Ok(self)
    }
}
