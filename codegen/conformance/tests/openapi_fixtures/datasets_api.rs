// @generated from codegen/tests/fixtures/openapi/datasets.yaml by the codegen test `conformance_fixture_modules_are_up_to_date`. Do not edit by hand.

//! Data Set API: models, validation, handler trait, axum router and typed client,
//! generated from `contracts/api/datasets.yaml`.
//!
//! A data-set search API in the shape of a well-known government example: kebab-case
//! operationIds, a lower-camelCase schema name, a form body, a 404 without a body.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use contract_runtime::client::HttpClient;
use contract_runtime::client::path_segment;
use contract_runtime::server::decode_optional_body;
use contract_runtime::server::decode_params;
use contract_runtime::server::{
    IncomingRequest, Rejection, RouterState, method_not_allowed, not_found,
};
use contract_runtime::server::{Param, ParamKind};
use contract_runtime::validate::IntegerRules;
use contract_runtime::validate::StringRules;
use contract_runtime::validate::Validator;
use contract_runtime::validate::pointer;
use contract_runtime::{ApiError, Authenticator, ClientError, RequestContext, Security};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

// Models.

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSetList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apis: Option<Vec<DataSetListApisItem>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSetListApisItem {
    /// To be used as a dataset parameter value
    #[serde(rename = "apiKey", default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// To be used as a version parameter value
    #[serde(
        rename = "apiVersionNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version_number: Option<String>,
    /// The URL describing the dataset's fields
    #[serde(rename = "apiUrl", default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// A URL to the API console for each API
    #[serde(
        rename = "apiDocumentationUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_documentation_url: Option<String>,
}

/// The parameters of `list-searchable-fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSearchableFieldsParams {
    /// Name of the dataset.
    pub dataset: String,
    /// Version of the dataset.
    pub version: String,
}

/// The parameters of `perform-search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformSearchParams {
    /// Version of the dataset.
    pub version: String,
    /// Name of the dataset.
    pub dataset: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformSearchBody {
    /// A Lucene query.
    pub criteria: String,
    /// Starting record number.
    ///
    /// Defaults to `0` when absent.
    #[serde(default = "default_perform_search_body_start")]
    pub start: i64,
    /// How many rows to return.
    ///
    /// Defaults to `100` when absent.
    #[serde(default = "default_perform_search_body_rows")]
    pub rows: i64,
}

fn default_perform_search_body_start() -> i64 {
    0
}

fn default_perform_search_body_rows() -> i64 {
    100
}

// Responses.

/// The responses of `list_data_sets` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ListDataSetsResponse {
    /// Returns a list of data sets
    Ok(DataSetList),
}

impl IntoResponse for ListDataSetsResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

/// The responses of `list_searchable_fields` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ListSearchableFieldsResponse {
    /// The data set's fields.
    Ok(String),
    /// No such data set.
    NotFound(String),
}

impl IntoResponse for ListSearchableFieldsResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::NotFound(body) => (StatusCode::NOT_FOUND, Json(body)).into_response(),
        }
    }
}

/// The responses of `perform_search` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PerformSearchResponse {
    /// successful operation
    Ok(Vec<BTreeMap<String, BTreeMap<String, Value>>>),
    /// No matching record found for the given criteria.
    NotFound,
}

impl IntoResponse for PerformSearchResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::NotFound => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

// Validation: every request is checked against the contract before it is decoded.

/// The operations of the Data Set API, implemented by the service and served by [`router`].
pub trait DatasetsApi: Send + Sync + 'static {
    /// `GET /`
    ///
    /// List available data sets
    fn list_data_sets(
        &self,
        context: RequestContext,
    ) -> impl Future<Output = Result<ListDataSetsResponse, ApiError>> + Send;

    /// `GET /{dataset}/{version}/fields`
    ///
    /// The searchable fields of a data set.
    fn list_searchable_fields(
        &self,
        context: RequestContext,
        params: ListSearchableFieldsParams,
    ) -> impl Future<Output = Result<ListSearchableFieldsResponse, ApiError>> + Send;

    /// `POST /{dataset}/{version}/records`
    ///
    /// Search the data set.
    fn perform_search(
        &self,
        context: RequestContext,
        params: PerformSearchParams,
        body: Option<PerformSearchBody>,
    ) -> impl Future<Output = Result<PerformSearchResponse, ApiError>> + Send;
}

/// The axum router of the Data Set API, with HTTP basic authentication checked by `auth`: see
/// [`router_with_security`].
pub fn router<H: DatasetsApi>(handler: Arc<H>, auth: Arc<dyn Authenticator>) -> Router {
    router_with_security(handler, Security::new().with_basic(auth))
}

/// The axum router of the Data Set API: authenticates (where the contract requires it, with the
/// hooks in `security`) and validates every request, answering `401`, `400`, `415` with a
/// problem document before the handler sees it.
pub fn router_with_security<H: DatasetsApi>(handler: Arc<H>, security: Security) -> Router {
    Router::new()
        .route("/", axum::routing::get(handle_list_data_sets::<H>))
        .route(
            "/{dataset}/{version}/fields",
            axum::routing::get(handle_list_searchable_fields::<H>),
        )
        .route(
            "/{dataset}/{version}/records",
            axum::routing::post(handle_perform_search::<H>),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(RouterState::new(handler, security))
}

/// `GET /`
///
/// List available data sets
async fn handle_list_data_sets<H: DatasetsApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<ListDataSetsResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    Ok(state.handler.list_data_sets(request.context).await?)
}

/// `GET /{dataset}/{version}/fields`
///
/// The searchable fields of a data set.
async fn handle_list_searchable_fields<H: DatasetsApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<ListSearchableFieldsResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[
        Param::path("dataset", ParamKind::String),
        Param::path("version", ParamKind::String),
    ]);
    match params.pointer("/path/dataset") {
        Some(value) => {
            validator.string(value, "/path/dataset", StringRules::new());
        }
        None => validator.push("/path/dataset", "is required"),
    }
    match params.pointer("/path/version") {
        Some(value) => {
            validator.string(value, "/path/version", StringRules::new());
        }
        None => validator.push("/path/version", "is required"),
    }
    validator.finish()?;
    Ok(state
        .handler
        .list_searchable_fields(request.context, decode_params(params)?)
        .await?)
}

/// `POST /{dataset}/{version}/records`
///
/// Search the data set.
async fn handle_perform_search<H: DatasetsApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<PerformSearchResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[
        Param::path("version", ParamKind::String),
        Param::path("dataset", ParamKind::String),
    ]);
    match params.pointer("/path/version") {
        Some(value) => {
            validator.string(value, "/path/version", StringRules::new());
        }
        None => validator.push("/path/version", "is required"),
    }
    match params.pointer("/path/dataset") {
        Some(value) => {
            validator.string(value, "/path/dataset", StringRules::new());
        }
        None => validator.push("/path/dataset", "is required"),
    }
    let body = request.form_or_json_body(
        &mut validator,
        &[
            Param::form("criteria", ParamKind::String),
            Param::form("start", ParamKind::Integer),
            Param::form("rows", ParamKind::Integer),
        ],
        false,
        false,
    )?;
    if let Some(body) = &body {
        let at = "/body";
        if let Some(object) = validator.object(body, at) {
            validator.required(object, at, &["criteria"]);
            if let Some(value) = object.get("criteria") {
                validator.string(value, &pointer(at, "criteria"), StringRules::new());
            }
            if let Some(value) = object.get("start") {
                validator.integer(value, &pointer(at, "start"), IntegerRules::int64());
            }
            if let Some(value) = object.get("rows") {
                validator.integer(value, &pointer(at, "rows"), IntegerRules::int64());
            }
        }
    }
    validator.finish()?;
    Ok(state
        .handler
        .perform_search(
            request.context,
            decode_params(params)?,
            decode_optional_body(body)?,
        )
        .await?)
}

/// Typed client of the Data Set API.
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

    /// `GET /`
    ///
    /// List available data sets
    pub async fn list_data_sets(&self) -> Result<ListDataSetsResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/".to_string())
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(ListDataSetsResponse::Ok(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `GET /{dataset}/{version}/fields`
    ///
    /// The searchable fields of a data set.
    pub async fn list_searchable_fields(
        &self,
        dataset: &str,
        version: &str,
    ) -> Result<ListSearchableFieldsResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::GET,
                format!(
                    "/{}/{}/fields",
                    path_segment(dataset),
                    path_segment(version)
                ),
            )
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(ListSearchableFieldsResponse::Ok(response.json()?)),
            StatusCode::NOT_FOUND => Ok(ListSearchableFieldsResponse::NotFound(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `POST /{dataset}/{version}/records`
    ///
    /// Search the data set.
    pub async fn perform_search(
        &self,
        version: &str,
        dataset: &str,
        body: Option<&PerformSearchBody>,
    ) -> Result<PerformSearchResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::POST,
                format!(
                    "/{}/{}/records",
                    path_segment(dataset),
                    path_segment(version)
                ),
            )
            .optional_form(body)
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(PerformSearchResponse::Ok(response.json()?)),
            StatusCode::NOT_FOUND => Ok(PerformSearchResponse::NotFound),
            _ => Err(response.into_error()),
        }
    }
}
