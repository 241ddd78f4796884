//! Avro schemas + event manifest → `generated/src/events.rs`.
//!
//! rsgen-avro writes the record types. Its known defects are handled here rather than trusted
//! (`codegen/README.md`, "Avro"): every logical type gets an explicit field override that maps
//! it to a real Rust type through the adapters in `contract_runtime::avro`; schema shapes it
//! mishandles (same-named records in two namespaces, unions with `null` not first, decimals)
//! are rejected with the file and JSON pointer instead of generating wrong code. The schema
//! text embedded for each event is the contract file itself, not rsgen-avro's re-rendering
//! (which drops logical types and defaults).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rsgen_avro::apache_avro::schema::Name;
use rsgen_avro::{FieldOverride, Generator, Schema, Source};
use serde_json::Value;

use crate::{CodegenError, EventSpec, Manifest, Result};

/// One Avro logical type we map to a Rust type, with the runtime adapter that (de)serializes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logical {
    Uuid,
    Date,
    TimestampMillis,
    TimestampMicros,
}

impl Logical {
    fn parse(base: &str, logical: &str) -> Option<Self> {
        match (base, logical) {
            ("string", "uuid") => Some(Self::Uuid),
            ("int", "date") => Some(Self::Date),
            ("long", "timestamp-millis") => Some(Self::TimestampMillis),
            ("long", "timestamp-micros") => Some(Self::TimestampMicros),
            _ => None,
        }
    }

    fn rust_type(self) -> &'static str {
        match self {
            Self::Uuid => "uuid::Uuid",
            Self::Date => "chrono::NaiveDate",
            Self::TimestampMillis | Self::TimestampMicros => "chrono::DateTime<chrono::Utc>",
        }
    }

    fn adapter(self) -> &'static str {
        match self {
            Self::Uuid => "uuid_string",
            Self::Date => "date_days",
            Self::TimestampMillis => "timestamp_millis",
            Self::TimestampMicros => "timestamp_micros",
        }
    }
}

/// How a record field's type relates to logical types.
enum FieldShape {
    Plain,
    Logical(Logical),
    OptionalLogical(Logical),
}

/// One record found in the schemas: its full name and the primitive fields that need overrides.
struct RecordInfo {
    full_name: String,
    file: PathBuf,
    pointer: String,
}

/// Walks a schema file's JSON, rejecting what we do not support and collecting overrides.
struct Walker<'a> {
    file: &'a Path,
    records: &'a mut Vec<RecordInfo>,
    overrides: &'a mut Vec<FieldOverride>,
}

impl Walker<'_> {
    fn unsupported(&self, pointer: &str, what: impl Into<String>) -> CodegenError {
        CodegenError::unsupported(self.file, pointer, what)
    }

    /// Checks `schema` at `pointer`; `namespace` is the enclosing namespace. Returns the shape
    /// the schema has when used as a field type.
    fn walk(
        &mut self,
        schema: &Value,
        pointer: &str,
        namespace: Option<&str>,
    ) -> Result<FieldShape> {
        match schema {
            Value::String(_) => Ok(FieldShape::Plain),
            Value::Array(branches) => self.walk_union(branches, pointer, namespace),
            Value::Object(object) => {
                let Some(Value::String(kind)) = object.get("type") else {
                    // `{"type": {...}}` nests a schema; `{"type": [...]}` is not valid Avro.
                    return match object.get("type") {
                        Some(inner @ Value::Object(_)) => {
                            self.walk(inner, &format!("{pointer}/type"), namespace)
                        }
                        _ => Err(CodegenError::invalid(
                            self.file,
                            pointer,
                            "schema object without a `type` name",
                        )),
                    };
                };
                if let Some(logical) = object.get("logicalType") {
                    let logical = logical.as_str().unwrap_or_default();
                    return match Logical::parse(kind, logical) {
                        Some(l) => Ok(FieldShape::Logical(l)),
                        None => Err(self.unsupported(
                            &format!("{pointer}/logicalType"),
                            format!("logical type `{logical}` on `{kind}` (supported: uuid on string, date on int, timestamp-millis and timestamp-micros on long)"),
                        )),
                    };
                }
                match kind.as_str() {
                    "record" | "error" => self.walk_record(object, pointer, namespace),
                    "array" => {
                        let items = object.get("items").ok_or_else(|| {
                            CodegenError::invalid(self.file, pointer, "array without `items`")
                        })?;
                        self.nested_only(items, &format!("{pointer}/items"), namespace)
                    }
                    "map" => {
                        let values = object.get("values").ok_or_else(|| {
                            CodegenError::invalid(self.file, pointer, "map without `values`")
                        })?;
                        self.nested_only(values, &format!("{pointer}/values"), namespace)
                    }
                    _ => Ok(FieldShape::Plain),
                }
            }
            _ => Err(CodegenError::invalid(
                self.file,
                pointer,
                "a schema must be a string, an array or an object",
            )),
        }
    }

    /// Inside arrays and maps a logical type cannot get a field override, so it is refused.
    fn nested_only(
        &mut self,
        schema: &Value,
        pointer: &str,
        namespace: Option<&str>,
    ) -> Result<FieldShape> {
        match self.walk(schema, pointer, namespace)? {
            FieldShape::Plain => Ok(FieldShape::Plain),
            FieldShape::Logical(_) | FieldShape::OptionalLogical(_) => Err(self.unsupported(
                pointer,
                "a logical type inside an array or map (only record fields and [\"null\", T] fields may have one)",
            )),
        }
    }

    fn walk_union(
        &mut self,
        branches: &[Value],
        pointer: &str,
        namespace: Option<&str>,
    ) -> Result<FieldShape> {
        let is_null = |v: &Value| v.as_str() == Some("null");
        if branches.len() != 2 || !is_null(&branches[0]) || is_null(&branches[1]) {
            let what = if branches.iter().skip(1).any(is_null) {
                "a union whose `null` branch is not first (rsgen-avro requires [\"null\", T])"
            } else {
                "a union other than [\"null\", T]"
            };
            return Err(self.unsupported(pointer, what));
        }
        match self.walk(&branches[1], &format!("{pointer}/1"), namespace)? {
            FieldShape::Plain => Ok(FieldShape::Plain),
            FieldShape::Logical(l) => Ok(FieldShape::OptionalLogical(l)),
            FieldShape::OptionalLogical(_) => {
                Err(self.unsupported(pointer, "a nested optional union"))
            }
        }
    }

    fn walk_record(
        &mut self,
        object: &serde_json::Map<String, Value>,
        pointer: &str,
        enclosing: Option<&str>,
    ) -> Result<FieldShape> {
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| CodegenError::invalid(self.file, pointer, "record without a `name`"))?;
        let namespace = match name.rsplit_once('.') {
            Some((ns, _)) => Some(ns),
            None => object
                .get("namespace")
                .and_then(Value::as_str)
                .or(enclosing),
        };
        let simple = name.rsplit('.').next().unwrap_or(name);
        let full_name = match namespace {
            Some(ns) if !name.contains('.') => format!("{ns}.{name}"),
            _ => name.to_string(),
        };
        self.records.push(RecordInfo {
            full_name: full_name.clone(),
            file: self.file.to_path_buf(),
            pointer: pointer.to_string(),
        });
        let fields = object
            .get("fields")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                CodegenError::invalid(
                    self.file,
                    pointer,
                    format!("record `{simple}` without `fields`"),
                )
            })?;
        for (i, field) in fields.iter().enumerate() {
            let field_pointer = format!("{pointer}/fields/{i}");
            let field_name = field.get("name").and_then(Value::as_str).ok_or_else(|| {
                CodegenError::invalid(self.file, &field_pointer, "field without a `name`")
            })?;
            let field_type = field.get("type").ok_or_else(|| {
                CodegenError::invalid(
                    self.file,
                    &field_pointer,
                    format!("field `{field_name}` without a `type`"),
                )
            })?;
            let shape = self.walk(field_type, &format!("{field_pointer}/type"), namespace)?;
            let (type_name, adapter) = match shape {
                FieldShape::Plain => continue,
                FieldShape::Logical(l) => (
                    l.rust_type().to_string(),
                    format!("contract_runtime::avro::{}", l.adapter()),
                ),
                FieldShape::OptionalLogical(l) => (
                    format!("Option<{}>", l.rust_type()),
                    format!("contract_runtime::avro::optional::{}", l.adapter()),
                ),
            };
            let is_optional = type_name.starts_with("Option<");
            let default_is_null = field.get("default") == Some(&Value::Null);
            if field.get("default").is_some() && !(is_optional && default_is_null) {
                return Err(self.unsupported(
                    &format!("{field_pointer}/default"),
                    "a default other than null on a logical-type field (rsgen-avro renders it as the underlying type)",
                ));
            }
            self.overrides.push(FieldOverride {
                schema: Name::new(&full_name)
                    .map_err(|e| CodegenError::invalid(self.file, pointer, e.to_string()))?,
                field: field_name.to_string(),
                docstring: None,
                type_name: Some(type_name),
                implements_eq: Some(true),
                serde_with: Some(adapter),
                default: None,
            });
        }
        Ok(FieldShape::Plain)
    }
}

/// A parsed contract schema file.
struct SchemaFile {
    path: PathBuf,
    text: String,
    json: Value,
}

fn read_schema(contracts: &Path, event: &EventSpec) -> Result<SchemaFile> {
    let path = contracts.join(&event.schema);
    let text = std::fs::read_to_string(&path).map_err(|e| CodegenError::io(&path, e))?;
    let json = serde_json::from_str(&text).map_err(|e| CodegenError::Parse {
        file: path.clone(),
        message: e.to_string(),
    })?;
    Ok(SchemaFile {
        path,
        text: text.trim_end().to_string(),
        json,
    })
}

/// The body of `src/events.rs`, or every problem found in the schemas.
pub fn generate_events(
    contracts: &Path,
    manifest: &Manifest,
) -> std::result::Result<String, Vec<CodegenError>> {
    events_module(contracts, manifest).map_err(|e| vec![e])
}

fn events_module(contracts: &Path, manifest: &Manifest) -> Result<String> {
    let files = manifest
        .events
        .iter()
        .map(|e| read_schema(contracts, e))
        .collect::<Result<Vec<_>>>()?;

    let mut records = Vec::new();
    let mut overrides = Vec::new();
    for file in &files {
        let mut walker = Walker {
            file: &file.path,
            records: &mut records,
            overrides: &mut overrides,
        };
        if file.json.get("type").and_then(Value::as_str) != Some("record") {
            return Err(CodegenError::unsupported(
                &file.path,
                "",
                "an event schema must be a record",
            ));
        }
        walker.walk(&file.json, "", None)?;
    }
    reject_colliding_names(&records)?;

    let texts: Vec<&str> = files.iter().map(|f| f.text.as_str()).collect();
    let schemas = Schema::parse_list(texts.as_slice()).map_err(|e| CodegenError::Parse {
        file: contracts.join("events"),
        message: e.to_string(),
    })?;
    let generator = Generator::builder()
        .override_fields(overrides)
        .build()
        .map_err(|e| CodegenError::Parse {
            file: contracts.join("events"),
            message: e.to_string(),
        })?;
    let mut types = Vec::new();
    generator
        .generate(&Source::Schemas(&schemas), &mut types)
        .map_err(|e| CodegenError::Parse {
            file: contracts.join("events"),
            message: e.to_string(),
        })?;
    let types = String::from_utf8(types).map_err(|e| CodegenError::Parse {
        file: contracts.join("events"),
        message: e.to_string(),
    })?;

    let mut out = String::from(
        "//! One Rust type per Avro record of `contracts/events/`, and for each canonical event of\n\
         //! `contracts/events.toml` its wire facts ([`CanonicalEvent`]).\n\n\
         use std::sync::LazyLock;\n\n\
         use contract_runtime::event::{CanonicalEvent, EventInfo};\n\n",
    );
    out.push_str(&types);
    for (event, file) in manifest.events.iter().zip(&files) {
        out.push_str(&event_impl(event, file)?);
    }
    out.push_str(
        "\n/// Every canonical event, in manifest order.\npub const EVENTS: &[EventInfo] = &[\n",
    );
    for (event, file) in manifest.events.iter().zip(&files) {
        let record = record_name(file)?;
        writeln!(
            out,
            "EventInfo {{ event_type: {record}::EVENT_TYPE, source: {record}::SOURCE, topic: {record}::TOPIC, subject: {record}::SUBJECT, schema: {record}::SCHEMA, producer: {:?} }},",
            event.producer
        )
        .ok();
    }
    out.push_str("];\n");
    Ok(out)
}

fn reject_colliding_names(records: &[RecordInfo]) -> Result<()> {
    let mut by_simple: BTreeMap<&str, &RecordInfo> = BTreeMap::new();
    for record in records {
        let simple = record
            .full_name
            .rsplit('.')
            .next()
            .unwrap_or(&record.full_name);
        if let Some(first) = by_simple.insert(simple, record)
            && first.full_name != record.full_name
        {
            return Err(CodegenError::unsupported(
                &record.file,
                &record.pointer,
                format!(
                    "records `{}` and `{}` share the name `{simple}`; rsgen-avro ignores namespaces, so they would collide",
                    first.full_name, record.full_name
                ),
            ));
        }
    }
    Ok(())
}

/// The Rust type name rsgen-avro gives the top-level record of a file.
fn record_name(file: &SchemaFile) -> Result<String> {
    let name = file
        .json
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let simple = name.rsplit('.').next().unwrap_or(name);
    if simple.is_empty() {
        return Err(CodegenError::invalid(
            &file.path,
            "/name",
            "record without a name",
        ));
    }
    Ok(rust_type_name(simple))
}

/// rsgen-avro's Rust name for a record: its simple name in UpperCamelCase.
pub(crate) fn rust_type_name(simple: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in simple.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn event_impl(event: &EventSpec, file: &SchemaFile) -> Result<String> {
    let record = record_name(file)?;
    let key_expr = key_expression(event, file)?;
    let hashes = "#".repeat(raw_string_hashes(&file.text));
    let static_name = format!("{}_SCHEMA", to_screaming_snake(&record));
    Ok(format!(
        r#"
static {static_name}: LazyLock<apache_avro::Schema> = LazyLock::new(|| {{
    apache_avro::Schema::parse_str({record}::SCHEMA)
        .expect("the schema was parsed when this file was generated")
}});

/// `{event_type}` on `{topic}`, produced by the {producer} service.
impl CanonicalEvent for {record} {{
    const EVENT_TYPE: &'static str = {event_type:?};
    const SOURCE: &'static str = {source:?};
    const TOPIC: &'static str = {topic:?};
    const SUBJECT: &'static str = {subject:?};
    /// `contracts/{schema_path}`.
    const SCHEMA: &'static str = r{hashes}"{text}"{hashes};

    fn schema() -> &'static apache_avro::Schema {{
        &{static_name}
    }}

    fn key(&self) -> String {{
        {key_expr}
    }}
}}
"#,
        event_type = event.event_type,
        source = event.source,
        topic = event.topic,
        subject = event.subject(),
        producer = event.producer,
        schema_path = event.schema.display(),
        text = file.text,
    ))
}

/// Rust expression turning the key field into the message key text.
fn key_expression(event: &EventSpec, file: &SchemaFile) -> Result<String> {
    let fields = file
        .json
        .get("fields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some((index, field)) = fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.get("name").and_then(Value::as_str) == Some(event.key_field.as_str()))
    else {
        return Err(CodegenError::invalid(
            &file.path,
            "/fields",
            format!(
                "key field `{}` (events.toml, event `{}`) is not a field of the record",
                event.key_field, event.event_type
            ),
        ));
    };
    let ty = field.get("type").cloned().unwrap_or(Value::Null);
    let base = match &ty {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    let field_ident = field_ident(&event.key_field);
    match base.as_str() {
        "string" => {
            if ty.get("logicalType").is_some() {
                Ok(format!("self.{field_ident}.to_string()"))
            } else {
                Ok(format!("self.{field_ident}.clone()"))
            }
        }
        "int" | "long" => Ok(format!("self.{field_ident}.to_string()")),
        _ => Err(CodegenError::unsupported(
            &file.path,
            format!("/fields/{index}/type"),
            "a key field that is not a string, uuid, int or long",
        )),
    }
}

/// rsgen-avro's Rust name for a field (raw identifiers for keywords are not supported here).
fn field_ident(name: &str) -> String {
    name.to_string()
}

fn raw_string_hashes(text: &str) -> usize {
    let mut needed = 1;
    while text.contains(&format!("\"{}", "#".repeat(needed))) {
        needed += 1;
    }
    needed
}

fn to_screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}
