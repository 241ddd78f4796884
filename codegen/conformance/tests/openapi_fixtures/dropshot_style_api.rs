// @generated from codegen/tests/fixtures/openapi/dropshot_style.json by the codegen test `conformance_fixture_modules_are_up_to_date`. Do not edit by hand.

//! Instance manager: models, validation, handler trait, axum router and typed client,
//! generated from `contracts/api/dropshot_style.json`.
//!
//! The shape of a spec dropshot emits: 4XX/5XX references to one Error response, unsigned
//! formats, nullable query parameters, `allOf` wrappers around references, unit responses,
//! string enums as `oneOf` of documented values.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use chrono::Utc;
use contract_runtime::client::HttpClient;
use contract_runtime::client::path_segment;
use contract_runtime::server::decode_body;
use contract_runtime::server::decode_params;
use contract_runtime::server::required;
use contract_runtime::server::status_in_class;
use contract_runtime::server::with_headers;
use contract_runtime::server::{
    IncomingRequest, Rejection, RouterState, method_not_allowed, not_found,
};
use contract_runtime::server::{Param, ParamKind};
use contract_runtime::validate::Check;
use contract_runtime::validate::IntegerRules;
use contract_runtime::validate::StringFormat;
use contract_runtime::validate::StringRules;
use contract_runtime::validate::Validator;
use contract_runtime::validate::pointer;
use contract_runtime::{ApiError, Authenticator, ClientError, RequestContext, Security};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

// Models.

/// A count of bytes, typically used either for memory or storage capacity
pub type ByteCount = u64;

/// Error information from a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Error {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub message: String,
    pub request_id: String,
}

/// View of an Instance
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// unique, immutable, system-controlled identifier for each resource
    pub id: Uuid,
    /// unique, mutable, user-controlled identifier for each resource
    pub name: Name,
    pub memory: ByteCount,
    pub ncpus: InstanceCpuCount,
    pub run_state: InstanceState,
    /// timestamp when this resource was created
    pub time_created: DateTime<Utc>,
    pub hostname: String,
    /// the disk to boot from
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_disk_id: Option<Uuid>,
}

/// The number of CPUs in an Instance
pub type InstanceCpuCount = u16;

/// Create-time parameters for an `Instance`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceCreate {
    pub name: Name,
    pub hostname: String,
    pub memory: ByteCount,
    pub ncpus: InstanceCpuCount,
    /// Should this instance be started upon creation; true by default.
    ///
    /// Defaults to `true` when absent.
    #[serde(default = "default_instance_create_start")]
    pub start: bool,
    /// User data for instance initialization systems
    ///
    /// Defaults to `""` when absent.
    #[serde(default = "default_instance_create_user_data")]
    pub user_data: String,
}

/// A single page of results
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceResultsPage {
    /// list of items on this page of results
    pub items: Vec<Instance>,
    /// token used to fetch the next page of results (if any)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
}

/// Running state of an Instance (primarily: booted or stopped)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InstanceState {
    #[serde(rename = "creating")]
    Creating,
    #[serde(rename = "starting")]
    Starting,
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "stopping")]
    Stopping,
    #[serde(rename = "stopped")]
    Stopped,
}

impl InstanceState {
    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names must begin with a lower case ASCII letter, be composed exclusively of lowercase
/// ASCII, uppercase ASCII, numbers, and '-', and may not end with a '-'. Names cannot be a
/// UUID, but they may contain a UUID. They can be at most 63 characters long.
pub type Name = String;

/// Exactly one of the alternatives (`oneOf`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NameOrId {
    Id(Uuid),
    Name(Name),
}

/// Supported set of sort modes for scanning by name only
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NameSortMode {
    #[serde(rename = "name_ascending")]
    NameAscending,
}

impl NameSortMode {
    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NameAscending => "name_ascending",
        }
    }
}

impl std::fmt::Display for NameSortMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters of `instance_list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceListParams {
    /// Maximum number of items returned by a single call
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Token returned by previous call to retrieve the subsequent page
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<NameSortMode>,
}

/// The parameters of `instance_delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceDeleteParams {
    pub instance: NameOrId,
}

/// The parameters of `instance_serial_write`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSerialWriteParams {
    pub instance: NameOrId,
}

/// The headers of the `204` response of `instance_serial_write`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSerialWriteNoContentHeaders {
    /// how many bytes were written
    #[serde(rename = "x-bytes-written")]
    pub x_bytes_written: ByteCount,
}

fn default_instance_create_start() -> bool {
    true
}

fn default_instance_create_user_data() -> String {
    "".to_string()
}

// Responses.

/// The responses of `instance_list` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceListResponse {
    /// successful operation
    Ok(InstanceResultsPage),
    /// Error
    ///
    /// `status` must be a 4xx code.
    ClientError { status: StatusCode, body: Error },
    /// Error
    ///
    /// `status` must be a 5xx code.
    ServerError { status: StatusCode, body: Error },
}

impl IntoResponse for InstanceListResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::ClientError { status, body } => {
                (status_in_class(status, 4), Json(body)).into_response()
            }
            Self::ServerError { status, body } => {
                (status_in_class(status, 5), Json(body)).into_response()
            }
        }
    }
}

/// The responses of `instance_create` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceCreateResponse {
    /// successful creation
    Created(Instance),
    /// Error
    ///
    /// `status` must be a 4xx code.
    ClientError { status: StatusCode, body: Error },
    /// Error
    ///
    /// `status` must be a 5xx code.
    ServerError { status: StatusCode, body: Error },
}

impl IntoResponse for InstanceCreateResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Created(body) => (StatusCode::CREATED, Json(body)).into_response(),
            Self::ClientError { status, body } => {
                (status_in_class(status, 4), Json(body)).into_response()
            }
            Self::ServerError { status, body } => {
                (status_in_class(status, 5), Json(body)).into_response()
            }
        }
    }
}

/// The responses of `instance_delete` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceDeleteResponse {
    /// successful deletion
    NoContent,
    /// Error
    ///
    /// `status` must be a 4xx code.
    ClientError { status: StatusCode, body: Error },
    /// Error
    ///
    /// `status` must be a 5xx code.
    ServerError { status: StatusCode, body: Error },
}

impl IntoResponse for InstanceDeleteResponse {
    fn into_response(self) -> Response {
        match self {
            Self::NoContent => StatusCode::NO_CONTENT.into_response(),
            Self::ClientError { status, body } => {
                (status_in_class(status, 4), Json(body)).into_response()
            }
            Self::ServerError { status, body } => {
                (status_in_class(status, 5), Json(body)).into_response()
            }
        }
    }
}

/// The responses of `instance_serial_write` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceSerialWriteResponse {
    /// resource updated
    NoContent {
        headers: InstanceSerialWriteNoContentHeaders,
    },
    /// Error
    ///
    /// `status` must be a 4xx code.
    ClientError { status: StatusCode, body: Error },
    /// Error
    ///
    /// `status` must be a 5xx code.
    ServerError { status: StatusCode, body: Error },
}

impl IntoResponse for InstanceSerialWriteResponse {
    fn into_response(self) -> Response {
        match self {
            Self::NoContent { headers } => {
                with_headers(StatusCode::NO_CONTENT.into_response(), &headers)
            }
            Self::ClientError { status, body } => {
                (status_in_class(status, 4), Json(body)).into_response()
            }
            Self::ServerError { status, body } => {
                (status_in_class(status, 5), Json(body)).into_response()
            }
        }
    }
}

/// The responses of `ping` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PingResponse {
    /// successful operation
    Ok(()),
    /// Error
    ///
    /// `status` must be a 4xx code.
    ClientError { status: StatusCode, body: Error },
    /// Error
    ///
    /// `status` must be a 5xx code.
    ServerError { status: StatusCode, body: Error },
}

impl IntoResponse for PingResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::ClientError { status, body } => {
                (status_in_class(status, 4), Json(body)).into_response()
            }
            Self::ServerError { status, body } => {
                (status_in_class(status, 5), Json(body)).into_response()
            }
        }
    }
}

/// The responses of `metrics_raw` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsRawResponse {
    /// Any status the other variants do not cover.
    Default { status: StatusCode },
}

impl IntoResponse for MetricsRawResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Default { status } => status.into_response(),
        }
    }
}

// Validation: every request is checked against the contract before it is decoded.

/// Records every way `value`, found at `at`, breaks the `NameSortMode` schema.
pub fn validate_name_sort_mode(value: &Value, at: &str, validator: &mut Validator) {
    validator.string(value, at, StringRules::new().one_of(&["name_ascending"]));
}

/// Records every way `value`, found at `at`, breaks the `InstanceCreate` schema.
pub fn validate_instance_create(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["hostname", "memory", "name", "ncpus"]);
    if let Some(value) = object.get("name") {
        validate_name(value, &pointer(at, "name"), validator);
    }
    if let Some(value) = object.get("hostname") {
        validator.string(value, &pointer(at, "hostname"), StringRules::new());
    }
    if let Some(value) = object.get("memory") {
        validate_byte_count(value, &pointer(at, "memory"), validator);
    }
    if let Some(value) = object.get("ncpus") {
        validate_instance_cpu_count(value, &pointer(at, "ncpus"), validator);
    }
    if let Some(value) = object.get("start") {
        validator.boolean(value, &pointer(at, "start"));
    }
    if let Some(value) = object.get("user_data") {
        validator.string(
            value,
            &pointer(at, "user_data"),
            StringRules::new().format(StringFormat::Byte),
        );
    }
}

/// Records every way `value`, found at `at`, breaks the `NameOrId` schema.
pub fn validate_name_or_id(value: &Value, at: &str, validator: &mut Validator) {
    validator.one_of(
        value,
        at,
        &[
            (
                "`id`",
                (|value: &Value, at: &str, validator: &mut Validator| {
                    validator.string(value, at, StringRules::new().format(StringFormat::Uuid));
                }) as Check,
            ),
            ("`name`", validate_name as Check),
        ],
    );
}

/// Records every way `value`, found at `at`, breaks the `Name` schema.
pub fn validate_name(value: &Value, at: &str, validator: &mut Validator) {
    validator.string(value, at, StringRules::new().min_length(1).max_length(63).pattern("^(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)^[a-z]([a-zA-Z0-9-]*[a-zA-Z0-9]+)?$"));
}

/// Records every way `value`, found at `at`, breaks the `ByteCount` schema.
pub fn validate_byte_count(value: &Value, at: &str, validator: &mut Validator) {
    validator.integer(value, at, IntegerRules::uint64().minimum(0));
}

/// Records every way `value`, found at `at`, breaks the `InstanceCpuCount` schema.
pub fn validate_instance_cpu_count(value: &Value, at: &str, validator: &mut Validator) {
    validator.integer(value, at, IntegerRules::uint16().minimum(0));
}

/// The operations of the Instance manager, implemented by the service and served by [`router`].
pub trait InstancesApi: Send + Sync + 'static {
    /// `GET /instances`
    ///
    /// List instances
    fn instance_list(
        &self,
        context: RequestContext,
        params: InstanceListParams,
    ) -> impl Future<Output = Result<InstanceListResponse, ApiError>> + Send;

    /// `POST /instances`
    ///
    /// Create an instance
    fn instance_create(
        &self,
        context: RequestContext,
        body: InstanceCreate,
    ) -> impl Future<Output = Result<InstanceCreateResponse, ApiError>> + Send;

    /// `DELETE /instances/{instance}`
    fn instance_delete(
        &self,
        context: RequestContext,
        params: InstanceDeleteParams,
    ) -> impl Future<Output = Result<InstanceDeleteResponse, ApiError>> + Send;

    /// `PUT /instances/{instance}/serial`
    fn instance_serial_write(
        &self,
        context: RequestContext,
        params: InstanceSerialWriteParams,
        body: Bytes,
    ) -> impl Future<Output = Result<InstanceSerialWriteResponse, ApiError>> + Send;

    /// `GET /ping`
    fn ping(
        &self,
        context: RequestContext,
    ) -> impl Future<Output = Result<PingResponse, ApiError>> + Send;

    /// `GET /metrics`
    fn metrics_raw(
        &self,
        context: RequestContext,
    ) -> impl Future<Output = Result<MetricsRawResponse, ApiError>> + Send;
}

/// The axum router of the Instance manager, with HTTP basic authentication checked by `auth`: see
/// [`router_with_security`].
pub fn router<H: InstancesApi>(handler: Arc<H>, auth: Arc<dyn Authenticator>) -> Router {
    router_with_security(handler, Security::new().with_basic(auth))
}

/// The axum router of the Instance manager: authenticates (where the contract requires it, with the
/// hooks in `security`) and validates every request, answering `401`, `400`, `415` with a
/// problem document before the handler sees it.
pub fn router_with_security<H: InstancesApi>(handler: Arc<H>, security: Security) -> Router {
    Router::new()
        .route(
            "/instances",
            axum::routing::get(handle_instance_list::<H>).post(handle_instance_create::<H>),
        )
        .route(
            "/instances/{instance}",
            axum::routing::delete(handle_instance_delete::<H>),
        )
        .route(
            "/instances/{instance}/serial",
            axum::routing::put(handle_instance_serial_write::<H>),
        )
        .route("/ping", axum::routing::get(handle_ping::<H>))
        .route("/metrics", axum::routing::get(handle_metrics_raw::<H>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(RouterState::new(handler, security))
}

/// `GET /instances`
///
/// List instances
async fn handle_instance_list<H: InstancesApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<InstanceListResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[
        Param::query("limit", ParamKind::Integer),
        Param::query("page_token", ParamKind::String),
        Param::query("sort_by", ParamKind::String),
    ]);
    if let Some(value) = params.pointer("/query/limit") {
        validator.integer(value, "/query/limit", IntegerRules::uint32().minimum(1));
    }
    if let Some(value) = params.pointer("/query/page_token") {
        validator.string(value, "/query/page_token", StringRules::new());
    }
    if let Some(value) = params.pointer("/query/sort_by") {
        validate_name_sort_mode(value, "/query/sort_by", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .instance_list(request.context, decode_params(params)?)
        .await?)
}

/// `POST /instances`
///
/// Create an instance
async fn handle_instance_create<H: InstancesApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<InstanceCreateResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let body = request.json_body(&mut validator)?;
    if let Some(body) = &body {
        validate_instance_create(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .instance_create(request.context, decode_body(body)?)
        .await?)
}

/// `DELETE /instances/{instance}`
async fn handle_instance_delete<H: InstancesApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<InstanceDeleteResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("instance", ParamKind::String)]);
    match params.pointer("/path/instance") {
        Some(value) => {
            validate_name_or_id(value, "/path/instance", &mut validator);
        }
        None => validator.push("/path/instance", "is required"),
    }
    validator.finish()?;
    Ok(state
        .handler
        .instance_delete(request.context, decode_params(params)?)
        .await?)
}

/// `PUT /instances/{instance}/serial`
async fn handle_instance_serial_write<H: InstancesApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<InstanceSerialWriteResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("instance", ParamKind::String)]);
    match params.pointer("/path/instance") {
        Some(value) => {
            validate_name_or_id(value, "/path/instance", &mut validator);
        }
        None => validator.push("/path/instance", "is required"),
    }
    let body = request.bytes_body(&mut validator, true)?;
    validator.finish()?;
    Ok(state
        .handler
        .instance_serial_write(request.context, decode_params(params)?, required(body)?)
        .await?)
}

/// `GET /ping`
async fn handle_ping<H: InstancesApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<PingResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    Ok(state.handler.ping(request.context).await?)
}

/// `GET /metrics`
async fn handle_metrics_raw<H: InstancesApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<MetricsRawResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    Ok(state.handler.metrics_raw(request.context).await?)
}

/// Typed client of the Instance manager.
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

    /// `GET /instances`
    ///
    /// List instances
    pub async fn instance_list(
        &self,
        limit: Option<u32>,
        page_token: Option<&str>,
        sort_by: Option<NameSortMode>,
    ) -> Result<InstanceListResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/instances".to_string())
            .query("limit", limit.as_ref())
            .query("page_token", page_token)
            .query("sort_by", sort_by.as_ref())
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(InstanceListResponse::Ok(response.json()?)),
            status if status.as_u16() / 100 == 4 && !response.is_problem() => {
                Ok(InstanceListResponse::ClientError {
                    status,
                    body: response.json()?,
                })
            }
            status if status.as_u16() / 100 == 5 && !response.is_problem() => {
                Ok(InstanceListResponse::ServerError {
                    status,
                    body: response.json()?,
                })
            }
            _ => Err(response.into_error()),
        }
    }

    /// `POST /instances`
    ///
    /// Create an instance
    pub async fn instance_create(
        &self,
        body: &InstanceCreate,
    ) -> Result<InstanceCreateResponse, ClientError> {
        let response = self
            .http
            .request(Method::POST, "/instances".to_string())
            .json(body)
            .send()
            .await?;
        match response.status {
            StatusCode::CREATED => Ok(InstanceCreateResponse::Created(response.json()?)),
            status if status.as_u16() / 100 == 4 && !response.is_problem() => {
                Ok(InstanceCreateResponse::ClientError {
                    status,
                    body: response.json()?,
                })
            }
            status if status.as_u16() / 100 == 5 && !response.is_problem() => {
                Ok(InstanceCreateResponse::ServerError {
                    status,
                    body: response.json()?,
                })
            }
            _ => Err(response.into_error()),
        }
    }

    /// `DELETE /instances/{instance}`
    pub async fn instance_delete(
        &self,
        instance: NameOrId,
    ) -> Result<InstanceDeleteResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::DELETE,
                format!("/instances/{}", path_segment(&instance)),
            )
            .send()
            .await?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(InstanceDeleteResponse::NoContent),
            status if status.as_u16() / 100 == 4 && !response.is_problem() => {
                Ok(InstanceDeleteResponse::ClientError {
                    status,
                    body: response.json()?,
                })
            }
            status if status.as_u16() / 100 == 5 && !response.is_problem() => {
                Ok(InstanceDeleteResponse::ServerError {
                    status,
                    body: response.json()?,
                })
            }
            _ => Err(response.into_error()),
        }
    }

    /// `PUT /instances/{instance}/serial`
    pub async fn instance_serial_write(
        &self,
        instance: NameOrId,
        body: Vec<u8>,
    ) -> Result<InstanceSerialWriteResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::PUT,
                format!("/instances/{}/serial", path_segment(&instance)),
            )
            .bytes(body, "application/octet-stream")
            .send()
            .await?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(InstanceSerialWriteResponse::NoContent {
                headers: response
                    .headers(&[Param::header("x-bytes-written", ParamKind::Integer)])?,
            }),
            status if status.as_u16() / 100 == 4 && !response.is_problem() => {
                Ok(InstanceSerialWriteResponse::ClientError {
                    status,
                    body: response.json()?,
                })
            }
            status if status.as_u16() / 100 == 5 && !response.is_problem() => {
                Ok(InstanceSerialWriteResponse::ServerError {
                    status,
                    body: response.json()?,
                })
            }
            _ => Err(response.into_error()),
        }
    }

    /// `GET /ping`
    pub async fn ping(&self) -> Result<PingResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/ping".to_string())
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(PingResponse::Ok(response.json()?)),
            status if status.as_u16() / 100 == 4 && !response.is_problem() => {
                Ok(PingResponse::ClientError {
                    status,
                    body: response.json()?,
                })
            }
            status if status.as_u16() / 100 == 5 && !response.is_problem() => {
                Ok(PingResponse::ServerError {
                    status,
                    body: response.json()?,
                })
            }
            _ => Err(response.into_error()),
        }
    }

    /// `GET /metrics`
    pub async fn metrics_raw(&self) -> Result<MetricsRawResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/metrics".to_string())
            .send()
            .await?;
        match response.status {
            status if !response.is_problem() => Ok(MetricsRawResponse::Default { status }),
            _ => Err(response.into_error()),
        }
    }
}
