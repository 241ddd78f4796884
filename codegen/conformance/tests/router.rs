//! The generated routers, driven in memory with toy handlers: good input, each kind of bad
//! input (which must never reach the handler), authentication, and the contract extensions.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use contract_conformance::toy::{BalanceSheets, PASSWORD, Persons, USERNAME};
use contract_runtime::{BasicCredentials, SingleUser};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    www_authenticate: Option<String>,
    body: Value,
}

impl Answer {
    /// The `(pointer, message)` pairs of a problem document.
    fn violations(&self) -> Vec<(String, String)> {
        self.body["errors"]
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

    fn pointers(&self) -> Vec<String> {
        self.violations()
            .into_iter()
            .map(|(pointer, _)| pointer)
            .collect()
    }

    fn assert_problem(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json")
        );
        assert_eq!(self.body["status"], status.as_u16());
    }
}

fn auth() -> Arc<SingleUser> {
    Arc::new(SingleUser::new(USERNAME, PASSWORD))
}

fn persons() -> (Arc<Persons>, Router) {
    let handler = Arc::new(Persons::default());
    let router = contracts::person_api::router(Arc::clone(&handler), auth());
    (handler, router)
}

fn accounting() -> Router {
    contracts::accounting_api::router(Arc::new(BalanceSheets::default()), auth())
}

async fn send(router: &Router, method: Method, uri: &str, body: Option<&str>) -> Answer {
    send_with(
        router,
        method,
        uri,
        body,
        Some("application/json"),
        Some(PASSWORD),
    )
    .await
}

async fn send_with(
    router: &Router,
    method: Method,
    uri: &str,
    body: Option<&str>,
    content_type: Option<&str>,
    password: Option<&str>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "testhost");
    if let Some(password) = password {
        let credentials = BasicCredentials::new(USERNAME, password);
        request = request.header(header::AUTHORIZATION, credentials.header_value());
    }
    if let (Some(content_type), Some(_)) = (content_type, body) {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let request = request
        .body(Body::from(body.unwrap_or_default().to_string()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let header_text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header_text(header::CONTENT_TYPE);
    let www_authenticate = header_text(header::WWW_AUTHENTICATE);
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    Answer {
        status,
        content_type,
        www_authenticate,
        body,
    }
}

const BART: &str =
    r#"{"first_name": "Bart", "last_name": "Simpson", "date_of_birth": "1980-02-23T00:00:00Z"}"#;

#[tokio::test]
async fn good_input_reaches_the_handler() {
    let (handler, router) = persons();
    let created = send(&router, Method::POST, "/api/persons/", Some(BART)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.content_type.as_deref(), Some("application/json"));
    assert_eq!(created.body["first_name"], "Bart");
    assert_eq!(created.body["date_of_birth"], "1980-02-23T00:00:00Z");
    let id = created.body["id"].as_str().expect("id").to_string();

    let found = send(&router, Method::GET, &format!("/api/persons/{id}/"), None).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.body, created.body);

    let page = send(&router, Method::GET, "/api/persons/?page=1", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["count"], 1);
    assert_eq!(page.body["next"], Value::Null);

    let deleted = send(
        &router,
        Method::DELETE,
        &format!("/api/persons/{id}/"),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    let gone = send(&router, Method::GET, &format!("/api/persons/{id}/"), None).await;
    gone.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(handler.calls(), 5);
}

/// Each bad body gives one violation at the expected pointer, and the handler is never called.
#[tokio::test]
async fn each_kind_of_bad_body_is_a_400_listing_it() {
    let long = "x".repeat(51);
    let cases = [
        (
            r#"{"first_name": "Bart"}"#.to_string(),
            "/body/last_name",
            "is required",
        ),
        (
            format!(r#"{{"first_name": "{long}", "last_name": "S"}}"#),
            "/body/first_name",
            "must be at most 50 characters",
        ),
        (
            r#"{"first_name": "", "last_name": "S"}"#.to_string(),
            "/body/first_name",
            "must be at least 1 character",
        ),
        (
            r#"{"first_name": 5, "last_name": "S"}"#.to_string(),
            "/body/first_name",
            "must be a string, not a number",
        ),
        (
            r#"{"first_name": "B", "last_name": "S", "date_of_birth": "23/02/1980"}"#.to_string(),
            "/body/date_of_birth",
            "must be an RFC 3339 date-time such as 2024-02-29T13:45:00Z",
        ),
        (
            "[1, 2]".to_string(),
            "/body",
            "must be an object, not an array",
        ),
        (
            "{\"first_name\": ".to_string(),
            "/body",
            "is not valid JSON",
        ),
    ];
    let (handler, router) = persons();
    for (body, pointer, message) in cases {
        let answer = send(&router, Method::POST, "/api/persons/", Some(&body)).await;
        answer.assert_problem(StatusCode::BAD_REQUEST);
        let violations = answer.violations();
        assert_eq!(violations.len(), 1, "{body}: {violations:?}");
        assert_eq!(violations[0].0, pointer, "{body}");
        assert!(
            violations[0].1.starts_with(message),
            "{body}: {violations:?}"
        );
    }
    assert_eq!(handler.calls(), 0);
}

#[tokio::test]
async fn every_violation_is_listed_at_once() {
    let (handler, router) = persons();
    let body = r#"{"first_name": "", "last_name": 7, "date_of_birth": "yesterday"}"#;
    let answer = send(&router, Method::PUT, "/api/persons/not-a-uuid/", Some(body)).await;
    answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.pointers(),
        [
            "/path/id",
            "/body/first_name",
            "/body/last_name",
            "/body/date_of_birth"
        ]
    );
    assert_eq!(
        answer.body["detail"],
        "The request violates its contract in 4 places."
    );
    assert_eq!(handler.calls(), 0);
}

#[tokio::test]
async fn bad_path_and_query_parameters() {
    let (handler, router) = persons();
    let answer = send(&router, Method::GET, "/api/persons/123/", None).await;
    answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.violations(),
        [("/path/id".into(), "must be a UUID".into())]
    );

    let answer = send(&router, Method::GET, "/api/persons/?page=0", None).await;
    answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.violations(),
        [("/query/page".into(), "must be at least 1".into())]
    );

    let answer = send(&router, Method::GET, "/api/persons/?page=two", None).await;
    answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.violations(),
        [(
            "/query/page".into(),
            "must be an integer, not a string".into()
        )]
    );
    assert_eq!(handler.calls(), 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let (handler, router) = persons();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let answer = send_with(
            &router,
            Method::POST,
            "/api/persons/",
            Some(BART),
            content_type,
            Some(PASSWORD),
        )
        .await;
        answer.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let with_charset = send_with(
        &router,
        Method::POST,
        "/api/persons/",
        Some(BART),
        Some("application/json; charset=utf-8"),
        Some(PASSWORD),
    )
    .await;
    assert_eq!(with_charset.status, StatusCode::CREATED);
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn a_missing_body_is_a_violation() {
    let (_, router) = persons();
    let answer = send(&router, Method::POST, "/api/persons/", None).await;
    answer.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.violations(),
        [("/body".into(), "is required".into())]
    );
}

#[tokio::test]
async fn authentication_is_enforced_except_for_health() {
    let (handler, router) = persons();
    for password in [None, Some("wrong")] {
        let answer = send_with(
            &router,
            Method::POST,
            "/api/persons/",
            Some(BART),
            Some("application/json"),
            password,
        )
        .await;
        answer.assert_problem(StatusCode::UNAUTHORIZED);
        assert_eq!(
            answer.www_authenticate.as_deref(),
            Some("Basic realm=\"api\"")
        );
    }
    // Authentication comes first: an invalid body from a stranger is still a 401.
    let answer = send_with(
        &router,
        Method::POST,
        "/api/persons/",
        Some("{"),
        Some("application/json"),
        None,
    )
    .await;
    answer.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(handler.calls(), 0);

    let health = send_with(&router, Method::GET, "/health/", None, None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(
        health.body,
        json!({"status": "ok", "degraded": false, "checks": {"memory": {"ready": true}}})
    );
}

#[tokio::test]
async fn health_can_answer_503_with_its_body() {
    let answer = send_with(&accounting(), Method::GET, "/health/", None, None, None).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body["status"], "unavailable");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let (_, router) = persons();
    send(&router, Method::GET, "/api/people/", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    send(&router, Method::POST, "/health/", Some("{}"))
        .await
        .assert_problem(StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn patch_tells_absent_from_null() {
    let (_, router) = persons();
    let created = send(&router, Method::POST, "/api/persons/", Some(BART)).await;
    let uri = format!("/api/persons/{}/", created.body["id"].as_str().expect("id"));

    let renamed = send(
        &router,
        Method::PATCH,
        &uri,
        Some(r#"{"first_name": "Lisa"}"#),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["first_name"], "Lisa");
    assert_eq!(renamed.body["date_of_birth"], "1980-02-23T00:00:00Z");

    let cleared = send(
        &router,
        Method::PATCH,
        &uri,
        Some(r#"{"date_of_birth": null}"#),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(cleared.body["date_of_birth"], Value::Null);
    assert_eq!(cleared.body["first_name"], "Lisa");

    let bad = send(&router, Method::PATCH, &uri, Some(r#"{"last_name": null}"#)).await;
    bad.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.violations(),
        [(
            "/body/last_name".into(),
            "must be a string, not null".into()
        )]
    );
}

#[tokio::test]
async fn digit_strings_are_accepted_where_the_contract_says_so() {
    let router = accounting();
    let person_id = "10cdc09d-757c-4e4f-96bc-367a7de72f70";
    let body =
        format!(r#"{{"person_id": "{person_id}", "assets": 3340000, "liabilities": "537300"}}"#);
    let created = send(&router, Method::POST, "/api/balance-sheets/", Some(&body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["liabilities"], 537_300);
    assert_eq!(created.body["assets"], 3_340_000);

    let cases = [
        (r#""-5""#, "must be at least 0"),
        ("-5", "must be at least 0"),
        (r#""5e3""#, "must be an integer or a string of digits"),
        ("1.5", "must be an integer"),
        (
            "true",
            "must be an integer or a string of digits, not a boolean",
        ),
    ];
    for (liabilities, message) in cases {
        let body =
            format!(r#"{{"person_id": "{person_id}", "assets": 1, "liabilities": {liabilities}}}"#);
        let answer = send(&router, Method::POST, "/api/balance-sheets/", Some(&body)).await;
        answer.assert_problem(StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.violations(),
            [("/body/liabilities".into(), message.into())],
            "{liabilities}"
        );
    }

    let uri = format!(
        "/api/balance-sheets/{}/",
        created.body["id"].as_str().expect("id")
    );
    let patched = send(&router, Method::PATCH, &uri, Some(r#"{"assets": "42"}"#)).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["assets"], 42);
    assert_eq!(patched.body["liabilities"], 537_300);
}

#[tokio::test]
async fn handler_errors_are_problems() {
    let router = accounting();
    let uri = "/api/balance-sheets/10cdc09d-757c-4e4f-96bc-367a7de72f70/";
    let body =
        r#"{"person_id": "10cdc09d-757c-4e4f-96bc-367a7de72f70", "assets": 1, "liabilities": 1}"#;
    let answer = send(&router, Method::PUT, uri, Some(body)).await;
    answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !answer.body.to_string().contains("not needed"),
        "internal detail leaked"
    );
}

/// Text PostgreSQL cannot store (a NUL character) is a 400 violation naming the field, in the
/// body and in path and query parameters, and never reaches the handler (issue 14: it answered
/// 503 with the database's error).
#[tokio::test]
async fn nul_characters_are_violations_wherever_text_goes() {
    let (handler, router) = persons();
    let created = send(
        &router,
        Method::POST,
        "/api/persons/",
        Some(r#"{"first_name": "ab\u0000cd", "last_name": "x\u0000"}"#),
    )
    .await;
    created.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(
        created.violations(),
        [
            (
                "/body/first_name".to_string(),
                "must not contain the NUL character (U+0000)".to_string()
            ),
            (
                "/body/last_name".to_string(),
                "must not contain the NUL character (U+0000)".to_string()
            ),
        ]
    );
    let patched = send(
        &router,
        Method::PATCH,
        "/api/persons/10cdc09d-757c-4e4f-96bc-367a7de72f70/",
        Some(r#"{"last_name": "\u0000"}"#),
    )
    .await;
    patched.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(patched.pointers(), ["/body/last_name"]);
    let path = send(&router, Method::GET, "/api/persons/a%00b/", None).await;
    path.assert_problem(StatusCode::BAD_REQUEST);
    assert!(
        path.violations().contains(&(
            "/path/id".to_string(),
            "must not contain the NUL character (U+0000)".to_string()
        )),
        "{:?}",
        path.violations()
    );
    let query = send(&router, Method::GET, "/api/persons/?page=%00", None).await;
    query.assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(query.pointers(), ["/query/page"]);
    assert_eq!(handler.calls(), 0);
}
