// @generated from codegen/tests/fixtures/openapi/versions.yaml by the codegen test `conformance_fixture_modules_are_up_to_date`. Do not edit by hand.

//! Versions API: models, validation, handler trait, axum router and typed client,
//! generated from `contracts/api/versions.yaml`.
//!
//! Responses described by examples only, with no schema, and integer status keys.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use contract_runtime::client::HttpClient;
use contract_runtime::server::{
    IncomingRequest, Rejection, RouterState, method_not_allowed, not_found,
};
use contract_runtime::{ApiError, Authenticator, ClientError, RequestContext, Security};
use serde_json::Value;
use std::sync::Arc;

// Models.

// Responses.

/// The responses of `list_versionsv2` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ListVersionsv2Response {
    /// 200 response
    Ok(Value),
    /// 300 response
    MultipleChoices(Value),
}

impl IntoResponse for ListVersionsv2Response {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::MultipleChoices(body) => {
                (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
            }
        }
    }
}

/// The responses of `get_version_detailsv2` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum GetVersionDetailsv2Response {
    /// 200 response
    Ok(Value),
    /// 203 response
    NonAuthoritativeInformation(Value),
}

impl IntoResponse for GetVersionDetailsv2Response {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::NonAuthoritativeInformation(body) => {
                (StatusCode::NON_AUTHORITATIVE_INFORMATION, Json(body)).into_response()
            }
        }
    }
}

// Validation: every request is checked against the contract before it is decoded.

/// The operations of the Versions API, implemented by the service and served by [`router`].
pub trait VersionsApi: Send + Sync + 'static {
    /// `GET /`
    ///
    /// List API versions
    fn list_versionsv2(
        &self,
        context: RequestContext,
    ) -> impl Future<Output = Result<ListVersionsv2Response, ApiError>> + Send;

    /// `GET /v2`
    ///
    /// Show API version details
    fn get_version_detailsv2(
        &self,
        context: RequestContext,
    ) -> impl Future<Output = Result<GetVersionDetailsv2Response, ApiError>> + Send;
}

/// The axum router of the Versions API, with HTTP basic authentication checked by `auth`: see
/// [`router_with_security`].
pub fn router<H: VersionsApi>(handler: Arc<H>, auth: Arc<dyn Authenticator>) -> Router {
    router_with_security(handler, Security::new().with_basic(auth))
}

/// The axum router of the Versions API: authenticates (where the contract requires it, with the
/// hooks in `security`) and validates every request, answering `401`, `400`, `415` with a
/// problem document before the handler sees it.
pub fn router_with_security<H: VersionsApi>(handler: Arc<H>, security: Security) -> Router {
    Router::new()
        .route("/", axum::routing::get(handle_list_versionsv2::<H>))
        .route("/v2", axum::routing::get(handle_get_version_detailsv2::<H>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(RouterState::new(handler, security))
}

/// `GET /`
///
/// List API versions
async fn handle_list_versionsv2<H: VersionsApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<ListVersionsv2Response, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    Ok(state.handler.list_versionsv2(request.context).await?)
}

/// `GET /v2`
///
/// Show API version details
async fn handle_get_version_detailsv2<H: VersionsApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<GetVersionDetailsv2Response, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    Ok(state.handler.get_version_detailsv2(request.context).await?)
}

/// Typed client of the Versions API.
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
    /// List API versions
    pub async fn list_versionsv2(&self) -> Result<ListVersionsv2Response, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/".to_string())
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(ListVersionsv2Response::Ok(response.json()?)),
            StatusCode::MULTIPLE_CHOICES => {
                Ok(ListVersionsv2Response::MultipleChoices(response.json()?))
            }
            _ => Err(response.into_error()),
        }
    }

    /// `GET /v2`
    ///
    /// Show API version details
    pub async fn get_version_detailsv2(&self) -> Result<GetVersionDetailsv2Response, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/v2".to_string())
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(GetVersionDetailsv2Response::Ok(response.json()?)),
            StatusCode::NON_AUTHORITATIVE_INFORMATION => Ok(
                GetVersionDetailsv2Response::NonAuthoritativeInformation(response.json()?),
            ),
            _ => Err(response.into_error()),
        }
    }
}
