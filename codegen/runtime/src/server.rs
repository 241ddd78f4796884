//! What the generated axum routers call: reading and authenticating a request, turning its
//! path, query, header and cookie parameters into a JSON document to validate, reading its
//! body (JSON, form, bytes, text), decoding the validated parts, building responses, and the
//! errors a handler may answer with.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::auth::{Authenticator, Requirement, Security, SecurityScheme, authenticate, cookies};
use crate::problem::{Problem, Violation};
use crate::validate::Validator;

/// Request bodies larger than this are refused with `413`.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The handler and the security hooks, shared by every route of a generated router.
pub struct RouterState<H: ?Sized> {
    /// The service's implementation of the contract.
    pub handler: Arc<H>,
    /// The hooks checking credentials.
    pub security: Security,
}

// Derived `Clone` would require `H: Clone`; only the `Arc`s are cloned.
impl<H: ?Sized> Clone for RouterState<H> {
    fn clone(&self) -> Self {
        Self {
            handler: Arc::clone(&self.handler),
            security: self.security.clone(),
        }
    }
}

impl<H: ?Sized> RouterState<H> {
    /// The state of a router serving `handler`, checking credentials with `security`.
    pub fn new(handler: Arc<H>, security: Security) -> Self {
        Self { handler, security }
    }
}

/// What a handler learns about a request besides its parameters and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The authenticated user name; `None` for operations open to anyone.
    pub principal: Option<String>,
    /// Scheme and authority the client used, e.g. `http://localhost:8001`, for absolute links
    /// such as a page's `next`.
    pub base_url: String,
}

impl RequestContext {
    /// The absolute URL of `path_and_query` (which starts with `/`) on this service.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }
}

/// Why a handler did not produce one of the operation's responses. Each becomes a problem
/// document with the matching status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `404`: the resource named by the request does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// `409`: the request conflicts with the resource's current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// `400`: the request is well-formed but breaks a rule the contract cannot express.
    #[error("invalid request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),
    /// `503`: a dependency is not ready.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// `500`: a bug or an unexpected failure. The message is logged, not sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// Any other problem document (`403`, `429`, ...), sent as it is.
    #[error("{0}")]
    Problem(Problem),
}

impl ApiError {
    /// An internal error from anything displayable, e.g. `.map_err(ApiError::internal)`.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// The problem document answering this error; an internal error is logged and answered
    /// without its detail.
    pub fn into_problem(self) -> Problem {
        match self {
            Self::NotFound(detail) => Problem::new(StatusCode::NOT_FOUND).with_detail(detail),
            Self::Conflict(detail) => Problem::new(StatusCode::CONFLICT).with_detail(detail),
            Self::Invalid(violations) => Problem::invalid(violations),
            Self::Unavailable(detail) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE).with_detail(detail)
            }
            Self::Internal(message) => {
                tracing::error!(%message, "request failed");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
                    .with_detail("The service failed to handle the request.")
            }
            Self::Problem(problem) => problem,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_problem().into_response()
    }
}

/// A response that ends a request before its handler runs (or instead of its answer).
#[derive(Debug)]
// Boxed: a `Response` is large, and a `Rejection` travels in every handler's `Result`.
pub struct Rejection(pub Box<Response>);

impl From<Problem> for Rejection {
    fn from(problem: Problem) -> Self {
        Self(Box::new(problem.into_response()))
    }
}

impl From<ApiError> for Rejection {
    fn from(error: ApiError) -> Self {
        Self(Box::new(error.into_response()))
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// How a parameter's text is read before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Text as it is.
    String,
    /// An integer (`"2"` → `2`).
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// JSON text (an object or other structured value in a form field).
    Json,
    /// A file part of a multipart body: present or not, its bytes are not validated.
    Binary,
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    /// A path segment.
    Path,
    /// A query parameter.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
    /// A field of an `application/x-www-form-urlencoded` body.
    Form,
}

impl ParamLocation {
    /// The first token of the parameter's JSON pointer (`/query/page`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
            Self::Cookie => "cookie",
            Self::Form => "body",
        }
    }
}

/// How the values of an array parameter are written (OpenAPI `style` and `explode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayStyle {
    /// `form`, `explode: true`: the parameter repeats (`?id=1&id=2`).
    Exploded,
    /// `form` with `explode: false`, and `simple`: `?id=1,2`.
    Comma,
    /// `spaceDelimited`: `?id=1%202`.
    Space,
    /// `pipeDelimited`: `?id=1|2`.
    Pipe,
}

impl ArrayStyle {
    /// The separator of a delimited style.
    pub fn separator(self) -> Option<char> {
        match self {
            Self::Exploded => None,
            Self::Comma => Some(','),
            Self::Space => Some(' '),
            Self::Pipe => Some('|'),
        }
    }
}

/// A parameter an operation declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name in the contract.
    pub name: &'static str,
    /// Where it is.
    pub location: ParamLocation,
    /// How its text is read.
    pub kind: ParamKind,
    /// For arrays, how the values are written; `kind` is then the items' kind.
    pub array: Option<ArrayStyle>,
}

impl Param {
    const fn new(name: &'static str, location: ParamLocation, kind: ParamKind) -> Self {
        Self {
            name,
            location,
            kind,
            array: None,
        }
    }

    /// A path parameter.
    pub const fn path(name: &'static str, kind: ParamKind) -> Self {
        Self::new(name, ParamLocation::Path, kind)
    }

    /// A query parameter.
    pub const fn query(name: &'static str, kind: ParamKind) -> Self {
        Self::new(name, ParamLocation::Query, kind)
    }

    /// A header parameter (its name is matched case-insensitively).
    pub const fn header(name: &'static str, kind: ParamKind) -> Self {
        Self::new(name, ParamLocation::Header, kind)
    }

    /// A cookie parameter.
    pub const fn cookie(name: &'static str, kind: ParamKind) -> Self {
        Self::new(name, ParamLocation::Cookie, kind)
    }

    /// A field of a form body.
    pub const fn form(name: &'static str, kind: ParamKind) -> Self {
        Self::new(name, ParamLocation::Form, kind)
    }

    /// The same parameter as an array written in `style`.
    pub const fn array(mut self, style: ArrayStyle) -> Self {
        self.array = Some(style);
        self
    }

    /// The parameter's typed value among `found` (name/text pairs), if present. A repeated
    /// single-valued parameter counts with its last value, as in Django.
    fn value(&self, found: &[(String, String)], case_insensitive: bool) -> Option<Value> {
        let matches = |name: &str| {
            if case_insensitive {
                name.eq_ignore_ascii_case(self.name)
            } else {
                name == self.name
            }
        };
        let mut texts = found
            .iter()
            .filter(|(name, _)| matches(name))
            .map(|(_, text)| text.as_str());
        match self.array {
            None => texts.next_back().map(|text| typed_param(text, self.kind)),
            Some(ArrayStyle::Exploded) => {
                let items: Vec<Value> = texts.map(|text| typed_param(text, self.kind)).collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            Some(style) => {
                let text = texts.next_back()?;
                let separator = style.separator().unwrap_or(',');
                let items = if text.is_empty() {
                    Vec::new()
                } else {
                    text.split(separator)
                        .map(|item| typed_param(item, self.kind))
                        .collect()
                };
                Some(Value::Array(items))
            }
        }
    }
}

/// A request, authenticated if its operation requires it, read into memory.
#[derive(Debug)]
pub struct IncomingRequest {
    /// Who is asking, and the base URL they used.
    pub context: RequestContext,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    content_type: Option<String>,
    body: Bytes,
}

impl IncomingRequest {
    /// Reads `request`; with `auth`, refuses it with `401` unless its basic credentials are
    /// good.
    pub async fn read(
        request: Request,
        auth: Option<&dyn Authenticator>,
    ) -> Result<Self, Rejection> {
        let (parts, body) = request.into_parts();
        let principal = match auth {
            Some(auth) => Some(authenticate(&parts.headers, auth).map_err(Rejection)?),
            None => None,
        };
        Self::read_parts(parts, body, principal).await
    }

    /// Reads `request`, refusing it with `401` unless it meets one of `requirements` (the
    /// operation's `security`) as `security`'s hooks judge.
    pub async fn read_secured(
        request: Request,
        security: &Security,
        schemes: &[SecurityScheme],
        requirements: &[Requirement],
    ) -> Result<Self, Rejection> {
        let (parts, body) = request.into_parts();
        let query = query_pairs(&parts.uri);
        let principal = security
            .authorize(&parts.headers, &query, schemes, requirements)
            .map_err(Rejection)?;
        Self::read_parts(parts, body, principal).await
    }

    async fn read_parts(
        mut parts: axum::http::request::Parts,
        body: axum::body::Body,
        principal: Option<String>,
    ) -> Result<Self, Rejection> {
        let path = match RawPathParams::from_request_parts(&mut parts, &()).await {
            Ok(params) => params
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            // Only routes with parameters record them.
            Err(RawPathParamsRejection::MissingPathParams(_)) => Vec::new(),
            Err(rejection) => {
                return Err(
                    Problem::invalid(vec![Violation::new("/path", rejection.body_text())]).into(),
                );
            }
        };
        let query = query_pairs(&parts.uri);
        let headers = parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .collect();
        let cookies = cookies(&parts.headers);
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE)
                    .with_detail(format!("The body must not exceed {MAX_BODY_BYTES} bytes."))
            })?;
        Ok(Self {
            context: RequestContext {
                principal,
                base_url: base_url(&parts.headers),
            },
            path,
            query,
            headers,
            cookies,
            content_type,
            body,
        })
    }

    /// The declared parameters as `{"path": {...}, "query": {...}, "header": {...},
    /// "cookie": {...}}`, each value typed as its schema's type where the text allows (`"2"` →
    /// `2` for an integer; arrays split as their style says), so that validation reports them
    /// at `/path/<name>`, `/query/<name>`, ... Absent parameters are left out.
    pub fn params(&self, declared: &[Param]) -> Value {
        let mut locations: Vec<(&str, Map<String, Value>)> = ["path", "query", "header", "cookie"]
            .into_iter()
            .map(|location| (location, Map::new()))
            .collect();
        for param in declared {
            let (found, case_insensitive) = match param.location {
                ParamLocation::Path => (&self.path, false),
                ParamLocation::Query => (&self.query, false),
                ParamLocation::Header => (&self.headers, true),
                ParamLocation::Cookie => (&self.cookies, false),
                ParamLocation::Form => continue,
            };
            if let Some(value) = param.value(found, case_insensitive)
                && let Some((_, target)) = locations
                    .iter_mut()
                    .find(|(location, _)| *location == param.location.as_str())
            {
                target.insert(param.name.to_string(), value);
            }
        }
        let mut params = Map::new();
        for (location, values) in locations {
            params.insert(location.into(), Value::Object(values));
        }
        Value::Object(params)
    }

    /// A body that may be JSON (when `json` is true) or `application/x-www-form-urlencoded`
    /// with the `fields` declared, as one JSON document to validate. Other media types are
    /// refused with `415`; a required body's absence is a violation at `/body`.
    pub fn form_or_json_body(
        &self,
        validator: &mut Validator,
        fields: &[Param],
        json: bool,
        required: bool,
    ) -> Result<Option<Value>, Problem> {
        if self.body.is_empty() {
            if required {
                validator.push("/body", "is required");
            }
            return Ok(None);
        }
        let is_form = self.content_type.as_deref().is_some_and(|content_type| {
            essence(content_type) == "application/x-www-form-urlencoded"
        });
        if !is_form {
            if json {
                return self.optional_json_body(validator);
            }
            return Err(unsupported_media_type(
                "application/x-www-form-urlencoded",
                self.content_type.as_deref(),
            ));
        }
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(&self.body).into_owned().collect();
        let mut object = Map::new();
        for field in fields {
            if let Some(value) = field.value(&pairs, false) {
                object.insert(field.name.to_string(), value);
            }
        }
        Ok(Some(Value::Object(object)))
    }

    /// A `multipart/form-data` body: its parts, and the document of its `fields` (text parts
    /// typed like form fields, file parts as empty strings) to validate against the body's
    /// schema. Other media types are refused with `415`.
    pub async fn multipart_body(
        &self,
        validator: &mut Validator,
        fields: &[Param],
        required: bool,
    ) -> Result<Option<(Value, MultipartBody)>, Problem> {
        if self.body.is_empty() {
            if required {
                validator.push("/body", "is required");
            }
            return Ok(None);
        }
        let content_type = self.content_type.as_deref().unwrap_or_default();
        if essence(content_type) != "multipart/form-data" {
            return Err(unsupported_media_type(
                "multipart/form-data",
                self.content_type.as_deref(),
            ));
        }
        let request = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::from(self.body.clone()));
        let Ok(request) = request else {
            validator.push("/body", "has an unreadable Content-Type");
            return Ok(None);
        };
        let mut multipart = match axum::extract::Multipart::from_request(request, &()).await {
            Ok(multipart) => multipart,
            Err(rejection) => {
                validator.push(
                    "/body",
                    format!("is not multipart/form-data: {}", rejection.body_text()),
                );
                return Ok(None);
            }
        };
        let mut parts = Vec::new();
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_string();
                    let file_name = field.file_name().map(str::to_owned);
                    let part_type = field.content_type().map(str::to_owned);
                    match field.bytes().await {
                        Ok(bytes) => parts.push(Part {
                            name,
                            file_name,
                            content_type: part_type,
                            bytes,
                        }),
                        Err(error) => {
                            validator.push(
                                &crate::validate::pointer("/body", &name),
                                format!("cannot be read: {}", error.body_text()),
                            );
                            return Ok(None);
                        }
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    validator.push(
                        "/body",
                        format!("is not valid multipart/form-data: {}", error.body_text()),
                    );
                    return Ok(None);
                }
            }
        }
        let body = MultipartBody { parts };
        let mut document = Map::new();
        for field in fields {
            let values: Vec<(String, String)> = body
                .parts
                .iter()
                .filter(|part| part.name == field.name)
                .map(|part| {
                    let text = if field.kind == ParamKind::Binary {
                        String::new()
                    } else {
                        String::from_utf8_lossy(&part.bytes).into_owned()
                    };
                    (part.name.clone(), text)
                })
                .collect();
            if let Some(value) = field.value(&values, false) {
                document.insert(field.name.to_string(), value);
            }
        }
        Ok(Some((Value::Object(document), body)))
    }

    /// A raw body (`application/octet-stream` and the like); an empty one is absent.
    pub fn bytes_body(
        &self,
        validator: &mut Validator,
        required: bool,
    ) -> Result<Option<Bytes>, Problem> {
        if self.body.is_empty() {
            if required {
                validator.push("/body", "is required");
            }
            return Ok(None);
        }
        Ok(Some(self.body.clone()))
    }

    /// A `text/plain` body, which must be UTF-8 without NUL characters. A body declared as
    /// another media type is refused with `415`; one without `Content-Type` is taken as text.
    pub fn text_body(
        &self,
        validator: &mut Validator,
        required: bool,
    ) -> Result<Option<String>, Problem> {
        if !self.body.is_empty()
            && let Some(content_type) = self.content_type.as_deref()
            && !content_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("text/plain")
        {
            return Err(unsupported_media_type("text/plain", Some(content_type)));
        }
        let Some(bytes) = self.bytes_body(validator, required)? else {
            return Ok(None);
        };
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => {
                validator.string(
                    &Value::String(text.clone()),
                    "/body",
                    crate::validate::StringRules::new(),
                );
                Ok(Some(text))
            }
            Err(_) => {
                validator.push("/body", "is not UTF-8 text");
                Ok(None)
            }
        }
    }

    /// The JSON body of an operation that requires one; its absence is a violation at `/body`.
    /// A body that is not `application/json` is refused with `415`; malformed JSON is a
    /// violation at `/body`.
    pub fn json_body(&self, validator: &mut Validator) -> Result<Option<Value>, Problem> {
        let body = self.optional_json_body(validator)?;
        if body.is_none() && self.body.is_empty() {
            validator.push("/body", "is required");
        }
        Ok(body)
    }

    /// The JSON body of an operation whose body is optional.
    pub fn optional_json_body(&self, validator: &mut Validator) -> Result<Option<Value>, Problem> {
        if self.body.is_empty() {
            return Ok(None);
        }
        if !self.content_type.as_deref().is_some_and(is_json) {
            return Err(unsupported_media_type(
                "application/json",
                self.content_type.as_deref(),
            ));
        }
        match serde_json::from_slice(&self.body) {
            Ok(value) => Ok(Some(value)),
            Err(error) => {
                validator.push("/body", format!("is not valid JSON: {error}"));
                Ok(None)
            }
        }
    }
}

/// Decodes validated parameters (see [`IncomingRequest::params`]) into the operation's
/// parameter struct.
pub fn decode_params<T: DeserializeOwned>(params: Value) -> Result<T, Problem> {
    // Locations are merged: the generator has made every parameter's field name distinct.
    let mut merged = Map::new();
    if let Value::Object(locations) = params {
        for (_, values) in locations {
            if let Value::Object(values) = values {
                merged.extend(values);
            }
        }
    }
    serde_json::from_value(Value::Object(merged)).map_err(|error| undecodable("/path", &error))
}

/// Decodes a validated required body.
pub fn decode_body<T: DeserializeOwned>(body: Option<Value>) -> Result<T, Problem> {
    let body =
        body.ok_or_else(|| Problem::invalid(vec![Violation::new("/body", "is required")]))?;
    serde_json::from_value(body).map_err(|error| undecodable("/body", &error))
}

/// Decodes a validated optional body.
pub fn decode_optional_body<T: DeserializeOwned>(
    body: Option<Value>,
) -> Result<Option<T>, Problem> {
    body.map(|body| serde_json::from_value(body).map_err(|error| undecodable("/body", &error)))
        .transpose()
}

// Validation accepts only what the models decode, so this reports a generator bug, but the
// client still gets a problem document rather than a panic.
fn undecodable(at: &str, error: &serde_json::Error) -> Problem {
    Problem::invalid(vec![Violation::new(
        at,
        format!("cannot be decoded: {error}"),
    )])
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field's name.
    pub name: String,
    /// The file name, for a file part.
    pub file_name: Option<String>,
    /// The part's media type, if it names one.
    pub content_type: Option<String>,
    /// The part's content.
    pub bytes: Bytes,
}

/// A `multipart/form-data` body: its parts, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultipartBody {
    /// The parts, in the order sent.
    pub parts: Vec<Part>,
}

impl MultipartBody {
    /// No parts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text part.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name: name.into(),
            file_name: None,
            content_type: None,
            bytes: Bytes::from(value.into()),
        });
        self
    }

    /// Adds a file part.
    pub fn file(
        mut self,
        name: impl Into<String>,
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: impl Into<Bytes>,
    ) -> Self {
        self.parts.push(Part {
            name: name.into(),
            file_name: Some(file_name.into()),
            content_type: Some(content_type.into()),
            bytes: bytes.into(),
        });
        self
    }

    /// The first part named `name`.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|part| part.name == name)
    }

    /// The text of the first part named `name`, if it is UTF-8.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.part(name)
            .and_then(|part| std::str::from_utf8(&part.bytes).ok())
    }
}

/// A validated required raw or text body (its absence was recorded as a violation).
pub fn required<T>(body: Option<T>) -> Result<T, Problem> {
    body.ok_or_else(|| Problem::invalid(vec![Violation::new("/body", "is required")]))
}

/// `status` if it is in the class `digit` (`4` for `4XX`); otherwise the handler broke the
/// contract, which is logged and answered with `500`.
pub fn status_in_class(status: StatusCode, digit: u16) -> StatusCode {
    if status.as_u16() / 100 == digit {
        status
    } else {
        tracing::error!(%status, "the handler answered a status outside the contract's {digit}XX");
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// A JSON response of `body` after `strip` removed what the contract keeps out of responses
/// (its `writeOnly` properties). A body that cannot be serialized is logged and answered with
/// `500`.
pub fn json_response_without<T: serde::Serialize>(
    status: StatusCode,
    body: &T,
    strip: fn(&mut Value),
) -> Response {
    match serde_json::to_value(body) {
        Ok(mut value) => {
            strip(&mut value);
            (status, axum::Json(value)).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "the handler's response body cannot be serialized");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
    }
}

/// `problem` as an `application/problem+json` response with `status`; the document's own
/// `status` is set to match, so the two never disagree.
pub fn problem_response(status: StatusCode, mut problem: Problem) -> Response {
    problem.status = status.as_u16();
    problem.into_response()
}

/// A response with a raw body (`application/octet-stream`).
pub fn bytes_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        body,
    )
        .into_response()
}

/// A response with a `text/plain` body.
pub fn text_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `response` with the headers of a generated headers struct (each field a header; absent
/// optional ones are left out).
pub fn with_headers<T: serde::Serialize>(mut response: Response, headers: &T) -> Response {
    let Ok(Value::Object(values)) = serde_json::to_value(headers) else {
        return response;
    };
    for (name, value) in values {
        let text = match value {
            Value::Null => continue,
            Value::String(text) => text,
            other => other.to_string(),
        };
        match (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(&text),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().insert(name, value);
            }
            _ => tracing::error!(header = %name, "the handler's header value cannot be sent"),
        }
    }
    response
}

fn unsupported_media_type(expected: &str, found: Option<&str>) -> Problem {
    let found = found.unwrap_or("none");
    Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE).with_detail(format!(
        "The body must be {expected}; the Content-Type is {found}."
    ))
}

fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `404` for a path no route matches.
pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND).with_detail("No operation has this path.")
}

/// `405` for a known path with a method it does not support.
pub async fn method_not_allowed() -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED)
        .with_detail("The path does not support this method.")
}

/// A parameter's text as the JSON value its schema's type calls for, where the text allows.
pub fn typed_param(text: &str, kind: ParamKind) -> Value {
    let typed = match kind {
        ParamKind::String => None,
        ParamKind::Integer => text
            .parse::<i64>()
            .ok()
            .map(Value::from)
            .or_else(|| text.parse::<u64>().ok().map(Value::from)),
        ParamKind::Json => serde_json::from_str(text).ok(),
        ParamKind::Binary => None,
        ParamKind::Number => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        ParamKind::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
    };
    // Text of the wrong shape stays a string, so validation names the expected type.
    typed.unwrap_or_else(|| Value::String(text.to_string()))
}

fn is_json(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn base_url(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header(header::HOST.as_str()).unwrap_or("localhost");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    async fn incoming(content_type: Option<&str>, body: &str) -> IncomingRequest {
        let mut request = Request::builder().uri("/x/?page=1&page=2&other=3");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let request = request
            .header(header::HOST, "example.org:8001")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        IncomingRequest::read(request, None).await.expect("read")
    }

    #[tokio::test]
    async fn params_are_typed_where_possible() {
        let request = incoming(None, "").await;
        let params = request.params(&[
            Param::query("page", ParamKind::Integer),
            Param::query("missing", ParamKind::String),
        ]);
        assert_eq!(
            params,
            json!({"path": {}, "query": {"page": 2}, "header": {}, "cookie": {}})
        );
        assert_eq!(request.context.url("/a/"), "http://example.org:8001/a/");
        assert_eq!(typed_param("x1", ParamKind::Integer), json!("x1"));
    }

    #[tokio::test]
    async fn bodies() {
        let mut validator = Validator::new();
        let request = incoming(Some("application/json; charset=utf-8"), r#"{"a": 1}"#).await;
        assert_eq!(
            request.json_body(&mut validator).expect("json"),
            Some(json!({"a": 1}))
        );
        let request = incoming(Some("text/plain"), "{}").await;
        let problem = request.json_body(&mut validator).expect_err("415");
        assert_eq!(problem.status, 415);
        let request = incoming(Some("application/json"), "{").await;
        assert_eq!(request.json_body(&mut validator).expect("400"), None);
        let request = incoming(None, "").await;
        assert_eq!(request.json_body(&mut validator).expect("missing"), None);
        let pointers: Vec<_> = validator
            .violations()
            .iter()
            .map(|v| v.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["/body", "/body"]);
    }

    #[test]
    fn api_errors_become_problems() {
        let problem = ApiError::internal("db down: password=secret").into_problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.to_string().contains("secret"));
        assert_eq!(
            ApiError::NotFound("no person".into()).into_problem().status,
            404
        );
    }
}
