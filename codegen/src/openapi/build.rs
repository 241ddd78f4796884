//! From a loaded [`Spec`] to the [`ApiModule`] the template renders.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use openapiv3::{
    Components, Parameter, ParameterSchemaOrContent, ReferenceOr, RequestBody, Response,
    SecurityScheme, StatusCode,
};

use super::Spec;
use super::checks::{CheckContext, validator_name};
use super::names::{doc_lines, field_ident, literal, pascal_case, pointer, snake_case, unraw};
use super::shape::{Additional, Node, Shape, StringFormat};
use crate::Result;

/// Everything the template needs for one service's module.
#[derive(Template)]
#[template(path = "openapi/api.rs.askama", escape = "none")]
pub struct ApiModule {
    pub module_docs: Vec<String>,
    pub imports: Vec<String>,
    pub models: Vec<Model>,
    pub validators: Vec<ValidatorFn>,
    pub operations: Vec<Operation>,
    pub routes: Vec<Route>,
    pub trait_name: String,
    pub title: String,
}

/// A struct or a string enum.
pub struct Model {
    pub docs: Vec<String>,
    pub name: String,
    pub derives: String,
    /// Extra `#[serde(...)]` on the type.
    pub serde: String,
    pub fields: Vec<Field>,
    /// Non-empty for enums.
    pub variants: Vec<Variant>,
}

impl Model {
    pub fn is_enum(&self) -> bool {
        !self.variants.is_empty()
    }
}

pub struct Field {
    pub docs: Vec<String>,
    pub serde: String,
    pub ident: String,
    pub ty: String,
}

pub struct Variant {
    pub name: String,
    pub value: String,
    pub serde: String,
}

pub struct ValidatorFn {
    pub schema: String,
    pub name: String,
    pub body: String,
}

pub struct Operation {
    pub fn_name: String,
    pub docs: Vec<String>,
    pub method: String,
    pub path: String,
    pub authenticated: bool,
    pub params_type: String,
    pub param_declarations: String,
    pub param_checks: String,
    pub body_type: String,
    pub body_required: bool,
    pub body_check: String,
    pub response_enum: String,
    pub responses: Vec<ResponseVariant>,
    pub client_args: String,
    pub client_path: String,
    pub client_query: Vec<String>,
}

impl Operation {
    pub fn validates(&self) -> bool {
        !self.params_type.is_empty() || !self.body_type.is_empty()
    }

    pub fn handler_args(&self) -> String {
        let mut args = String::from("context: RequestContext");
        if !self.params_type.is_empty() {
            args.push_str(&format!(", params: {}", self.params_type));
        }
        if !self.body_type.is_empty() {
            args.push_str(&format!(", body: {}", self.body_type));
        }
        args
    }

    pub fn handler_call(&self) -> String {
        let mut args = String::from("request.context");
        if !self.params_type.is_empty() {
            args.push_str(", decode_params(params)?");
        }
        if !self.body_type.is_empty() {
            args.push_str(if self.body_required {
                ", decode_body(body)?"
            } else {
                ", decode_optional_body(body)?"
            });
        }
        args
    }
}

pub struct ResponseVariant {
    pub docs: Vec<String>,
    pub variant: String,
    pub status: String,
    /// Empty when the response has no body.
    pub body_type: String,
}

pub struct Route {
    pub path: String,
    pub methods: String,
}

/// Status codes the generator names, with the `http::StatusCode` constant and variant name.
const STATUSES: &[(u16, &str)] = &[
    (200, "OK"),
    (201, "CREATED"),
    (202, "ACCEPTED"),
    (203, "NON_AUTHORITATIVE_INFORMATION"),
    (204, "NO_CONTENT"),
    (205, "RESET_CONTENT"),
    (206, "PARTIAL_CONTENT"),
    (400, "BAD_REQUEST"),
    (401, "UNAUTHORIZED"),
    (403, "FORBIDDEN"),
    (404, "NOT_FOUND"),
    (405, "METHOD_NOT_ALLOWED"),
    (406, "NOT_ACCEPTABLE"),
    (409, "CONFLICT"),
    (410, "GONE"),
    (412, "PRECONDITION_FAILED"),
    (413, "PAYLOAD_TOO_LARGE"),
    (415, "UNSUPPORTED_MEDIA_TYPE"),
    (422, "UNPROCESSABLE_ENTITY"),
    (429, "TOO_MANY_REQUESTS"),
    (500, "INTERNAL_SERVER_ERROR"),
    (501, "NOT_IMPLEMENTED"),
    (502, "BAD_GATEWAY"),
    (503, "SERVICE_UNAVAILABLE"),
    (504, "GATEWAY_TIMEOUT"),
];

const JSON: &str = "application/json";
const PROBLEM_JSON: &str = "application/problem+json";

/// Names the generated module defines or imports besides models.
const RESERVED: &[&str] = &[
    "Client",
    "Router",
    "Request",
    "Response",
    "State",
    "StatusCode",
    "Json",
    "Method",
    "Arc",
    "Value",
    "Validator",
    "Param",
    "ParamKind",
    "RequestContext",
    "ApiError",
    "Authenticator",
    "ClientError",
    "HttpClient",
    "RouterState",
    "IncomingRequest",
    "Rejection",
    "Serialize",
    "Deserialize",
    "IntoResponse",
    "BTreeMap",
    "Uuid",
    "DateTime",
    "Utc",
    "NaiveDate",
    "StringRules",
    "IntegerRules",
    "NumberRules",
    "ArrayRules",
    "StringFormat",
];

struct Builder<'s> {
    spec: &'s Spec,
    imports: BTreeSet<String>,
    models: Vec<Model>,
    /// Rust type of each component schema (its own struct or enum, or its `x-rust-type`).
    component_types: BTreeMap<String, String>,
    components: BTreeMap<String, Node>,
    /// Components whose optional nullable properties are double options (PATCH bodies).
    patch_components: BTreeSet<String>,
    type_names: BTreeMap<String, String>,
    checks: CheckContext,
}

pub fn build(spec: &Spec, service: &str) -> Result<ApiModule> {
    if !spec.doc.openapi.starts_with("3.0.") {
        return Err(spec.unsupported(
            "/openapi",
            format!("OpenAPI version {} (supported: 3.0.x)", spec.doc.openapi),
        ));
    }
    let mut builder = Builder {
        spec,
        imports: BTreeSet::new(),
        models: Vec::new(),
        component_types: BTreeMap::new(),
        components: BTreeMap::new(),
        patch_components: BTreeSet::new(),
        type_names: BTreeMap::new(),
        checks: CheckContext::default(),
    };
    builder.check_document()?;
    let basic_schemes = builder.security_schemes()?;
    builder.read_components()?;
    builder.find_patch_components()?;
    builder.component_models()?;
    let operations = builder.operations(&basic_schemes)?;
    let validators = builder.validators()?;
    let routes = routes(&operations);

    let title = spec.doc.info.title.clone();
    let mut module_docs = vec![
        format!("//! {title}: models, validation, handler trait, axum router and typed client,"),
        format!("//! generated from `contracts/api/{service}.yaml`."),
    ];
    if let Some(description) = &spec.doc.info.description {
        module_docs.push("//!".into());
        module_docs.extend(
            doc_lines(Some(description))
                .into_iter()
                .map(|line| line.replacen("///", "//!", 1)),
        );
    }
    let mut imports = builder.imports;
    imports.extend(builder.checks.imports);
    for op in &operations {
        if op.validates() {
            imports.insert("contract_runtime::validate::Validator".into());
        }
        if !op.params_type.is_empty() {
            imports.insert("contract_runtime::server::{Param, ParamKind, decode_params}".into());
        }
        if !op.body_type.is_empty() {
            imports.insert(if op.body_required {
                "contract_runtime::server::decode_body".into()
            } else {
                "contract_runtime::server::decode_optional_body".into()
            });
        }
        if op.responses.iter().any(|r| !r.body_type.is_empty()) {
            imports.insert("axum::Json".into());
        }
        if op.client_path.contains("path_segment") {
            imports.insert("contract_runtime::client::path_segment".into());
        }
    }
    if !validators.is_empty() {
        imports.insert("serde_json::Value".into());
        imports.insert("contract_runtime::validate::Validator".into());
    }
    for import in [
        "std::sync::Arc",
        "axum::Router",
        "axum::extract::{Request, State}",
        "axum::http::{Method, StatusCode}",
        "axum::response::{IntoResponse, Response}",
        "contract_runtime::client::HttpClient",
        "contract_runtime::server::{IncomingRequest, Rejection, RouterState, method_not_allowed, not_found}",
        "contract_runtime::{ApiError, Authenticator, ClientError, RequestContext}",
    ] {
        imports.insert(import.to_string());
    }
    if builder
        .models
        .iter()
        .any(|m| m.derives.contains("Serialize"))
    {
        imports.insert("serde::{Deserialize, Serialize}".into());
    }
    Ok(ApiModule {
        module_docs,
        imports: imports.into_iter().collect(),
        models: builder.models,
        validators,
        operations,
        routes,
        trait_name: format!("{}Api", pascal_case(service)),
        title,
    })
}

fn routes(operations: &[Operation]) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    for op in operations {
        let method = format!("{}(handle_{}::<H>)", op.method.to_lowercase(), op.fn_name);
        match routes.iter_mut().find(|route| route.path == op.path) {
            Some(route) => route.methods.push_str(&format!(".{method}")),
            None => routes.push(Route {
                path: op.path.clone(),
                methods: method,
            }),
        }
    }
    routes
}

impl<'s> Builder<'s> {
    /// Top-level constructs the generator does not implement.
    fn check_document(&self) -> Result<()> {
        let Some(serde_yaml::Value::Mapping(root)) = self.spec.raw_at("") else {
            return Err(self.spec.invalid("", "the document must be a mapping"));
        };
        for key in self.spec.keys(root, "")? {
            if key == "webhooks" {
                return Err(self.spec.unsupported("/webhooks", "`webhooks`"));
            }
        }
        Ok(())
    }

    /// Names of the `http` `basic` security schemes; any other scheme is unsupported.
    fn security_schemes(&self) -> Result<BTreeSet<String>> {
        let mut basic = BTreeSet::new();
        let Some(components) = &self.spec.doc.components else {
            return Ok(basic);
        };
        for (name, scheme) in &components.security_schemes {
            let at = pointer(["components", "securitySchemes", name]);
            match scheme {
                ReferenceOr::Item(SecurityScheme::HTTP { scheme, .. })
                    if scheme.eq_ignore_ascii_case("basic") =>
                {
                    basic.insert(name.clone());
                }
                _ => {
                    return Err(self.spec.unsupported(
                        &at,
                        "security scheme other than `type: http, scheme: basic`",
                    ));
                }
            }
        }
        Ok(basic)
    }

    fn read_components(&mut self) -> Result<()> {
        let Some(serde_yaml::Value::Mapping(schemas)) =
            self.spec.raw_at("/components/schemas").cloned()
        else {
            return Ok(());
        };
        for (name, schema) in &schemas {
            let Some(name) = name.as_str() else {
                return Err(self
                    .spec
                    .invalid("/components/schemas", "names must be strings"));
            };
            let at = pointer(["components", "schemas", name]);
            let node = self.spec.node(schema, &at, true)?;
            let rust_type = match schema.get("x-rust-type") {
                None => {
                    let type_name = pascal_case(name);
                    if type_name != name {
                        return Err(self.spec.unsupported(
                            &at,
                            format!("schema name `{name}`: use PascalCase (`{type_name}`)"),
                        ));
                    }
                    self.claim(&type_name, &at)?;
                    type_name
                }
                Some(serde_yaml::Value::String(path)) => path.clone(),
                Some(_) => {
                    return Err(self
                        .spec
                        .invalid(&format!("{at}/x-rust-type"), "must be a Rust path"));
                }
            };
            if node.nullable {
                return Err(self.spec.unsupported(
                    &format!("{at}/nullable"),
                    "`nullable` on a component schema (make the property that uses it nullable)",
                ));
            }
            self.component_types.insert(name.to_string(), rust_type);
            self.components.insert(name.to_string(), node);
        }
        Ok(())
    }

    /// A model name must be unique within the module.
    fn claim(&mut self, name: &str, at: &str) -> Result<()> {
        if RESERVED.contains(&name) {
            return Err(self.spec.unsupported(
                at,
                format!("the name `{name}` collides with a name the generated module uses"),
            ));
        }
        if let Some(previous) = self.type_names.insert(name.to_string(), at.to_string()) {
            return Err(self.spec.invalid(
                at,
                format!("the type name `{name}` is already taken by {previous}"),
            ));
        }
        Ok(())
    }

    /// Components used (directly) as PATCH request bodies.
    fn find_patch_components(&mut self) -> Result<()> {
        let spec: &'s Spec = self.spec;
        for (path, item) in &spec.doc.paths.paths {
            let ReferenceOr::Item(item) = item else {
                continue;
            };
            let Some(operation) = &item.patch else {
                continue;
            };
            let Some(body) = &operation.request_body else {
                continue;
            };
            let at = pointer(["paths", path, "patch", "requestBody"]);
            let (body, at) = self.resolve_body(body, &at)?;
            if let Some(media) = body.content.get(JSON)
                && let Some(ReferenceOr::Reference { reference }) = &media.schema
            {
                let name = self.spec.component_ref(
                    &serde_yaml::Value::String(reference.clone()),
                    &format!("{at}/content/application~1json/schema/$ref"),
                )?;
                self.patch_components.insert(name);
            }
        }
        Ok(())
    }

    fn component_models(&mut self) -> Result<()> {
        let components: Vec<(String, Node)> = self
            .components
            .iter()
            .map(|(name, node)| (name.clone(), node.clone()))
            .collect();
        // Spec order, not name order, so models read like the contract.
        let order = match self.spec.raw_at("/components/schemas") {
            Some(serde_yaml::Value::Mapping(schemas)) => schemas
                .keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        for name in order {
            let Some((_, node)) = components.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            if self.component_types.get(&name) != Some(&name) {
                continue; // `x-rust-type`: the type exists elsewhere.
            }
            let patch = self.patch_components.contains(&name);
            self.model(&name, node, patch)?;
        }
        Ok(())
    }

    /// Defines a struct or enum named `name` for `node`.
    fn model(&mut self, name: &str, node: &Node, patch: bool) -> Result<()> {
        let docs = doc_lines(node.description.as_deref());
        match &node.shape {
            Shape::Object(object) if !matches!(object.additional, Additional::Schema(_)) => {
                // Inline types of the fields are defined while the fields are read; the
                // struct goes before them.
                let position = self.models.len();
                let mut fields = Vec::new();
                let mut idents = BTreeSet::new();
                for (property, property_node) in &object.properties {
                    let at = &property_node.pointer;
                    let ident = field_ident(property);
                    if !idents.insert(ident.clone()) {
                        return Err(self
                            .spec
                            .invalid(at, format!("two properties become the field `{ident}`")));
                    }
                    let required = object.required.contains(property);
                    let hint = format!("{name}{}", pascal_case(property));
                    let inner = self.rust_type(property_node, &hint, false)?;
                    let digit_string =
                        matches!(&property_node.shape, Shape::Integer(i) if i.digit_string);
                    let mut serde = Vec::new();
                    if unraw(&ident) != property {
                        serde.push(format!("rename = {}", literal(property)));
                    }
                    let ty = match (required, property_node.nullable) {
                        (true, false) => {
                            if digit_string {
                                serde.push(
                                    "deserialize_with = \"contract_runtime::digit_string::deserialize\""
                                        .into(),
                                );
                            }
                            inner
                        }
                        (true, true) => {
                            if digit_string {
                                serde.push("default".into());
                                serde.push("deserialize_with = \"contract_runtime::digit_string::deserialize_option\"".into());
                            }
                            format!("Option<{inner}>")
                        }
                        (false, nullable) => {
                            serde.push("default".into());
                            serde.push("skip_serializing_if = \"Option::is_none\"".into());
                            if nullable && patch {
                                if digit_string {
                                    return Err(self.spec.unsupported(
                                        at,
                                        "`x-accept-digit-string` on an optional nullable property of a PATCH body",
                                    ));
                                }
                                serde.push("with = \"contract_runtime::double_option\"".into());
                                format!("Option<Option<{inner}>>")
                            } else {
                                if digit_string {
                                    serde.push("deserialize_with = \"contract_runtime::digit_string::deserialize_option\"".into());
                                }
                                format!("Option<{inner}>")
                            }
                        }
                    };
                    let mut field_docs = doc_lines(property_node.description.as_deref());
                    if digit_string {
                        if !field_docs.is_empty() {
                            field_docs.push("///".into());
                        }
                        field_docs.push(
                            "/// Also accepted as a JSON string of digits (`x-accept-digit-string`)."
                                .into(),
                        );
                    }
                    if ty.contains("Option<Option<") {
                        if !field_docs.is_empty() {
                            field_docs.push("///".into());
                        }
                        field_docs
                            .push("/// `None`: leave unchanged; `Some(None)`: set to null.".into());
                    }
                    fields.push(Field {
                        docs: field_docs,
                        serde: serde.join(", "),
                        ident,
                        ty,
                    });
                }
                let all_optional = fields.iter().all(|f| f.ty.starts_with("Option<"));
                let derives = if all_optional {
                    "Debug, Clone, Default, PartialEq, Serialize, Deserialize"
                } else {
                    "Debug, Clone, PartialEq, Serialize, Deserialize"
                };
                let serde = if matches!(object.additional, Additional::Forbidden) {
                    "deny_unknown_fields".to_string()
                } else {
                    String::new()
                };
                self.models.insert(
                    position,
                    Model {
                        docs,
                        name: name.to_string(),
                        derives: derives.to_string(),
                        serde,
                        fields,
                        variants: Vec::new(),
                    },
                );
            }
            Shape::String(string) if !string.values.is_empty() => {
                let mut variants = Vec::new();
                let mut seen = BTreeSet::new();
                for value in &string.values {
                    let variant = pascal_case(value);
                    if variant.is_empty() || !seen.insert(variant.clone()) {
                        return Err(self.spec.unsupported(
                            &format!("{}/enum", node.pointer),
                            format!(
                                "enum value `{value}` does not give a distinct Rust variant name"
                            ),
                        ));
                    }
                    let serde = if variant == *value {
                        String::new()
                    } else {
                        format!("rename = {}", literal(value))
                    };
                    variants.push(Variant {
                        name: variant,
                        value: literal(value),
                        serde,
                    });
                }
                self.models.push(Model {
                    docs,
                    name: name.to_string(),
                    derives: "Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize"
                        .to_string(),
                    serde: String::new(),
                    fields: Vec::new(),
                    variants,
                });
            }
            _ => {
                return Err(self.spec.unsupported(
                    &node.pointer,
                    "a component schema must be an object with `properties` or a string `enum` (or carry `x-rust-type`)",
                ));
            }
        }
        Ok(())
    }

    /// The Rust type of a schema, defining a model named `hint` for an inline object or enum.
    /// Nullability is left to the caller when `with_null` is false.
    fn rust_type(&mut self, node: &Node, hint: &str, with_null: bool) -> Result<String> {
        let ty = match &node.shape {
            Shape::Ref(name) => self.component_types[name].clone(),
            Shape::String(string) if !string.values.is_empty() => {
                self.claim(hint, &node.pointer)?;
                let mut inline = node.clone();
                inline.nullable = false;
                self.model(hint, &inline, false)?;
                hint.to_string()
            }
            Shape::String(string) => match string.format {
                Some(StringFormat::Uuid) => self.uses("uuid::Uuid", "Uuid"),
                Some(StringFormat::DateTime) => {
                    self.imports.insert("chrono::Utc".into());
                    self.uses("chrono::DateTime", "DateTime<Utc>")
                }
                Some(StringFormat::Date) => self.uses("chrono::NaiveDate", "NaiveDate"),
                None => "String".to_string(),
            },
            Shape::Integer(integer) if integer.int32 => "i32".to_string(),
            Shape::Integer(_) => "i64".to_string(),
            Shape::Number(_) => "f64".to_string(),
            Shape::Boolean => "bool".to_string(),
            Shape::Any => self.uses("serde_json::Value", "Value"),
            Shape::Array(array) => {
                self.reject_digit_string(&array.items)?;
                let item = self.rust_type(&array.items, &format!("{hint}Item"), true)?;
                format!("Vec<{item}>")
            }
            Shape::Object(object) => match &object.additional {
                Additional::Schema(values) => {
                    self.reject_digit_string(values)?;
                    let value = self.rust_type(values, &format!("{hint}Value"), true)?;
                    self.imports.insert("std::collections::BTreeMap".into());
                    format!("BTreeMap<String, {value}>")
                }
                _ if object.properties.is_empty() => {
                    self.imports.insert("std::collections::BTreeMap".into());
                    let value = self.uses("serde_json::Value", "Value");
                    format!("BTreeMap<String, {value}>")
                }
                _ => {
                    self.claim(hint, &node.pointer)?;
                    let mut inline = node.clone();
                    inline.nullable = false;
                    self.model(hint, &inline, false)?;
                    hint.to_string()
                }
            },
        };
        Ok(if with_null && node.nullable {
            format!("Option<{ty}>")
        } else {
            ty
        })
    }

    fn uses(&mut self, import: &str, ty: &str) -> String {
        self.imports.insert(import.to_string());
        ty.to_string()
    }

    fn reject_digit_string(&self, node: &Node) -> Result<()> {
        if matches!(&node.shape, Shape::Integer(i) if i.digit_string) {
            return Err(self.spec.unsupported(
                &format!("{}/x-accept-digit-string", node.pointer),
                "`x-accept-digit-string` outside an object property",
            ));
        }
        Ok(())
    }

    fn resolve_body(
        &self,
        body: &'s ReferenceOr<RequestBody>,
        at: &str,
    ) -> Result<(&'s RequestBody, String)> {
        self.resolve_component(body, at, "requestBodies", "request body", |c, name| {
            c.request_bodies.get(name)
        })
    }

    fn resolve_parameter(
        &self,
        parameter: &'s ReferenceOr<Parameter>,
        at: &str,
    ) -> Result<(&'s Parameter, String)> {
        self.resolve_component(parameter, at, "parameters", "parameter", |c, name| {
            c.parameters.get(name)
        })
    }

    fn resolve_response(
        &self,
        response: &'s ReferenceOr<Response>,
        at: &str,
    ) -> Result<(&'s Response, String)> {
        self.resolve_component(response, at, "responses", "response", |c, name| {
            c.responses.get(name)
        })
    }

    /// An inline item, or the item a `$ref` names in `#/components/<section>/`, with the JSON
    /// pointer where it is written.
    fn resolve_component<T>(
        &self,
        item: &'s ReferenceOr<T>,
        at: &str,
        section: &str,
        what: &str,
        lookup: impl Fn(&'s Components, &str) -> Option<&'s ReferenceOr<T>>,
    ) -> Result<(&'s T, String)> {
        let spec: &'s Spec = self.spec;
        let reference = match item {
            ReferenceOr::Item(item) => return Ok((item, at.to_string())),
            ReferenceOr::Reference { reference } => reference,
        };
        let prefix = format!("#/components/{section}/");
        let name = reference.strip_prefix(&prefix).ok_or_else(|| {
            self.spec.unsupported(
                &format!("{at}/$ref"),
                format!("`$ref: {reference}` (expected {prefix}<name>)"),
            )
        })?;
        match spec.doc.components.as_ref().and_then(|c| lookup(c, name)) {
            Some(ReferenceOr::Item(item)) => Ok((item, pointer(["components", section, name]))),
            _ => Err(self
                .spec
                .invalid(&format!("{at}/$ref"), format!("no such {what}"))),
        }
    }

    /// Keys of the raw mapping at `at` must be among `allowed`.
    fn only_keys(&self, at: &str, allowed: &[&str]) -> Result<()> {
        if let Some(serde_yaml::Value::Mapping(mapping)) = self.spec.raw_at(at) {
            for key in self.spec.keys(mapping, at)? {
                if !allowed.contains(&key) && !key.starts_with("x-") {
                    return Err(self.spec.unsupported(
                        &format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                        format!("`{key}`"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn operations(&mut self, basic_schemes: &BTreeSet<String>) -> Result<Vec<Operation>> {
        let mut operations = Vec::new();
        let mut route_shapes: BTreeMap<String, String> = BTreeMap::new();
        let spec: &'s Spec = self.spec;
        for (path, item) in &spec.doc.paths.paths {
            let path_at = pointer(["paths", path]);
            let ReferenceOr::Item(item) = item else {
                return Err(self
                    .spec
                    .unsupported(&format!("{path_at}/$ref"), "`$ref` path items"));
            };
            self.only_keys(
                &path_at,
                &[
                    "summary",
                    "description",
                    "servers",
                    "parameters",
                    "get",
                    "put",
                    "post",
                    "delete",
                    "options",
                    "head",
                    "patch",
                    "trace",
                ],
            )?;
            let templates =
                path_template(path).map_err(|what| self.spec.unsupported(&path_at, what))?;
            let shape = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "{}"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            if let Some(previous) = route_shapes.insert(shape, path.clone())
                && previous != *path
            {
                return Err(self.spec.unsupported(
                    &path_at,
                    format!("`{path}` and `{previous}` differ only in parameter names"),
                ));
            }
            for (method, operation) in item.iter() {
                let at = format!("{path_at}/{method}");
                let op = self.operation(
                    path,
                    method,
                    operation,
                    &item.parameters,
                    &templates,
                    &at,
                    basic_schemes,
                )?;
                operations.push(op);
            }
        }
        Ok(operations)
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        path: &str,
        method: &str,
        operation: &openapiv3::Operation,
        path_parameters: &[ReferenceOr<Parameter>],
        templates: &[String],
        at: &str,
        basic_schemes: &BTreeSet<String>,
    ) -> Result<Operation> {
        self.only_keys(
            at,
            &[
                "tags",
                "summary",
                "description",
                "externalDocs",
                "operationId",
                "parameters",
                "requestBody",
                "responses",
                "deprecated",
                "security",
                "servers",
            ],
        )?;
        let operation_id = operation.operation_id.as_deref().ok_or_else(|| {
            self.spec
                .invalid(at, "every operation needs an `operationId`")
        })?;
        let fn_name = snake_case(operation_id);
        if fn_name != operation_id {
            return Err(self.spec.unsupported(
                &format!("{at}/operationId"),
                format!("operationId `{operation_id}`: use snake_case (`{fn_name}`)"),
            ));
        }
        let type_prefix = pascal_case(operation_id);

        let authenticated = self.authenticated(operation, at, basic_schemes)?;

        // Parameters: the path item's, overridden by the operation's of the same name and place.
        let mut parameters: Vec<(Parameter, String)> = Vec::new();
        let path_level_at = pointer(["paths", path, "parameters"]);
        for (index, parameter) in path_parameters.iter().enumerate() {
            let (parameter, p_at) =
                self.resolve_parameter(parameter, &format!("{path_level_at}/{index}"))?;
            parameters.push((parameter.clone(), p_at));
        }
        for (index, parameter) in operation.parameters.iter().enumerate() {
            let (parameter, p_at) =
                self.resolve_parameter(parameter, &format!("{at}/parameters/{index}"))?;
            parameters.retain(|(p, _)| {
                !(p.parameter_data_ref().name == parameter.parameter_data_ref().name
                    && std::mem::discriminant(p) == std::mem::discriminant(parameter))
            });
            parameters.push((parameter.clone(), p_at));
        }

        let mut params_fields = Vec::new();
        let mut declarations = Vec::new();
        let mut param_checks = Vec::new();
        let mut client_args = Vec::new();
        let mut client_query = Vec::new();
        let mut path_args: BTreeMap<String, String> = BTreeMap::new();
        let mut idents = BTreeSet::new();
        for (parameter, p_at) in &parameters {
            let (location, data) = match parameter {
                Parameter::Path { parameter_data, .. } => ("path", parameter_data),
                Parameter::Query { parameter_data, .. } => ("query", parameter_data),
                Parameter::Header { .. } => {
                    return Err(self.spec.unsupported(p_at, "header parameters"));
                }
                Parameter::Cookie { .. } => {
                    return Err(self.spec.unsupported(p_at, "cookie parameters"));
                }
            };
            self.only_keys(
                p_at,
                &[
                    "name",
                    "in",
                    "description",
                    "required",
                    "deprecated",
                    "schema",
                    "example",
                    "examples",
                ],
            )?;
            let name = &data.name;
            if location == "path" && !templates.contains(name) {
                return Err(self
                    .spec
                    .invalid(p_at, format!("path parameter `{name}` is not in the path")));
            }
            if location == "path" && !data.required {
                return Err(self.spec.invalid(p_at, "path parameters must be required"));
            }
            let ParameterSchemaOrContent::Schema(_) = &data.format else {
                return Err(self
                    .spec
                    .unsupported(&format!("{p_at}/content"), "parameters with `content`"));
            };
            let schema_at = format!("{p_at}/schema");
            let raw = self
                .spec
                .raw_at(&schema_at)
                .ok_or_else(|| self.spec.invalid(&schema_at, "missing schema"))?
                .clone();
            let node = self.spec.node(&raw, &schema_at, false)?;
            let resolved = match &node.shape {
                Shape::Ref(component) => self.components[component].shape.clone(),
                shape => shape.clone(),
            };
            let kind = match resolved {
                Shape::String(_) => "String",
                Shape::Integer(ref integer) => {
                    if integer.digit_string {
                        return Err(self
                            .spec
                            .unsupported(&schema_at, "`x-accept-digit-string` on a parameter"));
                    }
                    "Integer"
                }
                Shape::Number(_) => "Number",
                Shape::Boolean => "Boolean",
                _ => {
                    return Err(self.spec.unsupported(
                        &schema_at,
                        "parameters that are not strings, integers, numbers or booleans",
                    ));
                }
            };
            if node.nullable {
                return Err(self
                    .spec
                    .unsupported(&format!("{schema_at}/nullable"), "nullable parameters"));
            }
            let ident = field_ident(name);
            if !idents.insert(ident.clone()) {
                return Err(self
                    .spec
                    .unsupported(p_at, format!("two parameters become the field `{ident}`")));
            }
            let inner =
                self.rust_type(&node, &format!("{type_prefix}{}", pascal_case(name)), false)?;
            let mut serde = Vec::new();
            if unraw(&ident) != name {
                serde.push(format!("rename = {}", literal(name)));
            }
            let ty = if data.required {
                inner.clone()
            } else {
                serde.push("default".into());
                serde.push("skip_serializing_if = \"Option::is_none\"".into());
                format!("Option<{inner}>")
            };
            params_fields.push(Field {
                docs: doc_lines(data.description.as_deref()),
                serde: serde.join(", "),
                ident: ident.clone(),
                ty,
            });
            let constructor = if location == "path" { "path" } else { "query" };
            declarations.push(format!(
                "Param::{constructor}({}, ParamKind::{kind})",
                literal(name)
            ));
            let value_at = literal(&format!(
                "/{location}/{}",
                name.replace('~', "~0").replace('/', "~1")
            ));
            self.checks.validator_arg = "&mut validator";
            let check = self.checks.check(&node, "value", &value_at);
            self.checks.validator_arg = "validator";
            let lookup = format!("params.pointer({value_at})");
            if data.required {
                param_checks.push(format!(
                    "match {lookup} {{\nSome(value) => {{\n{check}\n}}\nNone => validator.push({value_at}, \"is required\"),\n}}"
                ));
            } else if !check.is_empty() {
                param_checks.push(format!("if let Some(value) = {lookup} {{\n{check}\n}}"));
            }
            // Client arguments: strings by reference, everything else (Copy) by value.
            let by_ref = inner == "String";
            let arg_ty = match (by_ref, data.required) {
                (true, true) => "&str".to_string(),
                (true, false) => "Option<&str>".to_string(),
                (false, true) => inner.clone(),
                (false, false) => format!("Option<{inner}>"),
            };
            client_args.push(format!("{ident}: {arg_ty}"));
            if location == "path" {
                let expr = if by_ref {
                    format!("path_segment({ident})")
                } else {
                    format!("path_segment(&{ident})")
                };
                path_args.insert(name.clone(), expr);
            } else {
                let value = match (by_ref, data.required) {
                    (true, true) => format!("Some({ident})"),
                    (true, false) => ident.clone(),
                    (false, true) => format!("Some(&{ident})"),
                    (false, false) => format!("{ident}.as_ref()"),
                };
                client_query.push(format!(".query({}, {value})", literal(name)));
            }
        }
        for template in templates {
            if !path_args.contains_key(template) {
                return Err(self
                    .spec
                    .invalid(at, format!("path parameter `{template}` is not declared")));
            }
        }
        let client_path = if path_args.is_empty() {
            format!("{}.to_string()", literal(path))
        } else {
            let mut format_string = String::new();
            let mut args = Vec::new();
            for segment in path.split('/') {
                if !format_string.is_empty() || path.starts_with('/') {
                    format_string.push('/');
                }
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    format_string.push_str("{}");
                    args.push(path_args[name].clone());
                } else {
                    format_string.push_str(segment);
                }
            }
            let format_string = format_string
                .strip_prefix("//")
                .map(|s| format!("/{s}"))
                .unwrap_or(format_string);
            format!("format!({}, {})", literal(&format_string), args.join(", "))
        };

        let params_type = if params_fields.is_empty() {
            String::new()
        } else {
            let name = format!("{type_prefix}Params");
            self.claim(&name, at)?;
            let all_optional = params_fields.iter().all(|f| f.ty.starts_with("Option<"));
            self.models.push(Model {
                docs: vec![format!(
                    "/// Path and query parameters of `{operation_id}`."
                )],
                name: name.clone(),
                derives: if all_optional {
                    "Debug, Clone, Default, PartialEq, Serialize, Deserialize".into()
                } else {
                    "Debug, Clone, PartialEq, Serialize, Deserialize".into()
                },
                serde: String::new(),
                fields: params_fields,
                variants: Vec::new(),
            });
            name
        };

        // Request body.
        let (mut body_type, mut body_required, mut body_check) =
            (String::new(), false, String::new());
        if let Some(body) = &operation.request_body {
            let (body, body_at) = self.resolve_body(body, &format!("{at}/requestBody"))?;
            self.only_keys(&body_at, &["description", "content", "required"])?;
            for content_type in body.content.keys() {
                if content_type != JSON {
                    return Err(self.spec.unsupported(
                        &format!(
                            "{body_at}/content/{}",
                            content_type.replace('~', "~0").replace('/', "~1")
                        ),
                        format!(
                            "request body of type `{content_type}` (supported: application/json)"
                        ),
                    ));
                }
            }
            let media_at = format!("{body_at}/content/application~1json");
            if body.content.get(JSON).is_none() {
                return Err(self.spec.invalid(
                    &format!("{body_at}/content"),
                    "a request body needs application/json content",
                ));
            }
            self.only_keys(&media_at, &["schema", "example", "examples"])?;
            let schema_at = format!("{media_at}/schema");
            let raw = self
                .spec
                .raw_at(&schema_at)
                .ok_or_else(|| self.spec.invalid(&schema_at, "missing schema"))?
                .clone();
            let node = self.spec.node(&raw, &schema_at, false)?;
            self.reject_digit_string(&node)?;
            let ty = self.rust_type(&node, &format!("{type_prefix}Body"), true)?;
            body_required = body.required;
            body_type = if body_required {
                ty
            } else {
                format!("Option<{ty}>")
            };
            self.checks.validator_arg = "&mut validator";
            body_check = self.checks.check(&node, "body", "\"/body\"");
            self.checks.validator_arg = "validator";
        }

        // Responses.
        if operation.responses.default.is_some() {
            return Err(self
                .spec
                .unsupported(&format!("{at}/responses/default"), "`default` responses"));
        }
        let response_enum = format!("{type_prefix}Response");
        self.claim(&response_enum, at)?;
        let mut responses = Vec::new();
        for (status, response) in &operation.responses.responses {
            let status_at = format!("{at}/responses/{status}");
            let StatusCode::Code(code) = status else {
                return Err(self
                    .spec
                    .unsupported(&status_at, "status code ranges such as `2XX`"));
            };
            let (response, response_at) = self.resolve_response(response, &status_at)?;
            self.only_keys(&response_at, &["description", "headers", "content"])?;
            let Some((_, constant)) = STATUSES.iter().find(|(c, _)| c == code) else {
                return Err(self
                    .spec
                    .unsupported(&status_at, format!("status code {code}")));
            };
            if !response.links.is_empty() {
                return Err(self
                    .spec
                    .unsupported(&format!("{response_at}/links"), "response `links`"));
            }
            let success = (200..300).contains(code);
            let mut body_type = String::new();
            for (content_type, _) in &response.content {
                let content_at = format!(
                    "{response_at}/content/{}",
                    content_type.replace('~', "~0").replace('/', "~1")
                );
                match content_type.as_str() {
                    JSON => {
                        self.only_keys(&content_at, &["schema", "example", "examples"])?;
                        let schema_at = format!("{content_at}/schema");
                        let raw = self
                            .spec
                            .raw_at(&schema_at)
                            .ok_or_else(|| self.spec.invalid(&schema_at, "missing schema"))?
                            .clone();
                        let node = self.spec.node(&raw, &schema_at, false)?;
                        body_type = self.rust_type(
                            &node,
                            &format!("{type_prefix}{}Body", pascal_case(&constant.to_lowercase())),
                            true,
                        )?;
                    }
                    PROBLEM_JSON if !success => {}
                    other => {
                        return Err(self.spec.unsupported(
                            &content_at,
                            format!("response body of type `{other}` (supported: application/json; application/problem+json for errors)"),
                        ));
                    }
                }
            }
            for name in response.headers.keys() {
                if !(*code == 401 && name.eq_ignore_ascii_case("WWW-Authenticate")) {
                    return Err(self.spec.unsupported(
                        &format!("{response_at}/headers/{name}"),
                        "response headers (other than WWW-Authenticate on 401, which the runtime sets)",
                    ));
                }
            }
            // Success responses, and errors with a contract-specific JSON body (health's 503),
            // are the handler's to choose; problem responses come from `ApiError`.
            if success || !body_type.is_empty() {
                responses.push(ResponseVariant {
                    docs: doc_lines(Some(&response.description)),
                    variant: pascal_case(&constant.to_lowercase()),
                    status: constant.to_string(),
                    body_type,
                });
            }
        }
        if !operation
            .responses
            .responses
            .keys()
            .any(|s| matches!(s, StatusCode::Code(200..=299)))
        {
            return Err(self.spec.invalid(
                &format!("{at}/responses"),
                "an operation needs a 2xx response",
            ));
        }

        let mut docs = vec![format!("/// `{} {path}`", method.to_uppercase())];
        for text in [&operation.summary, &operation.description]
            .into_iter()
            .flatten()
        {
            docs.push("///".into());
            docs.extend(doc_lines(Some(text)));
        }
        if operation.deprecated {
            docs.push("///".into());
            docs.push("/// Deprecated.".into());
        }
        if !body_type.is_empty() {
            let arg = if body_required {
                format!("body: &{}", body_type)
            } else {
                format!("body: {}", body_type.replacen("Option<", "Option<&", 1))
            };
            client_args.push(arg);
        }
        Ok(Operation {
            fn_name,
            docs,
            method: method.to_uppercase(),
            path: path.to_string(),
            authenticated,
            params_type,
            param_declarations: declarations.join(", "),
            param_checks: param_checks.join("\n"),
            body_type,
            body_required,
            body_check,
            response_enum,
            responses,
            client_args: client_args.join(", "),
            client_path,
            client_query,
        })
    }

    /// Whether an operation requires HTTP basic authentication.
    fn authenticated(
        &self,
        operation: &openapiv3::Operation,
        at: &str,
        basic_schemes: &BTreeSet<String>,
    ) -> Result<bool> {
        let (requirements, requirements_at) = match &operation.security {
            Some(requirements) => (requirements, format!("{at}/security")),
            None => match &self.spec.doc.security {
                Some(requirements) => (requirements, "/security".to_string()),
                None => return Ok(false),
            },
        };
        match requirements.as_slice() {
            [] => Ok(false),
            [requirement] if requirement.len() == 1 => {
                let (name, scopes) = requirement.iter().next().ok_or_else(|| {
                    self.spec.invalid(&requirements_at, "empty security requirement")
                })?;
                if !basic_schemes.contains(name) {
                    return Err(self.spec.invalid(&format!("{requirements_at}/0"), format!("no basic security scheme `{name}`")));
                }
                if !scopes.is_empty() {
                    return Err(self.spec.unsupported(&format!("{requirements_at}/0"), "scopes on basic authentication"));
                }
                Ok(true)
            }
            _ => Err(self.spec.unsupported(
                &requirements_at,
                "security other than `[]` or a single basic scheme (alternatives, optional or combined schemes)",
            )),
        }
    }

    /// Validators of the components that request checks call, transitively.
    fn validators(&mut self) -> Result<Vec<ValidatorFn>> {
        let mut validators = Vec::new();
        let mut index = 0;
        while index < self.checks.called.len() {
            let name = self.checks.called[index].clone();
            index += 1;
            let node = self.components[&name].clone();
            let body = self.checks.function_body(&node);
            validators.push(ValidatorFn {
                schema: name.clone(),
                name: validator_name(&name),
                body,
            });
        }
        Ok(validators)
    }
}

/// The parameter names in a path template; each must fill a whole segment.
fn path_template(path: &str) -> std::result::Result<Vec<String>, String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with `/`"));
    }
    let mut names = Vec::new();
    for segment in path.split('/') {
        if segment.contains(['{', '}']) {
            let name = segment
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .filter(|name| !name.is_empty() && !name.contains(['{', '}']))
                .ok_or_else(|| {
                    format!("path segment `{segment}`: a parameter must be a whole segment")
                })?;
            names.push(name.to_string());
        }
    }
    Ok(names)
}
