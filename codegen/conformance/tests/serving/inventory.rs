//! `inventory_3_1.yaml` (OpenAPI 3.1): `type: [T, "null"]`, numeric `exclusiveMinimum`,
//! `oneOf: [$ref, {type: 'null'}]`, a path pattern, a `404` problem from `ApiError`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{Method, StatusCode};
use contract_runtime::{ApiError, HttpClient, RequestContext, Security};
use serde_json::json;

use super::{Calls, call, serve};
use crate::inventory_3_1_api::*;

#[derive(Default)]
struct Inventory {
    calls: Calls,
    items: Mutex<BTreeMap<String, Item>>,
}

impl InventoryApi for Inventory {
    async fn get_item(
        &self,
        _context: RequestContext,
        params: GetItemParams,
    ) -> Result<GetItemResponse, ApiError> {
        self.calls.hit();
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        match items.get(&params.sku) {
            Some(item) => Ok(GetItemResponse::Ok(item.clone())),
            None => Err(ApiError::NotFound(format!("no item {}", params.sku))),
        }
    }

    async fn put_item(
        &self,
        _context: RequestContext,
        params: PutItemParams,
        body: Item,
    ) -> Result<PutItemResponse, ApiError> {
        self.calls.hit();
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.insert(params.sku, body.clone());
        Ok(PutItemResponse::Ok(body))
    }
}

fn inventory() -> (Arc<Inventory>, Router) {
    let handler = Arc::new(Inventory::default());
    (
        Arc::clone(&handler),
        router_with_security(handler, Security::new()),
    )
}

#[tokio::test]
async fn good_requests_reach_the_handler_through_the_typed_client() {
    let (_, router) = inventory();
    let client = Client::new(HttpClient::new(serve(router).await));
    let widget = Item {
        name: "Widget".into(),
        price: 0.01,
        stock: None,
        note: None,
        supplier: Some(Supplier {
            name: "Acme".into(),
            website: Some("https://acme.example".into()),
        }),
    };
    assert_eq!(
        client.put_item("WID-0001", &widget).await.expect("stored"),
        PutItemResponse::Ok(widget.clone())
    );
    assert_eq!(
        client.get_item("WID-0001").await.expect("found"),
        GetItemResponse::Ok(widget)
    );
    let missing = client.get_item("WID-0002").await.expect_err("a problem");
    assert_eq!(missing.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn nulls_are_accepted_where_the_3_1_types_allow_them() {
    let (_, router) = inventory();
    let answer = call(Method::PUT, "/items/WID-0001")
        .json(&json!({"name": "Widget", "price": 1, "stock": null, "note": null, "supplier": null}))
        .send(&router)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.bytes);
    assert_eq!(
        answer.json(),
        json!({"name": "Widget", "price": 1.0, "note": null})
    );
}

#[tokio::test]
async fn every_kind_of_bad_input_is_a_400_naming_every_violation() {
    let (handler, router) = inventory();
    call(Method::PUT, "/items/wid-1")
        .json(&json!({
            "name": null,
            "price": 0,
            "stock": -1,
            "note": "n".repeat(201),
            "supplier": {"website": "acme"}
        }))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/path/sku", "must match the pattern"),
            ("/body/name", "must be a string, not null"),
            ("/body/price", "must be greater than 0"),
            ("/body/stock", "must be at least 0"),
            ("/body/note", "must be at most 200 characters"),
            ("/body/supplier/name", "is required"),
            ("/body/supplier/website", "must be an absolute URI"),
        ]);
    call(Method::PUT, "/items/WID-0001")
        .json(&json!({"price": 10001, "stock": 1.5}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/name", "is required"),
            ("/body/note", "is required"),
            ("/body/price", "must be at most 10000"),
            ("/body/stock", "must be an integer"),
        ]);
    assert_eq!(handler.calls.count(), 0);
}
