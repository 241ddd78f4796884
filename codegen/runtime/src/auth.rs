//! The security hooks: HTTP basic authentication checked by a service-supplied
//! [`Authenticator`], bearer tokens (HTTP bearer, OAuth 2, OpenID Connect) by a
//! [`BearerAuthenticator`], API keys (in a header, the query or a cookie) by an
//! [`ApiKeyAuthenticator`], before any operation whose contract requires them. An operation's
//! `security` lists alternatives ([`Requirement`]s); the request passes with the first
//! alternative all of whose schemes accept it.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::problem::Problem;

/// A user name and password from an `Authorization: Basic ...` header.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The user name (before the first `:`).
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl BasicCredentials {
    /// Credentials of `username` with `password`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The credentials of an `Authorization` header, if it holds well-formed basic ones.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = BASE64.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (username, password) = decoded.split_once(':')?;
        Some(Self::new(username, password))
    }

    /// The `Authorization` header value carrying these credentials.
    pub fn header_value(&self) -> String {
        let encoded = BASE64.encode(format!("{}:{}", self.username, self.password));
        format!("Basic {encoded}")
    }
}

/// Decides whether credentials are good; supplied by the service to the generated router.
pub trait Authenticator: Send + Sync + 'static {
    /// Whether `credentials` are good.
    fn authenticate(&self, credentials: &BasicCredentials) -> bool;

    /// The realm named in `WWW-Authenticate`.
    fn realm(&self) -> &str {
        "api"
    }
}

/// Decides whether a bearer token (an OAuth 2 / OpenID Connect access token, a JWT, ...) is
/// good for the operation; supplied by the service. Verifying a JWT (signature, expiry,
/// audience) is this hook's job.
pub trait BearerAuthenticator: Send + Sync + 'static {
    /// The principal the token stands for, or `None` to refuse it. `scheme` is the name of the
    /// security scheme in the contract, `scopes` the scopes the operation requires.
    fn authenticate(&self, scheme: &str, token: &str, scopes: &[&str]) -> Option<String>;
}

/// Decides whether an API key is good; supplied by the service.
pub trait ApiKeyAuthenticator: Send + Sync + 'static {
    /// The principal the key stands for, or `None` to refuse it. `scheme` is the name of the
    /// security scheme in the contract.
    fn authenticate(&self, scheme: &str, key: &str) -> Option<String>;
}

/// Where an API key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// A request header named by the scheme.
    Header,
    /// A query parameter named by the scheme.
    Query,
    /// A cookie named by the scheme.
    Cookie,
}

/// How a security scheme's credentials travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeKind {
    /// `Authorization: Basic ...`.
    Basic,
    /// `Authorization: Bearer ...` (HTTP bearer, OAuth 2, OpenID Connect).
    Bearer,
    /// A key in the header, query parameter or cookie named `name`.
    ApiKey {
        /// Where it travels.
        location: ApiKeyLocation,
        /// The header, query parameter or cookie name.
        name: &'static str,
    },
}

/// A security scheme of a contract (`components/securitySchemes/<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityScheme {
    /// Its name under `components/securitySchemes`.
    pub name: &'static str,
    /// How its credentials travel.
    pub kind: SchemeKind,
}

/// One alternative of an operation's `security`: every scheme it names (with the scopes the
/// operation needs) must accept the request. An empty requirement lets anyone in.
pub type Requirement = &'static [(&'static str, &'static [&'static str])];

/// The hooks a generated router checks credentials with. A scheme without a hook refuses every
/// request (and logs why), so a missing hook never lets a request through.
#[derive(Clone, Default)]
pub struct Security {
    basic: Option<Arc<dyn Authenticator>>,
    bearer: Option<Arc<dyn BearerAuthenticator>>,
    api_key: Option<Arc<dyn ApiKeyAuthenticator>>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("basic", &self.basic.is_some())
            .field("bearer", &self.bearer.is_some())
            .field("api_key", &self.api_key.is_some())
            .finish()
    }
}

impl Security {
    /// No hooks: only operations open to anyone succeed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks HTTP basic credentials with `auth`.
    pub fn with_basic(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.basic = Some(auth);
        self
    }

    /// Checks bearer tokens with `auth`.
    pub fn with_bearer(mut self, auth: Arc<dyn BearerAuthenticator>) -> Self {
        self.bearer = Some(auth);
        self
    }

    /// Checks API keys with `auth`.
    pub fn with_api_key(mut self, auth: Arc<dyn ApiKeyAuthenticator>) -> Self {
        self.api_key = Some(auth);
        self
    }

    /// The realm of the basic hook, for `WWW-Authenticate`.
    fn realm(&self) -> &str {
        self.basic.as_ref().map_or("api", |auth| auth.realm())
    }

    /// The principal of a request that meets one of `requirements` (`None` when it meets an
    /// empty one), or the `401` refusing it. `query` is the request's decoded query.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        query: &[(String, String)],
        schemes: &[SecurityScheme],
        requirements: &[Requirement],
    ) -> Result<Option<String>, Box<Response>> {
        let mut presented = false;
        let mut only_basic = true;
        let mut challenges = Vec::new();
        for requirement in requirements {
            let mut principal = None;
            let mut met = true;
            for (name, scopes) in *requirement {
                let Some(scheme) = schemes.iter().find(|s| s.name == *name) else {
                    tracing::error!(
                        scheme = name,
                        "the contract names an undeclared security scheme"
                    );
                    met = false;
                    break;
                };
                match self.check(scheme, scopes, headers, query) {
                    Verdict::Accepted(who) => {
                        principal.get_or_insert(who);
                    }
                    Verdict::Refused => {
                        presented = true;
                        met = false;
                    }
                    Verdict::Absent => met = false,
                }
                only_basic &= scheme.kind == SchemeKind::Basic;
                let challenge = match scheme.kind {
                    SchemeKind::Basic => Some(format!(
                        "Basic realm=\"{}\"",
                        self.realm().replace(['"', '\\'], "")
                    )),
                    SchemeKind::Bearer => Some("Bearer".to_string()),
                    SchemeKind::ApiKey { .. } => None,
                };
                if let Some(challenge) = challenge
                    && !challenges.contains(&challenge)
                {
                    challenges.push(challenge);
                }
                if !met {
                    break;
                }
            }
            if met {
                return Ok(principal);
            }
        }
        let detail = if presented {
            "The credentials are not valid."
        } else if only_basic {
            "This operation requires HTTP basic authentication."
        } else {
            "This operation requires authentication."
        };
        let mut response = Problem::new(StatusCode::UNAUTHORIZED)
            .with_detail(detail)
            .into_response();
        for challenge in challenges {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .append(header::WWW_AUTHENTICATE, value);
            }
        }
        Err(Box::new(response))
    }

    fn check(
        &self,
        scheme: &SecurityScheme,
        scopes: &[&str],
        headers: &HeaderMap,
        query: &[(String, String)],
    ) -> Verdict {
        match scheme.kind {
            SchemeKind::Basic => {
                let Some(credentials) = BasicCredentials::from_headers(headers) else {
                    return Verdict::Absent;
                };
                let Some(auth) = self.hook(&self.basic, scheme) else {
                    return Verdict::Refused;
                };
                if auth.authenticate(&credentials) {
                    Verdict::Accepted(credentials.username)
                } else {
                    Verdict::Refused
                }
            }
            SchemeKind::Bearer => {
                let Some(token) = bearer_token(headers) else {
                    return Verdict::Absent;
                };
                let Some(auth) = self.hook(&self.bearer, scheme) else {
                    return Verdict::Refused;
                };
                match auth.authenticate(scheme.name, &token, scopes) {
                    Some(who) => Verdict::Accepted(who),
                    None => Verdict::Refused,
                }
            }
            SchemeKind::ApiKey { location, name } => {
                let key = match location {
                    ApiKeyLocation::Header => headers
                        .get(name)
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned),
                    ApiKeyLocation::Query => query
                        .iter()
                        .rev()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.clone()),
                    ApiKeyLocation::Cookie => cookies(headers)
                        .into_iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value),
                };
                let Some(key) = key.filter(|key| !key.is_empty()) else {
                    return Verdict::Absent;
                };
                let Some(auth) = self.hook(&self.api_key, scheme) else {
                    return Verdict::Refused;
                };
                match auth.authenticate(scheme.name, &key) {
                    Some(who) => Verdict::Accepted(who),
                    None => Verdict::Refused,
                }
            }
        }
    }

    fn hook<'a, T: ?Sized>(
        &self,
        hook: &'a Option<Arc<T>>,
        scheme: &SecurityScheme,
    ) -> Option<&'a T> {
        if hook.is_none() {
            tracing::error!(
                scheme = scheme.name,
                "no authenticator is configured for this security scheme; refusing the request"
            );
        }
        hook.as_deref()
    }
}

enum Verdict {
    Accepted(String),
    Refused,
    Absent,
}

/// The token of an `Authorization: Bearer ...` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// The `name=value` pairs of the request's `Cookie` headers.
pub fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            let value = value.trim().trim_matches('"');
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .ok()?
                .into_owned();
            Some((name.trim().to_string(), value))
        })
        .collect()
}

/// One fixed user, as the services are configured in the demo.
#[derive(Debug, Clone)]
pub struct SingleUser {
    credentials: BasicCredentials,
}

impl SingleUser {
    /// Accepts exactly `username` with `password` (compared in constant time).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            credentials: BasicCredentials::new(username, password),
        }
    }
}

impl Authenticator for SingleUser {
    fn authenticate(&self, credentials: &BasicCredentials) -> bool {
        // Both comparisons always run, so timing does not tell which part was wrong.
        let username = constant_time_eq(&credentials.username, &self.credentials.username);
        let password = constant_time_eq(&credentials.password, &self.credentials.password);
        username & password
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut difference = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        difference |= x ^ y;
    }
    difference == 0
}

/// The authenticated user of a request, or the `401` response refusing it.
pub fn authenticate(
    headers: &HeaderMap,
    authenticator: &dyn Authenticator,
) -> Result<String, Box<Response>> {
    match BasicCredentials::from_headers(headers) {
        Some(credentials) if authenticator.authenticate(&credentials) => Ok(credentials.username),
        found => {
            let detail = if found.is_some() {
                "The credentials are not valid."
            } else {
                "This operation requires HTTP basic authentication."
            };
            Err(Box::new(unauthorized(authenticator.realm(), detail)))
        }
    }
}

fn unauthorized(realm: &str, detail: &str) -> Response {
    let mut response = Problem::new(StatusCode::UNAUTHORIZED)
        .with_detail(detail)
        .into_response();
    let challenge = format!("Basic realm=\"{}\"", realm.replace(['"', '\\'], ""));
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("ascii"),
        );
        headers
    }

    #[test]
    fn parses_basic_credentials() {
        let credentials = BasicCredentials::new("root", "P@ss:w0rd1");
        let parsed = BasicCredentials::from_headers(&headers(&credentials.header_value()));
        assert_eq!(parsed, Some(credentials));
        assert_eq!(BasicCredentials::from_headers(&headers("Bearer abc")), None);
        assert_eq!(BasicCredentials::from_headers(&headers("Basic !!!")), None);
    }

    #[test]
    fn refuses_with_challenge() {
        let user = SingleUser::new("root", "P@ssw0rd1");
        let good = headers(&BasicCredentials::new("root", "P@ssw0rd1").header_value());
        assert_eq!(authenticate(&good, &user).ok().as_deref(), Some("root"));
        let bad = headers(&BasicCredentials::new("root", "wrong").header_value());
        let response = authenticate(&bad, &user).expect_err("refused");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"api\""
        );
    }
}
