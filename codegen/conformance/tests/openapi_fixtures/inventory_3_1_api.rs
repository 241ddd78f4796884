// @generated from codegen/tests/fixtures/openapi/inventory_3_1.yaml by the codegen test `conformance_fixture_modules_are_up_to_date`. Do not edit by hand.

//! Inventory: models, validation, handler trait, axum router and typed client,
//! generated from `contracts/api/inventory_3_1.yaml`.
//!
//! JSON Schema 2020-12 types (`type` lists with `null`), numeric exclusive bounds,
//! `examples` lists.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use contract_runtime::client::HttpClient;
use contract_runtime::client::path_segment;
use contract_runtime::server::decode_body;
use contract_runtime::server::decode_params;
use contract_runtime::server::{
    IncomingRequest, Rejection, RouterState, method_not_allowed, not_found,
};
use contract_runtime::server::{Param, ParamKind};
use contract_runtime::validate::IntegerRules;
use contract_runtime::validate::NumberRules;
use contract_runtime::validate::StringFormat;
use contract_runtime::validate::StringRules;
use contract_runtime::validate::Validator;
use contract_runtime::validate::pointer;
use contract_runtime::{ApiError, Authenticator, ClientError, RequestContext, Security};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

// Models.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub price: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<i32>,
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Supplier>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// The parameters of `getItem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetItemParams {
    pub sku: String,
}

/// The parameters of `putItem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutItemParams {
    pub sku: String,
}

// Responses.

/// The responses of `get_item` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum GetItemResponse {
    /// The item.
    Ok(Item),
}

impl IntoResponse for GetItemResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

/// The responses of `put_item` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PutItemResponse {
    /// The item as stored.
    Ok(Item),
}

impl IntoResponse for PutItemResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

// Validation: every request is checked against the contract before it is decoded.

/// Records every way `value`, found at `at`, breaks the `Item` schema.
pub fn validate_item(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["name", "price", "note"]);
    if let Some(value) = object.get("name") {
        validator.string(value, &pointer(at, "name"), StringRules::new());
    }
    if let Some(value) = object.get("price") {
        validator.number(
            value,
            &pointer(at, "price"),
            NumberRules::new().exclusive_minimum(0.0).maximum(10000.0),
        );
    }
    if let Some(value) = object.get("stock").filter(|value| !value.is_null()) {
        validator.integer(
            value,
            &pointer(at, "stock"),
            IntegerRules::int32().minimum(0),
        );
    }
    if let Some(value) = object.get("note").filter(|value| !value.is_null()) {
        validator.string(
            value,
            &pointer(at, "note"),
            StringRules::new().max_length(200),
        );
    }
    if let Some(value) = object.get("supplier").filter(|value| !value.is_null()) {
        validate_supplier(value, &pointer(at, "supplier"), validator);
    }
}

/// Records every way `value`, found at `at`, breaks the `Supplier` schema.
pub fn validate_supplier(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["name"]);
    if let Some(value) = object.get("name") {
        validator.string(value, &pointer(at, "name"), StringRules::new());
    }
    if let Some(value) = object.get("website") {
        validator.string(
            value,
            &pointer(at, "website"),
            StringRules::new().format(StringFormat::Uri),
        );
    }
}

/// The operations of the Inventory, implemented by the service and served by [`router`].
pub trait InventoryApi: Send + Sync + 'static {
    /// `GET /items/{sku}`
    fn get_item(
        &self,
        context: RequestContext,
        params: GetItemParams,
    ) -> impl Future<Output = Result<GetItemResponse, ApiError>> + Send;

    /// `PUT /items/{sku}`
    fn put_item(
        &self,
        context: RequestContext,
        params: PutItemParams,
        body: Item,
    ) -> impl Future<Output = Result<PutItemResponse, ApiError>> + Send;
}

/// The axum router of the Inventory, with HTTP basic authentication checked by `auth`: see
/// [`router_with_security`].
pub fn router<H: InventoryApi>(handler: Arc<H>, auth: Arc<dyn Authenticator>) -> Router {
    router_with_security(handler, Security::new().with_basic(auth))
}

/// The axum router of the Inventory: authenticates (where the contract requires it, with the
/// hooks in `security`) and validates every request, answering `401`, `400`, `415` with a
/// problem document before the handler sees it.
pub fn router_with_security<H: InventoryApi>(handler: Arc<H>, security: Security) -> Router {
    Router::new()
        .route(
            "/items/{sku}",
            axum::routing::get(handle_get_item::<H>).put(handle_put_item::<H>),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(RouterState::new(handler, security))
}

/// `GET /items/{sku}`
async fn handle_get_item<H: InventoryApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<GetItemResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("sku", ParamKind::String)]);
    match params.pointer("/path/sku") {
        Some(value) => {
            validator.string(
                value,
                "/path/sku",
                StringRules::new().pattern("^[A-Z]{3}-\\d{4}$"),
            );
        }
        None => validator.push("/path/sku", "is required"),
    }
    validator.finish()?;
    Ok(state
        .handler
        .get_item(request.context, decode_params(params)?)
        .await?)
}

/// `PUT /items/{sku}`
async fn handle_put_item<H: InventoryApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<PutItemResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("sku", ParamKind::String)]);
    match params.pointer("/path/sku") {
        Some(value) => {
            validator.string(
                value,
                "/path/sku",
                StringRules::new().pattern("^[A-Z]{3}-\\d{4}$"),
            );
        }
        None => validator.push("/path/sku", "is required"),
    }
    let body = request.json_body(&mut validator)?;
    if let Some(body) = &body {
        validate_item(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .put_item(request.context, decode_params(params)?, decode_body(body)?)
        .await?)
}

/// Typed client of the Inventory.
#[derive(Debug, Clone)]
pub struct Client {
    http: HttpClient,
}

impl Client {
    /// A client sending its requests through `http` (base URL, credentials, observer).
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// The connection settings the client sends through.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `GET /items/{sku}`
    pub async fn get_item(&self, sku: &str) -> Result<GetItemResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, format!("/items/{}", path_segment(sku)))
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(GetItemResponse::Ok(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `PUT /items/{sku}`
    pub async fn put_item(&self, sku: &str, body: &Item) -> Result<PutItemResponse, ClientError> {
        let response = self
            .http
            .request(Method::PUT, format!("/items/{}", path_segment(sku)))
            .json(body)
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(PutItemResponse::Ok(response.json()?)),
            _ => Err(response.into_error()),
        }
    }
}
