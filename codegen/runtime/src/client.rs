//! What the generated typed clients call: building a request, sending it, and turning the
//! answer into the operation's response type or a [`ClientError`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, header};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{ApiKeyLocation, BasicCredentials, Requirement, SchemeKind, SecurityScheme};
use crate::problem::{PROBLEM_JSON, Problem};
use crate::server::{ArrayStyle, MultipartBody, Param, typed_param};

/// Why a client call did not return one of the operation's responses.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot encode the request body: {0}")]
    /// The request body could not be serialized.
    Encode(#[source] serde_json::Error),
    /// The base URL and path do not make a URL.
    #[error("invalid URL `{url}`: {message}")]
    Url {
        /// The text that is not a URL.
        url: String,
        /// Why not.
        message: String,
    },
    #[error("request failed: {0}")]
    /// No answer: connection refused, timeout, or a body that could not be read.
    Transport(#[from] reqwest::Error),
    /// The service answered with a problem document (`400`, `401`, `404`, ...).
    #[error("the service refused the request: {0}")]
    Problem(Problem),
    /// A status the contract does not list, without a problem document.
    #[error("unexpected status {status}: {body}")]
    UnexpectedStatus {
        /// The status answered.
        status: StatusCode,
        /// The body, as text.
        body: String,
    },
    /// A listed status whose body does not match the contract.
    #[error("cannot decode the {status} response: {message}")]
    Decode {
        /// The status answered.
        status: StatusCode,
        /// Why the body or headers do not decode.
        message: String,
    },
}

impl ClientError {
    /// The HTTP status the service answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Problem(problem) => Some(problem.status_code()),
            Self::UnexpectedStatus { status, .. } | Self::Decode { status, .. } => Some(*status),
            Self::Transport(error) => error.status(),
            Self::Encode(_) | Self::Url { .. } => None,
        }
    }

    /// The problem document the service answered with, if it did.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem(problem) => Some(problem),
            _ => None,
        }
    }
}

/// One request and its response, as shown to an observer (see [`HttpClient::with_observer`]).
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request's method.
    pub method: Method,
    /// The full URL called, query included.
    pub url: String,
    /// The request body as text, if there was one.
    pub request_body: Option<String>,
    /// The status answered.
    pub status: StatusCode,
    /// The response body as text (possibly empty).
    pub response_body: String,
}

impl std::fmt::Display for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        if let Some(body) = &self.request_body {
            writeln!(f, "{body}")?;
        }
        write!(f, "-> {}", self.status)?;
        if !self.response_body.is_empty() {
            write!(f, "\n{}", self.response_body)?;
        }
        Ok(())
    }
}

type Observer = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// The connection settings a generated `Client` wraps: base URL, credentials, the reqwest
/// client, and an optional observer of every exchange.
#[derive(Clone)]
pub struct HttpClient {
    base_url: String,
    http: reqwest::Client,
    credentials: Option<BasicCredentials>,
    bearer_token: Option<String>,
    /// API keys by security scheme name.
    api_keys: BTreeMap<String, String>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("api_keys", &self.api_keys.keys().collect::<Vec<_>>())
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client of the service at `base_url`, e.g. `http://localhost:8001`.
    pub fn new(base_url: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        Self {
            base_url,
            http: reqwest::Client::new(),
            credentials: None,
            bearer_token: None,
            api_keys: BTreeMap::new(),
            observer: None,
        }
    }

    /// Sends `token` as `Authorization: Bearer` to operations whose contract accepts a bearer,
    /// OAuth 2 or OpenID Connect scheme.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Sends `key` where the contract's API key scheme `scheme` says (header, query or cookie).
    pub fn with_api_key(mut self, scheme: impl Into<String>, key: impl Into<String>) -> Self {
        self.api_keys.insert(scheme.into(), key.into());
        self
    }

    /// Sends basic credentials with every operation whose contract requires authentication.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.credentials = Some(BasicCredentials::new(username, password));
        self
    }

    /// Uses a configured reqwest client (timeouts, pools, ...).
    pub fn with_reqwest(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Calls `observer` with every request and its response, e.g. to print them.
    pub fn with_observer(mut self, observer: impl Fn(&Exchange) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The base URL requests go to (without a trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts a request to `path` (already holding encoded path parameters).
    pub fn request(&self, method: Method, path: String) -> OutgoingRequest<'_> {
        OutgoingRequest {
            client: self,
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            cookies: Vec::new(),
            content_type: "application/json",
            multipart_type: None,
            body: None,
            authenticated: false,
        }
    }

    /// Whether the client holds the credentials of `scheme`.
    fn has_credentials(&self, scheme: &SecurityScheme) -> bool {
        match scheme.kind {
            SchemeKind::Basic => self.credentials.is_some(),
            SchemeKind::Bearer => self.bearer_token.is_some(),
            SchemeKind::ApiKey { .. } => self.api_keys.contains_key(scheme.name),
        }
    }
}

/// A request being built by a generated client method.
#[derive(Debug)]
pub struct OutgoingRequest<'c> {
    client: &'c HttpClient,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    content_type: &'static str,
    /// The `Content-Type` of a multipart body (it names the boundary), instead of
    /// `content_type`.
    multipart_type: Option<String>,
    body: Option<Result<Vec<u8>, ClientError>>,
    authenticated: bool,
}

impl OutgoingRequest<'_> {
    /// Adds a query parameter unless `value` is `None`.
    pub fn query<T: Serialize + ?Sized>(mut self, name: &'static str, value: Option<&T>) -> Self {
        if let Some(value) = value {
            self.query.push((name, param_text(value)));
        }
        self
    }

    /// Adds an array query parameter written in `style`, unless `values` is `None`.
    pub fn query_array<T: Serialize>(
        mut self,
        name: &'static str,
        values: Option<&[T]>,
        style: ArrayStyle,
    ) -> Self {
        let Some(values) = values else {
            return self;
        };
        let texts = values.iter().map(param_text);
        match style.separator() {
            None => self.query.extend(texts.map(|text| (name, text))),
            Some(separator) => self
                .query
                .push((name, texts.collect::<Vec<_>>().join(&separator.to_string()))),
        }
        self
    }

    /// Adds a header parameter unless `value` is `None`.
    pub fn header<T: Serialize + ?Sized>(mut self, name: &'static str, value: Option<&T>) -> Self {
        if let Some(value) = value {
            self.headers.push((name.to_string(), param_text(value)));
        }
        self
    }

    /// Adds an array header parameter (`simple` style: comma-separated).
    pub fn header_array<T: Serialize>(mut self, name: &'static str, values: Option<&[T]>) -> Self {
        if let Some(values) = values {
            let text = values.iter().map(param_text).collect::<Vec<_>>().join(",");
            self.headers.push((name.to_string(), text));
        }
        self
    }

    /// Adds a cookie parameter unless `value` is `None`.
    pub fn cookie<T: Serialize + ?Sized>(mut self, name: &'static str, value: Option<&T>) -> Self {
        if let Some(value) = value {
            self.cookies.push((name.to_string(), param_text(value)));
        }
        self
    }

    /// Sends `body` as `application/x-www-form-urlencoded` (arrays as repeated fields, other
    /// structured values as JSON text).
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.content_type = "application/x-www-form-urlencoded";
        self.body = Some(match serde_json::to_value(body) {
            Ok(serde_json::Value::Object(fields)) => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                for (name, value) in &fields {
                    match value {
                        serde_json::Value::Null => {}
                        serde_json::Value::Array(items) => {
                            for item in items {
                                form.append_pair(name, &param_text(item));
                            }
                        }
                        other => {
                            form.append_pair(name, &param_text(other));
                        }
                    }
                }
                Ok(form.finish().into_bytes())
            }
            Ok(_) => Ok(Vec::new()),
            Err(error) => Err(ClientError::Encode(error)),
        });
        self
    }

    /// Sends `body` as a form if there is one.
    pub fn optional_form<T: Serialize + ?Sized>(self, body: Option<&T>) -> Self {
        match body {
            Some(body) => self.form(body),
            None => self,
        }
    }

    /// Sends `body` as it is, with `content_type`.
    pub fn bytes(mut self, body: Vec<u8>, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self.body = Some(Ok(body));
        self
    }

    /// Sends `body` as it is if there is one.
    pub fn optional_bytes(self, body: Option<Vec<u8>>, content_type: &'static str) -> Self {
        match body {
            Some(body) => self.bytes(body, content_type),
            None => self,
        }
    }

    /// Sends `body` as `multipart/form-data`.
    pub fn multipart(mut self, body: &MultipartBody) -> Self {
        let boundary = format!("contract-boundary-{}", uuid::Uuid::new_v4().simple());
        let mut encoded = Vec::new();
        for part in &body.parts {
            let name = part.name.replace(['"', '\r', '\n'], "");
            encoded.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let disposition = match &part.file_name {
                Some(file_name) => format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{}\"\r\n",
                    file_name.replace(['"', '\r', '\n'], "")
                ),
                None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
            };
            encoded.extend_from_slice(disposition.as_bytes());
            if let Some(content_type) = &part.content_type {
                encoded.extend_from_slice(
                    format!(
                        "Content-Type: {}\r\n",
                        content_type.replace(['\r', '\n'], "")
                    )
                    .as_bytes(),
                );
            }
            encoded.extend_from_slice(b"\r\n");
            encoded.extend_from_slice(&part.bytes);
            encoded.extend_from_slice(b"\r\n");
        }
        encoded.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.multipart_type = Some(format!("multipart/form-data; boundary={boundary}"));
        self.body = Some(Ok(encoded));
        self
    }

    /// Sends `body` as `multipart/form-data` if there is one.
    pub fn optional_multipart(self, body: Option<&MultipartBody>) -> Self {
        match body {
            Some(body) => self.multipart(body),
            None => self,
        }
    }

    /// Sends `body` as `text/plain`.
    pub fn text(self, body: &str) -> Self {
        self.bytes(body.as_bytes().to_vec(), "text/plain; charset=utf-8")
    }

    /// Sends `body` as `text/plain` if there is one.
    pub fn optional_text(self, body: Option<&str>) -> Self {
        match body {
            Some(body) => self.text(body),
            None => self,
        }
    }

    /// Sends the credentials of the first of `requirements` (the operation's `security`) for
    /// which the client holds every scheme's; none if it holds no full set.
    pub fn security(mut self, schemes: &[SecurityScheme], requirements: &[Requirement]) -> Self {
        let client = self.client;
        let scheme = |name: &str| schemes.iter().find(|s| s.name == name);
        let chosen = requirements.iter().find(|requirement| {
            requirement
                .iter()
                .all(|(name, _)| scheme(name).is_some_and(|scheme| client.has_credentials(scheme)))
        });
        for (name, _) in chosen.copied().unwrap_or_default() {
            let Some(scheme) = scheme(name) else {
                continue;
            };
            match scheme.kind {
                SchemeKind::Basic => self.authenticated = true,
                SchemeKind::Bearer => {
                    if let Some(token) = &client.bearer_token {
                        self.headers
                            .push((header::AUTHORIZATION.to_string(), format!("Bearer {token}")));
                    }
                }
                SchemeKind::ApiKey {
                    location,
                    name: key_name,
                } => {
                    if let Some(key) = client.api_keys.get(scheme.name) {
                        match location {
                            ApiKeyLocation::Header => {
                                self.headers.push((key_name.to_string(), key.clone()));
                            }
                            ApiKeyLocation::Query => self.query.push((key_name, key.clone())),
                            ApiKeyLocation::Cookie => {
                                self.cookies.push((key_name.to_string(), key.clone()));
                            }
                        }
                    }
                }
            }
        }
        self
    }

    /// Sends `body` as `application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.content_type = "application/json";
        self.body = Some(serde_json::to_vec(body).map_err(ClientError::Encode));
        self
    }

    /// Sends `body` as `application/json` after `strip` removed what the contract keeps out
    /// of requests (its `readOnly` properties, which the service sets).
    pub fn json_without<T: Serialize + ?Sized>(mut self, body: &T, strip: fn(&mut Value)) -> Self {
        self.content_type = "application/json";
        self.body = Some(
            serde_json::to_value(body)
                .and_then(|mut value| {
                    strip(&mut value);
                    serde_json::to_vec(&value)
                })
                .map_err(ClientError::Encode),
        );
        self
    }

    /// [`json_without`](Self::json_without) if there is a body.
    pub fn optional_json_without<T: Serialize + ?Sized>(
        self,
        body: Option<&T>,
        strip: fn(&mut Value),
    ) -> Self {
        match body {
            Some(body) => self.json_without(body, strip),
            None => self,
        }
    }

    /// Sends `body` as `application/json` if there is one.
    pub fn optional_json<T: Serialize + ?Sized>(self, body: Option<&T>) -> Self {
        match body {
            Some(body) => self.json(body),
            None => self,
        }
    }

    /// Sends the client's basic credentials, if it has any.
    pub fn authenticated(mut self) -> Self {
        self.authenticated = true;
        self
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self) -> Result<ReceivedResponse, ClientError> {
        let raw_url = format!("{}{}", self.client.base_url, self.path);
        let mut url = reqwest::Url::parse(&raw_url).map_err(|error| ClientError::Url {
            url: raw_url.clone(),
            message: error.to_string(),
        })?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        let mut request = self.client.http.request(self.method.clone(), url.clone());
        if self.authenticated
            && let Some(credentials) = &self.client.credentials
        {
            request = request.header(header::AUTHORIZATION, credentials.header_value());
        }
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, COOKIE_VALUE)))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(header::COOKIE, cookie);
        }
        let body = self.body.transpose()?;
        if let Some(body) = &body {
            let content_type = match &self.multipart_type {
                Some(multipart) => HeaderValue::from_str(multipart)
                    .unwrap_or(HeaderValue::from_static("multipart/form-data")),
                None => HeaderValue::from_static(self.content_type),
            };
            request = request
                .header(header::CONTENT_TYPE, content_type)
                .body(body.clone());
        }
        let response = request.send().await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .collect();
        let bytes = response.bytes().await?;
        if let Some(observer) = &self.client.observer {
            observer(&Exchange {
                method: self.method,
                url: url.to_string(),
                request_body: body.map(|b| String::from_utf8_lossy(&b).into_owned()),
                status,
                response_body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok(ReceivedResponse {
            status,
            content_type,
            headers,
            body: bytes.to_vec(),
        })
    }
}

/// A response read into memory.
#[derive(Debug, Clone)]
pub struct ReceivedResponse {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ReceivedResponse {
    /// Whether the body is a problem document (`application/problem+json`).
    pub fn is_problem(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with(PROBLEM_JSON))
    }

    /// The raw body.
    pub fn bytes(&self) -> Bytes {
        Bytes::from(self.body.clone())
    }

    /// The body as text.
    pub fn text(&self) -> Result<String, ClientError> {
        String::from_utf8(self.body.clone()).map_err(|error| ClientError::Decode {
            status: self.status,
            message: error.to_string(),
        })
    }

    /// The response headers `declared`, decoded into the operation's headers struct.
    pub fn headers<T: DeserializeOwned>(&self, declared: &[Param]) -> Result<T, ClientError> {
        let mut values = serde_json::Map::new();
        for param in declared {
            if let Some((_, text)) = self
                .headers
                .iter()
                .rev()
                .find(|(name, _)| name.eq_ignore_ascii_case(param.name))
            {
                values.insert(param.name.to_string(), typed_param(text, param.kind));
            }
        }
        serde_json::from_value(serde_json::Value::Object(values)).map_err(|error| {
            ClientError::Decode {
                status: self.status,
                message: format!("headers: {error}"),
            }
        })
    }
    /// The body decoded as the type the contract gives for this status.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|error| ClientError::Decode {
            status: self.status,
            message: error.to_string(),
        })
    }

    /// The error for a status the operation does not list: its problem document if it has one.
    pub fn into_error(self) -> ClientError {
        if self.is_problem()
            && let Ok(problem) = serde_json::from_slice::<Problem>(&self.body)
        {
            return ClientError::Problem(problem);
        }
        ClientError::UnexpectedStatus {
            status: self.status,
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }
    }
}

/// Characters escaped in a path segment: controls, space, and those with meaning in a URL.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Characters escaped in a cookie value (RFC 6265 `cookie-octet` excludes these).
const COOKIE_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// A path parameter's value as an encoded path segment.
pub fn path_segment<T: Serialize + ?Sized>(value: &T) -> String {
    utf8_percent_encode(&param_text(value), PATH_SEGMENT).to_string()
}

/// A parameter's text: strings as they are, other JSON values as JSON (`42`, `true`).
fn param_text<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(path_segment(&42), "42");
        let id = uuid::Uuid::nil();
        assert_eq!(path_segment(&id), "00000000-0000-0000-0000-000000000000");
    }

    #[test]
    fn problems_are_decoded() {
        let problem = Problem::new(StatusCode::NOT_FOUND);
        let response = ReceivedResponse {
            status: StatusCode::NOT_FOUND,
            content_type: Some(PROBLEM_JSON.to_string()),
            headers: Vec::new(),
            body: serde_json::to_vec(&problem).expect("json"),
        };
        let error = response.into_error();
        assert_eq!(error.problem(), Some(&problem));
        assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    }
}
