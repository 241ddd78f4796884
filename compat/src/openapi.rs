//! Breaking changes between two versions of an OpenAPI 3.0 spec, from the point of view of a
//! client built for the old version: what it sends must still be accepted (requests may only
//! widen) and what it receives must still be understood (responses may only narrow).
//!
//! Checked: removed paths and operations; added required parameters, request fields and
//! request bodies; request types, formats, enums, nullability and constraints that narrow;
//! removed or newly optional response fields; response types, formats and enums that widen,
//! fields that may now be null; removed success responses and new ones old clients do not
//! expect; new response fields where the old version promised no unknown fields
//! (`additionalProperties: false`, which the generated models deny).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::LazyLock;

use serde_json::Value as Json;

use crate::CompatError;

/// Stands in for an absent `paths` or `responses` object.
static NO_ENTRIES: LazyLock<serde_json::Map<String, Json>> = LazyLock::new(serde_json::Map::new);

pub(crate) const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// One change that breaks clients of the old version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakingChange {
    /// Where in the API: `POST /api/persons/ request body`, `GET /api/persons/{id}/`.
    pub location: String,
    /// The schema path inside the location (`PersonInput.first_name`), empty when the
    /// change is the location itself.
    pub path: String,
    pub reason: String,
}

impl fmt::Display for BreakingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.location, self.reason)
        } else {
            write!(f, "{}: `{}`: {}", self.location, self.path, self.reason)
        }
    }
}

/// Parses an OpenAPI document (YAML or JSON) into JSON values; map keys become strings
/// (YAML allows `200:` unquoted).
pub fn parse_spec(what: &str, text: &str) -> Result<Json, CompatError> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| CompatError::Spec {
        what: what.to_owned(),
        message: e.to_string(),
    })?;
    Ok(yaml_to_json(yaml))
}

fn yaml_to_json(value: serde_yaml::Value) -> Json {
    use serde_yaml::Value as Yaml;
    match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64().map(Json::from).unwrap_or(Json::Null)
            }
        }
        Yaml::String(s) => Json::String(s),
        Yaml::Sequence(items) => Json::Array(items.into_iter().map(yaml_to_json).collect()),
        Yaml::Mapping(entries) => Json::Object(
            entries
                .into_iter()
                .map(|(key, value)| {
                    let key = match yaml_to_json(key) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(value))
                })
                .collect(),
        ),
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// Every change from `old` to `new` that breaks a client built for `old`.
pub fn breaking_changes(old: &Json, new: &Json) -> Vec<BreakingChange> {
    let mut diff = Diff {
        old_doc: old,
        new_doc: new,
        changes: Vec::new(),
    };
    diff.paths();
    diff.changes
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// The client sends it: the new version must accept everything the old one accepted.
    Request,
    /// The client receives it: the new version must send only what the old one promised.
    Response,
}

struct Diff<'a> {
    old_doc: &'a Json,
    new_doc: &'a Json,
    changes: Vec<BreakingChange>,
}

/// Follows `$ref`s inside `doc` (local references only, as the generator supports).
fn resolve<'a>(doc: &'a Json, mut value: &'a Json) -> &'a Json {
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Json::as_str) else {
            return value;
        };
        match reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
        {
            Some(target) => value = target,
            None => return value,
        }
    }
    value
}

fn ref_name(value: &Json) -> Option<&str> {
    value
        .get("$ref")
        .and_then(Json::as_str)
        .and_then(|r| r.rsplit('/').next())
}

fn object<'a>(value: &'a Json, key: &str) -> Option<&'a serde_json::Map<String, Json>> {
    value.get(key).and_then(Json::as_object)
}

fn string_set(value: &Json, key: &str) -> BTreeSet<String> {
    value
        .get(key)
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| match item {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_true(value: &Json, key: &str) -> bool {
    value.get(key).and_then(Json::as_bool).unwrap_or(false)
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else {
        format!("{path}.{segment}")
    }
}

fn list(values: &BTreeSet<String>) -> String {
    values.iter().cloned().collect::<Vec<_>>().join(", ")
}

impl<'a> Diff<'a> {
    fn push(&mut self, location: &str, path: &str, reason: impl Into<String>) {
        self.changes.push(BreakingChange {
            location: location.to_owned(),
            path: path.to_owned(),
            reason: reason.into(),
        });
    }

    fn paths(&mut self) {
        let old_paths = object(self.old_doc, "paths").unwrap_or(&NO_ENTRIES);
        let new_paths = object(self.new_doc, "paths").unwrap_or(&NO_ENTRIES);
        for (path, old_item) in old_paths {
            let old_item = resolve(self.old_doc, old_item);
            let Some(new_item) = new_paths.get(path).map(|item| resolve(self.new_doc, item)) else {
                self.push(
                    path,
                    "",
                    "path removed: clients built for the previous version call it",
                );
                continue;
            };
            for method in METHODS {
                let Some(old_operation) = old_item.get(*method) else {
                    continue;
                };
                let location = format!("{} {path}", method.to_uppercase());
                match new_item.get(*method) {
                    None => self.push(
                        &location,
                        "",
                        "operation removed: clients built for the previous version call it",
                    ),
                    Some(new_operation) => self.operation(
                        &location,
                        (old_item, old_operation),
                        (new_item, new_operation),
                    ),
                }
            }
        }
    }

    fn operation(
        &mut self,
        location: &str,
        (old_item, old_operation): (&'a Json, &'a Json),
        (new_item, new_operation): (&'a Json, &'a Json),
    ) {
        let old_parameters = parameters(self.old_doc, old_item, old_operation);
        let new_parameters = parameters(self.new_doc, new_item, new_operation);
        for ((place, name), new_parameter) in &new_parameters {
            let parameter_location = format!("{location} {place} parameter `{name}`");
            match old_parameters.get(&(place.clone(), name.clone())) {
                None if is_true(new_parameter, "required") => self.push(
                    &parameter_location,
                    "",
                    "added as required: clients built for the previous version do not send it",
                ),
                None => {}
                Some(old_parameter) => {
                    if is_true(new_parameter, "required") && !is_true(old_parameter, "required") {
                        self.push(
                            &parameter_location,
                            "",
                            "became required: clients built for the previous version may omit it",
                        );
                    }
                    if let (Some(old_schema), Some(new_schema)) =
                        (old_parameter.get("schema"), new_parameter.get("schema"))
                    {
                        self.schema(
                            Flow::Request,
                            &parameter_location,
                            String::new(),
                            old_schema,
                            new_schema,
                            &mut HashSet::new(),
                        );
                    }
                }
            }
        }

        self.request_body(location, old_operation, new_operation);
        self.responses(location, old_operation, new_operation);
    }

    fn request_body(&mut self, location: &str, old_operation: &'a Json, new_operation: &'a Json) {
        let location = format!("{location} request body");
        let old_body = old_operation
            .get("requestBody")
            .map(|b| resolve(self.old_doc, b));
        let Some(new_body) = new_operation
            .get("requestBody")
            .map(|b| resolve(self.new_doc, b))
        else {
            return;
        };
        let new_required = is_true(new_body, "required");
        match old_body {
            None if new_required => self.push(
                &location,
                "",
                "added as required: clients built for the previous version send no body",
            ),
            None => {}
            Some(old_body) => {
                if new_required && !is_true(old_body, "required") {
                    self.push(
                        &location,
                        "",
                        "became required: clients built for the previous version may omit it",
                    );
                }
                if let (Some(old_schema), Some(new_schema)) =
                    (json_schema(old_body), json_schema(new_body))
                {
                    let root = ref_name(old_schema).unwrap_or_default().to_owned();
                    self.schema(
                        Flow::Request,
                        &location,
                        root,
                        old_schema,
                        new_schema,
                        &mut HashSet::new(),
                    );
                }
            }
        }
    }

    fn responses(&mut self, location: &str, old_operation: &'a Json, new_operation: &'a Json) {
        let old_responses = object(old_operation, "responses").unwrap_or(&NO_ENTRIES);
        let new_responses = object(new_operation, "responses").unwrap_or(&NO_ENTRIES);
        let is_success = |status: &str| status.starts_with('2');
        for (status, old_response) in old_responses {
            let response_location = format!("{location} response {status}");
            let Some(new_response) = new_responses.get(status) else {
                if is_success(status) {
                    self.push(
                        &response_location,
                        "",
                        "removed: clients built for the previous version expect it",
                    );
                }
                continue;
            };
            let old_response = resolve(self.old_doc, old_response);
            let new_response = resolve(self.new_doc, new_response);
            match (json_schema(old_response), json_schema(new_response)) {
                (Some(old_schema), Some(new_schema)) => {
                    let root = ref_name(old_schema).unwrap_or_default().to_owned();
                    self.schema(
                        Flow::Response,
                        &response_location,
                        root,
                        old_schema,
                        new_schema,
                        &mut HashSet::new(),
                    );
                }
                (Some(_), None) if is_success(status) => self.push(
                    &response_location,
                    "",
                    "JSON body removed: clients built for the previous version read it",
                ),
                _ => {}
            }
        }
        for status in new_responses.keys() {
            if is_success(status) && !old_responses.contains_key(status) {
                self.push(
                    &format!("{location} response {status}"),
                    "",
                    "new success status: clients built for the previous version do not expect it",
                );
            }
        }
    }

    /// Compares one schema of the old version with its counterpart in the new one.
    fn schema(
        &mut self,
        flow: Flow,
        location: &str,
        path: String,
        old: &'a Json,
        new: &'a Json,
        visited: &mut HashSet<(String, String)>,
    ) {
        let reference_pair = ref_name(old)
            .zip(ref_name(new))
            .map(|(o, n)| (o.to_owned(), n.to_owned()));
        if let Some(pair) = &reference_pair {
            // A recursive schema: the pair is already being compared further up.
            if !visited.insert(pair.clone()) {
                return;
            }
        }
        self.schema_contents(flow, location, &path, old, new, visited);
        if let Some(pair) = &reference_pair {
            visited.remove(pair);
        }
    }

    fn schema_contents(
        &mut self,
        flow: Flow,
        location: &str,
        path: &str,
        old: &'a Json,
        new: &'a Json,
        visited: &mut HashSet<(String, String)>,
    ) {
        let old = resolve(self.old_doc, old);
        let new = resolve(self.new_doc, new);
        if !self.same_type(flow, location, path, old, new) {
            return;
        }
        self.format(flow, location, path, old, new);
        self.nullable(flow, location, path, old, new);
        self.enumeration(flow, location, path, old, new);
        if flow == Flow::Request {
            self.constraints(location, path, old, new);
        }
        self.properties(flow, location, path, old, new, visited);
        if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
            self.schema(
                flow,
                location,
                format!("{path}[]"),
                old_items,
                new_items,
                visited,
            );
        }
        let old_values = old.get("additionalProperties").filter(|v| v.is_object());
        let new_values = new.get("additionalProperties").filter(|v| v.is_object());
        if let (Some(old_values), Some(new_values)) = (old_values, new_values) {
            self.schema(
                flow,
                location,
                format!("{path}{{}}"),
                old_values,
                new_values,
                visited,
            );
        }
    }

    /// Whether the two schemas have a comparable type (else the change is reported).
    fn same_type(
        &mut self,
        flow: Flow,
        location: &str,
        path: &str,
        old: &Json,
        new: &Json,
    ) -> bool {
        let old_type = old.get("type").and_then(Json::as_str);
        let new_type = new.get("type").and_then(Json::as_str);
        let acceptable = match (old_type, new_type, flow) {
            (a, b, _) if a == b => true,
            // Every integer is a number: requests may widen, responses may narrow.
            (Some("integer"), Some("number"), Flow::Request)
            | (Some("number"), Some("integer"), Flow::Response) => true,
            // An untyped schema accepts anything: requests may drop a type, responses add one.
            (Some(_), None, Flow::Request) | (None, Some(_), Flow::Response) => true,
            _ => false,
        };
        if !acceptable {
            let describe = |t: Option<&str>| t.unwrap_or("any type").to_owned();
            let consequence = match flow {
                Flow::Request => "requests valid before are rejected",
                Flow::Response => "clients built for the previous version cannot read it",
            };
            self.push(
                location,
                path,
                format!(
                    "type changed from {} to {}: {consequence}",
                    describe(old_type),
                    describe(new_type)
                ),
            );
        }
        acceptable
    }

    fn format(&mut self, flow: Flow, location: &str, path: &str, old: &Json, new: &Json) {
        let old_format = old.get("format").and_then(Json::as_str);
        let new_format = new.get("format").and_then(Json::as_str);
        let acceptable = match (old_format, new_format, flow) {
            (a, b, _) if a == b => true,
            (_, None, Flow::Request) | (None, _, Flow::Response) => true,
            (Some("int32"), Some("int64"), Flow::Request)
            | (Some("float"), Some("double"), Flow::Request)
            | (Some("int64"), Some("int32"), Flow::Response)
            | (Some("double"), Some("float"), Flow::Response) => true,
            _ => false,
        };
        if !acceptable {
            let describe = |f: Option<&str>| f.map_or("none".to_owned(), |f| format!("`{f}`"));
            let consequence = match flow {
                Flow::Request => "values valid before are rejected",
                Flow::Response => "clients built for the previous version may fail to parse it",
            };
            self.push(
                location,
                path,
                format!(
                    "format changed from {} to {}: {consequence}",
                    describe(old_format),
                    describe(new_format)
                ),
            );
        }
    }

    fn nullable(&mut self, flow: Flow, location: &str, path: &str, old: &Json, new: &Json) {
        let (old_nullable, new_nullable) = (is_true(old, "nullable"), is_true(new, "nullable"));
        match flow {
            Flow::Request if old_nullable && !new_nullable => self.push(
                location,
                path,
                "no longer nullable: requests sending null are rejected",
            ),
            Flow::Response if new_nullable && !old_nullable => self.push(
                location,
                path,
                "may now be null: clients built for the previous version expect a value",
            ),
            _ => {}
        }
    }

    fn enumeration(&mut self, flow: Flow, location: &str, path: &str, old: &Json, new: &Json) {
        let (old_has, new_has) = (old.get("enum").is_some(), new.get("enum").is_some());
        let (old_values, new_values) = (string_set(old, "enum"), string_set(new, "enum"));
        match flow {
            Flow::Request if new_has => {
                if !old_has {
                    self.push(
                        location,
                        path,
                        format!(
                            "now restricted to [{}]: other values valid before are rejected",
                            list(&new_values)
                        ),
                    );
                } else {
                    let removed: BTreeSet<_> =
                        old_values.difference(&new_values).cloned().collect();
                    if !removed.is_empty() {
                        self.push(
                            location,
                            path,
                            format!(
                                "enum narrowed: {} removed, requests using them are rejected",
                                list(&removed)
                            ),
                        );
                    }
                }
            }
            Flow::Response if old_has => {
                if !new_has {
                    self.push(
                        location,
                        path,
                        format!(
                            "no longer limited to [{}]: clients built for the previous version \
                             reject other values",
                            list(&old_values)
                        ),
                    );
                } else {
                    let added: BTreeSet<_> = new_values.difference(&old_values).cloned().collect();
                    if !added.is_empty() {
                        self.push(
                            location,
                            path,
                            format!(
                                "enum widened: {} added, clients built for the previous version \
                                 reject them",
                                list(&added)
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Request constraints that reject values the old version accepted.
    fn constraints(&mut self, location: &str, path: &str, old: &Json, new: &Json) {
        let number = |schema: &Json, key: &str| schema.get(key).and_then(Json::as_f64);
        // (keyword, true when a larger new value is stricter)
        let bounds = [
            ("minLength", true),
            ("maxLength", false),
            ("minimum", true),
            ("maximum", false),
            ("minItems", true),
            ("maxItems", false),
        ];
        for (keyword, larger_is_stricter) in bounds {
            let stricter = match (number(old, keyword), number(new, keyword)) {
                (None, Some(_)) => true,
                (Some(o), Some(n)) => {
                    if larger_is_stricter {
                        n > o
                    } else {
                        n < o
                    }
                }
                _ => false,
            };
            if stricter {
                let describe = |v: Option<f64>| v.map_or("none".to_owned(), |v| v.to_string());
                self.push(
                    location,
                    path,
                    format!(
                        "{keyword} tightened from {} to {}: values valid before are rejected",
                        describe(number(old, keyword)),
                        describe(number(new, keyword))
                    ),
                );
            }
        }
        for keyword in ["exclusiveMinimum", "exclusiveMaximum"] {
            if is_true(new, keyword) && !is_true(old, keyword) {
                self.push(
                    location,
                    path,
                    format!("{keyword} added: the bound itself is now rejected"),
                );
            }
        }
        let old_pattern = old.get("pattern").and_then(Json::as_str);
        let new_pattern = new.get("pattern").and_then(Json::as_str);
        if let Some(new_pattern) = new_pattern
            && old_pattern != Some(new_pattern)
        {
            self.push(
                location,
                path,
                format!(
                    "pattern changed from {} to `{new_pattern}`: values valid before may be \
                     rejected",
                    old_pattern.map_or("none".to_owned(), |p| format!("`{p}`"))
                ),
            );
        }
    }

    fn properties(
        &mut self,
        flow: Flow,
        location: &str,
        path: &str,
        old: &'a Json,
        new: &'a Json,
        visited: &mut HashSet<(String, String)>,
    ) {
        let old_properties = object(old, "properties").unwrap_or(&NO_ENTRIES);
        let new_properties = object(new, "properties").unwrap_or(&NO_ENTRIES);
        let old_required = string_set(old, "required");
        let new_required = string_set(new, "required");
        let closed = |schema: &Json| schema.get("additionalProperties") == Some(&Json::Bool(false));

        match flow {
            Flow::Request => {
                for name in new_required.difference(&old_required) {
                    let reason = if old_properties.contains_key(name) {
                        "became required: clients built for the previous version may omit it"
                    } else {
                        "added as required: clients built for the previous version do not send it"
                    };
                    self.push(location, &join(path, name), reason);
                }
                if closed(new) {
                    for name in old_properties.keys() {
                        if !new_properties.contains_key(name) {
                            self.push(
                                location,
                                &join(path, name),
                                "removed while unknown fields are rejected \
                                 (additionalProperties: false): requests sending it fail",
                            );
                        }
                    }
                    if !closed(old) && !old_properties.is_empty() {
                        self.push(
                            location,
                            path,
                            "unknown fields are now rejected (additionalProperties: false)",
                        );
                    }
                }
            }
            Flow::Response => {
                for name in old_properties.keys() {
                    if !new_properties.contains_key(name) {
                        self.push(
                            location,
                            &join(path, name),
                            "response field removed: clients built for the previous version \
                             read it",
                        );
                    } else if old_required.contains(name) && !new_required.contains(name) {
                        self.push(
                            location,
                            &join(path, name),
                            "no longer required: clients built for the previous version expect \
                             it in every response",
                        );
                    }
                }
                if closed(old) {
                    for name in new_properties.keys() {
                        if !old_properties.contains_key(name) {
                            self.push(
                                location,
                                &join(path, name),
                                "added although the previous version declared \
                                 additionalProperties: false: its clients reject unknown fields",
                            );
                        }
                    }
                }
            }
        }
        for (name, old_property) in old_properties {
            if let Some(new_property) = new_properties.get(name) {
                self.schema(
                    flow,
                    location,
                    join(path, name),
                    old_property,
                    new_property,
                    visited,
                );
            }
        }
    }
}

/// The operation's parameters by (`in`, name): the path item's, overridden by the
/// operation's own.
fn parameters<'a>(
    doc: &'a Json,
    item: &'a Json,
    operation: &'a Json,
) -> BTreeMap<(String, String), &'a Json> {
    let mut parameters = BTreeMap::new();
    for source in [item, operation] {
        for parameter in source
            .get("parameters")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let parameter = resolve(doc, parameter);
            let place = parameter.get("in").and_then(Json::as_str).unwrap_or("?");
            let name = parameter.get("name").and_then(Json::as_str).unwrap_or("?");
            parameters.insert((place.to_owned(), name.to_owned()), parameter);
        }
    }
    parameters
}

/// The schema of a request body's or response's `application/json` content.
fn json_schema(body: &Json) -> Option<&Json> {
    body.get("content")?.get("application/json")?.get("schema")
}
