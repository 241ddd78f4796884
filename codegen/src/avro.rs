//! Avro schemas + event manifest → `src/events.rs`.
//!
//! The schema files are read as JSON and walked here, so that every problem is reported with
//! its file and JSON pointer, and the Rust types are written here too (rsgen-avro, used
//! before, ignored namespaces, required `null` first in unions, had no exact decimals and read
//! an Avro `date` as seconds; `codegen/README.md` lists what that changed). apache-avro then
//! parses every file together and every event's self-contained schema, so that what
//! generates also parses at run time.
//!
//! Files: every `.avsc` file in the directories of the manifest's schemas, so that a schema
//! may refer to a record defined in another file; a file holds one schema or a JSON array of
//! them. Names follow Avro's rules (namespaces inherited, full names unique).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::manifest::Key;
use crate::{CodegenError, EventSpec, Manifest, Warning};

/// The generated module and what was accepted with a caveat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedEvents {
    /// The body of `src/events.rs` (without the `@generated` header).
    pub source: String,
    /// Constructs generated as their underlying type (unknown logical types).
    pub warnings: Vec<Warning>,
    /// Per manifest event, the Rust type of its record.
    pub event_types: Vec<String>,
}

/// One event's registry facts, for tools such as the compatibility gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSchema {
    /// The manifest entry's index.
    pub index: usize,
    /// The registry subject.
    pub subject: String,
    /// The record's full name.
    pub record: String,
    /// The schema as registered: the record with every type it refers to inlined.
    pub schema: String,
}

/// The body of `src/events.rs`, or every problem found in the schemas and the manifest.
pub fn generate_events(
    contracts: &Path,
    manifest: &Manifest,
) -> Result<GeneratedEvents, Vec<CodegenError>> {
    let (model, mut errors) = Model::load(contracts, manifest)?;
    match model.render(contracts, manifest) {
        Ok(events) if errors.is_empty() => {
            errors = model.parse_check();
            if errors.is_empty() {
                Ok(events)
            } else {
                Err(errors)
            }
        }
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// Every event's subject and self-contained schema text.
pub fn event_schemas(
    contracts: &Path,
    manifest: &Manifest,
) -> Result<Vec<EventSchema>, Vec<CodegenError>> {
    generate_events(contracts, manifest)?;
    let (model, _) = Model::load(contracts, manifest)?;
    Ok(model.events)
}

/// A parsed schema file.
struct SchemaFile {
    path: PathBuf,
    text: String,
    json: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefKind {
    Record,
    Enum,
    Fixed,
}

/// A named type defined somewhere in the schema files.
struct Def {
    full: String,
    namespace: Option<String>,
    kind: DefKind,
    file: usize,
    pointer: String,
    /// Defined at the top of its file (a file's schema, or an element of its array).
    top_level: bool,
    rust: String,
}

struct Model {
    files: Vec<SchemaFile>,
    defs: Vec<Def>,
    by_name: BTreeMap<String, usize>,
    events: Vec<EventSchema>,
    /// Per entry of `events`, the index of its record's definition.
    event_records: Vec<usize>,
}

/// The Avro primitive type names.
const PRIMITIVES: &[&str] = &[
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

fn at(pointer: &str, token: impl std::fmt::Display) -> String {
    let token = token.to_string().replace('~', "~0").replace('/', "~1");
    format!("{pointer}/{token}")
}

fn value_at<'v>(json: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        Some(json)
    } else {
        json.pointer(pointer)
    }
}

/// The schema files of the manifest's directories, sorted.
fn schema_paths(contracts: &Path, manifest: &Manifest) -> Result<Vec<PathBuf>, Vec<CodegenError>> {
    let dirs: BTreeSet<PathBuf> = manifest
        .events
        .iter()
        .map(|e| {
            contracts
                .join(&e.schema)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| contracts.to_path_buf())
        })
        .collect();
    let mut paths = BTreeSet::new();
    let mut errors = Vec::new();
    for dir in dirs {
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "avsc") && path.is_file() {
                        paths.insert(path);
                    }
                }
            }
            Err(e) => errors.push(CodegenError::io(&dir, e)),
        }
    }
    for event in &manifest.events {
        paths.insert(contracts.join(&event.schema));
    }
    if errors.is_empty() {
        Ok(paths.into_iter().collect())
    } else {
        Err(errors)
    }
}

/// Collects the named definitions of one file.
struct Collector<'a> {
    file: usize,
    path: &'a Path,
    defs: Vec<Def>,
    errors: Vec<CodegenError>,
}

fn namespace_of(
    name: &str,
    object: &Map<String, Value>,
    enclosing: Option<&str>,
) -> Option<String> {
    match name.rsplit_once('.') {
        Some((ns, _)) => Some(ns.to_string()),
        None => match object.get("namespace").and_then(Value::as_str) {
            Some("") => None,
            Some(ns) => Some(ns.to_string()),
            None => enclosing.map(str::to_string),
        },
    }
}

fn full_name(name: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if !name.contains('.') => format!("{ns}.{name}"),
        _ => name.to_string(),
    }
}

fn is_avro_name(name: &str) -> bool {
    name.split('.').all(|part| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

impl Collector<'_> {
    fn invalid(&mut self, pointer: &str, what: impl Into<String>) {
        self.errors
            .push(CodegenError::invalid(self.path, pointer, what));
    }

    fn walk(&mut self, schema: &Value, pointer: &str, namespace: Option<&str>, top: bool) {
        match schema {
            Value::String(_) => {}
            Value::Array(branches) => {
                for (i, branch) in branches.iter().enumerate() {
                    self.walk(branch, &at(pointer, i), namespace, false);
                }
            }
            Value::Object(object) => match object.get("type") {
                Some(Value::String(kind)) => match kind.as_str() {
                    "record" | "error" | "enum" | "fixed" => {
                        self.named(object, kind, pointer, namespace, top)
                    }
                    "array" => match object.get("items") {
                        Some(items) => self.walk(items, &at(pointer, "items"), namespace, false),
                        None => self.invalid(pointer, "array without `items`"),
                    },
                    "map" => match object.get("values") {
                        Some(values) => self.walk(values, &at(pointer, "values"), namespace, false),
                        None => self.invalid(pointer, "map without `values`"),
                    },
                    _ => {}
                },
                Some(inner @ (Value::Object(_) | Value::Array(_))) => {
                    self.walk(inner, &at(pointer, "type"), namespace, false)
                }
                _ => self.invalid(pointer, "schema object without a `type` name"),
            },
            _ => self.invalid(pointer, "a schema must be a string, an array or an object"),
        }
    }

    fn named(
        &mut self,
        object: &Map<String, Value>,
        kind: &str,
        pointer: &str,
        enclosing: Option<&str>,
        top: bool,
    ) {
        let Some(name) = object.get("name").and_then(Value::as_str) else {
            self.invalid(pointer, format!("{kind} without a `name`"));
            return;
        };
        if !is_avro_name(name) {
            self.invalid(
                &at(pointer, "name"),
                format!("`{name}` is not an Avro name ([A-Za-z_][A-Za-z0-9_]*, dot-separated)"),
            );
            return;
        }
        let namespace = namespace_of(name, object, enclosing);
        let full = full_name(name, namespace.as_deref());
        let def_kind = match kind {
            "enum" => DefKind::Enum,
            "fixed" => DefKind::Fixed,
            _ => DefKind::Record,
        };
        self.defs.push(Def {
            full,
            namespace: namespace.clone(),
            kind: def_kind,
            file: self.file,
            pointer: pointer.to_string(),
            top_level: top,
            rust: String::new(),
        });
        match def_kind {
            DefKind::Record => {
                let Some(fields) = object.get("fields").and_then(Value::as_array) else {
                    self.invalid(pointer, format!("record `{name}` without `fields`"));
                    return;
                };
                for (i, field) in fields.iter().enumerate() {
                    let field_pointer = at(&at(pointer, "fields"), i);
                    match (field.get("name").and_then(Value::as_str), field.get("type")) {
                        (Some(_), Some(ty)) => {
                            self.walk(ty, &at(&field_pointer, "type"), namespace.as_deref(), false)
                        }
                        (None, _) => self.invalid(&field_pointer, "field without a `name`"),
                        (Some(field_name), None) => self.invalid(
                            &field_pointer,
                            format!("field `{field_name}` without a `type`"),
                        ),
                    }
                }
            }
            DefKind::Enum => {
                let symbols = object.get("symbols").and_then(Value::as_array);
                if symbols.is_none_or(|s| s.iter().any(|v| !v.is_string())) {
                    self.invalid(
                        pointer,
                        format!("enum `{name}` without a list of `symbols`"),
                    );
                }
            }
            DefKind::Fixed => {
                if object.get("size").and_then(Value::as_u64).is_none() {
                    self.invalid(pointer, format!("fixed `{name}` without a `size`"));
                }
            }
        }
    }
}

/// A field's Rust type and how it is (de)serialized.
#[derive(Debug, Clone)]
struct Ty {
    rust: String,
    /// The `contract_runtime::avro` adapter type, when serde's own mapping is not Avro's.
    adapter: Option<String>,
    /// The `contract_runtime::avro` module for `#[serde(with)]`, for the plain logical types.
    module: Option<String>,
    /// Contains a float (no `Eq`).
    float: bool,
    /// What the serialized value looks like to a union's resolution.
    kind: String,
    /// The Avro type, for key and constraint checks: `string`, `uuid`, `int`, `long`,
    /// `float`, `double`, `optional string`, ... or `other`.
    avro: String,
}

impl Ty {
    fn plain(rust: &str, kind: &str) -> Self {
        Self {
            rust: rust.into(),
            adapter: None,
            module: None,
            float: matches!(kind, "float" | "double"),
            kind: kind.into(),
            avro: kind.into(),
        }
    }

    fn adapted(rust: &str, adapter: String, module: Option<&str>, kind: &str, avro: &str) -> Self {
        Self {
            rust: rust.into(),
            adapter: Some(adapter),
            module: module.map(str::to_string),
            float: false,
            kind: kind.into(),
            avro: avro.into(),
        }
    }
}

/// A union other than `["null", T]`, generated as an enum.
struct UnionEnum {
    name: String,
    doc: String,
    variants: Vec<(String, Ty)>,
}

/// Writes the Rust code, collecting problems.
struct Writer<'m> {
    model: &'m Model,
    errors: Vec<CodegenError>,
    warnings: Vec<Warning>,
    unions: Vec<UnionEnum>,
    used_names: BTreeSet<String>,
}

fn upper_camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    let all_caps = name.chars().all(|c| !c.is_ascii_lowercase());
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' || c == ' ' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else if all_caps {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let previous = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (previous.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase()));
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// The Rust identifier of an Avro field name.
fn field_ident(name: &str) -> String {
    let snake = snake_case(name);
    if matches!(snake.as_str(), "self" | "super" | "crate" | "_") {
        format!("{snake}_")
    } else if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

fn doc_comment(doc: Option<&str>, indent: &str) -> String {
    let Some(doc) = doc.map(str::trim).filter(|d| !d.is_empty()) else {
        return String::new();
    };
    doc.lines()
        .map(|line| format!("{indent}/// {}\n", line.trim_end()))
        .collect()
}

impl Model {
    /// The model and the problems found so far (rendering finds more); `Err` when nothing
    /// could be read at all.
    fn load(
        contracts: &Path,
        manifest: &Manifest,
    ) -> Result<(Self, Vec<CodegenError>), Vec<CodegenError>> {
        let mut errors = Vec::new();
        let mut files = Vec::new();
        for path in schema_paths(contracts, manifest)? {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(CodegenError::io(&path, e));
                    continue;
                }
            };
            match serde_json::from_str::<Value>(&text) {
                Ok(json) => files.push(SchemaFile {
                    path,
                    text: text.trim_end().to_string(),
                    json,
                }),
                Err(e) => errors.push(CodegenError::parse(&path, e.to_string())),
            }
        }

        let mut defs = Vec::new();
        for (index, file) in files.iter().enumerate() {
            let mut collector = Collector {
                file: index,
                path: &file.path,
                defs: Vec::new(),
                errors: Vec::new(),
            };
            match &file.json {
                Value::Array(schemas) => {
                    for (i, schema) in schemas.iter().enumerate() {
                        collector.walk(schema, &format!("/{i}"), None, true);
                    }
                }
                schema => collector.walk(schema, "", None, true),
            }
            defs.extend(collector.defs);
            errors.extend(collector.errors);
        }

        let mut by_name = BTreeMap::new();
        for (index, def) in defs.iter().enumerate() {
            if let Some(&first) = by_name.get(&def.full) {
                let first: &Def = &defs[first];
                errors.push(
                    CodegenError::invalid(
                        &files[def.file].path,
                        &def.pointer,
                        format!(
                            "`{}` is defined twice (first at {}#{}); Avro full names are unique",
                            def.full,
                            files[first.file].path.display(),
                            first.pointer
                        ),
                    )
                    .with_fix(
                        "give one of them another name or namespace, or define it once and refer to it by name",
                    ),
                );
            } else {
                by_name.insert(def.full.clone(), index);
            }
        }
        assign_rust_names(&mut defs);

        let mut model = Self {
            files,
            defs,
            by_name,
            events: Vec::new(),
            event_records: Vec::new(),
        };
        for (index, event) in manifest.events.iter().enumerate() {
            match model.event_record(contracts, event, index) {
                Ok(record) => {
                    let schema = model.self_contained(record);
                    model.events.push(EventSchema {
                        index,
                        subject: event.subject(),
                        record: model.defs[record].full.clone(),
                        schema,
                    });
                    model.event_records.push(record);
                }
                Err(e) => errors.push(e),
            }
        }
        Ok((model, errors))
    }

    /// apache-avro's own verdict on every event's schema, after ours: what we accept must
    /// parse at run time.
    fn parse_check(&self) -> Vec<CodegenError> {
        let mut errors = Vec::new();
        for (event, &record) in self.events.iter().zip(&self.event_records) {
            if let Err(e) = apache_avro::Schema::parse_str(&event.schema) {
                let def = &self.defs[record];
                errors.push(CodegenError::invalid(
                    &self.files[def.file].path,
                    &def.pointer,
                    format!("not a valid Avro schema: {e}"),
                ));
            }
        }
        errors
    }

    fn file_index(&self, contracts: &Path, schema: &Path) -> Option<usize> {
        let path = contracts.join(schema);
        self.files.iter().position(|f| f.path == path)
    }

    /// The definition of the event's record.
    fn event_record(
        &self,
        contracts: &Path,
        event: &EventSpec,
        index: usize,
    ) -> Result<usize, CodegenError> {
        let manifest_file = contracts.join(crate::MANIFEST_FILE);
        let Some(file) = self.file_index(contracts, &event.schema) else {
            return Err(CodegenError::invalid(
                &manifest_file,
                format!("/event/{index}/schema"),
                format!("no schema file {}", event.schema.display()),
            ));
        };
        let path = &self.files[file].path;
        let tops: Vec<usize> = (0..self.defs.len())
            .filter(|&d| self.defs[d].file == file && self.defs[d].top_level)
            .collect();
        let record = match &event.record {
            Some(name) => self.by_name.get(name).copied().ok_or_else(|| {
                CodegenError::invalid(
                    &manifest_file,
                    format!("/event/{index}/record"),
                    format!("no record `{name}` is defined in the schema files"),
                )
            })?,
            None => match tops.as_slice() {
                [one] => *one,
                _ => {
                    return Err(CodegenError::invalid(
                        path,
                        "",
                        format!(
                            "the file holds {} top-level schemas; which one is event `{}`?",
                            tops.len(),
                            event.event_type
                        ),
                    )
                    .with_fix(
                        "name the record in events.toml: `record = \"<namespace>.<Name>\"`",
                    ));
                }
            },
        };
        if self.defs[record].kind != DefKind::Record {
            return Err(CodegenError::unsupported(
                &self.files[self.defs[record].file].path,
                &self.defs[record].pointer,
                "an event schema must be a record",
            ));
        }
        Ok(record)
    }

    fn json(&self, def: usize) -> &Value {
        let def = &self.defs[def];
        value_at(&self.files[def.file].json, &def.pointer).unwrap_or(&Value::Null)
    }

    /// Resolves a type name used where `namespace` is the enclosing namespace.
    fn resolve(&self, name: &str, namespace: Option<&str>) -> Option<usize> {
        if name.contains('.') {
            return self.by_name.get(name).copied();
        }
        namespace
            .and_then(|ns| self.by_name.get(&format!("{ns}.{name}")).copied())
            .or_else(|| self.by_name.get(name).copied())
    }

    /// The record's schema with every named type it uses defined inline (once, where first
    /// used), so that it parses on its own. The contract file's own text when nothing had to
    /// be inlined and the file holds only this record.
    fn self_contained(&self, record: usize) -> String {
        let mut defined = BTreeSet::new();
        let mut inlined = false;
        let json = self.inline(record, None, &mut defined, &mut inlined);
        let def = &self.defs[record];
        if !inlined && def.pointer.is_empty() {
            return self.files[def.file].text.clone();
        }
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    fn inline(
        &self,
        def: usize,
        enclosing: Option<&str>,
        defined: &mut BTreeSet<usize>,
        inlined: &mut bool,
    ) -> Value {
        defined.insert(def);
        let mut json = self.json(def).clone();
        let namespace = self.defs[def].namespace.clone();
        if let Value::Object(object) = &mut json
            && namespace.as_deref() != enclosing
            && !object.contains_key("namespace")
            && !object
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.contains('.'))
        {
            object.insert(
                "namespace".into(),
                Value::String(namespace.clone().unwrap_or_default()),
            );
        }
        self.inline_types(&mut json, namespace.as_deref(), defined, inlined, true);
        json
    }

    /// Replaces references to types not yet defined by their definitions.
    fn inline_types(
        &self,
        json: &mut Value,
        namespace: Option<&str>,
        defined: &mut BTreeSet<usize>,
        inlined: &mut bool,
        is_definition: bool,
    ) {
        match json {
            Value::String(name) if !PRIMITIVES.contains(&name.as_str()) => {
                if let Some(def) = self.resolve(name, namespace)
                    && !defined.contains(&def)
                {
                    *inlined = true;
                    *json = self.inline(def, namespace, defined, inlined);
                }
            }
            Value::Array(branches) => {
                for branch in branches {
                    self.inline_types(branch, namespace, defined, inlined, false);
                }
            }
            Value::Object(object) => {
                let kind = object
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match kind {
                    "record" | "error" | "enum" | "fixed" if !is_definition => {
                        // A nested definition: it is defined here, by its own name.
                        let name = object
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let ns = namespace_of(name, object, namespace);
                        if let Some(def) = self.by_name.get(&full_name(name, ns.as_deref())) {
                            defined.insert(*def);
                        }
                        if let Some(fields) = object.get_mut("fields").and_then(Value::as_array_mut)
                        {
                            for field in fields {
                                if let Some(ty) = field.get_mut("type") {
                                    self.inline_types(ty, ns.as_deref(), defined, inlined, false);
                                }
                            }
                        }
                    }
                    "record" | "error" => {
                        if let Some(fields) = object.get_mut("fields").and_then(Value::as_array_mut)
                        {
                            for field in fields {
                                if let Some(ty) = field.get_mut("type") {
                                    self.inline_types(ty, namespace, defined, inlined, false);
                                }
                            }
                        }
                    }
                    "array" => {
                        if let Some(items) = object.get_mut("items") {
                            self.inline_types(items, namespace, defined, inlined, false);
                        }
                    }
                    "map" => {
                        if let Some(values) = object.get_mut("values") {
                            self.inline_types(values, namespace, defined, inlined, false);
                        }
                    }
                    _ => {
                        if let Some(inner @ (Value::Object(_) | Value::Array(_))) =
                            object.get_mut("type")
                        {
                            self.inline_types(inner, namespace, defined, inlined, false);
                        } else if let Some(Value::String(name)) = object.get("type").cloned()
                            && !PRIMITIVES.contains(&name.as_str())
                            && let Some(def) = self.resolve(&name, namespace)
                            && !defined.contains(&def)
                        {
                            *inlined = true;
                            let definition = self.inline(def, namespace, defined, inlined);
                            object.insert("type".into(), definition);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Named types directly used by the record's fields (for recursion).
    fn references(&self, def: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let namespace = self.defs[def].namespace.clone();
        if let Some(fields) = self.json(def).get("fields").and_then(Value::as_array) {
            for field in fields {
                if let Some(ty) = field.get("type") {
                    self.collect_refs(ty, namespace.as_deref(), &mut out);
                }
            }
        }
        out
    }

    fn collect_refs(&self, json: &Value, namespace: Option<&str>, out: &mut BTreeSet<usize>) {
        match json {
            Value::String(name) => {
                if let Some(def) = self.resolve(name, namespace) {
                    out.insert(def);
                }
            }
            Value::Array(branches) => {
                for branch in branches {
                    self.collect_refs(branch, namespace, out);
                }
            }
            Value::Object(object) => {
                if let Some(name) = object.get("name").and_then(Value::as_str)
                    && matches!(
                        object.get("type").and_then(Value::as_str),
                        Some("record" | "error" | "enum" | "fixed")
                    )
                {
                    let ns = namespace_of(name, object, namespace);
                    if let Some(def) = self.by_name.get(&full_name(name, ns.as_deref())) {
                        out.insert(*def);
                    }
                    return;
                }
                for key in ["type", "items", "values"] {
                    if let Some(inner) = object.get(key) {
                        self.collect_refs(inner, namespace, out);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the record `from` leads back to `to` through its fields.
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(def) = stack.pop() {
            if def == to {
                return true;
            }
            if seen.insert(def) && self.defs[def].kind == DefKind::Record {
                stack.extend(self.references(def));
            }
        }
        false
    }

    fn render(
        &self,
        contracts: &Path,
        manifest: &Manifest,
    ) -> Result<GeneratedEvents, Vec<CodegenError>> {
        let mut writer = Writer {
            model: self,
            errors: Vec::new(),
            warnings: Vec::new(),
            unions: Vec::new(),
            used_names: self.defs.iter().map(|d| d.rust.clone()).collect(),
        };
        let mut out = String::from(
            "//! One Rust type per Avro record, enum and fixed of the schema files, and for each\n\
             //! canonical event of the event manifest its wire facts ([`CanonicalEvent`]).\n\n\
             use std::sync::LazyLock;\n\n\
             use contract_runtime::event::{CanonicalEvent, EventInfo};\n\n",
        );
        for def in 0..self.defs.len() {
            out.push_str(&writer.definition(def));
            for union in std::mem::take(&mut writer.unions) {
                out.push_str(&render_union(&union));
            }
        }
        for (schema, &record) in self.events.iter().zip(&self.event_records) {
            let event = &manifest.events[schema.index];
            out.push_str(&writer.event_impl(contracts, event, schema, record));
        }
        out.push_str(
            "\n/// Every canonical event, in manifest order.\npub const EVENTS: &[EventInfo] = &[\n",
        );
        for (schema, &record) in self.events.iter().zip(&self.event_records) {
            let event = &manifest.events[schema.index];
            let record = &self.defs[record].rust;
            writeln!(
                out,
                "EventInfo {{ event_type: {record}::EVENT_TYPE, source: {record}::SOURCE, topic: {record}::TOPIC, subject: {record}::SUBJECT, schema: {record}::SCHEMA, producer: {:?} }},",
                event.producer
            )
            .ok();
        }
        out.push_str("];\n");
        if writer.errors.is_empty() {
            Ok(GeneratedEvents {
                source: out,
                warnings: writer.warnings,
                event_types: self
                    .event_records
                    .iter()
                    .map(|&r| self.defs[r].rust.clone())
                    .collect(),
            })
        } else {
            Err(writer.errors)
        }
    }
}

/// Gives every definition a Rust name: its simple name, or with as many trailing namespace
/// components as needed to tell same-named types of different namespaces apart.
fn assign_rust_names(defs: &mut [Def]) {
    let simple = |d: &Def| d.full.rsplit('.').next().unwrap_or(&d.full).to_string();
    let mut depth = vec![0usize; defs.len()];
    loop {
        let names: Vec<String> = defs
            .iter()
            .zip(&depth)
            .map(|(d, &k)| {
                let parts: Vec<&str> = d
                    .namespace
                    .as_deref()
                    .map(|n| n.split('.').collect())
                    .unwrap_or_default();
                let prefix = parts[parts.len().saturating_sub(k)..].join("_");
                upper_camel(&format!("{prefix}_{}", simple(d)))
            })
            .collect();
        let mut changed = false;
        for i in 0..defs.len() {
            let clash = (0..defs.len())
                .any(|j| j != i && names[j] == names[i] && defs[j].full != defs[i].full);
            let parts = defs[i]
                .namespace
                .as_deref()
                .map_or(0, |n| n.split('.').count());
            if clash && depth[i] < parts {
                depth[i] += 1;
                changed = true;
            }
        }
        if !changed {
            for (def, name) in defs.iter_mut().zip(names) {
                def.rust = name;
            }
            return;
        }
    }
}

const SHADOWED: &[&str] = &[
    "String",
    "Vec",
    "Option",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Result",
    "LazyLock",
    "CanonicalEvent",
    "EventInfo",
    "Self",
];

impl Writer<'_> {
    fn file(&self, def: usize) -> &Path {
        &self.model.files[self.model.defs[def].file].path
    }

    fn definition(&mut self, def: usize) -> String {
        let rust = self.model.defs[def].rust.clone();
        if SHADOWED.contains(&rust.as_str()) {
            self.errors.push(
                CodegenError::unsupported(
                    self.file(def),
                    at(&self.model.defs[def].pointer, "name"),
                    format!("the Rust name `{rust}` would shadow a name the generated code uses"),
                )
                .with_fix("rename the type"),
            );
            return String::new();
        }
        let json = self.model.json(def).clone();
        let doc = doc_comment(json.get("doc").and_then(Value::as_str), "");
        match self.model.defs[def].kind {
            DefKind::Record => self.record(def, &json, &doc),
            DefKind::Enum => self.enumeration(def, &json, &doc),
            DefKind::Fixed
                if json
                    .get("logicalType")
                    .is_some_and(|l| l == "decimal" || l == "duration") =>
            {
                // Used as its logical type (`BigDecimal`, `Duration`), never as bytes.
                String::new()
            }
            DefKind::Fixed => {
                let size = json.get("size").and_then(Value::as_u64).unwrap_or(0);
                let full = &self.model.defs[def].full;
                format!(
                    "\n{doc}/// Avro `fixed` `{full}` ({size} bytes).\npub type {rust} = [u8; {size}];\n"
                )
            }
        }
    }

    fn record(&mut self, def: usize, json: &Value, doc: &str) -> String {
        let rust = self.model.defs[def].rust.clone();
        let pointer = self.model.defs[def].pointer.clone();
        let namespace = self.model.defs[def].namespace.clone();
        let fields = json
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut body = String::new();
        let mut float = false;
        let mut idents = BTreeMap::new();
        for (i, field) in fields.iter().enumerate() {
            let field_pointer = at(&at(&pointer, "fields"), i);
            let name = field
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ident = field_ident(name);
            if let Some(other) = idents.insert(ident.clone(), name.to_string()) {
                self.errors.push(
                    CodegenError::unsupported(
                        self.file(def),
                        at(&field_pointer, "name"),
                        format!(
                            "fields `{other}` and `{name}` both become the Rust field `{ident}`"
                        ),
                    )
                    .with_fix("rename one of them"),
                );
                continue;
            }
            let context = format!("{rust}{}", upper_camel(name));
            let Some(ty) = self.ty(
                def,
                field.get("type").unwrap_or(&Value::Null),
                &at(&field_pointer, "type"),
                namespace.as_deref(),
                &context,
                Some(def),
            ) else {
                continue;
            };
            float |= ty.float;
            body.push_str(&doc_comment(
                field.get("doc").and_then(Value::as_str),
                "    ",
            ));
            let bare = ident.trim_start_matches("r#");
            if bare != name {
                writeln!(body, "    #[serde(rename = {name:?})]").ok();
            }
            body.push_str(&serde_attribute(&ty, "    "));
            writeln!(body, "    pub {ident}: {},", ty.rust).ok();
        }
        let eq = if float { "" } else { " Eq," };
        format!(
            "\n{doc}#[derive(Debug, Clone, PartialEq,{eq} serde::Deserialize, serde::Serialize)]\npub struct {rust} {{\n{body}}}\n"
        )
    }

    fn enumeration(&mut self, def: usize, json: &Value, doc: &str) -> String {
        let rust = self.model.defs[def].rust.clone();
        let symbols: Vec<String> = json
            .get("symbols")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut body = String::new();
        let mut seen = BTreeSet::new();
        for symbol in &symbols {
            let variant = upper_camel(symbol);
            if !seen.insert(variant.clone()) {
                self.errors.push(CodegenError::unsupported(
                    self.file(def),
                    at(&self.model.defs[def].pointer, "symbols"),
                    format!("two symbols become the Rust variant `{variant}`"),
                ));
            }
            if &variant != symbol {
                writeln!(body, "    #[serde(rename = {symbol:?})]").ok();
            }
            writeln!(body, "    {variant},").ok();
        }
        let arms: String = symbols
            .iter()
            .map(|s| format!("            Self::{} => {s:?},\n", upper_camel(s)))
            .collect();
        format!(
            "\n{doc}#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]\npub enum {rust} {{\n{body}}}\n\nimpl {rust} {{\n    /// The Avro symbol.\n    pub fn as_str(self) -> &'static str {{\n        match self {{\n{arms}        }}\n    }}\n}}\n"
        )
    }

    /// The Rust type of a schema used as a field type (or inside one).
    fn ty(
        &mut self,
        def: usize,
        schema: &Value,
        pointer: &str,
        namespace: Option<&str>,
        context: &str,
        record: Option<usize>,
    ) -> Option<Ty> {
        let file = self.file(def).to_path_buf();
        match schema {
            Value::String(name) => self.named_or_primitive(&file, name, pointer, namespace, record),
            Value::Array(branches) => {
                self.union(def, branches, pointer, namespace, context, record)
            }
            Value::Object(object) => {
                let kind = match object.get("type") {
                    Some(Value::String(kind)) => kind.as_str(),
                    Some(inner) => {
                        return self.ty(
                            def,
                            inner,
                            &at(pointer, "type"),
                            namespace,
                            context,
                            record,
                        );
                    }
                    None => return None,
                };
                if let Some(logical) = object.get("logicalType").and_then(Value::as_str)
                    && let Some(ty) = self.logical(&file, kind, logical, object, pointer, namespace)
                {
                    return Some(ty);
                }
                match kind {
                    "record" | "error" | "enum" | "fixed" => {
                        let name = object
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let ns = namespace_of(name, object, namespace);
                        let full = full_name(name, ns.as_deref());
                        self.named_or_primitive(&file, &full, pointer, None, record)
                    }
                    "array" => {
                        let items = self.ty(
                            def,
                            object.get("items")?,
                            &at(pointer, "items"),
                            namespace,
                            &format!("{context}Item"),
                            None,
                        )?;
                        Some(Ty {
                            rust: format!("Vec<{}>", items.rust),
                            adapter: items
                                .adapter
                                .map(|a| format!("contract_runtime::avro::Seq<{a}>")),
                            module: None,
                            float: items.float,
                            kind: "array".into(),
                            avro: "other".into(),
                        })
                    }
                    "map" => {
                        let values = self.ty(
                            def,
                            object.get("values")?,
                            &at(pointer, "values"),
                            namespace,
                            &format!("{context}Value"),
                            None,
                        )?;
                        Some(Ty {
                            rust: format!("std::collections::BTreeMap<String, {}>", values.rust),
                            adapter: values
                                .adapter
                                .map(|a| format!("contract_runtime::avro::Map<{a}>")),
                            module: None,
                            float: values.float,
                            kind: "map".into(),
                            avro: "other".into(),
                        })
                    }
                    primitive => {
                        self.named_or_primitive(&file, primitive, pointer, namespace, record)
                    }
                }
            }
            _ => None,
        }
    }

    fn named_or_primitive(
        &mut self,
        file: &Path,
        name: &str,
        pointer: &str,
        namespace: Option<&str>,
        record: Option<usize>,
    ) -> Option<Ty> {
        let primitive = match name {
            "null" => Some(Ty::plain("()", "null")),
            "boolean" => Some(Ty::plain("bool", "boolean")),
            "int" => Some(Ty::plain("i32", "int")),
            "long" => Some(Ty::plain("i64", "long")),
            "float" => Some(Ty::plain("f32", "float")),
            "double" => Some(Ty::plain("f64", "double")),
            "string" => Some(Ty::plain("String", "string")),
            "bytes" => Some(Ty::adapted(
                "Vec<u8>",
                "contract_runtime::avro::Bytes".into(),
                None,
                "bytes",
                "bytes",
            )),
            _ => None,
        };
        if primitive.is_some() {
            return primitive;
        }
        let Some(target) = self.model.resolve(name, namespace) else {
            self.errors.push(
                CodegenError::invalid(file, pointer, format!("unknown type `{name}`")).with_fix(
                    "define it in a .avsc file of the same directory, or use its full name",
                ),
            );
            return None;
        };
        let target_def = &self.model.defs[target];
        let rust = target_def.rust.clone();
        match target_def.kind {
            DefKind::Record => {
                let boxed = record.is_some_and(|r| self.model.reaches(target, r));
                let float = self.record_has_float(target);
                Some(Ty {
                    rust: if boxed { format!("Box<{rust}>") } else { rust },
                    adapter: None,
                    module: None,
                    float,
                    kind: format!("record:{}", target_def.full),
                    avro: "other".into(),
                })
            }
            DefKind::Enum => Some(Ty {
                rust,
                adapter: None,
                module: None,
                float: false,
                kind: format!("enum:{}", target_def.full),
                avro: "other".into(),
            }),
            DefKind::Fixed => {
                let json = self.model.json(target).clone();
                if let Some(logical) = json.get("logicalType").and_then(Value::as_str)
                    && let Some(object) = json.as_object()
                {
                    let ns = target_def.namespace.clone();
                    if let Some(ty) = self.logical(
                        &self.model.files[target_def.file].path.clone(),
                        "fixed",
                        logical,
                        object,
                        &target_def.pointer.clone(),
                        ns.as_deref(),
                    ) {
                        return Some(ty);
                    }
                }
                let size = json.get("size").and_then(Value::as_u64).unwrap_or(0);
                Some(Ty::adapted(
                    &rust,
                    format!("contract_runtime::avro::Fixed<{size}>"),
                    None,
                    &format!("fixed:{size}"),
                    "other",
                ))
            }
        }
    }

    fn record_has_float(&self, record: usize) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![record];
        while let Some(def) = stack.pop() {
            if !seen.insert(def) {
                continue;
            }
            let json = self.model.json(def);
            if contains_float(json) {
                return true;
            }
            if self.model.defs[def].kind == DefKind::Record {
                stack.extend(self.model.references(def));
            }
        }
        false
    }

    /// A logical type's Rust type; `None` (after a warning) for one that Avro says to read as
    /// its underlying type.
    fn logical(
        &mut self,
        file: &Path,
        base: &str,
        logical: &str,
        object: &Map<String, Value>,
        pointer: &str,
        _namespace: Option<&str>,
    ) -> Option<Ty> {
        let module = |m: &str| Some(m.to_string());
        let simple = |rust: &str, adapter: &str, m: Option<String>, kind: &str| Ty {
            rust: rust.into(),
            adapter: Some(format!("contract_runtime::avro::{adapter}")),
            module: m,
            float: false,
            kind: kind.into(),
            avro: "other".into(),
        };
        let ty = match (base, logical) {
            ("string", "uuid") => Ty {
                avro: "uuid".into(),
                ..simple("uuid::Uuid", "UuidString", module("uuid_string"), "string")
            },
            ("int", "date") => simple("chrono::NaiveDate", "DateDays", module("date_days"), "int"),
            ("long", "timestamp-millis") => simple(
                "chrono::DateTime<chrono::Utc>",
                "TimestampMillis",
                module("timestamp_millis"),
                "long",
            ),
            ("long", "timestamp-micros") => simple(
                "chrono::DateTime<chrono::Utc>",
                "TimestampMicros",
                module("timestamp_micros"),
                "long",
            ),
            ("long", "local-timestamp-millis") => simple(
                "chrono::NaiveDateTime",
                "LocalTimestampMillis",
                None,
                "long",
            ),
            ("long", "local-timestamp-micros") => simple(
                "chrono::NaiveDateTime",
                "LocalTimestampMicros",
                None,
                "long",
            ),
            ("int", "time-millis") => simple("chrono::NaiveTime", "TimeMillis", None, "int"),
            ("long", "time-micros") => simple("chrono::NaiveTime", "TimeMicros", None, "long"),
            ("fixed", "duration") => {
                if object.get("size").and_then(Value::as_u64) != Some(12) {
                    self.errors.push(CodegenError::invalid(
                        file,
                        at(pointer, "size"),
                        "a `duration` is a fixed of size 12",
                    ));
                    return None;
                }
                let size = 12;
                simple(
                    "contract_runtime::avro::Duration",
                    "AvroDuration",
                    None,
                    &format!("fixed:{size}"),
                )
            }
            ("bytes" | "fixed", "decimal") => {
                let precision = object.get("precision").and_then(Value::as_u64);
                let scale = object.get("scale").and_then(Value::as_u64).unwrap_or(0);
                let Some(precision) = precision.filter(|p| *p >= 1 && scale <= *p) else {
                    self.errors.push(
                        CodegenError::invalid(
                            file,
                            pointer,
                            "a `decimal` needs a precision ≥ 1 and a scale ≤ the precision",
                        )
                        .with_fix("add `\"precision\": <digits>` (and `\"scale\"`)"),
                    );
                    return None;
                };
                if base == "fixed" {
                    let size = object.get("size").and_then(Value::as_u64).unwrap_or(0);
                    simple(
                        "contract_runtime::avro::BigDecimal",
                        &format!("DecimalFixed<{size}, {precision}, {scale}>"),
                        None,
                        &format!("fixed:{size}"),
                    )
                } else {
                    simple(
                        "contract_runtime::avro::BigDecimal",
                        &format!("DecimalBytes<{precision}, {scale}>"),
                        None,
                        "bytes",
                    )
                }
            }
            _ => {
                self.warnings.push(Warning {
                    file: file.to_path_buf(),
                    pointer: at(pointer, "logicalType"),
                    message: format!(
                        "logical type `{logical}` on `{base}` is not known here; generated as its underlying `{base}`, as the Avro specification says"
                    ),
                });
                return None;
            }
        };
        Some(ty)
    }

    fn union(
        &mut self,
        def: usize,
        branches: &[Value],
        pointer: &str,
        namespace: Option<&str>,
        context: &str,
        record: Option<usize>,
    ) -> Option<Ty> {
        let file = self.file(def).to_path_buf();
        if branches.is_empty() {
            self.errors
                .push(CodegenError::invalid(&file, pointer, "an empty union"));
            return None;
        }
        let mut tys = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            if branch.is_array() {
                self.errors.push(CodegenError::invalid(
                    &file,
                    at(pointer, i),
                    "a union directly inside a union",
                ));
                return None;
            }
            tys.push(self.ty(
                def,
                branch,
                &at(pointer, i),
                namespace,
                &format!("{context}{i}"),
                record,
            )?);
        }
        // Avro resolves a written value to the first branch it fits: two branches a value
        // could equally fit would decode into the wrong one.
        for (i, a) in tys.iter().enumerate() {
            for (j, b) in tys.iter().enumerate().skip(i + 1) {
                if let Some(why) = self.ambiguous(a, b) {
                    self.errors.push(
                        CodegenError::unsupported(
                            &file,
                            at(pointer, j),
                            format!("branches {i} and {j} of the union are ambiguous: {why}"),
                        )
                        .with_fix(
                            "make the branches distinguishable (different types or record fields)",
                        ),
                    );
                    return None;
                }
            }
        }
        let nulls = tys.iter().filter(|t| t.kind == "null").count();
        if tys.len() == 2 && nulls == 1 {
            let inner = tys.iter().find(|t| t.kind != "null")?.clone();
            let avro = match inner.avro.as_str() {
                "string" | "int" | "long" | "float" | "double" | "uuid" => {
                    format!("optional {}", inner.avro)
                }
                _ => "other".into(),
            };
            return Some(Ty {
                rust: format!("Option<{}>", inner.rust),
                adapter: inner
                    .adapter
                    .as_ref()
                    .map(|a| format!("contract_runtime::avro::Optional<{a}>")),
                module: inner.module.map(|m| format!("optional::{m}")),
                float: inner.float,
                kind: "union".into(),
                avro,
            });
        }
        let mut name = context.to_string();
        if !self.used_names.insert(name.clone()) {
            name.push_str("Union");
            self.used_names.insert(name.clone());
        }
        let mut variants = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, ty) in tys.iter().enumerate() {
            let mut variant = variant_name(ty);
            if !seen.insert(variant.clone()) {
                variant = format!("{variant}{i}");
                seen.insert(variant.clone());
            }
            variants.push((variant, ty.clone()));
        }
        let float = tys.iter().any(|t| t.float);
        self.unions.push(UnionEnum {
            name: name.clone(),
            doc: format!(
                "The Avro union at `{}#{pointer}`, one variant per branch in order.",
                file.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            variants,
        });
        Some(Ty {
            rust: name,
            adapter: None,
            module: None,
            float,
            kind: "union".into(),
            avro: "other".into(),
        })
    }

    fn ambiguous(&self, a: &Ty, b: &Ty) -> Option<String> {
        let base = |kind: &str| -> String {
            if kind.starts_with("enum:") {
                "string".into()
            } else {
                kind.to_string()
            }
        };
        let (ka, kb) = (base(&a.kind), base(&b.kind));
        if a.kind.starts_with("enum:") && b.kind.starts_with("enum:") {
            let symbols = |kind: &str| -> BTreeSet<String> {
                let full = kind.trim_start_matches("enum:");
                self.model
                    .by_name
                    .get(full)
                    .and_then(|&d| {
                        self.model
                            .json(d)
                            .get("symbols")
                            .and_then(Value::as_array)
                            .cloned()
                    })
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            };
            let shared: Vec<String> = symbols(&a.kind)
                .intersection(&symbols(&b.kind))
                .cloned()
                .collect();
            return (!shared.is_empty())
                .then(|| format!("both enums have the symbol(s) {}", shared.join(", ")));
        }
        if let (Some(ra), Some(rb)) = (
            a.kind.strip_prefix("record:"),
            b.kind.strip_prefix("record:"),
        ) {
            let required = |full: &str| -> Option<BTreeSet<String>> {
                let def = *self.model.by_name.get(full)?;
                let fields = self.model.json(def).get("fields")?.as_array()?.clone();
                Some(
                    fields
                        .iter()
                        .filter(|f| f.get("default").is_none())
                        .filter_map(|f| f.get("name")?.as_str().map(str::to_string))
                        .collect(),
                )
            };
            let names = |full: &str| -> Option<BTreeSet<String>> {
                let def = *self.model.by_name.get(full)?;
                let fields = self.model.json(def).get("fields")?.as_array()?.clone();
                Some(
                    fields
                        .iter()
                        .filter_map(|f| f.get("name")?.as_str().map(str::to_string))
                        .collect(),
                )
            };
            let (Some(first_required), Some(second_names)) = (required(ra), names(rb)) else {
                return None;
            };
            // A value of the later record fits the earlier one when it has every field the
            // earlier one requires.
            return first_required.is_subset(&second_names).then(|| {
                format!(
                    "a `{rb}` value has every field `{ra}` requires, so it would be read as `{ra}`"
                )
            });
        }
        (ka == kb && ka != "union").then(|| format!("both are written as Avro `{ka}`"))
    }

    fn event_impl(
        &mut self,
        contracts: &Path,
        event: &EventSpec,
        schema: &EventSchema,
        record: usize,
    ) -> String {
        let rust = self.model.defs[record].rust.clone();
        let key = self.key(contracts, event, record);
        let violations = self.violations(contracts, event, record, schema.index);
        let hashes = "#".repeat(raw_string_hashes(&schema.schema));
        let static_name = format!("{}_SCHEMA", to_screaming_snake(&rust));
        let (key_const, key_expr) = key.unwrap_or_default();
        let schema_path = event.schema.display().to_string().replace('\\', "/");
        let dir = contracts
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "contracts".into());
        format!(
            r#"
static {static_name}: LazyLock<apache_avro::Schema> = LazyLock::new(|| {{
    apache_avro::Schema::parse_str({rust}::SCHEMA)
        .expect("the schema was parsed when this file was generated")
}});

/// `{event_type}` on `{topic}`, produced by the {producer} service.
impl CanonicalEvent for {rust} {{
    const EVENT_TYPE: &'static str = {event_type:?};
    const SOURCE: &'static str = {source:?};
    const TOPIC: &'static str = {topic:?};
    const SUBJECT: &'static str = {subject:?};
    /// `{dir}/{schema_path}`.
    const SCHEMA: &'static str = r{hashes}"{text}"{hashes};
{key_const}
    fn schema() -> &'static apache_avro::Schema {{
        &{static_name}
    }}

    fn key(&self) -> String {{
        {key_expr}
    }}
{violations}}}
"#,
            event_type = event.event_type,
            source = event.source,
            topic = event.topic,
            subject = schema.subject,
            producer = event.producer,
            text = schema.schema,
        )
    }

    /// The top-level fields of a record: (wire name, Rust ident, type, pointer).
    fn fields(&mut self, record: usize) -> Vec<(String, String, Ty, String)> {
        let json = self.model.json(record).clone();
        let pointer = self.model.defs[record].pointer.clone();
        let namespace = self.model.defs[record].namespace.clone();
        let rust = self.model.defs[record].rust.clone();
        let saved = (self.errors.len(), self.warnings.len(), self.unions.len());
        let mut out = Vec::new();
        for (i, field) in json
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let name = field
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let field_pointer = at(&at(&pointer, "fields"), i);
            if let Some(ty) = self.ty(
                record,
                field.get("type").unwrap_or(&Value::Null),
                &at(&field_pointer, "type"),
                namespace.as_deref(),
                &format!("{rust}{}", upper_camel(&name)),
                Some(record),
            ) {
                out.push((name.clone(), field_ident(&name), ty, field_pointer));
            }
        }
        // Already reported (and generated) with the record itself.
        self.errors.truncate(saved.0);
        self.warnings.truncate(saved.1);
        self.unions.truncate(saved.2);
        out
    }

    /// `(const KEY line, key() body)`.
    fn key(
        &mut self,
        contracts: &Path,
        event: &EventSpec,
        record: usize,
    ) -> Option<(String, String)> {
        let fields = self.fields(record);
        let manifest_file = contracts.join(crate::MANIFEST_FILE);
        let names = match event.key_kind() {
            Key::None => {
                return Some((
                    "    const KEY: contract_runtime::event::KeySource = contract_runtime::event::KeySource::None;\n".into(),
                    "String::new()".into(),
                ));
            }
            Key::Field(field) => vec![field],
            Key::Fields(fields, _) => fields,
        };
        let mut parts = Vec::new();
        for name in &names {
            let Some((_, ident, ty, pointer)) = fields.iter().find(|(n, ..)| n == name) else {
                self.errors.push(CodegenError::invalid(
                    &self.model.files[self.model.defs[record].file].path,
                    at(&self.model.defs[record].pointer, "fields"),
                    format!(
                        "key field `{name}` ({}, event `{}`) is not a field of the record",
                        manifest_file.display(),
                        event.event_type
                    ),
                ));
                return None;
            };
            let expr = match ty.avro.as_str() {
                "string" => format!("self.{ident}.clone()"),
                "uuid" | "int" | "long" => format!("self.{ident}.to_string()"),
                _ => {
                    self.errors.push(
                        CodegenError::unsupported(
                            &self.model.files[self.model.defs[record].file].path,
                            at(pointer, "type"),
                            "a key field that is not a string, uuid, int or long",
                        )
                        .with_fix("key the event by another field, or declare `key = \"none\"`"),
                    );
                    return None;
                }
            };
            parts.push(expr);
        }
        match event.key_kind() {
            Key::Fields(fields, separator) => Some((
                format!(
                    "    const KEY: contract_runtime::event::KeySource = contract_runtime::event::KeySource::Fields {{ fields: &[{}], separator: {separator:?} }};\n",
                    fields
                        .iter()
                        .map(|f| format!("{f:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!("[{}].join({separator:?})", parts.join(", ")),
            )),
            _ => Some((
                format!(
                    "    const KEY: contract_runtime::event::KeySource = contract_runtime::event::KeySource::Field({:?});\n",
                    names[0]
                ),
                parts.remove(0),
            )),
        }
    }

    /// The `violations()` method: the limits of the manifest's OpenAPI schema on same-named
    /// fields, and NUL in every text field.
    fn violations(
        &mut self,
        contracts: &Path,
        event: &EventSpec,
        record: usize,
        index: usize,
    ) -> String {
        let fields = self.fields(record);
        let limits = match &event.constraints {
            Some(reference) => match self.constraint_schema(contracts, reference, index) {
                Some(properties) => properties,
                None => return String::new(),
            },
            None => Map::new(),
        };
        let mut checks = String::new();
        for (name, ident, ty, _) in &fields {
            let property = limits.get(name);
            let at_field = format!("/{name}");
            let (call, rules, value) = match ty.avro.as_str() {
                "string" => ("text", string_rules(property), format!("&self.{ident}")),
                "optional string" => (
                    "optional_text",
                    string_rules(property),
                    format!("self.{ident}.as_deref()"),
                ),
                "int" | "long" if property.is_some_and(has_number_limits) => (
                    "integer",
                    integer_rules(property),
                    numeric_value(&ty.avro, ident),
                ),
                "optional int" | "optional long" if property.is_some_and(has_number_limits) => (
                    "optional_integer",
                    integer_rules(property),
                    numeric_value(&ty.avro, ident),
                ),
                "float" | "double" if property.is_some_and(has_number_limits) => (
                    "number",
                    number_rules(property),
                    numeric_value(&ty.avro, ident),
                ),
                "optional float" | "optional double" if property.is_some_and(has_number_limits) => {
                    (
                        "optional_number",
                        number_rules(property),
                        numeric_value(&ty.avro, ident),
                    )
                }
                _ => {
                    if let Some(property) = property
                        && (has_number_limits(property) || has_string_limits(property))
                    {
                        self.warnings.push(Warning {
                            file: contracts.join(crate::MANIFEST_FILE),
                            pointer: format!("/event/{index}/constraints"),
                            message: format!(
                                "the limits of property `{name}` do not apply to the record field of that name (its Avro type differs); not checked"
                            ),
                        });
                    }
                    continue;
                }
            };
            writeln!(
                checks,
                "        checks.{call}({at_field:?}, {value}, {rules});"
            )
            .ok();
        }
        if checks.is_empty() {
            return String::new();
        }
        format!(
            "\n    fn violations(&self) -> Vec<contract_runtime::problem::Violation> {{\n        let mut checks = contract_runtime::event::EventChecks::new();\n{checks}        checks.finish()\n    }}\n"
        )
    }

    /// The `properties` of the schema `reference` (`api/x.yaml#/components/schemas/X`) points
    /// at, each with `$ref`s to component schemas resolved.
    fn constraint_schema(
        &mut self,
        contracts: &Path,
        reference: &str,
        index: usize,
    ) -> Option<Map<String, Value>> {
        let manifest_file = contracts.join(crate::MANIFEST_FILE);
        let pointer = format!("/event/{index}/constraints");
        let fail = |what: String| {
            CodegenError::invalid(&manifest_file, &pointer, what)
                .with_fix("point at an object schema: `constraints = \"api/<spec>.yaml#/components/schemas/<Name>\"`")
        };
        let Some((file, schema_pointer)) = reference.split_once('#') else {
            self.errors
                .push(fail(format!("`{reference}` has no `#<JSON pointer>`")));
            return None;
        };
        let path = contracts.join(file);
        let document: Value = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_yaml::from_str(&text).map_err(|e| e.to_string()))
        {
            Ok(document) => document,
            Err(e) => {
                self.errors
                    .push(fail(format!("cannot read {}: {e}", path.display())));
                return None;
            }
        };
        let resolve = |value: &Value| -> Value {
            match value
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
            {
                Some(target) => document.pointer(target).cloned().unwrap_or(Value::Null),
                None => value.clone(),
            }
        };
        let Some(schema) = value_at(&document, schema_pointer).map(resolve) else {
            self.errors.push(fail(format!(
                "{} has nothing at `{schema_pointer}`",
                path.display()
            )));
            return None;
        };
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            self.errors.push(fail(format!(
                "{}#{schema_pointer} has no `properties`",
                path.display()
            )));
            return None;
        };
        Some(
            properties
                .iter()
                .map(|(k, v)| (k.clone(), resolve(v)))
                .collect(),
        )
    }
}

/// The field as the `i64`/`f64` (or `Option`) the checks take.
fn numeric_value(avro: &str, ident: &str) -> String {
    match avro {
        "int" => format!("i64::from(self.{ident})"),
        "float" => format!("f64::from(self.{ident})"),
        "optional int" => format!("self.{ident}.map(i64::from)"),
        "optional float" => format!("self.{ident}.map(f64::from)"),
        _ => format!("self.{ident}"),
    }
}

fn has_string_limits(property: &Value) -> bool {
    ["minLength", "maxLength", "pattern"]
        .iter()
        .any(|k| property.get(k).is_some())
}

fn has_number_limits(property: &Value) -> bool {
    ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
        .iter()
        .any(|k| property.get(k).is_some())
}

fn string_rules(property: Option<&Value>) -> String {
    let mut rules = String::from("contract_runtime::validate::StringRules::new()");
    let Some(property) = property else {
        return rules;
    };
    if let Some(min) = property.get("minLength").and_then(Value::as_u64) {
        write!(rules, ".min_length({min})").ok();
    }
    if let Some(max) = property.get("maxLength").and_then(Value::as_u64) {
        write!(rules, ".max_length({max})").ok();
    }
    if let Some(pattern) = property.get("pattern").and_then(Value::as_str) {
        write!(rules, ".pattern({pattern:?})").ok();
    }
    rules
}

/// `minimum`/`maximum` with OpenAPI 3.0's boolean `exclusiveMinimum` or 3.1's numeric one.
fn bounds(property: &Value) -> Vec<(&'static str, &'static str, Value)> {
    let mut out = Vec::new();
    for (bound, exclusive, plain, strict) in [
        (
            "minimum",
            "exclusiveMinimum",
            "minimum",
            "exclusive_minimum",
        ),
        (
            "maximum",
            "exclusiveMaximum",
            "maximum",
            "exclusive_maximum",
        ),
    ] {
        match (property.get(bound), property.get(exclusive)) {
            (Some(value), Some(Value::Bool(true))) => out.push((bound, strict, value.clone())),
            (_, Some(value @ Value::Number(_))) => out.push((bound, strict, value.clone())),
            (Some(value), _) => out.push((bound, plain, value.clone())),
            _ => {}
        }
    }
    out
}

fn integer_rules(property: Option<&Value>) -> String {
    let mut rules = String::from("contract_runtime::validate::IntegerRules::int64()");
    for (_, method, value) in property.map(bounds).unwrap_or_default() {
        if let Some(value) = value.as_i64() {
            write!(rules, ".{method}({value})").ok();
        } else if let Some(value) = value.as_f64() {
            // A fractional bound on an integer: the nearest integers that keep its meaning.
            let value = if method.contains("minimum") {
                value.ceil()
            } else {
                value.floor()
            };
            write!(rules, ".{method}({})", value as i64).ok();
        }
    }
    rules
}

fn number_rules(property: Option<&Value>) -> String {
    let mut rules = String::from("contract_runtime::validate::NumberRules::new()");
    for (_, method, value) in property.map(bounds).unwrap_or_default() {
        if let Some(value) = value.as_f64() {
            write!(rules, ".{method}({value:?})").ok();
        }
    }
    rules
}

fn contains_float(json: &Value) -> bool {
    match json {
        Value::String(s) => s == "float" || s == "double",
        Value::Array(items) => items.iter().any(contains_float),
        Value::Object(object) => ["type", "items", "values", "fields"]
            .iter()
            .filter_map(|k| object.get(*k))
            .any(|v| match v {
                Value::Array(fields) if object.contains_key("fields") => fields
                    .iter()
                    .any(|f| f.get("type").is_some_and(contains_float)),
                other => contains_float(other),
            }),
        _ => false,
    }
}

fn variant_name(ty: &Ty) -> String {
    if let Some(full) = ty
        .kind
        .strip_prefix("record:")
        .or_else(|| ty.kind.strip_prefix("enum:"))
    {
        return upper_camel(full.rsplit('.').next().unwrap_or(full));
    }
    match ty.rust.as_str() {
        "()" => "Null".into(),
        "bool" => "Boolean".into(),
        "i32" => "Int".into(),
        "i64" => "Long".into(),
        "f32" => "Float".into(),
        "f64" => "Double".into(),
        "String" => "String".into(),
        "Vec<u8>" => "Bytes".into(),
        "uuid::Uuid" => "Uuid".into(),
        "chrono::NaiveDate" => "Date".into(),
        "chrono::DateTime<chrono::Utc>" => "Timestamp".into(),
        "chrono::NaiveDateTime" => "LocalTimestamp".into(),
        "chrono::NaiveTime" => "Time".into(),
        "contract_runtime::avro::BigDecimal" => "Decimal".into(),
        "contract_runtime::avro::Duration" => "Duration".into(),
        rust if rust.starts_with("Vec<") => "Array".into(),
        rust if rust.starts_with("std::collections::BTreeMap<") => "Map".into(),
        rust if rust.starts_with("Box<") => {
            upper_camel(rust.trim_start_matches("Box<").trim_end_matches('>'))
        }
        rust => upper_camel(rust),
    }
}

/// `#[serde(...)]` for a field or variant of type `ty`.
fn serde_attribute(ty: &Ty, indent: &str) -> String {
    match (&ty.module, &ty.adapter) {
        (Some(module), _) => {
            format!("{indent}#[serde(with = \"contract_runtime::avro::{module}\")]\n")
        }
        (None, Some(adapter)) => format!(
            "{indent}#[serde(serialize_with = \"contract_runtime::avro::serialize::<_, {adapter}>\", deserialize_with = \"contract_runtime::avro::deserialize::<_, {adapter}>\")]\n"
        ),
        (None, None) => String::new(),
    }
}

fn render_union(union: &UnionEnum) -> String {
    let float = union.variants.iter().any(|(_, t)| t.float);
    let eq = if float { "" } else { " Eq," };
    let mut variants = String::new();
    let mut arms = String::new();
    for (name, ty) in &union.variants {
        if ty.kind == "null" {
            writeln!(variants, "    {name},").ok();
            writeln!(
                arms,
                "            Self::{name} => serializer.serialize_unit(),"
            )
            .ok();
            continue;
        }
        if let Some(adapter) = &ty.adapter {
            writeln!(
                variants,
                "    #[serde(deserialize_with = \"contract_runtime::avro::deserialize::<_, {adapter}>\")]"
            )
            .ok();
            writeln!(
                arms,
                "            Self::{name}(value) => contract_runtime::avro::serialize::<_, {adapter}>(value, serializer),"
            )
            .ok();
        } else {
            writeln!(
                arms,
                "            Self::{name}(value) => serde::Serialize::serialize(value, serializer),"
            )
            .ok();
        }
        writeln!(variants, "    {name}({}),", ty.rust).ok();
    }
    format!(
        r#"
/// {doc}
///
/// Written as the branch's value itself, which Avro resolves to the branch; read by the
/// branch index.
#[derive(Debug, Clone, PartialEq,{eq} serde::Deserialize)]
pub enum {name} {{
{variants}}}

impl serde::Serialize for {name} {{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{
        match self {{
{arms}        }}
    }}
}}
"#,
        doc = union.doc,
        name = union.name,
    )
}

fn raw_string_hashes(text: &str) -> usize {
    let mut needed = 1;
    while text.contains(&format!("\"{}", "#".repeat(needed))) {
        needed += 1;
    }
    needed
}

fn to_screaming_snake(camel: &str) -> String {
    snake_case(camel).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_rust_conventions() {
        assert_eq!(field_ident("applicationId"), "application_id");
        assert_eq!(field_ident("HTTPStatus"), "http_status");
        assert_eq!(field_ident("type"), "r#type");
        assert_eq!(field_ident("self"), "self_");
        assert_eq!(upper_camel("counter_tick"), "CounterTick");
        assert_eq!(upper_camel("PLACED"), "Placed");
        assert_eq!(upper_camel("NEEDS_REVIEW"), "NeedsReview");
        assert_eq!(to_screaming_snake("BalanceSheet"), "BALANCE_SHEET");
    }
}
