//! `supported.yaml`: basic authentication with an open operation beside it, query parameters
//! of each scalar kind, a `$ref` request body with digit strings, an optional inline body with
//! `additionalProperties: false`, a PATCH body with double options, a `503` with a JSON body.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{Method, StatusCode};
use contract_runtime::{
    ApiError, BasicCredentials, Health, HealthStatus, HttpClient, RequestContext, SingleUser,
};
use serde_json::json;

use super::{Calls, call, serve};
use crate::supported_api::*;

const USER: &str = "admin";
const PASSWORD: &str = "s3cret-enough";

#[derive(Default)]
struct Things {
    calls: Calls,
    last_patch: Mutex<Option<ThingPatch>>,
}

fn thing(name: &str, count: i64) -> Thing {
    Thing {
        id: uuid::Uuid::nil(),
        name: name.into(),
        count,
        small: None,
        weight: None,
        done: None,
        created: chrono::DateTime::UNIX_EPOCH,
        due: None,
        colour: Some(Colour::DarkGreen),
        size: None,
        tags: None,
        owner: None,
        labels: None,
        extra: None,
        anything: None,
        r#type: None,
        camel_case: None,
    }
}

impl FixtureApi for Things {
    async fn list_things(
        &self,
        _context: RequestContext,
        params: ListThingsParams,
    ) -> Result<ListThingsResponse, ApiError> {
        self.calls.hit();
        Ok(ListThingsResponse::Ok(vec![thing(
            &params.tag,
            params.limit.unwrap_or(1),
        )]))
    }

    async fn create_thing(
        &self,
        context: RequestContext,
        body: ThingInput,
    ) -> Result<CreateThingResponse, ApiError> {
        self.calls.hit();
        assert_eq!(context.principal.as_deref(), Some(USER));
        Ok(CreateThingResponse::Created(thing(&body.name, body.count)))
    }

    async fn touch_thing(
        &self,
        _context: RequestContext,
        _params: TouchThingParams,
        _body: Option<TouchThingBody>,
    ) -> Result<TouchThingResponse, ApiError> {
        self.calls.hit();
        Ok(TouchThingResponse::NoContent)
    }

    async fn update_thing(
        &self,
        _context: RequestContext,
        _params: UpdateThingParams,
        body: ThingPatch,
    ) -> Result<UpdateThingResponse, ApiError> {
        self.calls.hit();
        *self.last_patch.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
        Ok(UpdateThingResponse::Ok(thing("patched", 1)))
    }

    async fn status(&self, _context: RequestContext) -> Result<StatusResponse, ApiError> {
        self.calls.hit();
        Ok(StatusResponse::ServiceUnavailable(Health {
            status: HealthStatus::Unavailable,
            degraded: false,
            checks: Default::default(),
        }))
    }
}

fn things() -> (Arc<Things>, Router) {
    let handler = Arc::new(Things::default());
    let router = router(
        Arc::clone(&handler),
        Arc::new(SingleUser::new(USER, PASSWORD)),
    );
    (handler, router)
}

#[tokio::test]
async fn good_requests_reach_the_handler_through_the_typed_client() {
    let (handler, router) = things();
    let base = serve(router.clone()).await;
    let client = Client::new(HttpClient::new(&base).with_credentials(USER, PASSWORD));
    let ListThingsResponse::Ok(listed) = client
        .list_things(
            Some(3),
            "blue",
            Some(0.5),
            Some(true),
            Some(Colour::BlueIsh),
        )
        .await
        .expect("listed");
    assert_eq!((listed[0].name.as_str(), listed[0].count), ("blue", 3));
    let input = ThingInput {
        name: "lamp".into(),
        count: 2,
        parts: Some(vec![Part {
            label: "bulb".into(),
        }]),
    };
    let CreateThingResponse::Created(created) = client.create_thing(&input).await.expect("created")
    else {
        panic!("not created")
    };
    assert_eq!(created.colour, Some(Colour::DarkGreen));
    assert_eq!(
        client.touch_thing(1, None).await.expect("touched"),
        TouchThingResponse::NoContent
    );
    // A digit string where an integer is declared with `x-accept-digit-string`, and `null`
    // clearing a date, as the handler sees them.
    let answer = call(Method::PATCH, "/things/1/")
        .header(
            "authorization",
            &BasicCredentials::new(USER, PASSWORD).header_value(),
        )
        .json(&json!({"count": "42", "due": null}))
        .send(&router)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.bytes);
    assert_eq!(
        handler
            .last_patch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        Some(ThingPatch {
            name: None,
            due: Some(None),
            count: Some(42)
        })
    );
    // The open operation needs no credentials; its 503 has a JSON body of its own.
    let anonymous = Client::new(HttpClient::new(&base));
    assert!(matches!(
        anonymous.status().await.expect("answered"),
        StatusResponse::ServiceUnavailable(health) if health.status == HealthStatus::Unavailable
    ));
}

#[tokio::test]
async fn every_kind_of_bad_input_is_a_400_naming_every_violation() {
    let (handler, router) = things();
    let auth = BasicCredentials::new(USER, PASSWORD).header_value();
    call(
        Method::GET,
        "/things/?limit=101&ratio=2&active=maybe&colour=green",
    )
    .header("authorization", &auth)
    .send(&router)
    .await
    .assert_invalid(&[
        ("/query/tag", "is required"),
        ("/query/limit", "must be at most 100"),
        ("/query/ratio", "must be at most 1"),
        ("/query/active", "must be a boolean"),
        ("/query/colour", "must be one of"),
    ]);
    call(Method::POST, "/things/")
        .header("authorization", &auth)
        .json(&json!({"name": 1, "count": "4x", "parts": [{"label": "a", "colour": "red"}, {}]}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/name", "must be a string"),
            ("/body/count", "must be an integer or a string of digits"),
            ("/body/parts/0/colour", "is not an allowed property"),
            ("/body/parts/1/label", "is required"),
        ]);
    call(Method::PUT, "/things/0/")
        .header("authorization", &auth)
        .json(&json!({"note": 5, "extra": true}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/path/thing_id", "must be at least 1"),
            ("/body/note", "must be a string"),
            ("/body/extra", "is not an allowed property"),
        ]);
    // Without credentials, or with wrong ones: 401 with a basic challenge.
    for answer in [
        call(Method::GET, "/things/?tag=a").send(&router).await,
        call(Method::GET, "/things/?tag=a")
            .header(
                "authorization",
                &BasicCredentials::new(USER, "guess").header_value(),
            )
            .send(&router)
            .await,
    ] {
        answer.assert_problem(StatusCode::UNAUTHORIZED);
        assert!(
            answer
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Basic"))
        );
    }
    assert_eq!(handler.calls.count(), 0);
}
