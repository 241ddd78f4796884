//! What changed between two versions of an Avro schema, field by field.
//!
//! [`avro`](crate::avro) answers whether a change breaks a reader; this module says what the
//! change *is*, in the terms a reviewer reads: fields added, removed, retyped, with their
//! defaults and docs. The impact report (`cargo xtask compat --report`) and the event catalog
//! show both side by side.

use std::collections::BTreeSet;
use std::fmt;

use apache_avro::Schema;
use apache_avro::schema::RecordSchema;

use crate::avro::{describe, logical_type};

/// One field of a schema, nested fields flattened into dotted paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRow {
    /// `date_of_birth`, `address.street`; `[]` marks array items, `{}` map values.
    pub path: String,
    /// Avro-ish type text: `int (date)`, `union [null, string]`, `record Address`.
    pub type_text: String,
    pub logical_type: Option<String>,
    pub doc: Option<String>,
    /// The default as JSON text (`null`, `0`, `"x"`).
    pub default: Option<String>,
    pub aliases: Vec<String>,
    /// The symbols of an enum field (or of an enum in its union).
    pub symbols: Vec<String>,
}

impl FieldRow {
    /// Whether a reader of data lacking this field gets a value anyway.
    pub fn has_default(&self) -> bool {
        self.default.is_some()
    }
}

/// The record a schema describes: its name, doc and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordShape {
    /// The full name (`microservices.django.kafka.poc.avro.Person`).
    pub name: String,
    pub doc: Option<String>,
    pub fields: Vec<FieldRow>,
}

/// The fields of `schema`'s top-level record in declaration order, nested records' fields
/// after their parent field. A schema that is not a record has no fields.
pub fn record_shape(schema: &Schema) -> RecordShape {
    let mut fields = Vec::new();
    let (name, doc) = match schema {
        Schema::Record(record) => {
            let mut seen = BTreeSet::new();
            collect_record(record, "", &mut seen, &mut fields);
            (record.name.fullname(None), record.doc.clone())
        }
        other => (describe(other), None),
    };
    RecordShape { name, doc, fields }
}

fn collect_record(
    record: &RecordSchema,
    prefix: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<FieldRow>,
) {
    // A recursive type is listed once, where it is defined.
    if !seen.insert(record.name.fullname(None)) {
        return;
    }
    for field in &record.fields {
        let path = format!("{prefix}{}", field.name);
        out.push(FieldRow {
            path: path.clone(),
            type_text: describe(&field.schema),
            logical_type: logical_type(&field.schema).or_else(|| union_logical_type(&field.schema)),
            doc: field.doc.clone(),
            default: field.default.as_ref().map(ToString::to_string),
            aliases: field.aliases.clone(),
            symbols: enum_symbols(&field.schema),
        });
        collect_nested(&field.schema, &path, seen, out);
    }
}

/// The fields of records inside a field's type (directly, in a union, an array or a map).
fn collect_nested(
    schema: &Schema,
    path: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<FieldRow>,
) {
    match schema {
        Schema::Record(record) => collect_record(record, &format!("{path}."), seen, out),
        Schema::Union(union) => {
            for variant in union.variants() {
                collect_nested(variant, path, seen, out);
            }
        }
        Schema::Array(array) => collect_nested(&array.items, &format!("{path}[]"), seen, out),
        Schema::Map(map) => collect_nested(&map.types, &format!("{path}{{}}"), seen, out),
        _ => {}
    }
}

/// `[null, string (uuid)]` has the logical type `uuid` for a reader of the field.
fn union_logical_type(schema: &Schema) -> Option<String> {
    match schema {
        Schema::Union(union) => union.variants().iter().find_map(logical_type),
        _ => None,
    }
}

fn enum_symbols(schema: &Schema) -> Vec<String> {
    match schema {
        Schema::Enum(enumeration) => enumeration.symbols.clone(),
        Schema::Union(union) => union.variants().iter().flat_map(enum_symbols).collect(),
        Schema::Array(array) => enum_symbols(&array.items),
        Schema::Map(map) => enum_symbols(&map.types),
        _ => Vec::new(),
    }
}

/// One difference between two versions, at a field path (`(record)` for the record itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub path: String,
    pub change: Change,
}

/// What happened to a field (or to the record) from the old version to the new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added {
        type_text: String,
        default: Option<String>,
    },
    Removed {
        type_text: String,
    },
    TypeChanged {
        old: String,
        new: String,
    },
    DefaultChanged {
        old: Option<String>,
        new: Option<String>,
    },
    SymbolsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    AliasesChanged {
        old: Vec<String>,
        new: Vec<String>,
    },
    DocChanged {
        old: Option<String>,
        new: Option<String>,
    },
    RecordRenamed {
        old: String,
        new: String,
    },
}

impl Change {
    /// A short label for tables: `added`, `type changed`...
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Added { .. } => "added",
            Self::Removed { .. } => "removed",
            Self::TypeChanged { .. } => "type changed",
            Self::DefaultChanged { .. } => "default changed",
            Self::SymbolsChanged { .. } => "symbols changed",
            Self::AliasesChanged { .. } => "aliases changed",
            Self::DocChanged { .. } => "doc changed",
            Self::RecordRenamed { .. } => "renamed",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_none = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".into());
        match self {
            Self::Added { type_text, default } => match default {
                Some(default) => write!(f, "added: {type_text}, default {default}"),
                None => write!(f, "added: {type_text}, no default"),
            },
            Self::Removed { type_text } => write!(f, "removed (was {type_text})"),
            Self::TypeChanged { old, new } => write!(f, "type changed from {old} to {new}"),
            Self::DefaultChanged { old, new } => write!(
                f,
                "default changed from {} to {}",
                or_none(old),
                or_none(new)
            ),
            Self::SymbolsChanged { added, removed } => {
                let mut parts = Vec::new();
                if !added.is_empty() {
                    parts.push(format!("symbols added: {}", added.join(", ")));
                }
                if !removed.is_empty() {
                    parts.push(format!("symbols removed: {}", removed.join(", ")));
                }
                f.write_str(&parts.join("; "))
            }
            Self::AliasesChanged { old, new } => write!(
                f,
                "aliases changed from [{}] to [{}]",
                old.join(", "),
                new.join(", ")
            ),
            Self::DocChanged { old: None, new } => write!(f, "doc added: \"{}\"", or_none(new)),
            Self::DocChanged { old, new: None } => {
                write!(f, "doc removed (was \"{}\")", or_none(old))
            }
            Self::DocChanged { old, new } => write!(
                f,
                "doc changed from \"{}\" to \"{}\"",
                or_none(old),
                or_none(new)
            ),
            Self::RecordRenamed { old, new } => write!(f, "record renamed from {old} to {new}"),
        }
    }
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path, self.change)
    }
}

/// The path [`diff`] gives changes of the record itself (its name, its doc).
pub const RECORD_PATH: &str = "(record)";

/// Every difference from `old` to `new`: the record's own name and doc, then fields in the
/// new version's order, then fields the new version no longer has.
pub fn diff(old: &Schema, new: &Schema) -> Vec<FieldChange> {
    let old = record_shape(old);
    let new = record_shape(new);
    let mut changes = Vec::new();
    let mut push = |path: &str, change| {
        changes.push(FieldChange {
            path: path.to_owned(),
            change,
        })
    };
    if old.name != new.name {
        push(
            RECORD_PATH,
            Change::RecordRenamed {
                old: old.name.clone(),
                new: new.name.clone(),
            },
        );
    }
    if old.doc != new.doc {
        push(
            RECORD_PATH,
            Change::DocChanged {
                old: old.doc.clone(),
                new: new.doc.clone(),
            },
        );
    }
    for field in &new.fields {
        let Some(before) = old.fields.iter().find(|f| f.path == field.path) else {
            push(
                &field.path,
                Change::Added {
                    type_text: field.type_text.clone(),
                    default: field.default.clone(),
                },
            );
            continue;
        };
        if before.type_text != field.type_text {
            push(
                &field.path,
                Change::TypeChanged {
                    old: before.type_text.clone(),
                    new: field.type_text.clone(),
                },
            );
        }
        if before.symbols != field.symbols {
            let added = field
                .symbols
                .iter()
                .filter(|s| !before.symbols.contains(s))
                .cloned()
                .collect::<Vec<_>>();
            let removed = before
                .symbols
                .iter()
                .filter(|s| !field.symbols.contains(s))
                .cloned()
                .collect::<Vec<_>>();
            // Reordered symbols change no reader's outcome; only membership is reported.
            if !added.is_empty() || !removed.is_empty() {
                push(&field.path, Change::SymbolsChanged { added, removed });
            }
        }
        if before.default != field.default {
            push(
                &field.path,
                Change::DefaultChanged {
                    old: before.default.clone(),
                    new: field.default.clone(),
                },
            );
        }
        if before.aliases != field.aliases {
            push(
                &field.path,
                Change::AliasesChanged {
                    old: before.aliases.clone(),
                    new: field.aliases.clone(),
                },
            );
        }
        if before.doc != field.doc {
            push(
                &field.path,
                Change::DocChanged {
                    old: before.doc.clone(),
                    new: field.doc.clone(),
                },
            );
        }
    }
    for field in &old.fields {
        if !new.fields.iter().any(|f| f.path == field.path) {
            push(
                &field.path,
                Change::Removed {
                    type_text: field.type_text.clone(),
                },
            );
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Schema {
        Schema::parse_str(text).expect("a valid schema")
    }

    const V1: &str = r#"{"type": "record", "name": "Person", "namespace": "n", "doc": "A person.",
        "fields": [
          {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
          {"name": "born", "type": {"type": "int", "logicalType": "date"}, "doc": "Birthday."},
          {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["A", "B"]}},
          {"name": "address", "type": ["null", {"type": "record", "name": "Address",
             "fields": [{"name": "street", "type": "string"}]}], "default": null},
          {"name": "nick", "type": "string"}
        ]}"#;

    #[test]
    fn flattens_nested_fields_with_types_docs_and_logical_types() {
        let shape = record_shape(&parse(V1));
        assert_eq!(shape.name, "n.Person");
        assert_eq!(shape.doc.as_deref(), Some("A person."));
        let rows: Vec<(&str, &str, Option<&str>)> = shape
            .fields
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.type_text.as_str(),
                    f.logical_type.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("id", "string (uuid)", Some("uuid")),
                ("born", "int (date)", Some("date")),
                ("status", "enum Status", None),
                ("address", "union [null, record Address]", None),
                ("address.street", "string", None),
                ("nick", "string", None),
            ]
        );
        assert_eq!(shape.fields[1].doc.as_deref(), Some("Birthday."));
        assert_eq!(shape.fields[2].symbols, ["A", "B"]);
        assert_eq!(shape.fields[3].default.as_deref(), Some("null"));
    }

    #[test]
    fn names_every_kind_of_change() {
        let v2 = V1
            .replace(r#""doc": "Birthday.""#, r#""doc": "Date of birth.""#)
            .replace(r#"["A", "B"]"#, r#"["A", "C"]"#)
            .replace(
                r#"{"name": "street", "type": "string"}"#,
                r#"{"name": "street", "type": "string"}, {"name": "zip", "type": ["null", "string"], "default": null}"#,
            )
            .replace(
                r#"{"name": "nick", "type": "string"}"#,
                r#"{"name": "age", "type": "long", "default": 0}"#,
            )
            .replace(
                r#"{"type": "int", "logicalType": "date"}"#,
                r#"{"type": "long", "logicalType": "timestamp-millis"}"#,
            );
        let changes: Vec<String> = diff(&parse(V1), &parse(&v2))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            changes,
            [
                "`born`: type changed from int (date) to long (timestamp-millis)",
                "`born`: doc changed from \"Birthday.\" to \"Date of birth.\"",
                "`status`: symbols added: C; symbols removed: B",
                "`address.zip`: added: union [null, string], default null",
                "`age`: added: long, default 0",
                "`nick`: removed (was string)",
            ]
        );
    }

    #[test]
    fn equal_schemas_have_no_changes_and_a_rename_is_named() {
        assert!(diff(&parse(V1), &parse(V1)).is_empty());
        let renamed = V1.replace(r#""name": "Person""#, r#""name": "Human""#);
        assert_eq!(
            diff(&parse(V1), &parse(&renamed)),
            [FieldChange {
                path: RECORD_PATH.into(),
                change: Change::RecordRenamed {
                    old: "n.Person".into(),
                    new: "n.Human".into()
                }
            }]
        );
    }
}
