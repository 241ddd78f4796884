//! `datasets.yaml`: kebab-case operationIds, a lower-camelCase schema name, an optional
//! `application/x-www-form-urlencoded` body with defaults, a `404` without a body, a `404` with a
//! plain JSON string.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{Method, StatusCode};
use contract_runtime::{ApiError, HttpClient, RequestContext, Security};
use serde_json::{Value, json};

use super::{Calls, call, serve};
use crate::datasets_api::*;

#[derive(Default)]
struct DataSets {
    calls: Calls,
    last_search: Mutex<Option<(PerformSearchParams, Option<PerformSearchBody>)>>,
}

impl DatasetsApi for DataSets {
    async fn list_data_sets(
        &self,
        _context: RequestContext,
    ) -> Result<ListDataSetsResponse, ApiError> {
        self.calls.hit();
        Ok(ListDataSetsResponse::Ok(DataSetList {
            total: Some(1),
            apis: Some(vec![DataSetListApisItem {
                api_key: Some("citations".into()),
                api_version_number: Some("v1".into()),
                ..Default::default()
            }]),
        }))
    }

    async fn list_searchable_fields(
        &self,
        _context: RequestContext,
        params: ListSearchableFieldsParams,
    ) -> Result<ListSearchableFieldsResponse, ApiError> {
        self.calls.hit();
        Ok(if params.dataset == "citations" {
            ListSearchableFieldsResponse::Ok(format!(
                "{} {}: title, year",
                params.dataset, params.version
            ))
        } else {
            ListSearchableFieldsResponse::NotFound(format!("no data set {}", params.dataset))
        })
    }

    async fn perform_search(
        &self,
        _context: RequestContext,
        params: PerformSearchParams,
        body: Option<PerformSearchBody>,
    ) -> Result<PerformSearchResponse, ApiError> {
        self.calls.hit();
        *self.last_search.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((params.clone(), body.clone()));
        if params.dataset != "citations" {
            return Ok(PerformSearchResponse::NotFound);
        }
        let record = [(
            "title".to_string(),
            [("en".to_string(), json!("Rust"))].into(),
        )]
        .into();
        Ok(PerformSearchResponse::Ok(vec![record]))
    }
}

fn datasets() -> (Arc<DataSets>, Router) {
    let handler = Arc::new(DataSets::default());
    (
        Arc::clone(&handler),
        router_with_security(handler, Security::new()),
    )
}

#[tokio::test]
async fn good_requests_reach_the_handler_through_the_typed_client() {
    let (handler, router) = datasets();
    let client = Client::new(HttpClient::new(serve(router.clone()).await));
    let ListDataSetsResponse::Ok(list) = client.list_data_sets().await.expect("listed");
    assert_eq!(list.total, Some(1));
    assert_eq!(
        client
            .list_searchable_fields("citations", "v1")
            .await
            .expect("answered"),
        ListSearchableFieldsResponse::Ok("citations v1: title, year".into())
    );
    assert_eq!(
        client
            .list_searchable_fields("patents", "v1")
            .await
            .expect("answered"),
        ListSearchableFieldsResponse::NotFound("no data set patents".into())
    );
    let search = PerformSearchBody {
        criteria: "title:rust".into(),
        start: 10,
        rows: 5,
    };
    let PerformSearchResponse::Ok(records) = client
        .perform_search("v1", "citations", Some(&search))
        .await
        .expect("searched")
    else {
        panic!("not found")
    };
    assert_eq!(records[0]["title"]["en"], json!("Rust"));
    assert_eq!(
        client
            .perform_search("v1", "patents", None)
            .await
            .expect("answered"),
        PerformSearchResponse::NotFound
    );

    // The form's defaults are applied to what the handler gets.
    let answer = call(Method::POST, "/citations/v2/records")
        .body("application/x-www-form-urlencoded", "criteria=year%3A2024")
        .send(&router)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.bytes);
    let last = handler
        .last_search
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(
        last,
        Some((
            PerformSearchParams {
                version: "v2".into(),
                dataset: "citations".into()
            },
            Some(PerformSearchBody {
                criteria: "year:2024".into(),
                start: 0,
                rows: 100
            })
        ))
    );
}

#[tokio::test]
async fn every_kind_of_bad_input_is_a_400_naming_every_violation() {
    let (handler, router) = datasets();
    call(Method::POST, "/citations/v1/records")
        .body("application/x-www-form-urlencoded", "start=first&rows=1.5")
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/criteria", "is required"),
            ("/body/start", "must be an integer"),
            ("/body/rows", "must be an integer"),
        ]);
    // A form operation does not take JSON.
    call(Method::POST, "/citations/v1/records")
        .json(&Value::Null)
        .send(&router)
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(handler.calls.count(), 0);
}
