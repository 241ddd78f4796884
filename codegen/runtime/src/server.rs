//! What the generated axum routers call: reading and authenticating a request, turning its
//! path and query parameters into a JSON document to validate, reading its JSON body, decoding
//! the validated parts, and the errors a handler may answer with.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::auth::{Authenticator, authenticate};
use crate::problem::{Problem, Violation};
use crate::validate::Validator;

/// Request bodies larger than this are refused with `413`.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The handler and the security hook, shared by every route of a generated router.
pub struct RouterState<H: ?Sized> {
    pub handler: Arc<H>,
    pub auth: Arc<dyn Authenticator>,
}

// Derived `Clone` would require `H: Clone`; only the `Arc`s are cloned.
impl<H: ?Sized> Clone for RouterState<H> {
    fn clone(&self) -> Self {
        Self {
            handler: Arc::clone(&self.handler),
            auth: Arc::clone(&self.auth),
        }
    }
}

impl<H: ?Sized> RouterState<H> {
    pub fn new(handler: Arc<H>, auth: Arc<dyn Authenticator>) -> Self {
        Self { handler, auth }
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
}

impl ApiError {
    /// An internal error from anything displayable, e.g. `.map_err(ApiError::internal)`.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

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

/// How a path or query parameter's text is read before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Integer,
    Number,
    Boolean,
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
}

/// A parameter an operation declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub location: ParamLocation,
    pub kind: ParamKind,
}

impl Param {
    pub const fn path(name: &'static str, kind: ParamKind) -> Self {
        Self {
            name,
            location: ParamLocation::Path,
            kind,
        }
    }

    pub const fn query(name: &'static str, kind: ParamKind) -> Self {
        Self {
            name,
            location: ParamLocation::Query,
            kind,
        }
    }
}

/// A request, authenticated if its operation requires it, read into memory.
#[derive(Debug)]
pub struct IncomingRequest {
    pub context: RequestContext,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    body: Bytes,
}

impl IncomingRequest {
    /// Reads `request`; with `auth`, refuses it with `401` unless its credentials are good.
    pub async fn read(
        request: Request,
        auth: Option<&dyn Authenticator>,
    ) -> Result<Self, Rejection> {
        let (mut parts, body) = request.into_parts();
        let principal = match auth {
            Some(auth) => Some(authenticate(&parts.headers, auth).map_err(Rejection)?),
            None => None,
        };
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
        let query = parts
            .uri
            .query()
            .map(|query| {
                form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
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
            content_type,
            body,
        })
    }

    /// The declared parameters as `{"path": {...}, "query": {...}}`, each value typed as its
    /// schema's type where the text allows (`"2"` → `2` for an integer), so that validation
    /// reports them at `/path/<name>` and `/query/<name>`. Absent parameters are left out.
    pub fn params(&self, declared: &[Param]) -> Value {
        let mut path = Map::new();
        let mut query = Map::new();
        for param in declared {
            let (found, target) = match param.location {
                ParamLocation::Path => (&self.path, &mut path),
                ParamLocation::Query => (&self.query, &mut query),
            };
            // A repeated query parameter counts with its last value, as in Django.
            if let Some((_, text)) = found.iter().rev().find(|(name, _)| name == param.name) {
                target.insert(param.name.to_string(), typed_param(text, param.kind));
            }
        }
        let mut params = Map::new();
        params.insert("path".into(), Value::Object(path));
        params.insert("query".into(), Value::Object(query));
        Value::Object(params)
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
            let found = self.content_type.as_deref().unwrap_or("none");
            return Err(
                Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE).with_detail(format!(
                    "The body must be application/json; the Content-Type is {found}."
                )),
            );
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

/// `404` for a path no route matches.
pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND).with_detail("No operation has this path.")
}

/// `405` for a known path with a method it does not support.
pub async fn method_not_allowed() -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED)
        .with_detail("The path does not support this method.")
}

fn typed_param(text: &str, kind: ParamKind) -> Value {
    let typed = match kind {
        ParamKind::String => None,
        ParamKind::Integer => text.parse::<i64>().ok().map(Value::from),
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
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
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
        assert_eq!(params, json!({"path": {}, "query": {"page": 2}}));
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
