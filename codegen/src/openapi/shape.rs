//! Schemas, read from the raw document rather than through `openapiv3::Schema`: openapiv3
//! quietly drops keywords it does not model and falls back to "any" for schemas it cannot
//! classify, while the generator must reject every keyword it does not implement. Both
//! OpenAPI 3.0 (`nullable`) and 3.1 (JSON Schema 2020-12: `type: [string, "null"]`, numeric
//! `exclusiveMinimum`) are read.

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
    /// `title`: names an alternative of a `oneOf`/`anyOf` in types and messages.
    pub title: Option<String>,
    /// `default`, as JSON.
    pub default: Option<serde_json::Value>,
    /// `readOnly: true`: sent in responses only, so never required in a request.
    pub read_only: bool,
    /// `writeOnly: true`: sent in requests only.
    pub write_only: bool,
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
    /// `oneOf` / `anyOf`.
    Union(UnionShape),
    /// Only `null` (`enum: [null]`, `type: 'null'`): the unit value.
    Null,
    /// No value at all (`not: {}`, `false`): a type without values.
    Never,
    /// `{}`: any JSON value.
    Any,
}

/// A string `format` the generator maps to a type or checks; other formats are plain strings
/// (with a warning when the generator does not know them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    Uuid,
    DateTime,
    Date,
    Email,
    Uri,
    Hostname,
    Ipv4,
    Ipv6,
    Byte,
    Binary,
}

#[derive(Debug, Clone, Default)]
pub struct StringShape {
    pub format: Option<StringFormat>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub values: Vec<String>,
}

/// The Rust integer type of an integer schema, from its `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntegerFormat {
    Int8,
    Int16,
    Int32,
    #[default]
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
}

impl IntegerFormat {
    pub fn rust_type(self) -> &'static str {
        match self {
            Self::Int8 => "i8",
            Self::Int16 => "i16",
            Self::Int32 => "i32",
            Self::Int64 => "i64",
            Self::Uint8 => "u8",
            Self::Uint16 => "u16",
            Self::Uint32 => "u32",
            Self::Uint64 => "u64",
        }
    }

    /// The `contract_runtime::validate::IntegerRules` constructor.
    pub fn rules(self) -> &'static str {
        match self {
            Self::Int8 => "IntegerRules::int8()",
            Self::Int16 => "IntegerRules::int16()",
            Self::Int32 => "IntegerRules::int32()",
            Self::Int64 => "IntegerRules::int64()",
            Self::Uint8 => "IntegerRules::uint8()",
            Self::Uint16 => "IntegerRules::uint16()",
            Self::Uint32 => "IntegerRules::uint32()",
            Self::Uint64 => "IntegerRules::uint64()",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IntegerShape {
    pub format: IntegerFormat,
    pub minimum: Option<i64>,
    pub exclusive_minimum: bool,
    pub maximum: Option<i64>,
    pub exclusive_maximum: bool,
    pub multiple_of: Option<u64>,
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
    pub multiple_of: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct ArrayShape {
    pub items: Box<Node>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
}

#[derive(Debug, Clone)]
pub struct ObjectShape {
    pub properties: Vec<(String, Node)>,
    pub required: Vec<String>,
    pub additional: Additional,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
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

#[derive(Debug, Clone)]
pub struct UnionShape {
    pub alternatives: Vec<Node>,
    /// `oneOf` (exactly one alternative matches) rather than `anyOf` (at least one).
    pub exactly_one: bool,
    pub discriminator: Option<Discriminator>,
}

#[derive(Debug, Clone)]
pub struct Discriminator {
    pub property: String,
    /// Each value of the property with the component it selects.
    pub mapping: Vec<(String, String)>,
}

const COMPONENT_PREFIX: &str = "#/components/schemas/";

/// Keywords every schema may carry.
const COMMON: &[&str] = &[
    "type",
    "description",
    "title",
    "nullable",
    "example",
    "examples",
    "deprecated",
    "default",
    "readOnly",
    "writeOnly",
    "externalDocs",
    "$comment",
    // XML serialization hints: the generated code speaks JSON, so they change nothing.
    "xml",
];

/// Keywords that may stand beside `$ref` (OpenAPI 3.1 allows siblings; 3.0 authors write
/// them meaning the same).
const BESIDE_REF: &[&str] = &[
    "$ref",
    "description",
    "summary",
    "title",
    "nullable",
    "readOnly",
    "writeOnly",
    "deprecated",
    "example",
    "examples",
    "default",
];

fn unsupported_keyword(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "not" => (
            "`not` (a Rust type cannot express \"anything but\")",
            "describe what is allowed instead, e.g. an `enum` or a `pattern`",
        ),
        "if" | "then" | "else" | "dependentSchemas" | "dependentRequired" => (
            "conditional schemas (`if` / `then` / `else`, `dependent*`)",
            "use `oneOf` with a `discriminator`",
        ),
        "const" => ("`const`", "use an `enum` with one value"),
        "patternProperties" => (
            "`patternProperties`",
            "use `additionalProperties` with a schema",
        ),
        "prefixItems" => (
            "`prefixItems` (tuples)",
            "use an object with named properties",
        ),
        "$dynamicRef" | "$dynamicAnchor" | "$anchor" | "$id" => (
            "JSON Schema identifiers and anchors",
            "use `$ref: '#/components/schemas/<name>'`",
        ),
        _ => return None,
    })
}

impl Spec {
    /// The schema at `pointer` (whose raw JSON is `value`). `component` is true for
    /// `components/schemas/<name>` itself, the only place `x-rust-type` may appear.
    pub fn node(&self, value: &Value, pointer: &str, component: bool) -> Result<Node> {
        // `true` and `false` are the 3.1 spellings of `{}` and `not: {}`.
        match value {
            Value::Bool(true) => return Ok(Node::new(Shape::Any, pointer)),
            Value::Bool(false) => return Ok(Node::new(Shape::Never, pointer)),
            _ => {}
        }
        let Value::Mapping(object) = value else {
            return Err(self.invalid(pointer, "a schema must be an object"));
        };
        let description = match object.get("description") {
            None => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => return Err(self.invalid(&child(pointer, "description"), "must be a string")),
        };
        let default = match object.get("default") {
            None => None,
            Some(value) => Some(serde_json::to_value(value).map_err(|error| {
                self.invalid(&child(pointer, "default"), format!("not JSON: {error}"))
            })?),
        };
        let title = match object.get("title") {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        };
        let read_only = self.flag(object, "readOnly", pointer)?;
        let write_only = self.flag(object, "writeOnly", pointer)?;
        let keys = self.keys(object, pointer)?;
        // `not: {}` alone: nothing is allowed (dropshot emits it for uninhabited types).
        if let Some(Value::Mapping(negated)) = object.get("not")
            && negated.is_empty()
            && keys
                .iter()
                .all(|key| *key == "not" || COMMON.contains(key) || key.starts_with("x-"))
        {
            let mut node = Node::new(Shape::Never, pointer);
            node.description = description;
            return Ok(node);
        }
        for key in &keys {
            if let Some((what, fix)) = unsupported_keyword(key) {
                return Err(self.unsupported(&child(pointer, key), what).with_fix(fix));
            }
        }
        let (typ, type_nullable) = self.schema_type(object, pointer)?;
        let nullable = type_nullable || self.flag(object, "nullable", pointer)?;
        let base = |shape: Shape| Node {
            shape,
            nullable,
            description: description.clone(),
            title: title.clone(),
            default: default.clone(),
            read_only,
            write_only,
            pointer: pointer.to_string(),
        };
        if let Some(reference) = object.get("$ref") {
            for key in &keys {
                if !BESIDE_REF.contains(key) && !key.starts_with("x-") {
                    return Err(self
                        .unsupported(&child(pointer, key), format!("`{key}` beside `$ref`"))
                        .with_fix("move it into the referenced schema"));
                }
            }
            let name = self.component_ref(reference, &child(pointer, "$ref"))?;
            return Ok(base(Shape::Ref(name)));
        }
        if object.contains_key("allOf") {
            return self.all_of(object, pointer, component, base(Shape::Any));
        }
        for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            if object.contains_key(key) {
                return self.union(object, key, exactly_one, pointer, base(Shape::Any));
            }
        }
        if object.contains_key("discriminator") {
            return Err(self
                .unsupported(
                    &child(pointer, "discriminator"),
                    "`discriminator` without `oneOf` or `anyOf`",
                )
                .with_fix("list the alternatives under `oneOf`"));
        }
        // `enum: [null]` (dropshot's unit type) is `null` whatever `type` says.
        if let Some(Value::Sequence(values)) = object.get("enum")
            && !values.is_empty()
            && values.iter().all(Value::is_null)
        {
            return Ok(base(Shape::Null));
        }
        let specific: &[&str] = match typ.as_deref() {
            None => &[],
            Some("null") => &[],
            Some("string") => &[
                "format",
                "minLength",
                "maxLength",
                "pattern",
                "enum",
                "contentMediaType",
                "contentEncoding",
            ],
            Some("integer") => &[
                "format",
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "multipleOf",
                "enum",
                "x-accept-digit-string",
            ],
            Some("number") => &[
                "format",
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "multipleOf",
            ],
            Some("boolean") => &[],
            Some("array") => &["items", "minItems", "maxItems", "uniqueItems"],
            Some("object") => &[
                "properties",
                "required",
                "additionalProperties",
                "minProperties",
                "maxProperties",
            ],
            Some(other) => {
                return Err(
                    self.invalid(&child(pointer, "type"), format!("unknown type `{other}`"))
                );
            }
        };
        // Without `type`, object keywords still describe an object (a common shorthand).
        let implied_object = typ.is_none()
            && ["properties", "required", "additionalProperties"]
                .iter()
                .any(|key| object.contains_key(*key));
        for key in &keys {
            let allowed = COMMON.contains(key)
                || specific.contains(key)
                || (implied_object
                    && [
                        "properties",
                        "required",
                        "additionalProperties",
                        "minProperties",
                        "maxProperties",
                    ]
                    .contains(key))
                || (component && *key == "x-rust-type")
                || (key.starts_with("x-") && *key != "x-accept-digit-string");
            if !allowed {
                let what = match &typ {
                    Some(typ) => format!("`{key}` in a schema of type `{typ}`"),
                    None => format!("`{key}` in a schema without `type`"),
                };
                return Err(self.unsupported(&child(pointer, key), what));
            }
        }
        let shape = match typ.as_deref() {
            None if implied_object => Shape::Object(self.object_shape(object, pointer)?),
            None => Shape::Any,
            Some("null") => Shape::Null,
            Some("string") => Shape::String(self.string_shape(object, pointer, nullable)?),
            Some("integer") => Shape::Integer(self.integer_shape(object, pointer)?),
            Some("number") => Shape::Number(self.number_shape(object, pointer)?),
            Some("boolean") => Shape::Boolean,
            Some("array") => {
                let items_pointer = child(pointer, "items");
                let items = match object.get("items") {
                    Some(items) => self.node(items, &items_pointer, false)?,
                    None => {
                        self.warn(
                            pointer,
                            "an array schema without `items`: its items may be any JSON value",
                        );
                        Node::new(Shape::Any, &items_pointer)
                    }
                };
                Shape::Array(ArrayShape {
                    items: Box::new(items),
                    min_items: self.count(object, "minItems", pointer)?,
                    max_items: self.count(object, "maxItems", pointer)?,
                    unique_items: self.flag(object, "uniqueItems", pointer)?,
                })
            }
            Some(_) => Shape::Object(self.object_shape(object, pointer)?),
        };
        Ok(base(shape))
    }

    /// `type` as one name, and whether `null` is among the 3.1 list of types.
    fn schema_type(&self, object: &Mapping, pointer: &str) -> Result<(Option<String>, bool)> {
        let at = child(pointer, "type");
        match object.get("type") {
            None => Ok((None, false)),
            Some(Value::String(typ)) => Ok((Some(typ.clone()), false)),
            Some(Value::Sequence(types)) => {
                let mut names = Vec::new();
                let mut nullable = false;
                for typ in types {
                    match typ.as_str() {
                        Some("null") => nullable = true,
                        Some(name) => names.push(name.to_string()),
                        None => return Err(self.invalid(&at, "types must be strings")),
                    }
                }
                match names.as_slice() {
                    [] => Ok((Some("null".into()), true)),
                    [one] => Ok((Some(one.clone()), nullable)),
                    _ => Err(self
                        .unsupported(&at, "several types besides `null`")
                        .with_fix("use `oneOf` with one schema per type")),
                }
            }
            Some(_) => Err(self.invalid(&at, "must be a string or a list of strings")),
        }
    }

    /// `allOf`: one object whose properties and required names are those of every part (a
    /// single `$ref` part stays that component's type).
    fn all_of(
        &self,
        object: &Mapping,
        pointer: &str,
        component: bool,
        mut node: Node,
    ) -> Result<Node> {
        let at = child(pointer, "allOf");
        let Some(Value::Sequence(parts)) = object.get("allOf") else {
            return Err(self.invalid(&at, "must be an array of schemas"));
        };
        let structural: Vec<&str> = self
            .keys(object, pointer)?
            .into_iter()
            .filter(|key| !COMMON.contains(key) && *key != "allOf" && !key.starts_with("x-"))
            .collect();
        // One part (dropshot wraps references and documented schemas so): that part, with the
        // description and nullability written beside `allOf`.
        if let [Value::Mapping(_)] = parts.as_slice()
            && structural.iter().all(|key| *key == "type")
        {
            let inner = self.node(&parts[0], &child(&at, "0"), false)?;
            node.shape = inner.shape;
            node.nullable |= inner.nullable;
            node.description = node.description.or(inner.description);
            return Ok(node);
        }
        let mut merged = ObjectShape {
            properties: Vec::new(),
            required: Vec::new(),
            additional: Additional::Allowed,
            min_properties: None,
            max_properties: None,
        };
        let mut sources: Vec<(Node, String)> = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let part_at = child(&at, &index.to_string());
            sources.push((self.node(part, &part_at, false)?, part_at));
        }
        // Keys beside `allOf` are one more part.
        if !structural.is_empty() {
            let mut rest = object.clone();
            rest.remove("allOf");
            for key in COMMON {
                if *key != "type" {
                    rest.remove(*key);
                }
            }
            sources.push((
                self.node(&Value::Mapping(rest), pointer, component)?,
                pointer.to_string(),
            ));
        }
        let mut seen = Vec::new();
        for (part, part_at) in sources {
            let part_object = self.resolved_object(&part, &part_at, &mut seen)?;
            for (name, property) in part_object.properties {
                merged.properties.retain(|(existing, _)| *existing != name);
                merged.properties.push((name, property));
            }
            for name in part_object.required {
                if !merged.required.contains(&name) {
                    merged.required.push(name);
                }
            }
            if matches!(part_object.additional, Additional::Forbidden) {
                merged.additional = Additional::Forbidden;
            }
            merged.min_properties = merged.min_properties.max(part_object.min_properties);
            merged.max_properties = match (merged.max_properties, part_object.max_properties) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for (index, name) in merged.required.iter().enumerate() {
            if !merged
                .properties
                .iter()
                .any(|(property, _)| property == name)
            {
                return Err(self.invalid(
                    &child(&child(pointer, "required"), &index.to_string()),
                    format!("`{name}` is not among the properties of any `allOf` part"),
                ));
            }
        }
        node.shape = Shape::Object(merged);
        Ok(node)
    }

    /// An `allOf` part as an object, following `$ref`s.
    fn resolved_object(
        &self,
        part: &Node,
        at: &str,
        seen: &mut Vec<String>,
    ) -> Result<ObjectShape> {
        match &part.shape {
            Shape::Object(object) => Ok(object.clone()),
            Shape::Any => Ok(ObjectShape {
                properties: Vec::new(),
                required: Vec::new(),
                additional: Additional::Allowed,
                min_properties: None,
                max_properties: None,
            }),
            Shape::Ref(name) => {
                if seen.contains(name) {
                    return Err(
                        self.unsupported(at, format!("`allOf` that includes `{name}` in itself"))
                    );
                }
                seen.push(name.clone());
                let component_at = super::names::pointer(["components", "schemas", name]);
                let raw = self
                    .raw_component(name)
                    .ok_or_else(|| self.invalid(at, format!("no schema `{name}`")))?
                    .clone();
                let node = self.node(&raw, &component_at, true)?;
                self.resolved_object(&node, &component_at, seen)
            }
            _ => Err(self
                .unsupported(at, "an `allOf` part that is not an object")
                .with_fix("merge the constraints into one schema")),
        }
    }

    /// `oneOf` / `anyOf`, with an optional `discriminator`.
    fn union(
        &self,
        object: &Mapping,
        key: &str,
        exactly_one: bool,
        pointer: &str,
        mut node: Node,
    ) -> Result<Node> {
        let at = child(pointer, key);
        let Some(Value::Sequence(parts)) = object.get(key) else {
            return Err(self.invalid(&at, "must be an array of schemas"));
        };
        // Object keywords beside `oneOf` hold for every alternative (JSON Schema applies both).
        const SHARED: &[&str] = &["properties", "required", "additionalProperties"];
        let shared = if SHARED.iter().any(|k| object.contains_key(*k)) {
            let mut base = Mapping::new();
            for k in SHARED {
                if let Some(value) = object.get(*k) {
                    base.insert(Value::String((*k).to_string()), value.clone());
                }
            }
            Some(self.object_shape(&base, pointer)?)
        } else {
            None
        };
        for other in self.keys(object, pointer)? {
            let allowed = COMMON.contains(&other)
                || other == key
                || other == "discriminator"
                || other.starts_with("x-")
                || SHARED.contains(&other)
                // `type: object` beside `oneOf` restates what the alternatives say.
                || other == "type";
            if !allowed {
                return Err(self
                    .unsupported(&child(pointer, other), format!("`{other}` beside `{key}`"))
                    .with_fix(format!("move it into each alternative of `{key}`")));
            }
        }
        let mut alternatives = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let part_at = child(&at, &index.to_string());
            let mut alternative = self.node(part, &part_at, false)?;
            if matches!(alternative.shape, Shape::Null) {
                node.nullable = true;
                continue;
            }
            if let Some(shared) = &shared {
                let mut merged = self.resolved_object(&alternative, &part_at, &mut Vec::new())?;
                for (name, property) in &shared.properties {
                    if !merged
                        .properties
                        .iter()
                        .any(|(existing, _)| existing == name)
                    {
                        merged.properties.push((name.clone(), property.clone()));
                    }
                }
                for name in &shared.required {
                    if !merged.required.contains(name) {
                        merged.required.push(name.clone());
                    }
                }
                if matches!(shared.additional, Additional::Forbidden) {
                    merged.additional = Additional::Forbidden;
                }
                alternative.shape = Shape::Object(merged);
            }
            alternatives.push(alternative);
        }
        if alternatives.is_empty() {
            node.shape = Shape::Null;
            return Ok(node);
        }
        // `oneOf: [{$ref}, {type: 'null'}]`: a nullable reference.
        if alternatives.len() == 1 && !object.contains_key("discriminator") {
            let only = alternatives.remove(0);
            node.shape = only.shape;
            node.nullable |= only.nullable;
            node.description = node.description.or(only.description);
            return Ok(node);
        }
        // Alternatives that are each a string `enum` (dropshot's documented enum values) are
        // one string enum.
        let all_string_enums = alternatives.iter().all(|alternative| {
            matches!(&alternative.shape, Shape::String(s) if !s.values.is_empty() && s.format.is_none())
        });
        if all_string_enums {
            let mut merged = StringShape::default();
            for alternative in &alternatives {
                if let Shape::String(string) = &alternative.shape {
                    merged.values.extend(string.values.iter().cloned());
                }
            }
            node.shape = Shape::String(merged);
            return Ok(node);
        }
        let discriminator = match object.get("discriminator") {
            None => None,
            Some(value) => {
                Some(self.discriminator(value, &child(pointer, "discriminator"), &alternatives)?)
            }
        };
        node.shape = Shape::Union(UnionShape {
            alternatives,
            exactly_one,
            discriminator,
        });
        Ok(node)
    }

    fn discriminator(
        &self,
        value: &Value,
        at: &str,
        alternatives: &[Node],
    ) -> Result<Discriminator> {
        let Value::Mapping(object) = value else {
            return Err(self.invalid(at, "must be an object"));
        };
        let Some(Value::String(property)) = object.get("propertyName") else {
            return Err(self.invalid(at, "needs a `propertyName`"));
        };
        let mut components = Vec::new();
        for alternative in alternatives {
            match &alternative.shape {
                Shape::Ref(name) => components.push(name.clone()),
                _ => {
                    return Err(self
                        .unsupported(
                            &alternative.pointer,
                            "an inline alternative beside a `discriminator`",
                        )
                        .with_fix("make each alternative a `$ref` to a component schema"));
                }
            }
        }
        let mut mapping = Vec::new();
        if let Some(explicit) = object.get("mapping") {
            let mapping_at = child(at, "mapping");
            let Value::Mapping(explicit) = explicit else {
                return Err(self.invalid(&mapping_at, "must be an object"));
            };
            for (value, target) in explicit {
                let value = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    _ => return Err(self.invalid(&mapping_at, "values must be strings")),
                };
                let value_at = child(&mapping_at, &value);
                let Some(target) = target.as_str() else {
                    return Err(self.invalid(&value_at, "must be a reference"));
                };
                // A bare name is short for the component of that name.
                let reference = if target.starts_with('#') {
                    target.to_string()
                } else {
                    format!("{COMPONENT_PREFIX}{target}")
                };
                let name = self.component_ref(&Value::String(reference), &value_at)?;
                if !components.contains(&name) {
                    return Err(self.invalid(
                        &value_at,
                        format!("`{name}` is not one of the alternatives"),
                    ));
                }
                mapping.push((value, name));
            }
        }
        // Alternatives the mapping does not name are selected by their component name.
        for name in components {
            if !mapping.iter().any(|(_, target)| *target == name) {
                mapping.push((name.clone(), name));
            }
        }
        Ok(Discriminator {
            property: property.clone(),
            mapping,
        })
    }

    /// The component name of a `$ref`; anything but a local component schema is unsupported.
    pub fn component_ref(&self, reference: &Value, pointer: &str) -> Result<String> {
        let Value::String(reference) = reference else {
            return Err(self.invalid(pointer, "`$ref` must be a string"));
        };
        let Some(name) = reference.strip_prefix(COMPONENT_PREFIX) else {
            return Err(self
                .unsupported(
                    pointer,
                    format!("`$ref: {reference}`: only references to `#/components/schemas/<name>` in the same file"),
                )
                .with_fix("copy the schema into `components/schemas` of this file"));
        };
        if name.contains('/') {
            return Err(self
                .unsupported(pointer, format!("`$ref: {reference}` into a schema"))
                .with_fix("make the inner schema a component of its own"));
        }
        let name = name.replace("~1", "/").replace("~0", "~");
        if self.raw_component(&name).is_none() {
            return Err(self.invalid(pointer, format!("`$ref: {reference}`: no such schema")));
        }
        Ok(name)
    }

    fn string_shape(&self, object: &Mapping, pointer: &str, nullable: bool) -> Result<StringShape> {
        let format_at = child(pointer, "format");
        let format = match object.get("format") {
            None => None,
            Some(Value::String(format)) => match format.as_str() {
                "uuid" => Some(StringFormat::Uuid),
                "date-time" => Some(StringFormat::DateTime),
                "date" => Some(StringFormat::Date),
                "email" | "idn-email" => Some(StringFormat::Email),
                "uri" | "iri" => Some(StringFormat::Uri),
                "hostname" | "idn-hostname" => Some(StringFormat::Hostname),
                "ipv4" => Some(StringFormat::Ipv4),
                "ipv6" => Some(StringFormat::Ipv6),
                "byte" => Some(StringFormat::Byte),
                "binary" => Some(StringFormat::Binary),
                // Known, but nothing to check or parse.
                "password"
                | "uri-reference"
                | "iri-reference"
                | "uri-template"
                | "time"
                | "duration"
                | "regex"
                | "json-pointer"
                | "relative-json-pointer" => None,
                other => {
                    self.warn(
                        &format_at,
                        format!("unknown string format `{other}`: treated as a plain string"),
                    );
                    None
                }
            },
            Some(_) => return Err(self.invalid(&format_at, "must be a string")),
        };
        let pattern = match object.get("pattern") {
            None => None,
            Some(Value::String(pattern)) => {
                // As the runtime compiles it: Unicode mode (`\p{L}`), else without it.
                regress::Regex::with_flags(pattern, "u")
                    .or_else(|_| regress::Regex::new(pattern))
                    .map_err(|error| {
                        self.invalid(
                            &child(pointer, "pattern"),
                            format!("not a valid ECMA-262 regular expression: {error}"),
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
                    Value::Null if nullable => {}
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
                return Err(self
                    .unsupported(&enum_pointer, "`enum` together with `format`")
                    .with_fix("drop the `format`: the enum lists every value"));
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
        let format_at = child(pointer, "format");
        let format = match object.get("format") {
            None => IntegerFormat::Int64,
            Some(Value::String(format)) => match format.as_str() {
                "int8" => IntegerFormat::Int8,
                "int16" => IntegerFormat::Int16,
                "int32" => IntegerFormat::Int32,
                "int64" => IntegerFormat::Int64,
                "uint8" => IntegerFormat::Uint8,
                "uint16" => IntegerFormat::Uint16,
                "uint32" => IntegerFormat::Uint32,
                "uint64" | "uint" => IntegerFormat::Uint64,
                other => {
                    self.warn(
                        &format_at,
                        format!("unknown integer format `{other}`: treated as int64"),
                    );
                    IntegerFormat::Int64
                }
            },
            Some(_) => return Err(self.invalid(&format_at, "must be a string")),
        };
        let integer = |key: &str| -> Result<Option<i64>> {
            match object.get(key) {
                None | Some(Value::Bool(_)) => Ok(None),
                Some(value) => value
                    .as_i64()
                    .or_else(|| {
                        value
                            .as_f64()
                            .filter(|f| f.fract() == 0.0)
                            .map(|f| f as i64)
                    })
                    .map(Some)
                    .ok_or_else(|| self.invalid(&child(pointer, key), "must be an integer")),
            }
        };
        let (minimum, exclusive_minimum) =
            self.bound(object, "minimum", "exclusiveMinimum", &integer)?;
        let (maximum, exclusive_maximum) =
            self.bound(object, "maximum", "exclusiveMaximum", &integer)?;
        let mut values = Vec::new();
        if let Some(list) = object.get("enum") {
            let enum_pointer = child(pointer, "enum");
            let Some(list) = list.as_sequence() else {
                return Err(self.invalid(&enum_pointer, "must be an array"));
            };
            for (index, value) in list.iter().enumerate() {
                if value.is_null() {
                    continue;
                }
                values.push(value.as_i64().ok_or_else(|| {
                    self.invalid(
                        &child(&enum_pointer, &index.to_string()),
                        "must be an integer",
                    )
                })?);
            }
        }
        let multiple_of = match object.get("multipleOf") {
            None => None,
            Some(value) => Some(value.as_u64().filter(|m| *m > 0).ok_or_else(|| {
                self.invalid(&child(pointer, "multipleOf"), "must be a positive integer")
            })?),
        };
        Ok(IntegerShape {
            format,
            minimum,
            exclusive_minimum,
            maximum,
            exclusive_maximum,
            multiple_of,
            values,
            digit_string: self.flag(object, "x-accept-digit-string", pointer)?,
        })
    }

    fn number_shape(&self, object: &Mapping, pointer: &str) -> Result<NumberShape> {
        match object.get("format") {
            None => {}
            Some(Value::String(format)) if format == "double" || format == "float" => {}
            Some(Value::String(other)) => self.warn(
                &child(pointer, "format"),
                format!("unknown number format `{other}`: treated as double"),
            ),
            Some(_) => return Err(self.invalid(&child(pointer, "format"), "must be a string")),
        }
        let number = |key: &str| -> Result<Option<f64>> {
            match object.get(key) {
                None | Some(Value::Bool(_)) => Ok(None),
                Some(value) => value
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| self.invalid(&child(pointer, key), "must be a number")),
            }
        };
        let (minimum, exclusive_minimum) =
            self.bound(object, "minimum", "exclusiveMinimum", &number)?;
        let (maximum, exclusive_maximum) =
            self.bound(object, "maximum", "exclusiveMaximum", &number)?;
        let multiple_of = match number("multipleOf")? {
            Some(m) if m <= 0.0 => {
                return Err(self.invalid(&child(pointer, "multipleOf"), "must be positive"));
            }
            m => m,
        };
        Ok(NumberShape {
            minimum,
            exclusive_minimum,
            maximum,
            exclusive_maximum,
            multiple_of,
        })
    }

    /// A bound and whether it is exclusive: 3.0 writes `minimum: 5, exclusiveMinimum: true`,
    /// 3.1 writes `exclusiveMinimum: 5`.
    fn bound<T>(
        &self,
        object: &Mapping,
        key: &str,
        exclusive_key: &str,
        read: &dyn Fn(&str) -> Result<Option<T>>,
    ) -> Result<(Option<T>, bool)> {
        match object.get(exclusive_key) {
            Some(Value::Bool(exclusive)) => Ok((read(key)?, *exclusive)),
            Some(_) => match read(exclusive_key)? {
                Some(bound) => Ok((Some(bound), true)),
                None => Ok((read(key)?, false)),
            },
            None => Ok((read(key)?, false)),
        }
    }

    fn object_shape(&self, object: &Mapping, pointer: &str) -> Result<ObjectShape> {
        let mut properties = Vec::new();
        let properties_pointer = child(pointer, "properties");
        if let Some(value) = object.get("properties") {
            let Value::Mapping(map) = value else {
                return Err(self.invalid(&properties_pointer, "must be an object"));
            };
            for (name, schema) in map {
                let Some(name) = name.as_str() else {
                    return Err(self.invalid(&properties_pointer, "property names must be strings"));
                };
                // A bad property is reported and left out, so the rest is still checked.
                if let Some(node) =
                    self.attempt(self.node(schema, &child(&properties_pointer, name), false))
                {
                    properties.push((name.to_string(), node));
                } else {
                    properties.push((
                        name.to_string(),
                        Node::new(Shape::Any, &child(&properties_pointer, name)),
                    ));
                }
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
                    // Inside `allOf`, another part may define it; `all_of` checks the merge.
                    if object.contains_key("properties") {
                        return Err(
                            self.invalid(&at, format!("`{name}` is not among the properties"))
                        );
                    }
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
                    return Err(self
                        .unsupported(
                            &additional_pointer,
                            "`additionalProperties` with a schema beside `properties`",
                        )
                        .with_fix("move the named properties into an object of their own"));
                }
                let values = self.node(schema, &additional_pointer, false)?;
                if matches!(values.shape, Shape::Any) && !values.nullable {
                    Additional::Allowed
                } else {
                    Additional::Schema(Box::new(values))
                }
            }
            Some(_) => {
                return Err(self.invalid(&additional_pointer, "must be a boolean or a schema"));
            }
        };
        Ok(ObjectShape {
            properties,
            required,
            additional,
            min_properties: self.count(object, "minProperties", pointer)?,
            max_properties: self.count(object, "maxProperties", pointer)?,
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

impl Node {
    pub fn new(shape: Shape, pointer: &str) -> Self {
        Self {
            shape,
            nullable: false,
            description: None,
            title: None,
            default: None,
            read_only: false,
            write_only: false,
            pointer: pointer.to_string(),
        }
    }
}
