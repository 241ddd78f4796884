//! Avro schema evolution: can data written with one schema be read with another, and the
//! Confluent compatibility levels built on that pairwise question.
//!
//! Two checkers answer the pairwise question, and a pair passes only when both accept it:
//!
//! - [`apache_avro::schema_compatibility::SchemaCompatibility::can_read`], the library our Rust
//!   consumers decode with. Its "partial" answer (resolution fails for some values, such as an
//!   enum symbol the reader lacks) counts as incompatible.
//! - a walk of our own that applies the rules of Avro's Java `SchemaCompatibility`, which the
//!   registry (Apicurio, like Confluent) enforces at registration. apache-avro's errors name
//!   neither the path nor the versions' difference; the walk does, so every incompatibility is
//!   reported as a field path and a reason a developer can act on.
//!
//! The walk adds one rule the registry does not have: a field matched only through a reader
//! alias is reported, because `apache_avro::types::Value::resolve` (what our consumers call)
//! matches fields by name only. Where apache-avro's checker rejects what Java accepts and our
//! runtime reads fine (a named type renamed with a reader alias), the walk's verdict stands.
//! `compat/README.md` lists every known difference from the registry.

use std::collections::{HashMap, HashSet};
use std::fmt;

use apache_avro::Schema;
use apache_avro::error::CompatibilityError;
use apache_avro::schema::{
    DecimalSchema, EnumSchema, FixedSchema, InnerDecimalSchema, Name, RecordSchema, ResolvedSchema,
    UuidSchema,
};
use apache_avro::schema_compatibility::{Compatibility as Resolution, SchemaCompatibility};
use codegen::Compatibility as Level;

use crate::CompatError;

/// One way the reader fails on the writer's data, at a place in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `Person.address.street`; `[]` marks array items, `{}` map values.
    pub path: String,
    pub problem: Problem,
}

/// Why a reader cannot read a writer's data. Type descriptions are Avro-ish text
/// (`int (date)`, `union [null, string]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The reader's type cannot be resolved from the writer's.
    TypeChanged {
        writer: String,
        reader: String,
    },
    /// The reader has a field the writer lacks, and no default for it.
    FieldWithoutDefault,
    /// The writer may write symbols the reader lacks, and the reader's enum has no default.
    EnumSymbolsMissing {
        symbols: Vec<String>,
    },
    /// A union branch of the writer that no reader branch accepts.
    UnionBranchUnreadable {
        branch: String,
    },
    /// A named type renamed without a reader alias for the writer's full name.
    Renamed {
        writer: String,
        reader: String,
    },
    FixedSizeChanged {
        writer: usize,
        reader: usize,
    },
    /// Both sides carry a logical type, different ones, over compatible underlying types:
    /// the value decodes but means something else (days read as milliseconds).
    LogicalTypeChanged {
        writer: String,
        reader: String,
    },
    /// The reader field matches a writer field only through one of its aliases.
    FieldReadThroughAlias {
        alias: String,
    },
    /// apache-avro's checker rejects the pair although the Java rules accept it.
    RejectedByApacheAvro {
        message: String,
    },
}

impl Problem {
    /// What changed and what to do, from the point of view of the change: `reader_is_new`
    /// says whether the reader is the newer of the two versions (BACKWARD) or the older
    /// (FORWARD).
    pub fn describe(&self, reader_is_new: bool) -> String {
        match self {
            Self::TypeChanged { writer, reader } => {
                let (old, new) = if reader_is_new {
                    (writer, reader)
                } else {
                    (reader, writer)
                };
                format!("type changed from {old} to {new}")
            }
            Self::FieldWithoutDefault if reader_is_new => "field added without a default: data \
                written before has no value for it (give it a default, e.g. type \
                [\"null\", ...] with \"default\": null)"
                .into(),
            Self::FieldWithoutDefault => "field removed, but the older version declares it \
                without a default, so its readers require it (keep the field)"
                .into(),
            Self::EnumSymbolsMissing { symbols } if reader_is_new => format!(
                "enum symbols removed: {} (data written before may carry them; keep them or \
                 give the enum a \"default\")",
                symbols.join(", ")
            ),
            Self::EnumSymbolsMissing { symbols } => format!(
                "enum symbols added: {} (the older version's enum does not know them and \
                 has no \"default\")",
                symbols.join(", ")
            ),
            Self::UnionBranchUnreadable { branch } if reader_is_new => format!(
                "type narrowed: {branch} is no longer accepted, but data written before may \
                 carry it"
            ),
            Self::UnionBranchUnreadable { branch } => format!(
                "type widened: it now also allows {branch}, which the older version does not \
                 accept"
            ),
            Self::Renamed { writer, reader } => {
                let (old, new) = if reader_is_new {
                    (writer, reader)
                } else {
                    (reader, writer)
                };
                let hint = if reader_is_new {
                    format!(" (add \"aliases\": [\"{old}\"] to `{new}`)")
                } else {
                    " (readers of the older version match by name)".into()
                };
                format!("renamed from {old} to {new}{hint}")
            }
            Self::FixedSizeChanged { writer, reader } => {
                let (old, new) = if reader_is_new {
                    (writer, reader)
                } else {
                    (reader, writer)
                };
                format!("fixed size changed from {old} to {new} bytes")
            }
            Self::LogicalTypeChanged { writer, reader } => {
                let (old, new) = if reader_is_new {
                    (writer, reader)
                } else {
                    (reader, writer)
                };
                format!(
                    "logical type changed from {old} to {new}: the registry accepts this (it \
                     compares the underlying types only), but every value would be read as \
                     something else"
                )
            }
            Self::FieldReadThroughAlias { alias } => format!(
                "field renamed from `{alias}` (found only through its alias): the registry \
                 accepts this, but our consumers resolve with apache-avro, which matches \
                 fields by name only and would fail or silently take the default"
            ),
            Self::RejectedByApacheAvro { message } => format!(
                "apache-avro, which our Rust consumers decode with, cannot resolve it: {message}"
            ),
        }
    }
}

/// Everything that prevents `reader` from reading data written with `writer`; empty when it
/// can.
pub fn read_findings(writer: &Schema, reader: &Schema) -> Result<Vec<Finding>, CompatError> {
    let writer_names = names_of(writer)?;
    let reader_names = names_of(reader)?;
    let mut walk = Walk {
        writer_names: &writer_names,
        reader_names: &reader_names,
        in_progress: HashSet::new(),
        renames_through_alias: HashSet::new(),
    };
    let mut findings = Vec::new();
    walk.check(writer, reader, &root_path(reader), &mut findings);

    let library_verdict = SchemaCompatibility::can_read(writer, reader);
    if findings.is_empty() {
        let rejection = match library_verdict {
            Ok(Resolution::Full) => None,
            Ok(Resolution::Partial) => Some(
                "resolution fails for some values (\"partial\" compatibility: an enum symbol \
                 or union branch the reader lacks)"
                    .to_owned(),
            ),
            Err(error) => (!walk.explains_rejection(&error)).then(|| error_chain(&error)),
        };
        if let Some(message) = rejection {
            findings.push(Finding {
                path: root_path(reader),
                problem: Problem::RejectedByApacheAvro { message },
            });
        }
    }
    Ok(findings)
}

/// The direction of one pairwise check under a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The new schema reads data written with the old one (BACKWARD).
    NewReadsOld,
    /// The old schema reads data written with the new one (FORWARD).
    OldReadsNew,
}

impl Direction {
    /// The directions a level checks; empty for NONE.
    pub fn of(level: Level) -> &'static [Direction] {
        match level {
            Level::None => &[],
            Level::Backward | Level::BackwardTransitive => &[Self::NewReadsOld],
            Level::Forward | Level::ForwardTransitive => &[Self::OldReadsNew],
            Level::Full | Level::FullTransitive => &[Self::NewReadsOld, Self::OldReadsNew],
        }
    }
}

/// Whether a level compares with every previous version (transitive) or the latest only.
pub fn is_transitive(level: Level) -> bool {
    matches!(
        level,
        Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive
    )
}

/// A version of a subject's schema, with a label that says where it comes from
/// (`published v1`, `registry version 3 (id 12)`, `working tree`).
#[derive(Debug, Clone)]
pub struct SchemaVersion {
    pub label: String,
    pub schema: Schema,
}

impl SchemaVersion {
    pub fn parse(label: impl Into<String>, text: &str) -> Result<Self, CompatError> {
        let label = label.into();
        let schema = Schema::parse_str(text).map_err(|source| CompatError::AvroSchema {
            what: label.clone(),
            message: source.to_string(),
        })?;
        Ok(Self { label, schema })
    }
}

/// One reason a candidate schema breaks a subject's level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    pub subject: String,
    pub level: Level,
    /// Label of the candidate (new) version.
    pub new: String,
    /// Label of the previous (old) version it was compared with.
    pub old: String,
    pub direction: Direction,
    pub path: String,
    pub reason: String,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (reader, writer) = match self.direction {
            Direction::NewReadsOld => (&self.new, &self.old),
            Direction::OldReadsNew => (&self.old, &self.new),
        };
        write!(
            f,
            "{subject} ({level}): {new} vs {old}: `{path}`: {reason}; consumers on {reader} \
             cannot read data written with {writer}",
            subject = self.subject,
            level = self.level,
            new = self.new,
            old = self.old,
            path = self.path,
            reason = self.reason,
        )
    }
}

/// Checks `candidate` against the `previous` versions of `subject` (oldest first) under
/// `level`, with Confluent's semantics: a non-transitive level compares with the latest
/// previous version only, a transitive one with all of them.
pub fn check_subject(
    subject: &str,
    level: Level,
    previous: &[SchemaVersion],
    candidate: &SchemaVersion,
) -> Result<Vec<Incompatibility>, CompatError> {
    let compared: &[SchemaVersion] = if is_transitive(level) {
        previous
    } else {
        previous
            .last()
            .map(std::slice::from_ref)
            .unwrap_or_default()
    };
    let mut incompatibilities = Vec::new();
    for old in compared {
        for &direction in Direction::of(level) {
            let (writer, reader) = match direction {
                Direction::NewReadsOld => (&old.schema, &candidate.schema),
                Direction::OldReadsNew => (&candidate.schema, &old.schema),
            };
            let reader_is_new = direction == Direction::NewReadsOld;
            for finding in read_findings(writer, reader)? {
                incompatibilities.push(Incompatibility {
                    subject: subject.to_owned(),
                    level,
                    new: candidate.label.clone(),
                    old: old.label.clone(),
                    direction,
                    path: finding.path,
                    reason: finding.problem.describe(reader_is_new),
                });
            }
        }
    }
    Ok(incompatibilities)
}

type NameTable<'s> = HashMap<Name, &'s Schema>;

fn names_of(schema: &Schema) -> Result<NameTable<'_>, CompatError> {
    let resolved = ResolvedSchema::new(schema).map_err(|source| CompatError::AvroSchema {
        what: "a schema with named types".into(),
        message: source.to_string(),
    })?;
    Ok(resolved
        .get_names()
        .iter()
        .map(|(name, schema)| (name.clone(), *schema))
        .collect())
}

fn root_path(schema: &Schema) -> String {
    schema
        .name()
        .map(|name| name.name().to_owned())
        .unwrap_or_else(|| "(root)".into())
}

/// "A: B: C" from an error and its sources.
fn error_chain(error: &CompatibilityError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The shape of a schema for compatibility: logical types reduced to the type they annotate
/// (the Java checker ignores logical types), references resolved.
#[derive(Clone, Copy)]
enum Shape<'s> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(&'s Schema),
    Map(&'s Schema),
    Union(&'s [Schema]),
    Record(&'s RecordSchema),
    Enum(&'s EnumSchema),
    Fixed(&'s FixedSchema),
    /// A reference the schema does not define (cannot happen for a parsed schema).
    Unknown,
}

impl<'s> Shape<'s> {
    /// Same kind of type (and for named types, the same name or an alias of it), so that a
    /// failure between the two is best explained field by field.
    fn matches_kind(&self, other: &Shape<'s>) -> bool {
        match (self, other) {
            (Self::Record(a), Self::Record(b)) => a.name.name() == b.name.name(),
            (Self::Enum(a), Self::Enum(b)) => a.name.name() == b.name.name(),
            (Self::Fixed(a), Self::Fixed(b)) => a.name.name() == b.name.name(),
            (Self::Array(_), Self::Array(_)) | (Self::Map(_), Self::Map(_)) => true,
            _ => false,
        }
    }
}

fn shape<'s>(schema: &'s Schema, names: &NameTable<'s>) -> Shape<'s> {
    match schema {
        Schema::Null => Shape::Null,
        Schema::Boolean => Shape::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Shape::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Shape::Long,
        Schema::Float => Shape::Float,
        Schema::Double => Shape::Double,
        Schema::Bytes
        | Schema::BigDecimal
        | Schema::Uuid(UuidSchema::Bytes)
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Bytes,
            ..
        }) => Shape::Bytes,
        Schema::String | Schema::Uuid(UuidSchema::String) => Shape::String,
        Schema::Uuid(UuidSchema::Fixed(fixed))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(fixed),
            ..
        })
        | Schema::Duration(fixed)
        | Schema::Fixed(fixed) => Shape::Fixed(fixed),
        Schema::Array(array) => Shape::Array(&array.items),
        Schema::Map(map) => Shape::Map(&map.types),
        Schema::Union(union) => Shape::Union(union.variants()),
        Schema::Record(record) => Shape::Record(record),
        Schema::Enum(enumeration) => Shape::Enum(enumeration),
        Schema::Ref { name } => match names.get(name) {
            Some(defined) => shape(defined, names),
            None => Shape::Unknown,
        },
    }
}

/// A type as a developer reads it: `int (date)`, `record Address`, `union [null, string]`.
pub(crate) fn describe(schema: &Schema) -> String {
    match schema {
        Schema::Null => "null".into(),
        Schema::Boolean => "boolean".into(),
        Schema::Int => "int".into(),
        Schema::Long => "long".into(),
        Schema::Float => "float".into(),
        Schema::Double => "double".into(),
        Schema::Bytes => "bytes".into(),
        Schema::String => "string".into(),
        Schema::Array(array) => format!("array of {}", describe(&array.items)),
        Schema::Map(map) => format!("map of {}", describe(&map.types)),
        Schema::Union(union) => format!(
            "union [{}]",
            union
                .variants()
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Schema::Record(record) => format!("record {}", record.name.name()),
        Schema::Enum(enumeration) => format!("enum {}", enumeration.name.name()),
        Schema::Fixed(fixed) => format!("fixed {} ({} bytes)", fixed.name.name(), fixed.size),
        Schema::Decimal(decimal) => {
            let inner = match &decimal.inner {
                InnerDecimalSchema::Bytes => "bytes".to_owned(),
                InnerDecimalSchema::Fixed(fixed) => format!("fixed {}", fixed.name.name()),
            };
            format!(
                "{inner} (decimal({}, {}))",
                decimal.precision, decimal.scale
            )
        }
        Schema::BigDecimal => "bytes (big-decimal)".into(),
        Schema::Uuid(UuidSchema::String) => "string (uuid)".into(),
        Schema::Uuid(UuidSchema::Bytes) => "bytes (uuid)".into(),
        Schema::Uuid(UuidSchema::Fixed(fixed)) => format!("fixed {} (uuid)", fixed.name.name()),
        Schema::Date => "int (date)".into(),
        Schema::TimeMillis => "int (time-millis)".into(),
        Schema::TimeMicros => "long (time-micros)".into(),
        Schema::TimestampMillis => "long (timestamp-millis)".into(),
        Schema::TimestampMicros => "long (timestamp-micros)".into(),
        Schema::TimestampNanos => "long (timestamp-nanos)".into(),
        Schema::LocalTimestampMillis => "long (local-timestamp-millis)".into(),
        Schema::LocalTimestampMicros => "long (local-timestamp-micros)".into(),
        Schema::LocalTimestampNanos => "long (local-timestamp-nanos)".into(),
        Schema::Duration(fixed) => format!("fixed {} (duration)", fixed.name.name()),
        Schema::Ref { name } => name.name().to_owned(),
    }
}

/// The logical type of a schema, with its parameters (`decimal(10, 2)`), if it has one.
pub(crate) fn logical_type(schema: &Schema) -> Option<String> {
    Some(match schema {
        Schema::Decimal(decimal) => format!("decimal({}, {})", decimal.precision, decimal.scale),
        Schema::BigDecimal => "big-decimal".into(),
        Schema::Uuid(_) => "uuid".into(),
        Schema::Date => "date".into(),
        Schema::TimeMillis => "time-millis".into(),
        Schema::TimeMicros => "time-micros".into(),
        Schema::TimestampMillis => "timestamp-millis".into(),
        Schema::TimestampMicros => "timestamp-micros".into(),
        Schema::TimestampNanos => "timestamp-nanos".into(),
        Schema::LocalTimestampMillis => "local-timestamp-millis".into(),
        Schema::LocalTimestampMicros => "local-timestamp-micros".into(),
        Schema::LocalTimestampNanos => "local-timestamp-nanos".into(),
        Schema::Duration(_) => "duration".into(),
        _ => return None,
    })
}

/// The Java rules (`org.apache.avro.SchemaCompatibility`), walked so that each failure keeps
/// its path.
struct Walk<'a, 's> {
    writer_names: &'a NameTable<'s>,
    reader_names: &'a NameTable<'s>,
    /// Pairs of record full names being compared, so recursive types terminate.
    in_progress: HashSet<(String, String)>,
    /// (writer name, reader name) of named types matched through a reader alias.
    renames_through_alias: HashSet<(String, String)>,
}

impl<'s> Walk<'_, 's> {
    fn check(
        &mut self,
        writer: &'s Schema,
        reader: &'s Schema,
        path: &str,
        out: &mut Vec<Finding>,
    ) {
        let found_before = out.len();
        self.check_shapes(writer, reader, path, out);
        if out.len() == found_before
            && let (Some(w), Some(r)) = (logical_type(writer), logical_type(reader))
            && w != r
            && w != "uuid"
            && r != "uuid"
        {
            // A uuid is the same text or bytes with or without the annotation; every other
            // logical type gives the number (or bytes) a unit or a scale.
            out.push(Finding {
                path: path.to_owned(),
                problem: Problem::LogicalTypeChanged {
                    writer: describe(writer),
                    reader: describe(reader),
                },
            });
        }
    }

    /// The Java rules proper, on the types with logical annotations reduced.
    fn check_shapes(
        &mut self,
        writer: &'s Schema,
        reader: &'s Schema,
        path: &str,
        out: &mut Vec<Finding>,
    ) {
        let writer_shape = shape(writer, self.writer_names);
        let reader_shape = shape(reader, self.reader_names);
        let mut push = |problem| {
            out.push(Finding {
                path: path.to_owned(),
                problem,
            })
        };
        match (writer_shape, reader_shape) {
            (Shape::Union(branches), _) => {
                // Every branch the writer may choose must be readable.
                for branch in branches {
                    self.check_member(branch, reader, path, true, out);
                }
            }
            (_, Shape::Union(_)) => self.check_member(writer, reader, path, false, out),
            (Shape::Null, Shape::Null)
            | (Shape::Boolean, Shape::Boolean)
            | (Shape::Int, Shape::Int | Shape::Long | Shape::Float | Shape::Double)
            | (Shape::Long, Shape::Long | Shape::Float | Shape::Double)
            | (Shape::Float, Shape::Float | Shape::Double)
            | (Shape::Double, Shape::Double)
            | (Shape::Bytes | Shape::String, Shape::Bytes | Shape::String) => {}
            (Shape::Array(writer_items), Shape::Array(reader_items)) => {
                self.check(writer_items, reader_items, &format!("{path}[]"), out);
            }
            (Shape::Map(writer_values), Shape::Map(reader_values)) => {
                self.check(writer_values, reader_values, &format!("{path}{{}}"), out);
            }
            (Shape::Fixed(w), Shape::Fixed(r)) => {
                if let Some(problem) = self.name_problem(&w.name, &r.name, r.aliases.as_deref()) {
                    push(problem);
                } else if w.size != r.size {
                    push(Problem::FixedSizeChanged {
                        writer: w.size,
                        reader: r.size,
                    });
                }
            }
            (Shape::Enum(w), Shape::Enum(r)) => {
                if let Some(problem) = self.name_problem(&w.name, &r.name, r.aliases.as_deref()) {
                    push(problem);
                } else if r.default.is_none() {
                    let missing: Vec<String> = w
                        .symbols
                        .iter()
                        .filter(|symbol| !r.symbols.contains(symbol))
                        .cloned()
                        .collect();
                    if !missing.is_empty() {
                        push(Problem::EnumSymbolsMissing { symbols: missing });
                    }
                }
            }
            (Shape::Record(w), Shape::Record(r)) => {
                if let Some(problem) = self.name_problem(&w.name, &r.name, r.aliases.as_deref()) {
                    push(problem);
                } else {
                    self.check_fields(w, r, path, out);
                }
            }
            _ => push(Problem::TypeChanged {
                writer: describe(writer),
                reader: describe(reader),
            }),
        }
    }

    /// One writer type that is not a union against a reader that may be one: some reader
    /// branch must read it. `in_writer_union` says whether it is one branch of a writer
    /// union (then a failure is that branch being unreadable, else a type change).
    fn check_member(
        &mut self,
        writer: &'s Schema,
        reader: &'s Schema,
        path: &str,
        in_writer_union: bool,
        out: &mut Vec<Finding>,
    ) {
        let candidates = match shape(reader, self.reader_names) {
            Shape::Union(branches) => branches,
            _ => std::slice::from_ref(reader),
        };
        let writer_shape = shape(writer, self.writer_names);
        let mut closest = None;
        for candidate in candidates {
            let mut findings = Vec::new();
            self.check(writer, candidate, path, &mut findings);
            if findings.is_empty() {
                return;
            }
            if writer_shape.matches_kind(&shape(candidate, self.reader_names)) {
                closest = Some(findings);
            }
        }
        match closest {
            // The reader still has "the same" record, enum, array...: what differs inside it
            // is the actionable explanation.
            Some(findings) => out.extend(findings),
            None => out.push(Finding {
                path: path.to_owned(),
                problem: if in_writer_union {
                    Problem::UnionBranchUnreadable {
                        branch: describe(writer),
                    }
                } else {
                    Problem::TypeChanged {
                        writer: describe(writer),
                        reader: describe(reader),
                    }
                },
            }),
        }
    }

    fn check_fields(
        &mut self,
        writer: &'s RecordSchema,
        reader: &'s RecordSchema,
        path: &str,
        out: &mut Vec<Finding>,
    ) {
        let pair = (writer.name.fullname(None), reader.name.fullname(None));
        if !self.in_progress.insert(pair.clone()) {
            // A recursive type already being compared further up: its fields are checked
            // there.
            return;
        }
        for reader_field in &reader.fields {
            let field_path = format!("{path}.{}", reader_field.name);
            let by_name = writer.fields.iter().find(|w| w.name == reader_field.name);
            let by_alias = || {
                reader_field.aliases.iter().find_map(|alias| {
                    writer
                        .fields
                        .iter()
                        .find(|w| &w.name == alias)
                        .map(|w| (alias, w))
                })
            };
            if let Some(writer_field) = by_name {
                self.check(&writer_field.schema, &reader_field.schema, &field_path, out);
            } else if let Some((alias, writer_field)) = by_alias() {
                out.push(Finding {
                    path: field_path.clone(),
                    problem: Problem::FieldReadThroughAlias {
                        alias: alias.clone(),
                    },
                });
                self.check(&writer_field.schema, &reader_field.schema, &field_path, out);
            } else if reader_field.default.is_none() {
                out.push(Finding {
                    path: field_path,
                    problem: Problem::FieldWithoutDefault,
                });
            }
        }
        self.in_progress.remove(&pair);
    }

    /// Java's `schemaNameEquals`: same unqualified name, or a reader alias naming the
    /// writer's full name.
    fn name_problem(
        &mut self,
        writer: &Name,
        reader: &Name,
        reader_aliases: Option<&[apache_avro::schema::Alias]>,
    ) -> Option<Problem> {
        if writer.name() == reader.name() {
            return None;
        }
        let writer_full = writer.fullname(None);
        let aliased = reader_aliases
            .unwrap_or_default()
            .iter()
            .any(|alias| alias.fullname(reader.namespace()) == writer_full);
        if aliased {
            self.renames_through_alias
                .insert((writer.name().to_owned(), reader.name().to_owned()));
            return None;
        }
        Some(Problem::Renamed {
            writer: writer_full,
            reader: reader.fullname(None),
        })
    }

    /// Whether apache-avro's rejection is the one known false rejection: a named type renamed
    /// with a reader alias (the Java rules accept it, and `Value::resolve` does not compare
    /// record names at all).
    fn explains_rejection(&self, error: &CompatibilityError) -> bool {
        let mut innermost = error;
        while let CompatibilityError::FieldTypeMismatch(_, inner) = innermost {
            innermost = inner;
        }
        match innermost {
            CompatibilityError::NameMismatch {
                writer_name,
                reader_name,
            } => self
                .renames_through_alias
                .contains(&(writer_name.clone(), reader_name.clone())),
            _ => false,
        }
    }
}
