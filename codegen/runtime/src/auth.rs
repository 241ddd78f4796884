//! The security hook: HTTP basic authentication, checked by a service-supplied
//! [`Authenticator`] before any operation whose contract requires it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::problem::Problem;

/// A user name and password from an `Authorization: Basic ...` header.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
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
    fn authenticate(&self, credentials: &BasicCredentials) -> bool;

    /// The realm named in `WWW-Authenticate`.
    fn realm(&self) -> &str {
        "api"
    }
}

/// One fixed user, as the services are configured in the demo.
#[derive(Debug, Clone)]
pub struct SingleUser {
    credentials: BasicCredentials,
}

impl SingleUser {
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
