// @generated from codegen/tests/fixtures/openapi/supported.yaml by the codegen test `conformance_fixture_modules_are_up_to_date`. Do not edit by hand.

//! Fixture service: models, validation, handler trait, axum router and typed client,
//! generated from `contracts/api/supported.yaml`.
//!
//! Every construct the generator supports.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use chrono::NaiveDate;
use chrono::Utc;
use contract_runtime::auth::{SchemeKind, SecurityScheme};
use contract_runtime::client::HttpClient;
use contract_runtime::client::path_segment;
use contract_runtime::server::decode_body;
use contract_runtime::server::decode_optional_body;
use contract_runtime::server::decode_params;
use contract_runtime::server::{
    IncomingRequest, Rejection, RouterState, method_not_allowed, not_found,
};
use contract_runtime::server::{Param, ParamKind};
use contract_runtime::validate::ArrayRules;
use contract_runtime::validate::IntegerRules;
use contract_runtime::validate::NumberRules;
use contract_runtime::validate::StringFormat;
use contract_runtime::validate::StringRules;
use contract_runtime::validate::Validator;
use contract_runtime::validate::pointer;
use contract_runtime::{ApiError, Authenticator, ClientError, RequestContext, Security};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

// Models.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Colour {
    #[serde(rename = "red")]
    Red,
    #[serde(rename = "dark green")]
    DarkGreen,
    #[serde(rename = "Blue-ish")]
    BlueIsh,
}

impl Colour {
    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::DarkGreen => "dark green",
            Self::BlueIsh => "Blue-ish",
        }
    }
}

impl std::fmt::Display for Colour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A thing with one field of each supported kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thing {
    pub id: Uuid,
    pub name: String,
    pub count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub small: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<Colour>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ThingSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// An inline object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<ThingOwner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anything: Option<Value>,
    /// A keyword as a property name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(rename = "camelCase", default, skip_serializing_if = "Option::is_none")]
    pub camel_case: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ThingSize {
    S,
    M,
    L,
}

impl ThingSize {
    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::M => "M",
            Self::L => "L",
        }
    }
}

impl std::fmt::Display for ThingSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inline object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThingOwner {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThingInput {
    pub name: String,
    /// Also accepted as a JSON string of digits (`x-accept-digit-string`).
    #[serde(deserialize_with = "contract_runtime::digit_string::deserialize")]
    pub count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThingPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `None`: leave unchanged; `Some(None)`: set to null.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "contract_runtime::double_option"
    )]
    pub due: Option<Option<NaiveDate>>,
    /// Also accepted as a JSON string of digits (`x-accept-digit-string`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "contract_runtime::digit_string::deserialize_option"
    )]
    pub count: Option<i64>,
}

/// The parameters of `list_things`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListThingsParams {
    /// At most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<Colour>,
}

/// The parameters of `touch_thing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TouchThingParams {
    pub thing_id: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TouchThingBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The parameters of `update_thing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateThingParams {
    pub thing_id: i32,
}

// Responses.

/// The responses of `list_things` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ListThingsResponse {
    /// The things.
    Ok(Vec<Thing>),
}

impl IntoResponse for ListThingsResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

/// The responses of `create_thing` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CreateThingResponse {
    /// Created.
    Created(Thing),
    /// Unauthorized.
    Unauthorized,
}

impl IntoResponse for CreateThingResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Created(body) => (StatusCode::CREATED, Json(body)).into_response(),
            Self::Unauthorized => StatusCode::UNAUTHORIZED.into_response(),
        }
    }
}

/// The responses of `touch_thing` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TouchThingResponse {
    /// Touched.
    NoContent,
}

impl IntoResponse for TouchThingResponse {
    fn into_response(self) -> Response {
        match self {
            Self::NoContent => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

/// The responses of `update_thing` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateThingResponse {
    /// Updated.
    Ok(Thing),
}

impl IntoResponse for UpdateThingResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

/// The responses of `status` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StatusResponse {
    /// Fine.
    Ok(contract_runtime::Health),
    /// Not fine.
    ServiceUnavailable(contract_runtime::Health),
}

impl IntoResponse for StatusResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::ServiceUnavailable(body) => {
                (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
            }
        }
    }
}

// Validation: every request is checked against the contract before it is decoded.

/// Records every way `value`, found at `at`, breaks the `Colour` schema.
pub fn validate_colour(value: &Value, at: &str, validator: &mut Validator) {
    validator.string(
        value,
        at,
        StringRules::new().one_of(&["red", "dark green", "Blue-ish"]),
    );
}

/// Records every way `value`, found at `at`, breaks the `ThingInput` schema.
pub fn validate_thing_input(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["name", "count"]);
    if let Some(value) = object.get("name") {
        validator.string(value, &pointer(at, "name"), StringRules::new());
    }
    if let Some(value) = object.get("count") {
        validator.integer(
            value,
            &pointer(at, "count"),
            IntegerRules::int64().accept_digit_string(),
        );
    }
    if let Some(value) = object.get("parts") {
        let at = &pointer(at, "parts");
        if let Some(items) = validator.array(value, at, ArrayRules::new()) {
            for (index, item) in items.iter().enumerate() {
                let at = &pointer(at, index);
                validate_part(item, at, validator);
            }
        }
    }
}

/// Records every way `value`, found at `at`, breaks the `ThingPatch` schema.
pub fn validate_thing_patch(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    if let Some(value) = object.get("name") {
        validator.string(value, &pointer(at, "name"), StringRules::new());
    }
    if let Some(value) = object.get("due").filter(|value| !value.is_null()) {
        validator.string(
            value,
            &pointer(at, "due"),
            StringRules::new().format(StringFormat::Date),
        );
    }
    if let Some(value) = object.get("count") {
        validator.integer(
            value,
            &pointer(at, "count"),
            IntegerRules::int64().accept_digit_string(),
        );
    }
}

/// Records every way `value`, found at `at`, breaks the `Part` schema.
pub fn validate_part(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["label"]);
    validator.only_properties(object, at, &["label"]);
    if let Some(value) = object.get("label") {
        validator.string(value, &pointer(at, "label"), StringRules::new());
    }
}

/// The security schemes of the contract, by name.
pub const SECURITY_SCHEMES: &[SecurityScheme] = &[SecurityScheme {
    name: "basicAuth",
    kind: SchemeKind::Basic,
}];

/// The operations of the Fixture service, implemented by the service and served by [`router`].
pub trait FixtureApi: Send + Sync + 'static {
    /// `GET /things/`
    ///
    /// Query parameters of every kind.
    fn list_things(
        &self,
        context: RequestContext,
        params: ListThingsParams,
    ) -> impl Future<Output = Result<ListThingsResponse, ApiError>> + Send;

    /// `POST /things/`
    fn create_thing(
        &self,
        context: RequestContext,
        body: ThingInput,
    ) -> impl Future<Output = Result<CreateThingResponse, ApiError>> + Send;

    /// `PUT /things/{thing_id}/`
    ///
    /// An optional inline body.
    fn touch_thing(
        &self,
        context: RequestContext,
        params: TouchThingParams,
        body: Option<TouchThingBody>,
    ) -> impl Future<Output = Result<TouchThingResponse, ApiError>> + Send;

    /// `PATCH /things/{thing_id}/`
    fn update_thing(
        &self,
        context: RequestContext,
        params: UpdateThingParams,
        body: ThingPatch,
    ) -> impl Future<Output = Result<UpdateThingResponse, ApiError>> + Send;

    /// `GET /status/`
    fn status(
        &self,
        context: RequestContext,
    ) -> impl Future<Output = Result<StatusResponse, ApiError>> + Send;
}

/// The axum router of the Fixture service, with HTTP basic authentication checked by `auth`: see
/// [`router_with_security`].
pub fn router<H: FixtureApi>(handler: Arc<H>, auth: Arc<dyn Authenticator>) -> Router {
    router_with_security(handler, Security::new().with_basic(auth))
}

/// The axum router of the Fixture service: authenticates (where the contract requires it, with the
/// hooks in `security`) and validates every request, answering `401`, `400`, `415` with a
/// problem document before the handler sees it.
pub fn router_with_security<H: FixtureApi>(handler: Arc<H>, security: Security) -> Router {
    Router::new()
        .route(
            "/things/",
            axum::routing::get(handle_list_things::<H>).post(handle_create_thing::<H>),
        )
        .route(
            "/things/{thing_id}/",
            axum::routing::put(handle_touch_thing::<H>).patch(handle_update_thing::<H>),
        )
        .route("/status/", axum::routing::get(handle_status::<H>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(RouterState::new(handler, security))
}

/// `GET /things/`
///
/// Query parameters of every kind.
async fn handle_list_things<H: FixtureApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<ListThingsResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("basicAuth", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[
        Param::query("limit", ParamKind::Integer),
        Param::query("tag", ParamKind::String),
        Param::query("ratio", ParamKind::Number),
        Param::query("active", ParamKind::Boolean),
        Param::query("colour", ParamKind::String),
    ]);
    if let Some(value) = params.pointer("/query/limit") {
        validator.integer(
            value,
            "/query/limit",
            IntegerRules::int64().minimum(1).maximum(100),
        );
    }
    match params.pointer("/query/tag") {
        Some(value) => {
            validator.string(value, "/query/tag", StringRules::new().pattern("^[a-z]+$"));
        }
        None => validator.push("/query/tag", "is required"),
    }
    if let Some(value) = params.pointer("/query/ratio") {
        validator.number(value, "/query/ratio", NumberRules::new().maximum(1.0));
    }
    if let Some(value) = params.pointer("/query/active") {
        validator.boolean(value, "/query/active");
    }
    if let Some(value) = params.pointer("/query/colour") {
        validate_colour(value, "/query/colour", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .list_things(request.context, decode_params(params)?)
        .await?)
}

/// `POST /things/`
async fn handle_create_thing<H: FixtureApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<CreateThingResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("basicAuth", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let body = request.json_body(&mut validator)?;
    if let Some(body) = &body {
        validate_thing_input(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .create_thing(request.context, decode_body(body)?)
        .await?)
}

/// `PUT /things/{thing_id}/`
///
/// An optional inline body.
async fn handle_touch_thing<H: FixtureApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<TouchThingResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("basicAuth", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("thing_id", ParamKind::Integer)]);
    match params.pointer("/path/thing_id") {
        Some(value) => {
            validator.integer(value, "/path/thing_id", IntegerRules::int32().minimum(1));
        }
        None => validator.push("/path/thing_id", "is required"),
    }
    let body = request.optional_json_body(&mut validator)?;
    if let Some(body) = &body {
        let at = "/body";
        if let Some(object) = validator.object(body, at) {
            validator.only_properties(object, at, &["note"]);
            if let Some(value) = object.get("note") {
                validator.string(value, &pointer(at, "note"), StringRules::new());
            }
        }
    }
    validator.finish()?;
    Ok(state
        .handler
        .touch_thing(
            request.context,
            decode_params(params)?,
            decode_optional_body(body)?,
        )
        .await?)
}

/// `PATCH /things/{thing_id}/`
async fn handle_update_thing<H: FixtureApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<UpdateThingResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("basicAuth", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("thing_id", ParamKind::Integer)]);
    match params.pointer("/path/thing_id") {
        Some(value) => {
            validator.integer(value, "/path/thing_id", IntegerRules::int32().minimum(1));
        }
        None => validator.push("/path/thing_id", "is required"),
    }
    let body = request.json_body(&mut validator)?;
    if let Some(body) = &body {
        validate_thing_patch(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .update_thing(request.context, decode_params(params)?, decode_body(body)?)
        .await?)
}

/// `GET /status/`
async fn handle_status<H: FixtureApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<StatusResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    Ok(state.handler.status(request.context).await?)
}

/// Typed client of the Fixture service.
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

    /// `GET /things/`
    ///
    /// Query parameters of every kind.
    pub async fn list_things(
        &self,
        limit: Option<i64>,
        tag: &str,
        ratio: Option<f64>,
        active: Option<bool>,
        colour: Option<Colour>,
    ) -> Result<ListThingsResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/things/".to_string())
            .query("limit", limit.as_ref())
            .query("tag", Some(tag))
            .query("ratio", ratio.as_ref())
            .query("active", active.as_ref())
            .query("colour", colour.as_ref())
            .security(SECURITY_SCHEMES, &[&[("basicAuth", &[])]])
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(ListThingsResponse::Ok(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `POST /things/`
    pub async fn create_thing(
        &self,
        body: &ThingInput,
    ) -> Result<CreateThingResponse, ClientError> {
        let response = self
            .http
            .request(Method::POST, "/things/".to_string())
            .json(body)
            .security(SECURITY_SCHEMES, &[&[("basicAuth", &[])]])
            .send()
            .await?;
        match response.status {
            StatusCode::CREATED => Ok(CreateThingResponse::Created(response.json()?)),
            StatusCode::UNAUTHORIZED => Ok(CreateThingResponse::Unauthorized),
            _ => Err(response.into_error()),
        }
    }

    /// `PUT /things/{thing_id}/`
    ///
    /// An optional inline body.
    pub async fn touch_thing(
        &self,
        thing_id: i32,
        body: Option<&TouchThingBody>,
    ) -> Result<TouchThingResponse, ClientError> {
        let response = self
            .http
            .request(Method::PUT, format!("/things/{}/", path_segment(&thing_id)))
            .optional_json(body)
            .security(SECURITY_SCHEMES, &[&[("basicAuth", &[])]])
            .send()
            .await?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(TouchThingResponse::NoContent),
            _ => Err(response.into_error()),
        }
    }

    /// `PATCH /things/{thing_id}/`
    pub async fn update_thing(
        &self,
        thing_id: i32,
        body: &ThingPatch,
    ) -> Result<UpdateThingResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::PATCH,
                format!("/things/{}/", path_segment(&thing_id)),
            )
            .json(body)
            .security(SECURITY_SCHEMES, &[&[("basicAuth", &[])]])
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(UpdateThingResponse::Ok(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `GET /status/`
    pub async fn status(&self) -> Result<StatusResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/status/".to_string())
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(StatusResponse::Ok(response.json()?)),
            StatusCode::SERVICE_UNAVAILABLE => {
                Ok(StatusResponse::ServiceUnavailable(response.json()?))
            }
            _ => Err(response.into_error()),
        }
    }
}
