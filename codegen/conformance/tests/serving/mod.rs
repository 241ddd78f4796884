//! Serving the fixture specs' generated code: a toy handler per spec behind its generated
//! router, driven in memory (`tower::ServiceExt::oneshot`) with hand-written requests (bad
//! input of every kind, which must be answered `400` naming every violation before the handler
//! runs) and over a loopback socket with the generated typed client (good input).

mod datasets;
mod dropshot_style;
mod inventory;
mod petstore;
mod supported;
mod versions;

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

/// Counts the requests that reach a toy handler, so tests can prove bad ones never do.
#[derive(Debug, Default)]
pub struct Calls(AtomicUsize);

impl Calls {
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A response read into memory.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.bytes))
    }

    /// The `(pointer, message)` pairs of a problem document, in order.
    pub fn violations(&self) -> Vec<(String, String)> {
        let body = self.json();
        body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        let text = |key: &str| e[key].as_str().unwrap_or_default().to_string();
                        (text("pointer"), text("message"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A problem document with `status`.
    pub fn assert_problem(&self, status: StatusCode) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.bytes)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.json()["status"], status.as_u16());
    }

    /// A `400` naming exactly the `expected` violations: each pointer once, in any order, with
    /// a message containing the given words.
    pub fn assert_invalid(&self, expected: &[(&str, &str)]) {
        self.assert_problem(StatusCode::BAD_REQUEST);
        let found = self.violations();
        for (pointer, words) in expected {
            assert!(
                found
                    .iter()
                    .any(|(p, message)| p == pointer && message.contains(words)),
                "no violation at {pointer} saying {words:?} among {found:#?}"
            );
        }
        let mut pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        let mut wanted: Vec<&str> = expected.iter().map(|(p, _)| *p).collect();
        pointers.sort_unstable();
        wanted.sort_unstable();
        assert_eq!(pointers, wanted, "{found:#?}");
    }
}

/// A request built by a test.
pub struct Call {
    request: axum::http::request::Builder,
    body: Vec<u8>,
}

pub fn call(method: Method, uri: &str) -> Call {
    Call {
        request: Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "testhost"),
        body: Vec::new(),
    }
}

impl Call {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.request = self.request.header(header::CONTENT_TYPE, content_type);
        self.body = body.into();
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.body("application/json", body.to_string())
    }

    pub async fn send(self, router: &Router) -> Answer {
        let request = self
            .request
            .body(Body::from(self.body))
            .expect("a well-formed test request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body");
        Answer {
            status,
            headers,
            bytes,
        }
    }
}

/// Serves `router` on a loopback port chosen by the system; the base URL to reach it.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("the bound address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}
