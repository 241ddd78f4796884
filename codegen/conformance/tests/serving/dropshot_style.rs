//! `dropshot_style.json`: `4XX`/`5XX` references to one `Error` response (the spec's own error
//! schema, chosen by the handler), unsigned formats, nullable query parameters, `allOf`
//! wrappers, `oneOf` without a discriminator (string enums, and `NameOrId` told apart by a
//! pattern with a negative look-ahead), octet-stream bodies, a response header, unit and
//! default-only responses.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use contract_runtime::{ApiError, HttpClient, RequestContext, Security};
use serde_json::json;

use super::{Calls, call, serve};
use crate::dropshot_style_api::*;

#[derive(Default)]
struct Instances {
    calls: Calls,
    instances: Mutex<Vec<Instance>>,
    last_create: Mutex<Option<InstanceCreate>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn error(message: &str) -> Error {
    Error {
        error_code: Some("Forbidden".into()),
        message: message.into(),
        request_id: "req-1".into(),
    }
}

impl Instances {
    fn find(&self, instance: &NameOrId) -> Option<usize> {
        lock(&self.instances).iter().position(|i| match instance {
            NameOrId::Id(id) => i.id == *id,
            NameOrId::Name(name) => i.name == *name,
        })
    }
}

impl InstancesApi for Instances {
    async fn instance_list(
        &self,
        _context: RequestContext,
        params: InstanceListParams,
    ) -> Result<InstanceListResponse, ApiError> {
        self.calls.hit();
        if params.page_token.as_deref() == Some("forbidden") {
            return Ok(InstanceListResponse::ClientError {
                status: StatusCode::FORBIDDEN,
                body: error("not your project"),
            });
        }
        let limit = params.limit.map_or(usize::MAX, |l| l as usize);
        let items: Vec<Instance> = lock(&self.instances).iter().take(limit).cloned().collect();
        Ok(InstanceListResponse::Ok(InstanceResultsPage {
            items,
            next_page: None,
        }))
    }

    async fn instance_create(
        &self,
        _context: RequestContext,
        body: InstanceCreate,
    ) -> Result<InstanceCreateResponse, ApiError> {
        self.calls.hit();
        *lock(&self.last_create) = Some(body.clone());
        if body.memory == 0 {
            return Ok(InstanceCreateResponse::ServerError {
                status: StatusCode::INSUFFICIENT_STORAGE,
                body: error("no memory left"),
            });
        }
        let instance = Instance {
            id: uuid::Uuid::now_v7(),
            name: body.name,
            memory: body.memory,
            ncpus: body.ncpus,
            run_state: if body.start {
                InstanceState::Starting
            } else {
                InstanceState::Stopped
            },
            time_created: chrono::Utc::now(),
            hostname: body.hostname,
            boot_disk_id: None,
        };
        lock(&self.instances).push(instance.clone());
        Ok(InstanceCreateResponse::Created(instance))
    }

    async fn instance_delete(
        &self,
        _context: RequestContext,
        params: InstanceDeleteParams,
    ) -> Result<InstanceDeleteResponse, ApiError> {
        self.calls.hit();
        match self.find(&params.instance) {
            Some(index) => {
                lock(&self.instances).remove(index);
                Ok(InstanceDeleteResponse::NoContent)
            }
            None => Ok(InstanceDeleteResponse::ClientError {
                status: StatusCode::NOT_FOUND,
                body: Error {
                    error_code: None,
                    message: "no such instance".into(),
                    request_id: "req-2".into(),
                },
            }),
        }
    }

    async fn instance_serial_write(
        &self,
        _context: RequestContext,
        params: InstanceSerialWriteParams,
        body: Bytes,
    ) -> Result<InstanceSerialWriteResponse, ApiError> {
        self.calls.hit();
        if self.find(&params.instance).is_none() {
            return Err(ApiError::NotFound("no such instance".into()));
        }
        Ok(InstanceSerialWriteResponse::NoContent {
            headers: InstanceSerialWriteNoContentHeaders {
                x_bytes_written: body.len() as u64,
            },
        })
    }

    async fn ping(&self, _context: RequestContext) -> Result<PingResponse, ApiError> {
        self.calls.hit();
        Ok(PingResponse::Ok(()))
    }

    async fn metrics_raw(&self, _context: RequestContext) -> Result<MetricsRawResponse, ApiError> {
        self.calls.hit();
        Ok(MetricsRawResponse::Default {
            status: StatusCode::ACCEPTED,
        })
    }
}

fn instances() -> (Arc<Instances>, Router) {
    let handler = Arc::new(Instances::default());
    (
        Arc::clone(&handler),
        router_with_security(handler, Security::new()),
    )
}

#[tokio::test]
async fn good_requests_reach_the_handler_through_the_typed_client() {
    let (handler, router) = instances();
    let client = Client::new(HttpClient::new(serve(router).await));
    let create = InstanceCreate {
        name: "db-1".into(),
        hostname: "db-1.internal".into(),
        memory: 1 << 33,
        ncpus: 4,
        start: false,
        user_data: "IyFjbG91ZC1jb25maWc=".into(),
    };
    let InstanceCreateResponse::Created(created) =
        client.instance_create(&create).await.expect("created")
    else {
        panic!("not created")
    };
    assert_eq!(created.run_state, InstanceState::Stopped);
    assert_eq!(created.memory, 1 << 33);

    // Defaults: `start` is true and `user_data` empty when absent.
    let answer = call(Method::POST, "/instances")
        .json(&json!({"name": "web", "hostname": "web", "memory": 1024, "ncpus": 1}))
        .send(&router_of(&handler))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.bytes);
    assert_eq!(answer.json()["run_state"], "starting");
    assert!(
        lock(&handler.last_create)
            .as_ref()
            .is_some_and(|c| c.start && c.user_data.is_empty())
    );

    // Nullable query parameters, sent and not.
    let InstanceListResponse::Ok(page) = client
        .instance_list(Some(1), None, Some(NameSortMode::NameAscending))
        .await
        .expect("listed")
    else {
        panic!("not listed")
    };
    assert_eq!(page.items, vec![created.clone()]);
    let InstanceListResponse::Ok(page) = client
        .instance_list(None, None, None)
        .await
        .expect("listed")
    else {
        panic!("not listed")
    };
    assert_eq!(page.items.len(), 2);

    // `4XX` / `5XX` with the spec's own error schema, whichever status the handler picks.
    assert_eq!(
        client
            .instance_list(None, Some("forbidden"), None)
            .await
            .expect("answered"),
        InstanceListResponse::ClientError {
            status: StatusCode::FORBIDDEN,
            body: error("not your project")
        }
    );
    let broke = InstanceCreate {
        memory: 0,
        ..create.clone()
    };
    assert_eq!(
        client.instance_create(&broke).await.expect("answered"),
        InstanceCreateResponse::ServerError {
            status: StatusCode::INSUFFICIENT_STORAGE,
            body: error("no memory left")
        }
    );

    // `NameOrId` by id and by name; bytes in, a response header out.
    assert_eq!(
        client
            .instance_serial_write(NameOrId::Id(created.id), b"hello".to_vec())
            .await
            .expect("written"),
        InstanceSerialWriteResponse::NoContent {
            headers: InstanceSerialWriteNoContentHeaders { x_bytes_written: 5 }
        }
    );
    assert_eq!(
        client
            .instance_delete(NameOrId::Name("db-1".into()))
            .await
            .expect("deleted"),
        InstanceDeleteResponse::NoContent
    );
    assert!(matches!(
        client.instance_delete(NameOrId::Id(created.id)).await.expect("answered"),
        InstanceDeleteResponse::ClientError { status: StatusCode::NOT_FOUND, body } if body.error_code.is_none()
    ));
    // A problem from `ApiError` is the client's error, not a response of the contract.
    let missing = client
        .instance_serial_write(NameOrId::Name("gone".into()), b"?".to_vec())
        .await
        .expect_err("a problem");
    assert_eq!(missing.status(), Some(StatusCode::NOT_FOUND));

    assert_eq!(client.ping().await.expect("pinged"), PingResponse::Ok(()));
    assert_eq!(
        client.metrics_raw().await.expect("answered"),
        MetricsRawResponse::Default {
            status: StatusCode::ACCEPTED
        }
    );
}

fn router_of(handler: &Arc<Instances>) -> Router {
    router_with_security(Arc::clone(handler), Security::new())
}

#[tokio::test]
async fn every_kind_of_bad_input_is_a_400_naming_every_violation() {
    let (handler, router) = instances();
    call(Method::GET, "/instances?limit=0&sort_by=name_descending")
        .send(&router)
        .await
        .assert_invalid(&[
            ("/query/limit", "must be at least 1"),
            ("/query/sort_by", "must be one of \"name_ascending\""),
        ]);
    call(Method::GET, "/instances?limit=4294967296")
        .send(&router)
        .await
        .assert_invalid(&[("/query/limit", "must fit in")]);
    // Unsigned ranges, the `allOf`-wrapped name pattern (a UUID is not a name), base64.
    call(Method::POST, "/instances")
        .json(&json!({
            "name": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "hostname": "h",
            "memory": -1,
            "ncpus": 70000,
            "start": "yes",
            "user_data": "%%%"
        }))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/name", "must match the pattern"),
            ("/body/memory", "must fit in a 64-bit unsigned integer"),
            ("/body/memory", "must be at least 0"),
            ("/body/ncpus", "must fit in"),
            ("/body/start", "must be a boolean"),
            ("/body/user_data", "must be base64-encoded"),
        ]);
    call(Method::POST, "/instances")
        .json(&json!({"name": "Web-"}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/name", "must match the pattern"),
            ("/body/hostname", "is required"),
            ("/body/memory", "is required"),
            ("/body/ncpus", "is required"),
        ]);
    // `oneOf` without a discriminator: why each alternative failed.
    let answer = call(Method::DELETE, "/instances/-db").send(&router).await;
    answer.assert_invalid(&[("/path/instance", "matches none of the alternatives")]);
    let (_, message) = &answer.violations()[0];
    assert!(
        message.contains("`id`: /path/instance: must be a UUID")
            && message.contains("`name`: /path/instance: must match the pattern"),
        "{message}"
    );
    call(Method::PUT, "/instances/db/serial")
        .send(&router)
        .await
        .assert_invalid(&[("/body", "is required")]);
    assert_eq!(handler.calls.count(), 0);
}
