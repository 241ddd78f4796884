//! RFC 9457 problem documents: the body of every error response of every service.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The media type of a [`Problem`] body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One way a request breaks its contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// JSON pointer into the request: `/path/id`, `/query/page`, `/body/first_name`.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

impl Violation {
    /// A violation at `pointer` saying `message`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

/// An RFC 9457 problem document (`application/problem+json`); `errors` lists every contract
/// violation of a rejected request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default = "about_blank")]
    /// `type`: a URI naming the kind of problem (`about:blank` for plain HTTP statuses).
    pub problem_type: String,
    /// `title`: the status's reason phrase.
    pub title: String,
    /// `status`: the HTTP status code.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `detail`: what happened, for people.
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `errors`: each violation with its JSON pointer (a `400`'s).
    pub errors: Option<Vec<Violation>>,
}

fn about_blank() -> String {
    "about:blank".to_string()
}

impl Problem {
    /// A problem whose title is the status's reason phrase.
    pub fn new(status: StatusCode) -> Self {
        Self {
            problem_type: about_blank(),
            title: status
                .canonical_reason()
                .unwrap_or("Unknown status")
                .to_string(),
            status: status.as_u16(),
            detail: None,
            errors: None,
        }
    }

    /// The problem with `detail` set.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// `400 Bad Request` listing every violation.
    pub fn invalid(violations: Vec<Violation>) -> Self {
        let detail = match violations.len() {
            1 => "The request violates its contract in 1 place.".to_string(),
            n => format!("The request violates its contract in {n} places."),
        };
        Self {
            errors: Some(violations),
            ..Self::new(StatusCode::BAD_REQUEST).with_detail(detail)
        }
    }

    /// The status as an HTTP status code (`500` if the document holds no valid one).
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        for violation in self.errors.iter().flatten() {
            write!(f, "; {violation}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        // Serializing a struct of strings and numbers cannot fail.
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_rfc_9457() {
        let problem = Problem::invalid(vec![Violation::new("/body/a", "is required")]);
        let json = serde_json::to_value(&problem).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "about:blank",
                "title": "Bad Request",
                "status": 400,
                "detail": "The request violates its contract in 1 place.",
                "errors": [{"pointer": "/body/a", "message": "is required"}],
            })
        );
    }

    #[test]
    fn responds_with_problem_json() {
        let response = Problem::new(StatusCode::NOT_FOUND).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
