//! From a loaded [`Spec`] to the [`ApiModule`] the template renders.
//!
//! Each component, operation, parameter and response is built on its own: a problem in one is
//! recorded in the spec (with its JSON pointer) and the others are still built, so that one run
//! reports every problem.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use openapiv3::{
    APIKeyLocation, Components, Parameter, ParameterSchemaOrContent, QueryStyle, ReferenceOr,
    RequestBody, Response, SecurityScheme, StatusCode,
};

use super::Spec;
use super::checks::{CheckContext, validator_name};
use super::names::{
    child, doc_lines, field_ident, literal, pascal_case, pointer, snake_case, unraw,
};
use super::one_way::{Direction, OneWay, strip_fn_name};
use super::shape::{Additional, Node, Shape, StringFormat};
use crate::Result;

/// Everything the template needs for one service's module.
#[derive(Template)]
#[template(path = "openapi/api.rs.askama", escape = "none")]
pub struct ApiModule {
    pub module_docs: Vec<String>,
    pub imports: Vec<String>,
    pub models: Vec<Model>,
    pub defaults: Vec<DefaultFn>,
    pub validators: Vec<ValidatorFn>,
    /// Functions removing `readOnly` / `writeOnly` properties from JSON values.
    pub one_way_fns: Vec<OneWayFn>,
    pub operations: Vec<Operation>,
    pub routes: Vec<Route>,
    pub trait_name: String,
    pub title: String,
    /// `SecurityScheme` literals of `SECURITY_SCHEMES`; empty when the spec has none.
    pub schemes: Vec<String>,
}

/// A struct, a string enum, a `oneOf`/`anyOf` enum or a type alias.
pub struct Model {
    pub docs: Vec<String>,
    pub name: String,
    pub derives: String,
    /// Extra `#[serde(...)]` on the type.
    pub serde: String,
    pub fields: Vec<Field>,
    /// Non-empty for string enums.
    pub variants: Vec<Variant>,
    /// Non-empty for `oneOf` / `anyOf` enums.
    pub alternatives: Vec<Alternative>,
    /// A hand-written `Deserialize` impl (discriminated unions).
    pub deserialize_impl: String,
    /// Non-empty for aliases: the aliased type.
    pub alias: String,
    /// A type without values (`not: {}`).
    pub never: bool,
}

impl Model {
    pub fn is_enum(&self) -> bool {
        !self.variants.is_empty()
    }
    pub fn is_union(&self) -> bool {
        !self.alternatives.is_empty()
    }
    pub fn is_alias(&self) -> bool {
        !self.alias.is_empty()
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

pub struct Alternative {
    pub docs: Vec<String>,
    pub name: String,
    pub ty: String,
}

/// A function giving a property's `default`.
pub struct DefaultFn {
    pub name: String,
    pub ty: String,
    pub expr: String,
}

pub struct ValidatorFn {
    pub schema: String,
    pub name: String,
    pub body: String,
}

/// A function removing the `readOnly` (from requests) or `writeOnly` (from responses)
/// properties of a schema from a JSON value.
pub struct OneWayFn {
    pub schema: String,
    pub keyword: &'static str,
    pub name: String,
    pub body: String,
}

pub struct Operation {
    /// Attributes of the client method (`#[allow(...)]`), each on its own line.
    pub client_attributes: String,
    pub fn_name: String,
    pub docs: Vec<String>,
    pub method: String,
    pub path: String,
    pub handler_args: String,
    /// The statements of the route handler.
    pub handler_body: String,
    pub response_enum: String,
    pub response_variants: Vec<String>,
    pub into_response_arms: Vec<String>,
    pub client_args: String,
    pub client_path: String,
    /// `.query(...)`, `.header(...)`, body and security calls of the client request.
    pub client_calls: Vec<String>,
    pub client_arms: Vec<String>,
}

pub struct Route {
    pub path: String,
    pub methods: String,
}

/// Status codes with their `http::StatusCode` constant.
const STATUSES: &[(u16, &str)] = &[
    (100, "CONTINUE"),
    (101, "SWITCHING_PROTOCOLS"),
    (102, "PROCESSING"),
    (200, "OK"),
    (201, "CREATED"),
    (202, "ACCEPTED"),
    (203, "NON_AUTHORITATIVE_INFORMATION"),
    (204, "NO_CONTENT"),
    (205, "RESET_CONTENT"),
    (206, "PARTIAL_CONTENT"),
    (207, "MULTI_STATUS"),
    (208, "ALREADY_REPORTED"),
    (226, "IM_USED"),
    (300, "MULTIPLE_CHOICES"),
    (301, "MOVED_PERMANENTLY"),
    (302, "FOUND"),
    (303, "SEE_OTHER"),
    (304, "NOT_MODIFIED"),
    (305, "USE_PROXY"),
    (307, "TEMPORARY_REDIRECT"),
    (308, "PERMANENT_REDIRECT"),
    (400, "BAD_REQUEST"),
    (401, "UNAUTHORIZED"),
    (402, "PAYMENT_REQUIRED"),
    (403, "FORBIDDEN"),
    (404, "NOT_FOUND"),
    (405, "METHOD_NOT_ALLOWED"),
    (406, "NOT_ACCEPTABLE"),
    (407, "PROXY_AUTHENTICATION_REQUIRED"),
    (408, "REQUEST_TIMEOUT"),
    (409, "CONFLICT"),
    (410, "GONE"),
    (411, "LENGTH_REQUIRED"),
    (412, "PRECONDITION_FAILED"),
    (413, "PAYLOAD_TOO_LARGE"),
    (414, "URI_TOO_LONG"),
    (415, "UNSUPPORTED_MEDIA_TYPE"),
    (416, "RANGE_NOT_SATISFIABLE"),
    (417, "EXPECTATION_FAILED"),
    (418, "IM_A_TEAPOT"),
    (421, "MISDIRECTED_REQUEST"),
    (422, "UNPROCESSABLE_ENTITY"),
    (423, "LOCKED"),
    (424, "FAILED_DEPENDENCY"),
    (426, "UPGRADE_REQUIRED"),
    (428, "PRECONDITION_REQUIRED"),
    (429, "TOO_MANY_REQUESTS"),
    (431, "REQUEST_HEADER_FIELDS_TOO_LARGE"),
    (451, "UNAVAILABLE_FOR_LEGAL_REASONS"),
    (500, "INTERNAL_SERVER_ERROR"),
    (501, "NOT_IMPLEMENTED"),
    (502, "BAD_GATEWAY"),
    (503, "SERVICE_UNAVAILABLE"),
    (504, "GATEWAY_TIMEOUT"),
    (505, "HTTP_VERSION_NOT_SUPPORTED"),
    (506, "VARIANT_ALSO_NEGOTIATES"),
    (507, "INSUFFICIENT_STORAGE"),
    (508, "LOOP_DETECTED"),
    (510, "NOT_EXTENDED"),
    (511, "NETWORK_AUTHENTICATION_REQUIRED"),
];

const JSON: &str = "application/json";
const PROBLEM_JSON: &str = "application/problem+json";
const FORM: &str = "application/x-www-form-urlencoded";
const OCTET_STREAM: &str = "application/octet-stream";
const TEXT: &str = "text/plain";

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
    "ArrayStyle",
    "RequestContext",
    "ApiError",
    "Authenticator",
    "Security",
    "SecurityScheme",
    "ClientError",
    "HttpClient",
    "RouterState",
    "IncomingRequest",
    "Rejection",
    "Serialize",
    "Deserialize",
    "IntoResponse",
    "BTreeMap",
    "Bytes",
    "Check",
    "Uuid",
    "DateTime",
    "Utc",
    "NaiveDate",
    "StringRules",
    "IntegerRules",
    "NumberRules",
    "ArrayRules",
    "StringFormat",
    "Option",
    "Result",
    "String",
    "Vec",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Self",
];

/// How a security scheme's credentials travel.
#[derive(Debug, Clone)]
enum SchemeKind {
    Basic,
    Bearer,
    ApiKey {
        location: &'static str,
        name: String,
    },
}

/// How a request body arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    /// JSON, and `application/x-www-form-urlencoded` when `form` is true (same schema).
    Json { form: bool },
    /// Only `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`: the parts, validated against the schema's properties.
    Multipart,
    /// Raw bytes (`application/octet-stream` and other binary types).
    Bytes,
    /// `text/plain`.
    Text,
}

struct Builder<'s> {
    spec: &'s Spec,
    imports: BTreeSet<String>,
    models: Vec<Model>,
    defaults: Vec<DefaultFn>,
    /// Rust type of each component schema (its own type, or its `x-rust-type`).
    component_types: BTreeMap<String, String>,
    components: BTreeMap<String, Node>,
    /// Components whose optional nullable properties are double options (PATCH bodies).
    patch_components: BTreeSet<String>,
    type_names: BTreeMap<String, String>,
    checks: CheckContext,
    one_way: OneWay,
    schemes: BTreeMap<String, SchemeKind>,
    /// Schemes already reported as unsupported, so their uses add no errors of their own.
    rejected_schemes: BTreeSet<String>,
}

pub fn build(spec: &Spec, service: &str) -> Result<ApiModule> {
    let version = &spec.doc.openapi;
    if !(version.starts_with("3.0.") || version.starts_with("3.1.")) {
        return Err(spec.unsupported(
            "/openapi",
            format!("OpenAPI version {version} (supported: 3.0.x, 3.1.x)"),
        ));
    }
    let mut builder = Builder {
        spec,
        imports: BTreeSet::new(),
        models: Vec::new(),
        defaults: Vec::new(),
        component_types: BTreeMap::new(),
        components: BTreeMap::new(),
        patch_components: BTreeSet::new(),
        type_names: BTreeMap::new(),
        checks: CheckContext::default(),
        one_way: OneWay::default(),
        schemes: BTreeMap::new(),
        rejected_schemes: BTreeSet::new(),
    };
    builder.check_document();
    builder.security_schemes();
    builder.read_components();
    builder.find_patch_components();
    builder.component_models();
    let operations = builder.operations();
    let validators = builder.validators();
    let one_way_fns = builder.one_way_fns();
    let routes = routes(&operations);

    let title = spec.doc.info.title.clone();
    let file_name = spec
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{service}.yaml"));
    let mut module_docs = vec![
        format!("//! {title}: models, validation, handler trait, axum router and typed client,"),
        format!("//! generated from `contracts/api/{file_name}`."),
    ];
    if let Some(description) = &spec.doc.info.description {
        module_docs.push("//!".into());
        module_docs.extend(
            doc_lines(Some(description))
                .into_iter()
                .map(|line| line.replacen("///", "//!", 1)),
        );
    }
    let schemes: Vec<String> = builder
        .schemes
        .iter()
        .map(|(name, kind)| {
            let kind = match kind {
                SchemeKind::Basic => "SchemeKind::Basic".to_string(),
                SchemeKind::Bearer => "SchemeKind::Bearer".to_string(),
                SchemeKind::ApiKey { location, name } => format!(
                    "SchemeKind::ApiKey {{ location: ApiKeyLocation::{location}, name: {} }}",
                    literal(name)
                ),
            };
            format!("SecurityScheme {{ name: {}, kind: {kind} }}", literal(name))
        })
        .collect();
    let mut imports = builder.imports;
    imports.extend(builder.checks.imports);
    if !validators.is_empty() || !one_way_fns.is_empty() {
        imports.insert("serde_json::Value".into());
        imports.insert("contract_runtime::validate::Validator".into());
    }
    if !schemes.is_empty() {
        imports.insert("contract_runtime::auth::{SchemeKind, SecurityScheme}".into());
    }
    if schemes.iter().any(|s| s.contains("ApiKeyLocation")) {
        imports.insert("contract_runtime::auth::ApiKeyLocation".into());
    }
    for import in [
        "std::sync::Arc",
        "axum::Router",
        "axum::extract::{Request, State}",
        "axum::http::{Method, StatusCode}",
        "axum::response::{IntoResponse, Response}",
        "contract_runtime::client::HttpClient",
        "contract_runtime::server::{IncomingRequest, Rejection, RouterState, method_not_allowed, not_found}",
        "contract_runtime::{ApiError, Authenticator, ClientError, RequestContext, Security}",
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
    // `Deserialize` is only imported for its derive; unions without it use a hand-written impl.
    Ok(ApiModule {
        module_docs,
        imports: imports.into_iter().collect(),
        models: builder.models,
        defaults: builder.defaults,
        validators,
        one_way_fns,
        operations,
        routes,
        trait_name: format!("{}Api", pascal_case(service)),
        title,
        schemes,
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

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl<'s> Builder<'s> {
    /// Top-level constructs the generator does not serve.
    fn check_document(&self) {
        if let Some(serde_yaml::Value::Mapping(root)) = self.spec.raw_at("")
            && root.contains_key("webhooks")
        {
            self.spec.warn(
                "/webhooks",
                "`webhooks` describe requests this service sends; nothing is generated for them",
            );
        }
    }

    /// The security schemes: HTTP basic, HTTP bearer (OAuth 2 and OpenID Connect tokens too)
    /// and API keys.
    fn security_schemes(&mut self) {
        let Some(components) = &self.spec.doc.components else {
            return;
        };
        for (name, scheme) in &components.security_schemes {
            let at = pointer(["components", "securitySchemes", name]);
            let kind = match scheme {
                ReferenceOr::Item(SecurityScheme::HTTP { scheme, .. })
                    if scheme.eq_ignore_ascii_case("basic") =>
                {
                    SchemeKind::Basic
                }
                ReferenceOr::Item(SecurityScheme::HTTP { scheme, .. })
                    if scheme.eq_ignore_ascii_case("bearer") =>
                {
                    SchemeKind::Bearer
                }
                ReferenceOr::Item(SecurityScheme::OAuth2 { .. })
                | ReferenceOr::Item(SecurityScheme::OpenIDConnect { .. }) => {
                    // The router checks the access token through the bearer hook; obtaining one
                    // (the flows) is the client's business.
                    SchemeKind::Bearer
                }
                ReferenceOr::Item(SecurityScheme::APIKey {
                    location,
                    name: key,
                    ..
                }) => SchemeKind::ApiKey {
                    location: match location {
                        APIKeyLocation::Header => "Header",
                        APIKeyLocation::Query => "Query",
                        APIKeyLocation::Cookie => "Cookie",
                    },
                    name: key.clone(),
                },
                ReferenceOr::Item(SecurityScheme::HTTP { scheme, .. }) => {
                    self.spec.report(
                        self.spec
                            .unsupported(
                                &format!("{at}/scheme"),
                                format!("HTTP authentication scheme `{scheme}`"),
                            )
                            .with_fix("use `basic` or `bearer`"),
                    );
                    self.rejected_schemes.insert(name.clone());
                    continue;
                }
                ReferenceOr::Reference { .. } => {
                    self.spec.report(
                        self.spec
                            .unsupported(&at, "a `$ref` security scheme")
                            .with_fix("define the scheme inline"),
                    );
                    self.rejected_schemes.insert(name.clone());
                    continue;
                }
            };
            self.schemes.insert(name.clone(), kind);
        }
    }

    fn read_components(&mut self) {
        let Some(serde_yaml::Value::Mapping(schemas)) =
            self.spec.raw_at("/components/schemas").cloned()
        else {
            return;
        };
        for (name, schema) in &schemas {
            let Some(name) = name.as_str() else {
                self.spec.report(
                    self.spec
                        .invalid("/components/schemas", "names must be strings"),
                );
                continue;
            };
            let at = pointer(["components", "schemas", name]);
            let Some(node) = self.spec.attempt(self.spec.node(schema, &at, true)) else {
                // Still known, so that references to it do not add errors of their own.
                self.component_types
                    .insert(name.to_string(), "serde_json::Value".into());
                continue;
            };
            let rust_type = match schema.get("x-rust-type") {
                Some(other @ serde_yaml::Value::Mapping(_)) if other.get("path").is_some() => {
                    self.spec.warn(
                        &format!("{at}/x-rust-type"),
                        "progenitor's `x-rust-type` (crate, version, path) is ignored: the type is generated",
                    );
                    match self.generated_type(name, &at) {
                        Some(type_name) => type_name,
                        None => continue,
                    }
                }
                None => match self.generated_type(name, &at) {
                    Some(type_name) => type_name,
                    None => continue,
                },
                Some(serde_yaml::Value::String(path)) => path.clone(),
                Some(_) => {
                    self.spec.report(
                        self.spec
                            .invalid(&format!("{at}/x-rust-type"), "must be a Rust path"),
                    );
                    continue;
                }
            };
            if node.nullable {
                self.spec.report(
                    self.spec
                        .unsupported(&at, "a nullable component schema")
                        .with_fix(
                            "make the properties and parameters that use it nullable instead",
                        ),
                );
                continue;
            }
            self.component_types.insert(name.to_string(), rust_type);
            self.components.insert(name.to_string(), node);
        }
    }

    /// The Rust name of the type generated for component `name` (claimed), or `None` after
    /// reporting why it cannot have one.
    fn generated_type(&mut self, name: &str, at: &str) -> Option<String> {
        let mut type_name = pascal_case(name);
        if RESERVED.contains(&type_name.as_str()) {
            let renamed = format!("{type_name}Model");
            self.spec.warn(
                at,
                format!("the type of schema `{name}` is named `{renamed}`: `{type_name}` is a name the generated module uses"),
            );
            type_name = renamed;
        }
        let claimed = self.claim(&type_name, at);
        self.spec.attempt(claimed).map(|()| type_name)
    }

    /// A model name must be unique within the module.
    fn claim(&mut self, name: &str, at: &str) -> Result<()> {
        if RESERVED.contains(&name) {
            return Err(self
                .spec
                .unsupported(
                    at,
                    format!("the name `{name}` collides with a name the generated module uses"),
                )
                .with_fix("rename the operation or schema"));
        }
        if let Some(previous) = self.type_names.insert(name.to_string(), at.to_string()) {
            return Err(self
                .spec
                .invalid(
                    at,
                    format!("the type name `{name}` is already taken by {previous}"),
                )
                .with_fix("rename one of them"));
        }
        Ok(())
    }

    /// Components used (directly) as PATCH request bodies.
    fn find_patch_components(&mut self) {
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
            let Ok((body, at)) = self.resolve_body(body, &at) else {
                continue;
            };
            if body.content.contains_key(JSON)
                && let Some(reference) = self
                    .spec
                    .raw_at(&format!("{at}/content/application~1json/schema/$ref"))
                && let Ok(name) = self.spec.component_ref(
                    reference,
                    &format!("{at}/content/application~1json/schema/$ref"),
                )
            {
                self.patch_components.insert(name);
            }
        }
    }

    fn component_models(&mut self) {
        // Spec order, not name order, so models read like the contract.
        let order = match self.spec.raw_at("/components/schemas") {
            Some(serde_yaml::Value::Mapping(schemas)) => schemas
                .keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        for name in order {
            let Some(node) = self.components.get(&name).cloned() else {
                continue;
            };
            let Some(type_name) = self.component_types.get(&name).cloned() else {
                continue;
            };
            if self
                .spec
                .raw_component(&name)
                .and_then(|s| s.get("x-rust-type"))
                .is_some_and(serde_yaml::Value::is_string)
            {
                continue; // `x-rust-type`: the type exists elsewhere.
            }
            let patch = self.patch_components.contains(&name);
            let result = self.model(&type_name, &node, patch);
            self.spec.attempt(result);
        }
    }

    /// Defines the type named `name` for `node`.
    fn model(&mut self, name: &str, node: &Node, patch: bool) -> Result<()> {
        let docs = doc_lines(node.description.as_deref());
        match &node.shape {
            Shape::Object(object)
                if !matches!(object.additional, Additional::Schema(_))
                    && !object.properties.is_empty() =>
            {
                // Inline types of the fields are defined while the fields are read; the
                // struct goes before them.
                let position = self.models.len();
                let mut fields = Vec::new();
                let mut idents = BTreeSet::new();
                for (property, property_node) in &object.properties {
                    let at = &property_node.pointer;
                    let ident = field_ident(property);
                    if !idents.insert(ident.clone()) {
                        self.spec.report(
                            self.spec
                                .invalid(at, format!("two properties become the field `{ident}`"))
                                .with_fix("rename one of them"),
                        );
                        continue;
                    }
                    let required = object.required.contains(property);
                    let field = self.field(name, property, property_node, required, patch, &ident);
                    if let Some(field) = self.spec.attempt(field) {
                        fields.push(field);
                    }
                }
                let all_optional = fields
                    .iter()
                    .all(|f| f.ty.starts_with("Option<") || f.serde.contains("default = "));
                let derives = if all_optional && fields.iter().all(|f| f.ty.starts_with("Option<"))
                {
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
                        alternatives: Vec::new(),
                        deserialize_impl: String::new(),
                        alias: String::new(),
                        never: false,
                    },
                );
            }
            Shape::String(string) if !string.values.is_empty() => {
                let mut variants = Vec::new();
                let mut seen = BTreeSet::new();
                for value in &string.values {
                    let variant = enum_variant(value);
                    if !seen.insert(variant.clone()) {
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
                    alternatives: Vec::new(),
                    deserialize_impl: String::new(),
                    alias: String::new(),
                    never: false,
                });
            }
            Shape::Union(union) => {
                let position = self.models.len();
                let mut alternatives = Vec::new();
                let mut seen = BTreeSet::new();
                for (index, alternative) in union.alternatives.iter().enumerate() {
                    // A `title` names an inline alternative best (`title: id` → `Id`).
                    let title = match &alternative.shape {
                        Shape::Ref(_) => None,
                        _ => self.title(&alternative.pointer),
                    };
                    let variant = match &alternative.shape {
                        _ if title.is_some() => pascal_case(title.as_deref().unwrap_or_default()),
                        Shape::Ref(component) => pascal_case(component),
                        Shape::String(s) if s.values.is_empty() => "String".to_string(),
                        Shape::Integer(_) => "Integer".to_string(),
                        Shape::Number(_) => "Number".to_string(),
                        Shape::Boolean => "Boolean".to_string(),
                        Shape::Array(_) => "Array".to_string(),
                        _ => match (self.title(&alternative.pointer), implicit_tag(union, index)) {
                            (Some(title), _) => pascal_case(&title),
                            (None, Some(tag)) => enum_variant(&tag),
                            (None, None) => format!("Variant{}", index + 1),
                        },
                    };
                    let variant = if seen.contains(&variant) {
                        format!("{variant}{}", index + 1)
                    } else {
                        variant
                    };
                    seen.insert(variant.clone());
                    let ty = self.rust_type(alternative, &format!("{name}{variant}"), true)?;
                    alternatives.push(Alternative {
                        docs: doc_lines(alternative.description.as_deref()),
                        name: variant,
                        ty,
                    });
                }
                let (derives, deserialize_impl) = match &union.discriminator {
                    Some(discriminator) => {
                        let mut arms = Vec::new();
                        for (tag, component) in &discriminator.mapping {
                            let variant = pascal_case(component);
                            arms.push(format!(
                                "Some({}) => contract_runtime::union::decode(value).map(Self::{variant}),",
                                literal(tag)
                            ));
                        }
                        let tags: Vec<String> = discriminator
                            .mapping
                            .iter()
                            .map(|(t, _)| t.clone())
                            .collect();
                        let expected = literal(&format!(
                            "`{}` to be one of {}",
                            discriminator.property,
                            tags.join(", ")
                        ));
                        let code = format!(
                            "impl<'de> Deserialize<'de> for {name} {{\n\
                             fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n\
                             let value = serde_json::Value::deserialize(deserializer)?;\n\
                             match contract_runtime::union::tag(&value, {}) {{\n{}\n\
                             _ => Err(serde::de::Error::custom(concat!(\"expected \", {expected}))),\n}}\n}}\n}}",
                            literal(&discriminator.property),
                            arms.join("\n")
                        );
                        ("Debug, Clone, PartialEq, Serialize", code)
                    }
                    None => (
                        "Debug, Clone, PartialEq, Serialize, Deserialize",
                        String::new(),
                    ),
                };
                let mut docs = docs;
                if !docs.is_empty() {
                    docs.push("///".into());
                }
                docs.push(match (&union.discriminator, union.exactly_one) {
                    (Some(d), _) => format!("/// One of the alternatives, chosen by `{}`.", d.property),
                    (None, true) => "/// Exactly one of the alternatives (`oneOf`).".to_string(),
                    (None, false) => "/// At least one of the alternatives (`anyOf`); decoded as the first that fits.".to_string(),
                });
                self.models.insert(
                    position,
                    Model {
                        docs,
                        name: name.to_string(),
                        derives: derives.to_string(),
                        serde: "untagged".to_string(),
                        fields: Vec::new(),
                        variants: Vec::new(),
                        alternatives,
                        deserialize_impl,
                        alias: String::new(),
                        never: false,
                    },
                );
            }
            Shape::Never => {
                self.models.push(Model {
                    docs,
                    name: name.to_string(),
                    derives: "Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize"
                        .to_string(),
                    serde: String::new(),
                    fields: Vec::new(),
                    variants: Vec::new(),
                    alternatives: Vec::new(),
                    deserialize_impl: String::new(),
                    alias: String::new(),
                    never: true,
                });
            }
            _ => {
                // Strings, numbers, arrays, maps, references: a named alias of the Rust type.
                let position = self.models.len();
                let alias = self.rust_type(node, &format!("{name}Item"), true)?;
                self.models.insert(
                    position,
                    Model {
                        docs,
                        name: name.to_string(),
                        derives: String::new(),
                        serde: String::new(),
                        fields: Vec::new(),
                        variants: Vec::new(),
                        alternatives: Vec::new(),
                        deserialize_impl: String::new(),
                        alias,
                        never: false,
                    },
                );
            }
        }
        Ok(())
    }

    fn title(&self, at: &str) -> Option<String> {
        self.spec
            .raw_at(&child(at, "title"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
    }

    /// The field of `property` in the struct `owner`.
    fn field(
        &mut self,
        owner: &str,
        property: &str,
        property_node: &Node,
        required: bool,
        patch: bool,
        ident: &str,
    ) -> Result<Field> {
        let at = &property_node.pointer;
        let hint = format!("{owner}{}", pascal_case(property));
        let inner = self.rust_type(property_node, &hint, false)?;
        let digit_string = matches!(&property_node.shape, Shape::Integer(i) if i.digit_string);
        let mut serde = Vec::new();
        if unraw(ident) != property {
            serde.push(format!("rename = {}", literal(property)));
        }
        // A required `readOnly` property is absent from requests, a `writeOnly` one from
        // responses: either way the field may be missing.
        let one_way = property_node.read_only || property_node.write_only;
        let required = required && !one_way;
        let default = if required || property_node.nullable {
            None
        } else {
            self.default_fn(property_node, &hint, &inner)
        };
        let ty = match (required, property_node.nullable) {
            (true, false) => {
                if digit_string {
                    serde.push(
                        "deserialize_with = \"contract_runtime::digit_string::deserialize\"".into(),
                    );
                }
                inner
            }
            (true, true) => {
                if digit_string {
                    serde.push("default".into());
                    serde.push(
                        "deserialize_with = \"contract_runtime::digit_string::deserialize_option\""
                            .into(),
                    );
                }
                format!("Option<{inner}>")
            }
            (false, _) if default.is_some() => {
                serde.push(format!(
                    "default = {}",
                    literal(default.as_deref().unwrap_or_default())
                ));
                if digit_string {
                    serde.push(
                        "deserialize_with = \"contract_runtime::digit_string::deserialize\"".into(),
                    );
                }
                inner
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
        let mut note = |text: &str| {
            if !field_docs.is_empty() {
                field_docs.push("///".into());
            }
            field_docs.push(format!("/// {text}"));
        };
        if digit_string {
            note("Also accepted as a JSON string of digits (`x-accept-digit-string`).");
        }
        if ty.contains("Option<Option<") {
            note("`None`: leave unchanged; `Some(None)`: set to null.");
        }
        if property_node.read_only {
            note("Read-only: sent by the service, ignored in requests.");
        }
        if property_node.write_only {
            note("Write-only: sent in requests, not returned.");
        }
        if default.is_some()
            && let Some(value) = &property_node.default
        {
            note(&format!("Defaults to `{value}` when absent."));
        }
        Ok(Field {
            docs: field_docs,
            serde: serde.join(", "),
            ident: ident.to_string(),
            ty,
        })
    }

    /// The path of a function returning the `default` of `node` as `ty`, if the generator can
    /// write it as a Rust expression (scalars and enum values); else a warning, and the field
    /// stays an `Option`.
    fn default_fn(&mut self, node: &Node, hint: &str, ty: &str) -> Option<String> {
        let value = node.default.as_ref()?;
        let shape = match &node.shape {
            Shape::Ref(name) => self.components.get(name).map(|n| n.shape.clone())?,
            shape => shape.clone(),
        };
        let expr = match (&shape, value) {
            (Shape::String(string), serde_json::Value::String(text))
                if !string.values.is_empty() =>
            {
                format!("{ty}::{}", enum_variant(text))
            }
            (Shape::String(string), serde_json::Value::String(text))
                if string.format.is_none()
                    || string.format == Some(StringFormat::Email)
                    || string.format == Some(StringFormat::Uri)
                    || string.format == Some(StringFormat::Hostname)
                    || string.format == Some(StringFormat::Byte) =>
            {
                format!("{}.to_string()", literal(text))
            }
            (Shape::Integer(_), serde_json::Value::Number(number))
                if number.is_i64() || number.is_u64() =>
            {
                number.to_string()
            }
            (Shape::Number(_), serde_json::Value::Number(number)) => {
                format!("{:?}", number.as_f64()?)
            }
            (Shape::Boolean, serde_json::Value::Bool(flag)) => flag.to_string(),
            _ => {
                self.spec.warn(
                    &child(&node.pointer, "default"),
                    "this `default` is not applied by the generated code (only string, number, boolean and enum defaults are); the field stays optional",
                );
                return None;
            }
        };
        let name = format!("default_{}", snake_case(hint));
        if !self.defaults.iter().any(|d| d.name == name) {
            self.defaults.push(DefaultFn {
                name: name.clone(),
                ty: ty.to_string(),
                expr,
            });
        }
        Some(name)
    }

    /// The Rust type of a schema, defining a model named `hint` for an inline object or enum.
    /// Nullability is left to the caller when `with_null` is false.
    fn rust_type(&mut self, node: &Node, hint: &str, with_null: bool) -> Result<String> {
        let ty = match &node.shape {
            Shape::Ref(name) => self
                .component_types
                .get(name)
                .cloned()
                .unwrap_or_else(|| "serde_json::Value".to_string()),
            Shape::String(string) if !string.values.is_empty() => self.inline_model(node, hint)?,
            Shape::Union(_) | Shape::Never => self.inline_model(node, hint)?,
            Shape::String(string) => match string.format {
                Some(StringFormat::Uuid) => self.uses("uuid::Uuid", "Uuid"),
                Some(StringFormat::DateTime) => {
                    self.imports.insert("chrono::Utc".into());
                    self.uses("chrono::DateTime", "DateTime<Utc>")
                }
                Some(StringFormat::Date) => self.uses("chrono::NaiveDate", "NaiveDate"),
                Some(StringFormat::Ipv4) => "std::net::Ipv4Addr".to_string(),
                Some(StringFormat::Ipv6) => "std::net::Ipv6Addr".to_string(),
                _ => "String".to_string(),
            },
            Shape::Integer(integer) => integer.format.rust_type().to_string(),
            Shape::Number(_) => "f64".to_string(),
            Shape::Boolean => "bool".to_string(),
            Shape::Null => "()".to_string(),
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
                _ => self.inline_model(node, hint)?,
            },
        };
        Ok(if with_null && node.nullable && ty != "()" {
            format!("Option<{ty}>")
        } else {
            ty
        })
    }

    fn inline_model(&mut self, node: &Node, hint: &str) -> Result<String> {
        self.claim(hint, &node.pointer)?;
        let mut inline = node.clone();
        inline.nullable = false;
        self.model(hint, &inline, false)?;
        Ok(hint.to_string())
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

    /// Keys of the raw mapping at `at` must be among `allowed` (or extensions).
    fn only_keys(&self, at: &str, allowed: &[&str]) -> Result<()> {
        if let Some(serde_yaml::Value::Mapping(mapping)) = self.spec.raw_at(at) {
            for key in self.spec.keys(mapping, at)? {
                if !allowed.contains(&key) && !key.starts_with("x-") {
                    return Err(self
                        .spec
                        .unsupported(&format!("{at}/{}", escape(key)), format!("`{key}`")));
                }
            }
        }
        Ok(())
    }

    fn operations(&mut self) -> Vec<Operation> {
        let mut operations = Vec::new();
        let mut route_shapes: BTreeMap<String, String> = BTreeMap::new();
        let mut fn_names: BTreeMap<String, String> = BTreeMap::new();
        let spec: &'s Spec = self.spec;
        for (path, item) in &spec.doc.paths.paths {
            let path_at = pointer(["paths", path]);
            let ReferenceOr::Item(item) = item else {
                self.spec.report(
                    self.spec
                        .unsupported(&format!("{path_at}/$ref"), "`$ref` path items")
                        .with_fix("write the path item inline"),
                );
                continue;
            };
            let checked = self.only_keys(
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
            );
            if self.spec.attempt(checked).is_none() {
                continue;
            }
            let templates = match path_template(path) {
                Ok(templates) => templates,
                Err(what) => {
                    self.spec.report(self.spec.unsupported(&path_at, what));
                    continue;
                }
            };
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
                self.spec.report(
                    self.spec
                        .unsupported(
                            &path_at,
                            format!("`{path}` and `{previous}` differ only in parameter names"),
                        )
                        .with_fix("use the same parameter names in both paths"),
                );
                continue;
            }
            for (method, operation) in item.iter() {
                let at = format!("{path_at}/{method}");
                let result =
                    self.operation(path, method, operation, &item.parameters, &templates, &at);
                if let Some(op) = self.spec.attempt(result) {
                    if let Some(previous) = fn_names.insert(op.fn_name.clone(), at.clone()) {
                        self.spec.report(
                            self.spec
                                .invalid(
                                    &at,
                                    format!(
                                        "the operation name `{}` is already taken by {previous}",
                                        op.fn_name
                                    ),
                                )
                                .with_fix("give the operations distinct `operationId`s"),
                        );
                        continue;
                    }
                    operations.push(op);
                }
            }
        }
        operations
    }

    fn operation(
        &mut self,
        path: &str,
        method: &str,
        operation: &'s openapiv3::Operation,
        path_parameters: &'s [ReferenceOr<Parameter>],
        templates: &[String],
        at: &str,
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
                "callbacks",
            ],
        )?;
        if operation.callbacks.values().next().is_some()
            || self.spec.raw_at(&child(at, "callbacks")).is_some()
        {
            self.spec.warn(
                &child(at, "callbacks"),
                "`callbacks` describe requests this service sends; nothing is generated for them",
            );
        }
        let operation_id = match operation.operation_id.as_deref() {
            Some(id) => id.to_string(),
            None => {
                let derived = format!("{method} {path}");
                self.spec.warn(
                    at,
                    format!(
                        "no `operationId`: the operation is named `{}`",
                        snake_case(&derived)
                    ),
                );
                derived
            }
        };
        let fn_name = field_ident(&operation_id);
        if fn_name.is_empty() || fn_name.starts_with("r#") {
            return Err(self
                .spec
                .unsupported(
                    &child(at, "operationId"),
                    format!("operationId `{operation_id}` is not usable as a Rust name"),
                )
                .with_fix("rename the operation"));
        }
        let type_prefix = pascal_case(&operation_id);

        let requirements = self.security(operation, at)?;

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

        let mut params = ParamsBuilder::default();
        for (parameter, p_at) in &parameters {
            let result = self.parameter(parameter, p_at, templates, &type_prefix, &mut params);
            self.spec.attempt(result);
        }
        for template in templates {
            if !params.path_args.contains_key(template) {
                return Err(self
                    .spec
                    .invalid(at, format!("path parameter `{template}` is not declared")));
            }
        }
        let client_path = if params.path_args.is_empty() {
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
                    args.push(params.path_args[name].clone());
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
        if params
            .path_args
            .values()
            .any(|a| a.contains("path_segment"))
        {
            self.imports
                .insert("contract_runtime::client::path_segment".into());
        }

        let params_type = if params.fields.is_empty() {
            String::new()
        } else {
            let name = format!("{type_prefix}Params");
            self.claim(&name, at)?;
            let all_optional = params.fields.iter().all(|f| f.ty.starts_with("Option<"));
            self.models.push(Model {
                docs: vec![format!("/// The parameters of `{operation_id}`.")],
                name: name.clone(),
                derives: if all_optional {
                    "Debug, Clone, Default, PartialEq, Serialize, Deserialize".into()
                } else {
                    "Debug, Clone, PartialEq, Serialize, Deserialize".into()
                },
                serde: String::new(),
                fields: std::mem::take(&mut params.fields),
                variants: Vec::new(),
                alternatives: Vec::new(),
                deserialize_impl: String::new(),
                alias: String::new(),
                never: false,
            });
            self.imports
                .insert("contract_runtime::server::{Param, ParamKind}".into());
            self.imports
                .insert("contract_runtime::server::decode_params".into());
            name
        };

        // Request body.
        let body = match &operation.request_body {
            Some(body) => Some(self.request_body(body, at, &type_prefix)?),
            None => None,
        };

        // Responses.
        let response_enum = format!("{type_prefix}Response");
        self.claim(&response_enum, at)?;
        let responses = self.responses(operation, at, &type_prefix);

        let mut docs = vec![format!("/// `{} {path}`", method.to_uppercase())];
        for text in [&operation.summary, &operation.description]
            .into_iter()
            .flatten()
        {
            if text.trim().is_empty() {
                continue;
            }
            docs.push("///".into());
            docs.extend(doc_lines(Some(text)));
        }
        if operation.deprecated {
            docs.push("///".into());
            docs.push("/// Deprecated.".into());
        }

        // The route handler.
        let mut handler_args = String::from("context: RequestContext");
        let mut call_args = String::from("request.context");
        let mut lines = Vec::new();
        lines.push(match &requirements {
            Some(requirements) => format!(
                "let request = IncomingRequest::read_secured(request, &state.security, SECURITY_SCHEMES, {requirements}).await?;"
            ),
            None => "let request = IncomingRequest::read(request, None).await?;".to_string(),
        });
        let validates = !params_type.is_empty() || body.is_some();
        if validates {
            self.imports
                .insert("contract_runtime::validate::Validator".into());
            lines.push("let mut validator = Validator::new();".into());
        }
        if !params_type.is_empty() {
            lines.push(format!(
                "let params = request.params(&[{}]);",
                params.declarations.join(", ")
            ));
            lines.extend(params.checks.iter().cloned());
            handler_args.push_str(&format!(", params: {params_type}"));
            call_args.push_str(", decode_params(params)?");
        }
        let mut client_calls = params.client_calls.clone();
        if let Some(body) = &body {
            let read = match body.kind {
                BodyKind::Json { form: false } => if body.required {
                    "request.json_body(&mut validator)?"
                } else {
                    "request.optional_json_body(&mut validator)?"
                }
                .to_string(),
                BodyKind::Json { form: true } | BodyKind::Form => format!(
                    "request.form_or_json_body(&mut validator, &[{}], {}, {})?",
                    body.form_fields.join(", "),
                    body.kind != BodyKind::Form,
                    body.required
                ),
                BodyKind::Bytes => {
                    format!("request.bytes_body(&mut validator, {})?", body.required)
                }
                BodyKind::Text => format!("request.text_body(&mut validator, {})?", body.required),
                BodyKind::Multipart => format!(
                    "request.multipart_body(&mut validator, &[{}], {}).await?",
                    body.form_fields.join(", "),
                    body.required
                ),
            };
            lines.push(format!("let body = {read};"));
            if !body.check.is_empty() {
                let pattern = if body.kind == BodyKind::Multipart {
                    "Some((body, _))"
                } else {
                    "Some(body)"
                };
                lines.push(format!("if let {pattern} = &body {{\n{}\n}}", body.check));
            }
            handler_args.push_str(&format!(", body: {}", body.handler_type));
            let decode = match (body.kind, body.required) {
                (BodyKind::Bytes | BodyKind::Text, true) => {
                    self.imports
                        .insert("contract_runtime::server::required".into());
                    "required(body)?"
                }
                (BodyKind::Bytes | BodyKind::Text, false) => "body",
                (BodyKind::Multipart, true) => {
                    self.imports
                        .insert("contract_runtime::server::required".into());
                    "required(body.map(|(_, parts)| parts))?"
                }
                (BodyKind::Multipart, false) => "body.map(|(_, parts)| parts)",
                (_, true) => {
                    self.imports
                        .insert("contract_runtime::server::decode_body".into());
                    "decode_body(body)?"
                }
                (_, false) => {
                    self.imports
                        .insert("contract_runtime::server::decode_optional_body".into());
                    "decode_optional_body(body)?"
                }
            };
            call_args.push_str(&format!(", {decode}"));
            let client_body = match (body.kind, body.required, &body.client_strip) {
                (BodyKind::Json { .. }, true, Some(strip)) => {
                    self.imports.insert("serde_json::Value".into());
                    format!(".json_without(body, {strip})")
                }
                (BodyKind::Json { .. }, false, Some(strip)) => {
                    self.imports.insert("serde_json::Value".into());
                    format!(".optional_json_without(body, {strip})")
                }
                (kind, required, _) => match (kind, required) {
                    (BodyKind::Json { .. }, true) => ".json(body)",
                    (BodyKind::Json { .. }, false) => ".optional_json(body)",
                    (BodyKind::Form, true) => ".form(body)",
                    (BodyKind::Form, false) => ".optional_form(body)",
                    (BodyKind::Bytes, true) => ".bytes(body, \"application/octet-stream\")",
                    (BodyKind::Bytes, false) => {
                        ".optional_bytes(body, \"application/octet-stream\")"
                    }
                    (BodyKind::Text, true) => ".text(body)",
                    (BodyKind::Text, false) => ".optional_text(body)",
                    (BodyKind::Multipart, true) => ".multipart(body)",
                    (BodyKind::Multipart, false) => ".optional_multipart(body)",
                }
                .to_string(),
            };
            client_calls.push(client_body);
            let arg = match (body.kind, body.required) {
                (BodyKind::Bytes, true) => "body: Vec<u8>".to_string(),
                (BodyKind::Bytes, false) => "body: Option<Vec<u8>>".to_string(),
                (BodyKind::Text, true) => "body: &str".to_string(),
                (BodyKind::Text, false) => "body: Option<&str>".to_string(),
                (_, true) => format!("body: &{}", body.rust_type),
                (_, false) => format!("body: Option<&{}>", body.rust_type),
            };
            params.client_args.push(arg);
        }
        if validates {
            lines.push("validator.finish()?;".into());
        }
        lines.push(format!("Ok(state.handler.{fn_name}({call_args}).await?)"));
        if let Some(requirements) = &requirements {
            client_calls.push(format!(".security(SECURITY_SCHEMES, {requirements})"));
        }
        if responses.uses_json {
            self.imports.insert("axum::Json".into());
        }
        for import in &responses.imports {
            self.imports.insert(import.clone());
        }
        // Every parameter is an argument, as in progenitor's positional style; long lists are
        // what the contract says.
        let client_attributes = if params.client_args.len() > 6 {
            "#[allow(clippy::too_many_arguments)]".to_string()
        } else {
            String::new()
        };
        Ok(Operation {
            client_attributes,
            fn_name,
            docs,
            method: method.to_uppercase(),
            path: path.to_string(),
            handler_args,
            handler_body: lines.join("\n"),
            response_enum: response_enum.clone(),
            response_variants: responses.variants,
            into_response_arms: responses.into_response_arms,
            client_args: params.client_args.join(", "),
            client_path,
            client_calls,
            client_arms: responses
                .client_arms
                .iter()
                .map(|arm| arm.replace("{RESPONSE}", &response_enum))
                .collect(),
        })
    }

    /// One parameter: its field in the params struct, its declaration for the router, its
    /// checks, its client argument.
    fn parameter(
        &mut self,
        parameter: &Parameter,
        p_at: &str,
        templates: &[String],
        type_prefix: &str,
        params: &mut ParamsBuilder,
    ) -> Result<()> {
        let (location, data) = match parameter {
            Parameter::Path { parameter_data, .. } => ("path", parameter_data),
            Parameter::Query { parameter_data, .. } => ("query", parameter_data),
            Parameter::Header { parameter_data, .. } => ("header", parameter_data),
            Parameter::Cookie { parameter_data, .. } => ("cookie", parameter_data),
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
                "style",
                "explode",
                "allowEmptyValue",
                "allowReserved",
            ],
        )?;
        let name = &data.name;
        if location == "path" && !templates.contains(name) {
            return Err(self
                .spec
                .invalid(p_at, format!("path parameter `{name}` is not in the path")));
        }
        if location == "path" && !data.required {
            return Err(self
                .spec
                .invalid(p_at, "path parameters must be required")
                .with_fix("add `required: true`"));
        }
        if location == "header"
            && ["accept", "content-type", "authorization"]
                .contains(&name.to_ascii_lowercase().as_str())
        {
            // OpenAPI: such header parameters are ignored (the media types and security say it).
            self.spec.warn(
                p_at,
                format!("header parameter `{name}` is ignored, as OpenAPI specifies"),
            );
            return Ok(());
        }
        let ParameterSchemaOrContent::Schema(_) = &data.format else {
            return Err(self
                .spec
                .unsupported(&format!("{p_at}/content"), "parameters with `content`")
                .with_fix("give the parameter a `schema`"));
        };
        let schema_at = format!("{p_at}/schema");
        let raw = self
            .spec
            .raw_at(&schema_at)
            .ok_or_else(|| self.spec.invalid(&schema_at, "missing schema"))?
            .clone();
        let node = self.spec.node(&raw, &schema_at, false)?;
        let resolve = |builder: &Self, node: &Node| match &node.shape {
            Shape::Ref(component) => builder
                .components
                .get(component)
                .map(|c| c.shape.clone())
                .unwrap_or(Shape::Any),
            shape => shape.clone(),
        };
        let resolved = resolve(self, &node);
        let components = &self.components;
        let scalar_kind = |shape: &Shape| -> Option<&'static str> {
            match shape {
                Shape::String(_) => Some("String"),
                // `oneOf` alternatives that are all text (an id or a name): text.
                Shape::Union(union)
                    if union.alternatives.iter().all(|alternative| {
                        matches!(
                            match &alternative.shape {
                                Shape::Ref(name) => components.get(name).map(|c| &c.shape),
                                shape => Some(shape),
                            },
                            Some(Shape::String(_))
                        )
                    }) =>
                {
                    Some("String")
                }
                Shape::Integer(integer) if !integer.digit_string => Some("Integer"),
                Shape::Number(_) => Some("Number"),
                Shape::Boolean => Some("Boolean"),
                _ => None,
            }
        };
        let (kind, array_style) = match &resolved {
            Shape::Array(array) => {
                let item = resolve(self, &array.items);
                let Some(kind) = scalar_kind(&item) else {
                    return Err(self.spec.unsupported(&schema_at, "an array parameter whose items are not strings, integers, numbers or booleans"));
                };
                let explode = match parameter {
                    Parameter::Query { style, .. } => {
                        let explode = data.explode.unwrap_or(matches!(style, QueryStyle::Form));
                        match style {
                            QueryStyle::Form if explode => "ArrayStyle::Exploded",
                            QueryStyle::Form => "ArrayStyle::Comma",
                            QueryStyle::SpaceDelimited => "ArrayStyle::Space",
                            QueryStyle::PipeDelimited => "ArrayStyle::Pipe",
                            QueryStyle::DeepObject => {
                                return Err(self.spec.unsupported(
                                    &format!("{p_at}/style"),
                                    "`style: deepObject` for an array",
                                ));
                            }
                        }
                    }
                    // `simple`, the only style of path and header parameters: comma-separated.
                    Parameter::Path { .. } | Parameter::Header { .. } => "ArrayStyle::Comma",
                    Parameter::Cookie { .. } => {
                        return Err(self
                            .spec
                            .unsupported(&schema_at, "array cookie parameters")
                            .with_fix("send the values in one string"));
                    }
                };
                self.imports
                    .insert("contract_runtime::server::ArrayStyle".into());
                (kind, Some(explode))
            }
            shape => match scalar_kind(shape) {
                Some(kind) => (kind, None),
                None => {
                    let fix = if matches!(shape, Shape::Integer(_)) {
                        "`x-accept-digit-string` applies to body properties only"
                    } else {
                        "pass objects in the request body"
                    };
                    return Err(self
                        .spec
                        .unsupported(
                            &schema_at,
                            "parameters that are not strings, integers, numbers, booleans or arrays of them",
                        )
                        .with_fix(fix));
                }
            },
        };
        let ident = field_ident(name);
        if !params.idents.insert(ident.clone()) {
            return Err(self
                .spec
                .unsupported(p_at, format!("two parameters become the field `{ident}`")));
        }
        let inner = self.rust_type(&node, &format!("{type_prefix}{}", pascal_case(name)), false)?;
        let mut serde = Vec::new();
        if unraw(&ident) != name {
            serde.push(format!("rename = {}", literal(name)));
        }
        // A nullable parameter is one that may be absent: text has no null.
        let optional = !data.required || node.nullable;
        let default = if optional && !node.nullable {
            self.default_fn(
                &node,
                &format!("{type_prefix}{}", pascal_case(name)),
                &inner,
            )
        } else {
            None
        };
        let ty = if let Some(default) = &default {
            serde.push(format!("default = {}", literal(default)));
            inner.clone()
        } else if optional {
            serde.push("default".into());
            serde.push("skip_serializing_if = \"Option::is_none\"".into());
            format!("Option<{inner}>")
        } else {
            inner.clone()
        };
        let mut docs = doc_lines(data.description.as_deref());
        if let (Some(_), Some(value)) = (&default, &node.default) {
            if !docs.is_empty() {
                docs.push("///".into());
            }
            docs.push(format!("/// Defaults to `{value}` when absent."));
        }
        params.fields.push(Field {
            docs,
            serde: serde.join(", "),
            ident: ident.clone(),
            ty,
        });
        let constructor = location;
        let mut declaration = format!("Param::{constructor}({}, ParamKind::{kind})", literal(name));
        if let Some(style) = array_style {
            declaration.push_str(&format!(".array({style})"));
        }
        params.declarations.push(declaration);
        let value_at = literal(&format!("/{location}/{}", escape(name)));
        // Parameter text is never `null`: a nullable parameter is just an optional one.
        let mut checked = node.clone();
        checked.nullable = false;
        self.checks.validator_arg = "&mut validator";
        let check = self.checks.check(&checked, "value", &value_at);
        self.checks.validator_arg = "validator";
        let lookup = format!("params.pointer({value_at})");
        if !optional {
            params.checks.push(format!(
                "match {lookup} {{\nSome(value) => {{\n{check}\n}}\nNone => validator.push({value_at}, \"is required\"),\n}}"
            ));
        } else if !check.is_empty() {
            params
                .checks
                .push(format!("if let Some(value) = {lookup} {{\n{check}\n}}"));
        }
        // Client arguments: strings and arrays by reference, everything else (Copy) by value.
        let (by_ref, arg_inner) = if inner == "String" {
            (true, "str".to_string())
        } else if let Some(item) = inner.strip_prefix("Vec<").and_then(|s| s.strip_suffix('>')) {
            (true, format!("[{item}]"))
        } else {
            (false, inner.clone())
        };
        let arg_ty = match (by_ref, optional) {
            (true, false) => format!("&{arg_inner}"),
            (true, true) => format!("Option<&{arg_inner}>"),
            (false, false) => inner.clone(),
            (false, true) => format!("Option<{inner}>"),
        };
        params.client_args.push(format!("{ident}: {arg_ty}"));
        if location == "path" {
            let expr = if by_ref {
                format!("path_segment({ident})")
            } else {
                format!("path_segment(&{ident})")
            };
            params.path_args.insert(name.clone(), expr);
        } else {
            let value = match (by_ref, optional) {
                (true, false) => format!("Some({ident})"),
                (true, true) => ident.clone(),
                (false, false) => format!("Some(&{ident})"),
                (false, true) => format!("{ident}.as_ref()"),
            };
            let call = match (location, array_style) {
                ("query", Some(style)) => {
                    format!(".query_array({}, {value}, {style})", literal(name))
                }
                ("query", None) => format!(".query({}, {value})", literal(name)),
                ("header", Some(_)) => format!(".header_array({}, {value})", literal(name)),
                ("header", None) => format!(".header({}, {value})", literal(name)),
                _ => format!(".cookie({}, {value})", literal(name)),
            };
            params.client_calls.push(call);
        }
        Ok(())
    }

    /// The `security` of an operation as a `&[Requirement]` literal; `None` when anyone may
    /// call it.
    fn security(&self, operation: &openapiv3::Operation, at: &str) -> Result<Option<String>> {
        let (requirements, requirements_at) = match &operation.security {
            Some(requirements) => (requirements, format!("{at}/security")),
            None => match &self.spec.doc.security {
                Some(requirements) => (requirements, "/security".to_string()),
                None => return Ok(None),
            },
        };
        if requirements.is_empty() || self.schemes.is_empty() {
            return Ok(None);
        }
        let mut alternatives = Vec::new();
        for (index, requirement) in requirements.iter().enumerate() {
            let mut schemes = Vec::new();
            for (name, scopes) in requirement {
                if self.rejected_schemes.contains(name) {
                    continue;
                }
                if !self.schemes.contains_key(name) {
                    return Err(self.spec.invalid(
                        &format!("{requirements_at}/{index}"),
                        format!("no security scheme `{name}` in `components/securitySchemes`"),
                    ));
                }
                let scopes: Vec<String> = scopes.iter().map(|s| literal(s)).collect();
                schemes.push(format!("({}, &[{}])", literal(name), scopes.join(", ")));
            }
            alternatives.push(format!("&[{}]", schemes.join(", ")));
        }
        Ok(Some(format!("&[{}]", alternatives.join(", "))))
    }

    fn request_body(
        &mut self,
        body: &'s ReferenceOr<RequestBody>,
        at: &str,
        type_prefix: &str,
    ) -> Result<BodyPlan> {
        let (body, body_at) = self.resolve_body(body, &format!("{at}/requestBody"))?;
        self.only_keys(&body_at, &["description", "content", "required"])?;
        let content_at = |content_type: &str| format!("{body_at}/content/{}", escape(content_type));
        let essence = |content_type: &str| {
            content_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        let types: Vec<(String, String)> = body
            .content
            .keys()
            .map(|t| (t.clone(), essence(t)))
            .collect();
        let find = |wanted: &dyn Fn(&str) -> bool| {
            types
                .iter()
                .find(|(_, e)| wanted(e))
                .map(|(t, _)| t.clone())
        };
        let json = find(&|e| e == JSON || (e.starts_with("application/") && e.ends_with("+json")));
        let form = find(&|e| e == FORM);
        let multipart = find(&|e| e == "multipart/form-data");
        let bytes = find(&|e| is_binary_media(e));
        let text = find(&|e| e == TEXT);
        let (chosen, kind) = if let Some(json) = &json {
            let same_form = form.as_ref().is_some_and(|form| {
                self.spec.raw_at(&format!("{}/schema", content_at(form)))
                    == self.spec.raw_at(&format!("{}/schema", content_at(json)))
            });
            (json.clone(), BodyKind::Json { form: same_form })
        } else if let Some(form) = &form {
            (form.clone(), BodyKind::Form)
        } else if let Some(multipart) = &multipart {
            (multipart.clone(), BodyKind::Multipart)
        } else if let Some(bytes) = &bytes {
            (bytes.clone(), BodyKind::Bytes)
        } else if let Some(text) = &text {
            (text.clone(), BodyKind::Text)
        } else {
            let (first, _) = types.first().cloned().unwrap_or_default();
            return Err(self
                .spec
                .unsupported(
                    &content_at(&first),
                    format!("request body of type `{first}` (supported: application/json, application/x-www-form-urlencoded, application/octet-stream, text/plain)"),
                )
                .with_fix("add an application/json representation"));
        };
        for (content_type, _) in &types {
            let served = *content_type == chosen
                || (matches!(kind, BodyKind::Json { form: true })
                    && Some(content_type) == form.as_ref());
            if !served {
                self.spec.warn(
                    &content_at(content_type),
                    format!("request bodies of type `{content_type}` are not accepted (answered with 415); `{chosen}` is"),
                );
            }
        }
        let media_at = content_at(&chosen);
        self.only_keys(&media_at, &["schema", "example", "examples", "encoding"])?;
        let schema_at = format!("{media_at}/schema");
        let node = match self.spec.raw_at(&schema_at).cloned() {
            Some(raw) => self.spec.node(&raw, &schema_at, false)?,
            None => Node::new(Shape::Any, &schema_at),
        };
        let required = body.required;
        match kind {
            BodyKind::Multipart => {
                self.imports
                    .insert("contract_runtime::server::MultipartBody".into());
                self.imports
                    .insert("contract_runtime::server::{Param, ParamKind}".into());
                let resolved = match &node.shape {
                    Shape::Ref(name) => self.components.get(name).map(|c| c.shape.clone()),
                    shape => Some(shape.clone()),
                };
                let (form_fields, check) = if let Some(Shape::Object(_)) = resolved {
                    let fields = self.form_fields(&node, &schema_at)?;
                    self.checks.validator_arg = "&mut validator";
                    let check = self.checks.check(&node, "body", "\"/body\"");
                    self.checks.validator_arg = "validator";
                    (fields, check)
                } else {
                    (Vec::new(), String::new())
                };
                Ok(BodyPlan {
                    kind,
                    required,
                    rust_type: "MultipartBody".to_string(),
                    handler_type: if required {
                        "MultipartBody".to_string()
                    } else {
                        "Option<MultipartBody>".to_string()
                    },
                    check,
                    form_fields,
                    client_strip: None,
                })
            }
            BodyKind::Bytes | BodyKind::Text => {
                let ty = if kind == BodyKind::Bytes {
                    self.imports.insert("axum::body::Bytes".into());
                    "Bytes"
                } else {
                    "String"
                };
                Ok(BodyPlan {
                    kind,
                    required,
                    rust_type: ty.to_string(),
                    handler_type: if required {
                        ty.to_string()
                    } else {
                        format!("Option<{ty}>")
                    },
                    check: String::new(),
                    form_fields: Vec::new(),
                    client_strip: None,
                })
            }
            _ => {
                self.reject_digit_string(&node)?;
                let ty = self.rust_type(&node, &format!("{type_prefix}Body"), true)?;
                let mut form_fields = Vec::new();
                if matches!(kind, BodyKind::Form | BodyKind::Json { form: true }) {
                    form_fields = self.form_fields(&node, &schema_at)?;
                    self.imports
                        .insert("contract_runtime::server::{Param, ParamKind}".into());
                }
                self.checks.validator_arg = "&mut validator";
                let check = self.checks.check(&node, "body", "\"/body\"");
                self.checks.validator_arg = "validator";
                let client_strip = if matches!(kind, BodyKind::Json { .. }) {
                    self.one_way
                        .strip_fn(&self.components, &node, Direction::Request)
                } else {
                    None
                };
                Ok(BodyPlan {
                    kind,
                    required,
                    client_strip,
                    handler_type: if required {
                        ty.clone()
                    } else {
                        format!("Option<{ty}>")
                    },
                    rust_type: ty,
                    check,
                    form_fields,
                })
            }
        }
    }

    /// The fields of a form body, typed like query parameters.
    fn form_fields(&mut self, node: &Node, at: &str) -> Result<Vec<String>> {
        let shape = match &node.shape {
            Shape::Ref(name) => self
                .components
                .get(name)
                .map(|c| c.shape.clone())
                .unwrap_or(Shape::Any),
            shape => shape.clone(),
        };
        let Shape::Object(object) = shape else {
            return Err(self
                .spec
                .unsupported(at, "a form body that is not an object")
                .with_fix("describe the form fields as object properties"));
        };
        let mut fields = Vec::new();
        for (name, property) in &object.properties {
            let resolved = match &property.shape {
                Shape::Ref(component) => self
                    .components
                    .get(component)
                    .map(|c| c.shape.clone())
                    .unwrap_or(Shape::Any),
                shape => shape.clone(),
            };
            let scalar = |shape: &Shape| match shape {
                Shape::Integer(_) => "Integer",
                Shape::Number(_) => "Number",
                Shape::Boolean => "Boolean",
                _ => "String",
            };
            let declaration = match &resolved {
                Shape::Array(array) => {
                    let item = match &array.items.shape {
                        Shape::Ref(component) => self
                            .components
                            .get(component)
                            .map(|c| c.shape.clone())
                            .unwrap_or(Shape::Any),
                        shape => shape.clone(),
                    };
                    self.imports
                        .insert("contract_runtime::server::ArrayStyle".into());
                    format!(
                        "Param::form({}, ParamKind::{}).array(ArrayStyle::Exploded)",
                        literal(name),
                        scalar(&item)
                    )
                }
                Shape::String(string) if string.format == Some(StringFormat::Binary) => {
                    format!("Param::form({}, ParamKind::Binary)", literal(name))
                }
                // Objects and other JSON in a form field are sent as JSON text.
                Shape::Object(_) | Shape::Union(_) | Shape::Any => {
                    format!("Param::form({}, ParamKind::Json)", literal(name))
                }
                shape => format!(
                    "Param::form({}, ParamKind::{})",
                    literal(name),
                    scalar(shape)
                ),
            };
            fields.push(declaration);
        }
        Ok(fields)
    }

    fn responses(
        &mut self,
        operation: &'s openapiv3::Operation,
        at: &str,
        type_prefix: &str,
    ) -> ResponsesPlan {
        let mut plan = ResponsesPlan::default();
        let mut entries: Vec<(ResponseStatus, &'s ReferenceOr<Response>, String)> = Vec::new();
        for (status, response) in &operation.responses.responses {
            let status_at = format!("{at}/responses/{status}");
            let status = match status {
                StatusCode::Code(code) => match STATUSES.iter().find(|(c, _)| c == code) {
                    Some((_, constant)) => ResponseStatus::Exact(*code, constant),
                    None => {
                        self.spec.report(
                            self.spec
                                .unsupported(&status_at, format!("status code {code}"))
                                .with_fix("use a registered status code"),
                        );
                        continue;
                    }
                },
                StatusCode::Range(digit) if (1..=5).contains(digit) => {
                    ResponseStatus::Range(*digit)
                }
                StatusCode::Range(digit) => {
                    self.spec.report(
                        self.spec
                            .invalid(&status_at, format!("status range {digit}XX")),
                    );
                    continue;
                }
            };
            entries.push((status, response, status_at));
        }
        if let Some(default) = &operation.responses.default {
            entries.push((
                ResponseStatus::Default,
                default,
                format!("{at}/responses/default"),
            ));
        }
        if !entries.iter().any(|(status, _, _)| match status {
            ResponseStatus::Exact(code, _) => (200..400).contains(code),
            ResponseStatus::Range(2 | 3) | ResponseStatus::Default => true,
            _ => false,
        }) {
            self.spec.warn(
                &format!("{at}/responses"),
                "no success response is declared",
            );
        }
        let mut client_ranges = Vec::new();
        let mut client_default = None;
        for (status, response, status_at) in entries {
            let result = self.response(status, response, &status_at, type_prefix, &mut plan);
            if let Some(Some((arm, is_range))) = self.spec.attempt(result) {
                match (status, is_range) {
                    (ResponseStatus::Default, _) => client_default = Some(arm),
                    (_, true) => client_ranges.push(arm),
                    _ => plan.client_arms.push(arm),
                }
            }
        }
        plan.client_arms.extend(client_ranges);
        plan.client_arms.extend(client_default);
        plan
    }

    /// One response: its variant, its `into_response` arm and its client arm (with whether
    /// the arm matches a range, so that it goes after the exact codes). `None` for problem
    /// responses, which come from `ApiError`.
    fn response(
        &mut self,
        status: ResponseStatus,
        response: &'s ReferenceOr<Response>,
        status_at: &str,
        type_prefix: &str,
        plan: &mut ResponsesPlan,
    ) -> Result<Option<(String, bool)>> {
        let (response, response_at) = self.resolve_response(response, status_at)?;
        self.only_keys(
            &response_at,
            &["description", "headers", "content", "links"],
        )?;
        if !response.links.is_empty() {
            self.spec.warn(
                &format!("{response_at}/links"),
                "response `links` are documentation; nothing is generated for them",
            );
        }
        let (variant, success) = match status {
            ResponseStatus::Exact(code, constant) => (
                pascal_case(&constant.to_lowercase()),
                (200..300).contains(&code),
            ),
            ResponseStatus::Range(digit) => (
                match digit {
                    1 => "Informational",
                    2 => "Success",
                    3 => "Redirection",
                    4 => "ClientError",
                    _ => "ServerError",
                }
                .to_string(),
                digit == 2,
            ),
            ResponseStatus::Default => ("Default".to_string(), false),
        };
        // The body.
        let mut body: Option<(String, &'static str)> = None; // (type, json|bytes|text)
        // What removes the `writeOnly` properties from a JSON body.
        let mut strip: Option<String> = None;
        let mut problem_only = false;
        let types: Vec<String> = response.content.keys().cloned().collect();
        let json_type = types.iter().find(|t| {
            let e = t
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            e == JSON
                || (e.starts_with("application/") && e.ends_with("+json") && e != PROBLEM_JSON)
        });
        let chosen = if let Some(json) = json_type {
            Some((json.clone(), "json"))
        } else if types.iter().any(|t| t == PROBLEM_JSON) {
            problem_only = true;
            None
        } else if let Some(t) = types.iter().find(|t| is_binary_media(t)) {
            Some((t.clone(), "bytes"))
        } else if let Some(t) = types.iter().find(|t| t.starts_with("text/")) {
            Some((t.clone(), "text"))
        } else if let Some(first) = types.first() {
            return Err(self
                .spec
                .unsupported(
                    &format!("{response_at}/content/{}", escape(first)),
                    format!("response body of type `{first}` (supported: JSON, application/octet-stream, text/*; application/problem+json for errors)"),
                )
                .with_fix("add an application/json representation"));
        } else {
            None
        };
        if let Some((content_type, how)) = &chosen {
            for other in &types {
                if other != content_type && other != PROBLEM_JSON {
                    self.spec.warn(
                        &format!("{response_at}/content/{}", escape(other)),
                        format!(
                            "responses of type `{other}` are not generated; `{content_type}` is"
                        ),
                    );
                }
            }
            let content_at = format!("{response_at}/content/{}", escape(content_type));
            self.only_keys(&content_at, &["schema", "example", "examples", "encoding"])?;
            let ty = match *how {
                "json" => {
                    let schema_at = format!("{content_at}/schema");
                    let node = match self.spec.raw_at(&schema_at).cloned() {
                        Some(raw) => self.spec.node(&raw, &schema_at, false)?,
                        // A media type may give only `examples`: any JSON then.
                        None => Node::new(Shape::Any, &schema_at),
                    };
                    strip = self
                        .one_way
                        .strip_fn(&self.components, &node, Direction::Response);
                    self.rust_type(&node, &format!("{type_prefix}{variant}Body"), true)?
                }
                "bytes" => {
                    plan.imports.insert("axum::body::Bytes".into());
                    "Bytes".to_string()
                }
                _ => "String".to_string(),
            };
            body = Some((ty, how));
        }
        if problem_only
            && !success
            && !matches!(status, ResponseStatus::Default | ResponseStatus::Range(_))
        {
            // `ApiError` answers these with a problem document.
            return Ok(None);
        }
        if problem_only {
            // A success or catch-all documented as a problem document: the handler returns it.
            body = Some(("contract_runtime::Problem".to_string(), "json"));
        }
        // Headers.
        let mut header_fields = Vec::new();
        let mut header_params = Vec::new();
        let mut idents = BTreeSet::new();
        for (name, header) in &response.headers {
            let header_at = format!("{response_at}/headers/{}", escape(name));
            if name.eq_ignore_ascii_case("content-type")
                || (matches!(status, ResponseStatus::Exact(401, _))
                    && name.eq_ignore_ascii_case("WWW-Authenticate"))
            {
                continue; // The runtime sets these.
            }
            let header = match header {
                ReferenceOr::Item(header) => header,
                ReferenceOr::Reference { .. } => {
                    self.spec.report(
                        self.spec
                            .unsupported(&header_at, "a `$ref` response header")
                            .with_fix("write the header inline"),
                    );
                    continue;
                }
            };
            let schema_at = format!("{header_at}/schema");
            let Some(raw) = self.spec.raw_at(&schema_at).cloned() else {
                self.spec.report(
                    self.spec
                        .unsupported(&header_at, "a response header without `schema`"),
                );
                continue;
            };
            let Some(node) = self.spec.attempt(self.spec.node(&raw, &schema_at, false)) else {
                continue;
            };
            let resolved = match &node.shape {
                Shape::Ref(component) => self
                    .components
                    .get(component)
                    .map(|c| c.shape.clone())
                    .unwrap_or(Shape::Any),
                shape => shape.clone(),
            };
            let kind = match resolved {
                Shape::String(_) => "String",
                Shape::Integer(_) => "Integer",
                Shape::Number(_) => "Number",
                Shape::Boolean => "Boolean",
                _ => {
                    self.spec.report(self.spec.unsupported(
                        &schema_at,
                        "a response header that is not a string, integer, number or boolean",
                    ));
                    continue;
                }
            };
            let ident = field_ident(name);
            if !idents.insert(ident.clone()) {
                self.spec.report(self.spec.invalid(
                    &header_at,
                    format!("two headers become the field `{ident}`"),
                ));
                continue;
            }
            let Some(inner) = self.spec.attempt(self.rust_type(
                &node,
                &format!("{type_prefix}{variant}{}", pascal_case(name)),
                false,
            )) else {
                continue;
            };
            let mut serde = vec![format!("rename = {}", literal(name))];
            let ty = if header.required {
                inner
            } else {
                serde.push("default".into());
                serde.push("skip_serializing_if = \"Option::is_none\"".into());
                format!("Option<{inner}>")
            };
            header_fields.push(Field {
                docs: doc_lines(header.description.as_deref()),
                serde: serde.join(", "),
                ident,
                ty,
            });
            header_params.push(format!(
                "Param::header({}, ParamKind::{kind})",
                literal(name)
            ));
        }
        let headers_type = if header_fields.is_empty() {
            None
        } else {
            let name = format!("{type_prefix}{variant}Headers");
            self.claim(&name, &response_at)?;
            let all_optional = header_fields.iter().all(|f| f.ty.starts_with("Option<"));
            self.models.push(Model {
                docs: vec![format!(
                    "/// The headers of the `{}` response of `{}`.",
                    status.label(),
                    snake_case(type_prefix)
                )],
                name: name.clone(),
                derives: if all_optional {
                    "Debug, Clone, Default, PartialEq, Serialize, Deserialize"
                } else {
                    "Debug, Clone, PartialEq, Serialize, Deserialize"
                }
                .to_string(),
                serde: String::new(),
                fields: header_fields,
                variants: Vec::new(),
                alternatives: Vec::new(),
                deserialize_impl: String::new(),
                alias: String::new(),
                never: false,
            });
            plan.imports
                .insert("contract_runtime::server::{Param, ParamKind}".into());
            Some(name)
        };

        // The variant, as a tuple variant when it carries only a body, else with named fields.
        let mut fields: Vec<(String, String)> = Vec::new();
        let with_status = matches!(status, ResponseStatus::Range(_) | ResponseStatus::Default);
        if with_status {
            fields.push(("status".into(), "StatusCode".into()));
        }
        if let Some((ty, _)) = &body {
            fields.push(("body".into(), ty.clone()));
        }
        if let Some(headers) = &headers_type {
            fields.push(("headers".into(), headers.clone()));
        }
        let mut docs = doc_lines(Some(&response.description));
        if with_status {
            if !docs.is_empty() {
                docs.push("///".into());
            }
            docs.push(match status {
                ResponseStatus::Range(digit) => format!("/// `status` must be a {digit}xx code."),
                _ => "/// Any status the other variants do not cover.".to_string(),
            });
        }
        let named = with_status || headers_type.is_some();
        let declaration = if fields.is_empty() {
            format!("{variant},")
        } else if !named {
            format!("{variant}({}),", fields[0].1)
        } else {
            let fields: Vec<String> = fields.iter().map(|(n, t)| format!("{n}: {t}")).collect();
            format!("{variant} {{ {} }},", fields.join(", "))
        };
        let mut declaration_lines = docs;
        declaration_lines.push(declaration);
        plan.variants.push(declaration_lines.join("\n"));

        // Into a response.
        let status_expr = match status {
            ResponseStatus::Exact(_, constant) => format!("StatusCode::{constant}"),
            ResponseStatus::Range(digit) => {
                plan.imports
                    .insert("contract_runtime::server::status_in_class".into());
                format!("status_in_class(status, {digit})")
            }
            ResponseStatus::Default => "status".to_string(),
        };
        let response_expr = match &body {
            None => format!("{status_expr}.into_response()"),
            // A problem document the handler returns (a `default` or range response declared
            // as `application/problem+json`): sent as one, its `status` the one chosen.
            Some((ty, "json")) if problem_only && ty == "contract_runtime::Problem" => {
                plan.imports
                    .insert("contract_runtime::server::problem_response".into());
                format!("problem_response({status_expr}, body)")
            }
            Some((_, "json")) => match &strip {
                Some(strip) => {
                    plan.imports
                        .insert("contract_runtime::server::json_response_without".into());
                    plan.imports.insert("serde_json::Value".into());
                    format!("json_response_without({status_expr}, &body, {strip})")
                }
                None => {
                    plan.uses_json = true;
                    format!("({status_expr}, Json(body)).into_response()")
                }
            },
            Some((_, "bytes")) => {
                plan.imports
                    .insert("contract_runtime::server::bytes_response".into());
                format!("bytes_response({status_expr}, body)")
            }
            Some(_) => {
                plan.imports
                    .insert("contract_runtime::server::text_response".into());
                format!("text_response({status_expr}, body)")
            }
        };
        let response_expr = if headers_type.is_some() {
            plan.imports
                .insert("contract_runtime::server::with_headers".into());
            format!("with_headers({response_expr}, &headers)")
        } else {
            response_expr
        };
        let pattern = if fields.is_empty() {
            format!("Self::{variant}")
        } else if !named {
            format!("Self::{variant}(body)")
        } else {
            let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
            format!("Self::{variant} {{ {} }}", names.join(", "))
        };
        plan.into_response_arms
            .push(format!("{pattern} => {response_expr},"));

        // The client arm.
        let body_expr = match &body {
            Some((_, "json")) => Some("response.json()?"),
            Some((_, "bytes")) => Some("response.bytes()"),
            Some(_) => Some("response.text()?"),
            None => None,
        };
        let headers_expr = if headers_type.is_some() {
            Some(format!(
                "response.headers(&[{}])?",
                header_params.join(", ")
            ))
        } else {
            None
        };
        let value = if fields.is_empty() {
            format!("{{RESPONSE}}::{variant}")
        } else if !named {
            format!("{{RESPONSE}}::{variant}({})", body_expr.unwrap_or_default())
        } else {
            let mut parts = Vec::new();
            if with_status {
                parts.push("status".to_string());
            }
            if let Some(body) = body_expr {
                parts.push(format!("body: {body}"));
            }
            if let Some(headers) = headers_expr {
                parts.push(format!("headers: {headers}"));
            }
            format!("{{RESPONSE}}::{variant} {{ {} }}", parts.join(", "))
        };
        let arm = match status {
            ResponseStatus::Exact(_, constant) => {
                (format!("StatusCode::{constant} => Ok({value}),"), false)
            }
            ResponseStatus::Range(digit) => (
                format!(
                    "status if status.as_u16() / 100 == {digit} && !response.is_problem() => Ok({value}),"
                ),
                true,
            ),
            ResponseStatus::Default => (
                format!("status if !response.is_problem() => Ok({value}),"),
                true,
            ),
        };
        Ok(Some(arm))
    }

    /// The one-way property removers that bodies call, transitively.
    fn one_way_fns(&mut self) -> Vec<OneWayFn> {
        let mut functions = Vec::new();
        let mut index = 0;
        while index < self.one_way.called.len() {
            let (direction, name) = self.one_way.called[index].clone();
            index += 1;
            let body = self
                .one_way
                .function_body(&self.components, &name, direction);
            functions.push(OneWayFn {
                schema: name.clone(),
                keyword: direction.keyword(),
                name: strip_fn_name(direction, &name),
                body,
            });
        }
        functions
    }

    /// Validators of the components that request checks call, transitively.
    fn validators(&mut self) -> Vec<ValidatorFn> {
        let mut validators = Vec::new();
        let mut index = 0;
        while index < self.checks.called.len() {
            let name = self.checks.called[index].clone();
            index += 1;
            let Some(node) = self.components.get(&name).cloned() else {
                continue;
            };
            let body = self.checks.function_body(&node);
            validators.push(ValidatorFn {
                schema: name.clone(),
                name: validator_name(&name),
                body,
            });
        }
        validators
    }
}

#[derive(Debug, Clone, Copy)]
enum ResponseStatus {
    Exact(u16, &'static str),
    Range(u16),
    Default,
}

impl ResponseStatus {
    fn label(self) -> String {
        match self {
            Self::Exact(code, _) => code.to_string(),
            Self::Range(digit) => format!("{digit}XX"),
            Self::Default => "default".to_string(),
        }
    }
}

#[derive(Default)]
struct ParamsBuilder {
    fields: Vec<Field>,
    declarations: Vec<String>,
    checks: Vec<String>,
    client_args: Vec<String>,
    client_calls: Vec<String>,
    path_args: BTreeMap<String, String>,
    idents: BTreeSet<String>,
}

struct BodyPlan {
    kind: BodyKind,
    required: bool,
    /// What removes the `readOnly` properties from the body the client sends.
    client_strip: Option<String>,
    /// The model type (for JSON and forms).
    rust_type: String,
    handler_type: String,
    check: String,
    form_fields: Vec<String>,
}

#[derive(Default)]
struct ResponsesPlan {
    variants: Vec<String>,
    into_response_arms: Vec<String>,
    client_arms: Vec<String>,
    uses_json: bool,
    imports: BTreeSet<String>,
}

/// The value of the property that tells the alternatives of `union` apart without a
/// `discriminator`: one every inline object alternative has as a single-value string enum
/// (serde's internally tagged style, `"type": "Foo"`).
fn implicit_tag(union: &super::shape::UnionShape, index: usize) -> Option<String> {
    let single = |node: &Node, property: &str| -> Option<String> {
        let Shape::Object(object) = &node.shape else {
            return None;
        };
        let (_, value) = object
            .properties
            .iter()
            .find(|(name, _)| name == property)?;
        match &value.shape {
            Shape::String(string) if string.values.len() == 1 => Some(string.values[0].clone()),
            _ => None,
        }
    };
    let Shape::Object(object) = &union.alternatives.get(index)?.shape else {
        return None;
    };
    object.properties.iter().find_map(|(property, _)| {
        let tags: Option<Vec<String>> = union
            .alternatives
            .iter()
            .map(|alternative| single(alternative, property))
            .collect();
        let tags = tags?;
        let distinct: BTreeSet<&String> = tags.iter().collect();
        (distinct.len() == tags.len()).then(|| tags[index].clone())
    })
}

/// Media types whose bodies are passed through as bytes: binary data, and wildcards (`*/*`),
/// which say nothing of the representation.
fn is_binary_media(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == OCTET_STREAM
        || essence.ends_with("/*")
        || ["image/", "audio/", "video/", "font/"]
            .iter()
            .any(|prefix| essence.starts_with(prefix))
        || ["application/pdf", "application/zip", "application/gzip"].contains(&essence.as_str())
}

/// The Rust variant of a string enum value.
fn enum_variant(value: &str) -> String {
    let variant = pascal_case(value);
    if variant.is_empty() {
        "Empty".to_string()
    } else {
        variant
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
