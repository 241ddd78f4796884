// @generated from codegen/tests/fixtures/openapi/petstore.yaml by the codegen test `conformance_fixture_modules_are_up_to_date`. Do not edit by hand.

//! Pet shop: models, validation, handler trait, axum router and typed client,
//! generated from `contracts/api/petstore.yaml`.
//!
//! A pet shop written the way published specs are: camelCase operationIds and schema names,
//! `allOf` and `oneOf` with a discriminator, `default` and `4XX` responses, header, cookie
//! and array parameters, bearer, OAuth 2 and API-key security with alternatives, form and
//! binary bodies.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use chrono::Utc;
use contract_runtime::auth::ApiKeyLocation;
use contract_runtime::auth::{SchemeKind, SecurityScheme};
use contract_runtime::client::HttpClient;
use contract_runtime::client::path_segment;
use contract_runtime::server::ArrayStyle;
use contract_runtime::server::MultipartBody;
use contract_runtime::server::bytes_response;
use contract_runtime::server::decode_body;
use contract_runtime::server::decode_params;
use contract_runtime::server::json_response_without;
use contract_runtime::server::problem_response;
use contract_runtime::server::required;
use contract_runtime::server::status_in_class;
use contract_runtime::server::text_response;
use contract_runtime::server::with_headers;
use contract_runtime::server::{
    IncomingRequest, Rejection, RouterState, method_not_allowed, not_found,
};
use contract_runtime::server::{Param, ParamKind};
use contract_runtime::validate::ArrayRules;
use contract_runtime::validate::Check;
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
use uuid::Uuid;

// Models.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPet {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub kind: Animal,
    #[serde(rename = "weightKg", default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(rename = "ageMonths", default, skip_serializing_if = "Option::is_none")]
    pub age_months: Option<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PetStatus>,
    /// Defaults to `false` when absent.
    #[serde(default = "default_new_pet_vaccinated")]
    pub vaccinated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    #[serde(rename = "chipCode", default, skip_serializing_if = "Option::is_none")]
    pub chip_code: Option<String>,
    #[serde(
        rename = "callbackUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_url: Option<String>,
}

/// A pet in the shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pet {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub kind: Animal,
    #[serde(rename = "weightKg", default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(rename = "ageMonths", default, skip_serializing_if = "Option::is_none")]
    pub age_months: Option<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PetStatus>,
    /// Defaults to `false` when absent.
    #[serde(default = "default_pet_vaccinated")]
    pub vaccinated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    #[serde(rename = "chipCode", default, skip_serializing_if = "Option::is_none")]
    pub chip_code: Option<String>,
    #[serde(
        rename = "callbackUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_url: Option<String>,
    /// Read-only: sent by the service, ignored in requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Read-only: sent by the service, ignored in requests.
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

pub type Pets = Vec<Pet>;

/// Where the pet is in the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PetStatus {
    #[serde(rename = "available")]
    Available,
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "sold")]
    Sold,
}

impl PetStatus {
    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Pending => "pending",
            Self::Sold => "sold",
        }
    }
}

impl std::fmt::Display for PetStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of animal, chosen by `petType`.
///
/// One of the alternatives, chosen by `petType`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Animal {
    Cat(Cat),
    Dog(Dog),
    Lizard(Lizard),
}

impl<'de> Deserialize<'de> for Animal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match contract_runtime::union::tag(&value, "petType") {
            Some("cat") => contract_runtime::union::decode(value).map(Self::Cat),
            Some("dog") => contract_runtime::union::decode(value).map(Self::Dog),
            Some("Lizard") => contract_runtime::union::decode(value).map(Self::Lizard),
            _ => Err(serde::de::Error::custom(concat!(
                "expected ",
                "`petType` to be one of cat, dog, Lizard"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cat {
    #[serde(rename = "petType")]
    pub pet_type: String,
    pub indoor: bool,
    /// Defaults to `9` when absent.
    #[serde(default = "default_cat_lives")]
    pub lives: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dog {
    #[serde(rename = "petType")]
    pub pet_type: String,
    pub breed: DogBreed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DogBreed {
    Dingo,
    Husky,
    Retriever,
    Shepherd,
}

impl DogBreed {
    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dingo => "Dingo",
            Self::Husky => "Husky",
            Self::Retriever => "Retriever",
            Self::Shepherd => "Shepherd",
        }
    }
}

impl std::fmt::Display for DogBreed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lizard {
    #[serde(rename = "petType")]
    pub pet_type: String,
    #[serde(
        rename = "lovesRocks",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub loves_rocks: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub email: String,
    /// Write-only: sent in requests, not returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<std::net::Ipv4Addr>,
    #[serde(rename = "serverV6", default, skip_serializing_if = "Option::is_none")]
    pub server_v6: Option<std::net::Ipv6Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

/// How to reach the owner, one way only.
///
/// Exactly one of the alternatives (`oneOf`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Contact {
    ByEMail(ContactByEMail),
    ByPhone(ContactByPhone),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactByEMail {
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactByPhone {
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<ZipCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Lines>,
}

pub type ZipCode = String;

pub type Lines = Vec<String>;

/// A search by name or by tags.
///
/// At least one of the alternatives (`anyOf`); decoded as the first that fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Query {
    ByName(QueryByName),
    ByTags(QueryByTags),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryByName {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryByTags {
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Error {
    pub code: i32,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListPetsFieldsItem {
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "tag")]
    Tag,
    #[serde(rename = "status")]
    Status,
}

impl ListPetsFieldsItem {
    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Tag => "tag",
            Self::Status => "status",
        }
    }
}

impl std::fmt::Display for ListPetsFieldsItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters of `listPets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListPetsParams {
    /// Tags to filter by (repeated, `?tags=a&tags=b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Ids as one comma-separated value (`?ids=1,2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<u32>>,
    /// The fields to return, as `?fields=name|tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<ListPetsFieldsItem>>,
    /// How many pets at most.
    ///
    /// Defaults to `20` when absent.
    #[serde(default = "default_list_pets_limit")]
    pub limit: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PetStatus>,
    /// Where the previous page ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Echoed in the logs.
    #[serde(
        rename = "X-Request-Id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub x_request_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// The headers of the `200` response of `list_pets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListPetsOkHeaders {
    /// Calls per hour allowed.
    #[serde(rename = "X-Rate-Limit")]
    pub x_rate_limit: i32,
    /// A link to the next page.
    #[serde(rename = "X-Next", default, skip_serializing_if = "Option::is_none")]
    pub x_next: Option<String>,
}

/// The headers of the `429` response of `create_pet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatePetTooManyRequestsHeaders {
    #[serde(rename = "Retry-After")]
    pub retry_after: u32,
}

/// The parameters of `showPetById`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowPetByIdParams {
    /// The id of the pet.
    #[serde(rename = "petId")]
    pub pet_id: u64,
}

/// The parameters of `updatePet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdatePetParams {
    /// The id of the pet.
    #[serde(rename = "petId")]
    pub pet_id: u64,
}

/// The parameters of `deletePet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletePetParams {
    /// The id of the pet.
    #[serde(rename = "petId")]
    pub pet_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// The parameters of `downloadPhoto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadPhotoParams {
    #[serde(rename = "petId")]
    pub pet_id: u64,
}

/// The parameters of `uploadPhoto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadPhotoParams {
    #[serde(rename = "petId")]
    pub pet_id: u64,
}

/// The parameters of `attachDocument`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachDocumentParams {
    #[serde(rename = "petId")]
    pub pet_id: u64,
}

/// The parameters of `replaceNotes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplaceNotesParams {
    #[serde(rename = "petId")]
    pub pet_id: u64,
}

fn default_new_pet_vaccinated() -> bool {
    false
}

fn default_pet_vaccinated() -> bool {
    false
}

fn default_cat_lives() -> u8 {
    9
}

fn default_list_pets_limit() -> u8 {
    20
}

// Responses.

/// The responses of `list_pets` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ListPetsResponse {
    /// A page of pets.
    Ok {
        body: Pets,
        headers: ListPetsOkHeaders,
    },
    /// The request was refused.
    ///
    /// `status` must be a 4xx code.
    ClientError { status: StatusCode, body: Error },
    /// Unexpected error.
    ///
    /// Any status the other variants do not cover.
    Default { status: StatusCode, body: Error },
}

impl IntoResponse for ListPetsResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok { body, headers } => {
                with_headers((StatusCode::OK, Json(body)).into_response(), &headers)
            }
            Self::ClientError { status, body } => {
                (status_in_class(status, 4), Json(body)).into_response()
            }
            Self::Default { status, body } => (status, Json(body)).into_response(),
        }
    }
}

/// The responses of `create_pet` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CreatePetResponse {
    /// The pet as stored.
    Created(Pet),
    /// A pet of this name exists.
    Conflict(Error),
    /// Too many pets added.
    TooManyRequests {
        body: Error,
        headers: CreatePetTooManyRequestsHeaders,
    },
    /// A problem document.
    ///
    /// Any status the other variants do not cover.
    Default {
        status: StatusCode,
        body: contract_runtime::Problem,
    },
}

impl IntoResponse for CreatePetResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Created(body) => (StatusCode::CREATED, Json(body)).into_response(),
            Self::Conflict(body) => (StatusCode::CONFLICT, Json(body)).into_response(),
            Self::TooManyRequests { body, headers } => with_headers(
                (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response(),
                &headers,
            ),
            Self::Default { status, body } => problem_response(status, body),
        }
    }
}

/// The responses of `show_pet_by_id` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ShowPetByIdResponse {
    /// The pet.
    Ok(Pet),
    /// No such pet.
    NotFound,
    /// Unexpected error.
    ///
    /// Any status the other variants do not cover.
    Default { status: StatusCode, body: Error },
}

impl IntoResponse for ShowPetByIdResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
            Self::NotFound => StatusCode::NOT_FOUND.into_response(),
            Self::Default { status, body } => (status, Json(body)).into_response(),
        }
    }
}

/// The responses of `update_pet` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum UpdatePetResponse {
    /// The pet as stored.
    Ok(Pet),
}

impl IntoResponse for UpdatePetResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

/// The responses of `delete_pet` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum DeletePetResponse {
    /// Deleted.
    NoContent,
    /// Invalid pet value.
    BadRequest,
    /// Not this caller's pet.
    Forbidden(Error),
}

impl IntoResponse for DeletePetResponse {
    fn into_response(self) -> Response {
        match self {
            Self::NoContent => StatusCode::NO_CONTENT.into_response(),
            Self::BadRequest => StatusCode::BAD_REQUEST.into_response(),
            Self::Forbidden(body) => (StatusCode::FORBIDDEN, Json(body)).into_response(),
        }
    }
}

/// The responses of `download_photo` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadPhotoResponse {
    /// The photo.
    Ok(Bytes),
    /// No photo.
    NotFound,
}

impl IntoResponse for DownloadPhotoResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => bytes_response(StatusCode::OK, body),
            Self::NotFound => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// The responses of `upload_photo` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum UploadPhotoResponse {
    /// Stored.
    NoContent,
}

impl IntoResponse for UploadPhotoResponse {
    fn into_response(self) -> Response {
        match self {
            Self::NoContent => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

/// The responses of `attach_document` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum AttachDocumentResponse {
    /// Attached; the stored size.
    Created(u64),
}

impl IntoResponse for AttachDocumentResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Created(body) => (StatusCode::CREATED, Json(body)).into_response(),
        }
    }
}

/// The responses of `replace_notes` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ReplaceNotesResponse {
    /// The notes as stored.
    Ok(String),
}

impl IntoResponse for ReplaceNotesResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => text_response(StatusCode::OK, body),
        }
    }
}

/// The responses of `register_owner` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RegisterOwnerResponse {
    /// Registered.
    Created(Owner),
}

impl IntoResponse for RegisterOwnerResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Created(body) => {
                json_response_without(StatusCode::CREATED, &body, without_write_only_owner)
            }
        }
    }
}

/// The responses of `search_pets` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SearchPetsResponse {
    /// Matching pets.
    Ok(Pets),
}

impl IntoResponse for SearchPetsResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

/// The responses of `ping` that the handler chooses between; problem documents are
/// [`ApiError`]s.
// A response is built once and sent at once: boxing its larger bodies would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PingResponse {
    /// Alive; nothing to say.
    Ok(()),
}

impl IntoResponse for PingResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

// Validation: every request is checked against the contract before it is decoded.

/// Records every way `value`, found at `at`, breaks the `petStatus` schema.
pub fn validate_pet_status(value: &Value, at: &str, validator: &mut Validator) {
    validator.string(
        value,
        at,
        StringRules::new().one_of(&["available", "pending", "sold"]),
    );
}

/// Records every way `value`, found at `at`, breaks the `newPet` schema.
pub fn validate_new_pet(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["name", "kind"]);
    if let Some(value) = object.get("name") {
        validator.string(
            value,
            &pointer(at, "name"),
            StringRules::new()
                .min_length(1)
                .max_length(40)
                .pattern("^(?!\\s)[\\p{L} .-]+(?<!\\s)$"),
        );
    }
    if let Some(value) = object.get("tag") {
        validator.string(value, &pointer(at, "tag"), StringRules::new());
    }
    if let Some(value) = object.get("kind") {
        validate_animal(value, &pointer(at, "kind"), validator);
    }
    if let Some(value) = object.get("weightKg") {
        validator.number(
            value,
            &pointer(at, "weightKg"),
            NumberRules::new().exclusive_minimum(0.0).multiple_of(0.1),
        );
    }
    if let Some(value) = object.get("ageMonths") {
        validator.integer(
            value,
            &pointer(at, "ageMonths"),
            IntegerRules::int16().minimum(0).multiple_of(1),
        );
    }
    if let Some(value) = object.get("status") {
        validate_pet_status(value, &pointer(at, "status"), validator);
    }
    if let Some(value) = object.get("vaccinated") {
        validator.boolean(value, &pointer(at, "vaccinated"));
    }
    if let Some(value) = object.get("homepage") {
        validator.string(
            value,
            &pointer(at, "homepage"),
            StringRules::new().format(StringFormat::Uri),
        );
    }
    if let Some(value) = object.get("chipCode") {
        validator.string(value, &pointer(at, "chipCode"), StringRules::new());
    }
    if let Some(value) = object.get("callbackUrl") {
        validator.string(
            value,
            &pointer(at, "callbackUrl"),
            StringRules::new().format(StringFormat::Uri),
        );
    }
}

/// Records every way `value`, found at `at`, breaks the `Pet` schema.
pub fn validate_pet(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["name", "kind"]);
    validator.read_only(object, at, &["id", "createdAt"]);
    if let Some(value) = object.get("name") {
        validator.string(
            value,
            &pointer(at, "name"),
            StringRules::new()
                .min_length(1)
                .max_length(40)
                .pattern("^(?!\\s)[\\p{L} .-]+(?<!\\s)$"),
        );
    }
    if let Some(value) = object.get("tag") {
        validator.string(value, &pointer(at, "tag"), StringRules::new());
    }
    if let Some(value) = object.get("kind") {
        validate_animal(value, &pointer(at, "kind"), validator);
    }
    if let Some(value) = object.get("weightKg") {
        validator.number(
            value,
            &pointer(at, "weightKg"),
            NumberRules::new().exclusive_minimum(0.0).multiple_of(0.1),
        );
    }
    if let Some(value) = object.get("ageMonths") {
        validator.integer(
            value,
            &pointer(at, "ageMonths"),
            IntegerRules::int16().minimum(0).multiple_of(1),
        );
    }
    if let Some(value) = object.get("status") {
        validate_pet_status(value, &pointer(at, "status"), validator);
    }
    if let Some(value) = object.get("vaccinated") {
        validator.boolean(value, &pointer(at, "vaccinated"));
    }
    if let Some(value) = object.get("homepage") {
        validator.string(
            value,
            &pointer(at, "homepage"),
            StringRules::new().format(StringFormat::Uri),
        );
    }
    if let Some(value) = object.get("chipCode") {
        validator.string(value, &pointer(at, "chipCode"), StringRules::new());
    }
    if let Some(value) = object.get("callbackUrl") {
        validator.string(
            value,
            &pointer(at, "callbackUrl"),
            StringRules::new().format(StringFormat::Uri),
        );
    }
    if let Some(value) = object.get("id") {
        validator.integer(value, &pointer(at, "id"), IntegerRules::uint64());
    }
    if let Some(value) = object.get("createdAt") {
        validator.string(
            value,
            &pointer(at, "createdAt"),
            StringRules::new().format(StringFormat::DateTime),
        );
    }
}

/// Records every way `value`, found at `at`, breaks the `Owner` schema.
pub fn validate_owner(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["email", "password", "address"]);
    validator.only_properties(
        object,
        at,
        &[
            "email", "password", "address", "server", "serverV6", "host", "avatar", "contact",
        ],
    );
    validator.property_count(object, at, Some(3), Some(7));
    if let Some(value) = object.get("email") {
        validator.string(
            value,
            &pointer(at, "email"),
            StringRules::new().format(StringFormat::Email),
        );
    }
    if let Some(value) = object.get("password") {
        validator.string(
            value,
            &pointer(at, "password"),
            StringRules::new().min_length(8),
        );
    }
    if let Some(value) = object.get("address") {
        validate_address(value, &pointer(at, "address"), validator);
    }
    if let Some(value) = object.get("server") {
        validator.string(
            value,
            &pointer(at, "server"),
            StringRules::new().format(StringFormat::Ipv4),
        );
    }
    if let Some(value) = object.get("serverV6") {
        validator.string(
            value,
            &pointer(at, "serverV6"),
            StringRules::new().format(StringFormat::Ipv6),
        );
    }
    if let Some(value) = object.get("host") {
        validator.string(
            value,
            &pointer(at, "host"),
            StringRules::new().format(StringFormat::Hostname),
        );
    }
    if let Some(value) = object.get("avatar") {
        validator.string(
            value,
            &pointer(at, "avatar"),
            StringRules::new().format(StringFormat::Byte),
        );
    }
    if let Some(value) = object.get("contact") {
        validate_contact(value, &pointer(at, "contact"), validator);
    }
}

/// Records every way `value`, found at `at`, breaks the `Query` schema.
pub fn validate_query(value: &Value, at: &str, validator: &mut Validator) {
    validator.any_of(
        value,
        at,
        &[
            (
                "`by name`",
                (|value: &Value, at: &str, validator: &mut Validator| {
                    if let Some(object) = validator.object(value, at) {
                        validator.required(object, at, &["name"]);
                        if let Some(value) = object.get("name") {
                            validator.string(value, &pointer(at, "name"), StringRules::new());
                        }
                    }
                }) as Check,
            ),
            (
                "`by tags`",
                (|value: &Value, at: &str, validator: &mut Validator| {
                    if let Some(object) = validator.object(value, at) {
                        validator.required(object, at, &["tags"]);
                        if let Some(value) = object.get("tags") {
                            let at = &pointer(at, "tags");
                            if let Some(items) =
                                validator.array(value, at, ArrayRules::new().min_items(1))
                            {
                                for (index, item) in items.iter().enumerate() {
                                    let at = &pointer(at, index);
                                    validator.string(item, at, StringRules::new());
                                }
                            }
                        }
                    }
                }) as Check,
            ),
        ],
    );
}

/// Records every way `value`, found at `at`, breaks the `Animal` schema.
pub fn validate_animal(value: &Value, at: &str, validator: &mut Validator) {
    validator.discriminated(
        value,
        at,
        "petType",
        &[
            ("cat", validate_cat as Check),
            ("dog", validate_dog as Check),
            ("Lizard", validate_lizard as Check),
        ],
    );
}

/// Records every way `value`, found at `at`, breaks the `Address` schema.
pub fn validate_address(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["city"]);
    if let Some(value) = object.get("city") {
        validator.string(value, &pointer(at, "city"), StringRules::new());
    }
    if let Some(value) = object.get("zip") {
        validate_zip_code(value, &pointer(at, "zip"), validator);
    }
    if let Some(value) = object.get("lines") {
        validate_lines(value, &pointer(at, "lines"), validator);
    }
}

/// Records every way `value`, found at `at`, breaks the `Contact` schema.
pub fn validate_contact(value: &Value, at: &str, validator: &mut Validator) {
    validator.one_of(
        value,
        at,
        &[
            (
                "`by e-mail`",
                (|value: &Value, at: &str, validator: &mut Validator| {
                    if let Some(object) = validator.object(value, at) {
                        validator.required(object, at, &["email"]);
                        if let Some(value) = object.get("email") {
                            validator.string(
                                value,
                                &pointer(at, "email"),
                                StringRules::new().format(StringFormat::Email),
                            );
                        }
                    }
                }) as Check,
            ),
            (
                "`by phone`",
                (|value: &Value, at: &str, validator: &mut Validator| {
                    if let Some(object) = validator.object(value, at) {
                        validator.required(object, at, &["phone"]);
                        if let Some(value) = object.get("phone") {
                            validator.string(
                                value,
                                &pointer(at, "phone"),
                                StringRules::new().pattern("^\\+[0-9]{6,15}$"),
                            );
                        }
                    }
                }) as Check,
            ),
        ],
    );
}

/// Records every way `value`, found at `at`, breaks the `Cat` schema.
pub fn validate_cat(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["petType", "indoor"]);
    if let Some(value) = object.get("petType") {
        validator.string(value, &pointer(at, "petType"), StringRules::new());
    }
    if let Some(value) = object.get("indoor") {
        validator.boolean(value, &pointer(at, "indoor"));
    }
    if let Some(value) = object.get("lives") {
        validator.integer(
            value,
            &pointer(at, "lives"),
            IntegerRules::uint8().maximum(9),
        );
    }
}

/// Records every way `value`, found at `at`, breaks the `Dog` schema.
pub fn validate_dog(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["petType", "breed"]);
    if let Some(value) = object.get("petType") {
        validator.string(value, &pointer(at, "petType"), StringRules::new());
    }
    if let Some(value) = object.get("breed") {
        validator.string(
            value,
            &pointer(at, "breed"),
            StringRules::new().one_of(&["Dingo", "Husky", "Retriever", "Shepherd"]),
        );
    }
}

/// Records every way `value`, found at `at`, breaks the `Lizard` schema.
pub fn validate_lizard(value: &Value, at: &str, validator: &mut Validator) {
    let Some(object) = validator.object(value, at) else {
        return;
    };
    validator.required(object, at, &["petType"]);
    if let Some(value) = object.get("petType") {
        validator.string(value, &pointer(at, "petType"), StringRules::new());
    }
    if let Some(value) = object.get("lovesRocks") {
        validator.boolean(value, &pointer(at, "lovesRocks"));
    }
}

/// Records every way `value`, found at `at`, breaks the `ZipCode` schema.
pub fn validate_zip_code(value: &Value, at: &str, validator: &mut Validator) {
    validator.string(value, at, StringRules::new().pattern("^\\d{5}$"));
}

/// Records every way `value`, found at `at`, breaks the `Lines` schema.
pub fn validate_lines(value: &Value, at: &str, validator: &mut Validator) {
    if let Some(items) = validator.array(value, at, ArrayRules::new().max_items(3)) {
        for (index, item) in items.iter().enumerate() {
            let at = &pointer(at, index);
            validator.string(item, at, StringRules::new());
        }
    }
}

/// Removes the `readOnly` properties of the `Pet` schema from `value`.
fn without_read_only_pet(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        object.remove("id");
        object.remove("createdAt");
    }
}

/// Removes the `writeOnly` properties of the `Owner` schema from `value`.
fn without_write_only_owner(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        object.remove("password");
    }
}

/// The security schemes of the contract, by name.
pub const SECURITY_SCHEMES: &[SecurityScheme] = &[
    SecurityScheme {
        name: "apiKeyCookie",
        kind: SchemeKind::ApiKey {
            location: ApiKeyLocation::Cookie,
            name: "api_key",
        },
    },
    SecurityScheme {
        name: "apiKeyHeader",
        kind: SchemeKind::ApiKey {
            location: ApiKeyLocation::Header,
            name: "X-API-Key",
        },
    },
    SecurityScheme {
        name: "apiKeyQuery",
        kind: SchemeKind::ApiKey {
            location: ApiKeyLocation::Query,
            name: "api_key",
        },
    },
    SecurityScheme {
        name: "bearerAuth",
        kind: SchemeKind::Bearer,
    },
    SecurityScheme {
        name: "petstoreAuth",
        kind: SchemeKind::Bearer,
    },
];

/// The operations of the Pet shop, implemented by the service and served by [`router`].
pub trait PetstoreApi: Send + Sync + 'static {
    /// `GET /pets`
    ///
    /// List pets
    fn list_pets(
        &self,
        context: RequestContext,
        params: ListPetsParams,
    ) -> impl Future<Output = Result<ListPetsResponse, ApiError>> + Send;

    /// `POST /pets`
    ///
    /// Add a pet
    fn create_pet(
        &self,
        context: RequestContext,
        body: NewPet,
    ) -> impl Future<Output = Result<CreatePetResponse, ApiError>> + Send;

    /// `GET /pets/{petId}`
    ///
    /// Info for a specific pet
    fn show_pet_by_id(
        &self,
        context: RequestContext,
        params: ShowPetByIdParams,
    ) -> impl Future<Output = Result<ShowPetByIdResponse, ApiError>> + Send;

    /// `PUT /pets/{petId}`
    ///
    /// Replace a pet (its read-only fields are the shop's)
    fn update_pet(
        &self,
        context: RequestContext,
        params: UpdatePetParams,
        body: Pet,
    ) -> impl Future<Output = Result<UpdatePetResponse, ApiError>> + Send;

    /// `DELETE /pets/{petId}`
    fn delete_pet(
        &self,
        context: RequestContext,
        params: DeletePetParams,
    ) -> impl Future<Output = Result<DeletePetResponse, ApiError>> + Send;

    /// `GET /pets/{petId}/photo`
    fn download_photo(
        &self,
        context: RequestContext,
        params: DownloadPhotoParams,
    ) -> impl Future<Output = Result<DownloadPhotoResponse, ApiError>> + Send;

    /// `PUT /pets/{petId}/photo`
    ///
    /// Upload a photo
    fn upload_photo(
        &self,
        context: RequestContext,
        params: UploadPhotoParams,
        body: Bytes,
    ) -> impl Future<Output = Result<UploadPhotoResponse, ApiError>> + Send;

    /// `POST /pets/{petId}/documents`
    fn attach_document(
        &self,
        context: RequestContext,
        params: AttachDocumentParams,
        body: MultipartBody,
    ) -> impl Future<Output = Result<AttachDocumentResponse, ApiError>> + Send;

    /// `PUT /pets/{petId}/notes`
    fn replace_notes(
        &self,
        context: RequestContext,
        params: ReplaceNotesParams,
        body: Option<String>,
    ) -> impl Future<Output = Result<ReplaceNotesResponse, ApiError>> + Send;

    /// `POST /owners`
    fn register_owner(
        &self,
        context: RequestContext,
        body: Owner,
    ) -> impl Future<Output = Result<RegisterOwnerResponse, ApiError>> + Send;

    /// `POST /search`
    fn search_pets(
        &self,
        context: RequestContext,
        body: Query,
    ) -> impl Future<Output = Result<SearchPetsResponse, ApiError>> + Send;

    /// `GET /ping`
    fn ping(
        &self,
        context: RequestContext,
    ) -> impl Future<Output = Result<PingResponse, ApiError>> + Send;
}

/// The axum router of the Pet shop, with HTTP basic authentication checked by `auth`: see
/// [`router_with_security`].
pub fn router<H: PetstoreApi>(handler: Arc<H>, auth: Arc<dyn Authenticator>) -> Router {
    router_with_security(handler, Security::new().with_basic(auth))
}

/// The axum router of the Pet shop: authenticates (where the contract requires it, with the
/// hooks in `security`) and validates every request, answering `401`, `400`, `415` with a
/// problem document before the handler sees it.
pub fn router_with_security<H: PetstoreApi>(handler: Arc<H>, security: Security) -> Router {
    Router::new()
        .route(
            "/pets",
            axum::routing::get(handle_list_pets::<H>).post(handle_create_pet::<H>),
        )
        .route(
            "/pets/{petId}",
            axum::routing::get(handle_show_pet_by_id::<H>)
                .put(handle_update_pet::<H>)
                .delete(handle_delete_pet::<H>),
        )
        .route(
            "/pets/{petId}/photo",
            axum::routing::get(handle_download_photo::<H>).put(handle_upload_photo::<H>),
        )
        .route(
            "/pets/{petId}/documents",
            axum::routing::post(handle_attach_document::<H>),
        )
        .route(
            "/pets/{petId}/notes",
            axum::routing::put(handle_replace_notes::<H>),
        )
        .route("/owners", axum::routing::post(handle_register_owner::<H>))
        .route("/search", axum::routing::post(handle_search_pets::<H>))
        .route("/ping", axum::routing::get(handle_ping::<H>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(RouterState::new(handler, security))
}

/// `GET /pets`
///
/// List pets
async fn handle_list_pets<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<ListPetsResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("bearerAuth", &[])], &[("apiKeyHeader", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[
        Param::query("tags", ParamKind::String).array(ArrayStyle::Exploded),
        Param::query("ids", ParamKind::Integer).array(ArrayStyle::Comma),
        Param::query("fields", ParamKind::String).array(ArrayStyle::Pipe),
        Param::query("limit", ParamKind::Integer),
        Param::query("status", ParamKind::String),
        Param::query("cursor", ParamKind::String),
        Param::header("X-Request-Id", ParamKind::String),
        Param::cookie("session", ParamKind::String),
    ]);
    if let Some(value) = params.pointer("/query/tags") {
        let at = "/query/tags";
        if let Some(items) = validator.array(value, at, ArrayRules::new().unique_items()) {
            for (index, item) in items.iter().enumerate() {
                let at = &pointer(at, index);
                validator.string(item, at, StringRules::new());
            }
        }
    }
    if let Some(value) = params.pointer("/query/ids") {
        let at = "/query/ids";
        if let Some(items) = validator.array(value, at, ArrayRules::new()) {
            for (index, item) in items.iter().enumerate() {
                let at = &pointer(at, index);
                validator.integer(item, at, IntegerRules::uint32());
            }
        }
    }
    if let Some(value) = params.pointer("/query/fields") {
        let at = "/query/fields";
        if let Some(items) = validator.array(value, at, ArrayRules::new()) {
            for (index, item) in items.iter().enumerate() {
                let at = &pointer(at, index);
                validator.string(
                    item,
                    at,
                    StringRules::new().one_of(&["name", "tag", "status"]),
                );
            }
        }
    }
    if let Some(value) = params.pointer("/query/limit") {
        validator.integer(
            value,
            "/query/limit",
            IntegerRules::uint8().minimum(1).maximum(100),
        );
    }
    if let Some(value) = params.pointer("/query/status") {
        validate_pet_status(value, "/query/status", &mut validator);
    }
    if let Some(value) = params.pointer("/query/cursor") {
        validator.string(value, "/query/cursor", StringRules::new());
    }
    if let Some(value) = params.pointer("/header/X-Request-Id") {
        validator.string(
            value,
            "/header/X-Request-Id",
            StringRules::new().format(StringFormat::Uuid),
        );
    }
    if let Some(value) = params.pointer("/cookie/session") {
        validator.string(value, "/cookie/session", StringRules::new().max_length(64));
    }
    validator.finish()?;
    Ok(state
        .handler
        .list_pets(request.context, decode_params(params)?)
        .await?)
}

/// `POST /pets`
///
/// Add a pet
async fn handle_create_pet<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<CreatePetResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[
            &[("petstoreAuth", &["write:pets"])],
            &[("apiKeyHeader", &[])],
        ],
    )
    .await?;
    let mut validator = Validator::new();
    let body = request.form_or_json_body(
        &mut validator,
        &[
            Param::form("name", ParamKind::String),
            Param::form("tag", ParamKind::String),
            Param::form("kind", ParamKind::Json),
            Param::form("weightKg", ParamKind::Number),
            Param::form("ageMonths", ParamKind::Integer),
            Param::form("status", ParamKind::String),
            Param::form("vaccinated", ParamKind::Boolean),
            Param::form("homepage", ParamKind::String),
            Param::form("chipCode", ParamKind::String),
            Param::form("callbackUrl", ParamKind::String),
        ],
        true,
        true,
    )?;
    if let Some(body) = &body {
        validate_new_pet(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .create_pet(request.context, decode_body(body)?)
        .await?)
}

/// `GET /pets/{petId}`
///
/// Info for a specific pet
async fn handle_show_pet_by_id<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<ShowPetByIdResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[], &[("bearerAuth", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("petId", ParamKind::Integer)]);
    match params.pointer("/path/petId") {
        Some(value) => {
            validator.integer(value, "/path/petId", IntegerRules::uint64());
        }
        None => validator.push("/path/petId", "is required"),
    }
    validator.finish()?;
    Ok(state
        .handler
        .show_pet_by_id(request.context, decode_params(params)?)
        .await?)
}

/// `PUT /pets/{petId}`
///
/// Replace a pet (its read-only fields are the shop's)
async fn handle_update_pet<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<UpdatePetResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("bearerAuth", &[])], &[("apiKeyHeader", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("petId", ParamKind::Integer)]);
    match params.pointer("/path/petId") {
        Some(value) => {
            validator.integer(value, "/path/petId", IntegerRules::uint64());
        }
        None => validator.push("/path/petId", "is required"),
    }
    let body = request.json_body(&mut validator)?;
    if let Some(body) = &body {
        validate_pet(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .update_pet(request.context, decode_params(params)?, decode_body(body)?)
        .await?)
}

/// `DELETE /pets/{petId}`
async fn handle_delete_pet<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<DeletePetResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("bearerAuth", &[])], &[("apiKeyHeader", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[
        Param::path("petId", ParamKind::Integer),
        Param::header("api_key", ParamKind::String),
    ]);
    match params.pointer("/path/petId") {
        Some(value) => {
            validator.integer(value, "/path/petId", IntegerRules::uint64());
        }
        None => validator.push("/path/petId", "is required"),
    }
    if let Some(value) = params.pointer("/header/api_key") {
        validator.string(value, "/header/api_key", StringRules::new());
    }
    validator.finish()?;
    Ok(state
        .handler
        .delete_pet(request.context, decode_params(params)?)
        .await?)
}

/// `GET /pets/{petId}/photo`
async fn handle_download_photo<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<DownloadPhotoResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("petId", ParamKind::Integer)]);
    match params.pointer("/path/petId") {
        Some(value) => {
            validator.integer(value, "/path/petId", IntegerRules::uint64());
        }
        None => validator.push("/path/petId", "is required"),
    }
    validator.finish()?;
    Ok(state
        .handler
        .download_photo(request.context, decode_params(params)?)
        .await?)
}

/// `PUT /pets/{petId}/photo`
///
/// Upload a photo
async fn handle_upload_photo<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<UploadPhotoResponse, Rejection> {
    let request = IncomingRequest::read_secured(
        request,
        &state.security,
        SECURITY_SCHEMES,
        &[&[("apiKeyQuery", &[])], &[("apiKeyCookie", &[])]],
    )
    .await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("petId", ParamKind::Integer)]);
    match params.pointer("/path/petId") {
        Some(value) => {
            validator.integer(value, "/path/petId", IntegerRules::uint64());
        }
        None => validator.push("/path/petId", "is required"),
    }
    let body = request.bytes_body(&mut validator, true)?;
    validator.finish()?;
    Ok(state
        .handler
        .upload_photo(request.context, decode_params(params)?, required(body)?)
        .await?)
}

/// `POST /pets/{petId}/documents`
async fn handle_attach_document<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<AttachDocumentResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("petId", ParamKind::Integer)]);
    match params.pointer("/path/petId") {
        Some(value) => {
            validator.integer(value, "/path/petId", IntegerRules::uint64());
        }
        None => validator.push("/path/petId", "is required"),
    }
    let body = request
        .multipart_body(
            &mut validator,
            &[
                Param::form("kind", ParamKind::String),
                Param::form("note", ParamKind::String),
                Param::form("file", ParamKind::Binary),
            ],
            true,
        )
        .await?;
    if let Some((body, _)) = &body {
        let at = "/body";
        if let Some(object) = validator.object(body, at) {
            validator.required(object, at, &["file", "kind"]);
            if let Some(value) = object.get("kind") {
                validator.string(
                    value,
                    &pointer(at, "kind"),
                    StringRules::new().one_of(&["vaccination", "pedigree"]),
                );
            }
            if let Some(value) = object.get("note") {
                validator.string(
                    value,
                    &pointer(at, "note"),
                    StringRules::new().max_length(200),
                );
            }
            if let Some(value) = object.get("file") {
                validator.string(value, &pointer(at, "file"), StringRules::new());
            }
        }
    }
    validator.finish()?;
    Ok(state
        .handler
        .attach_document(
            request.context,
            decode_params(params)?,
            required(body.map(|(_, parts)| parts))?,
        )
        .await?)
}

/// `PUT /pets/{petId}/notes`
async fn handle_replace_notes<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<ReplaceNotesResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let params = request.params(&[Param::path("petId", ParamKind::Integer)]);
    match params.pointer("/path/petId") {
        Some(value) => {
            validator.integer(value, "/path/petId", IntegerRules::uint64());
        }
        None => validator.push("/path/petId", "is required"),
    }
    let body = request.text_body(&mut validator, false)?;
    validator.finish()?;
    Ok(state
        .handler
        .replace_notes(request.context, decode_params(params)?, body)
        .await?)
}

/// `POST /owners`
async fn handle_register_owner<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<RegisterOwnerResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let body = request.json_body(&mut validator)?;
    if let Some(body) = &body {
        validate_owner(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .register_owner(request.context, decode_body(body)?)
        .await?)
}

/// `POST /search`
async fn handle_search_pets<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<SearchPetsResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    let mut validator = Validator::new();
    let body = request.json_body(&mut validator)?;
    if let Some(body) = &body {
        validate_query(body, "/body", &mut validator);
    }
    validator.finish()?;
    Ok(state
        .handler
        .search_pets(request.context, decode_body(body)?)
        .await?)
}

/// `GET /ping`
async fn handle_ping<H: PetstoreApi>(
    State(state): State<RouterState<H>>,
    request: Request,
) -> Result<PingResponse, Rejection> {
    let request = IncomingRequest::read(request, None).await?;
    Ok(state.handler.ping(request.context).await?)
}

/// Typed client of the Pet shop.
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

    /// `GET /pets`
    ///
    /// List pets
    #[allow(clippy::too_many_arguments)]
    pub async fn list_pets(
        &self,
        tags: Option<&[String]>,
        ids: Option<&[u32]>,
        fields: Option<&[ListPetsFieldsItem]>,
        limit: Option<u8>,
        status: Option<PetStatus>,
        cursor: Option<&str>,
        x_request_id: Option<Uuid>,
        session: Option<&str>,
    ) -> Result<ListPetsResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, "/pets".to_string())
            .query_array("tags", tags, ArrayStyle::Exploded)
            .query_array("ids", ids, ArrayStyle::Comma)
            .query_array("fields", fields, ArrayStyle::Pipe)
            .query("limit", limit.as_ref())
            .query("status", status.as_ref())
            .query("cursor", cursor)
            .header("X-Request-Id", x_request_id.as_ref())
            .cookie("session", session)
            .security(
                SECURITY_SCHEMES,
                &[&[("bearerAuth", &[])], &[("apiKeyHeader", &[])]],
            )
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(ListPetsResponse::Ok {
                body: response.json()?,
                headers: response.headers(&[
                    Param::header("X-Rate-Limit", ParamKind::Integer),
                    Param::header("X-Next", ParamKind::String),
                ])?,
            }),
            status if status.as_u16() / 100 == 4 && !response.is_problem() => {
                Ok(ListPetsResponse::ClientError {
                    status,
                    body: response.json()?,
                })
            }
            status if !response.is_problem() => Ok(ListPetsResponse::Default {
                status,
                body: response.json()?,
            }),
            _ => Err(response.into_error()),
        }
    }

    /// `POST /pets`
    ///
    /// Add a pet
    pub async fn create_pet(&self, body: &NewPet) -> Result<CreatePetResponse, ClientError> {
        let response = self
            .http
            .request(Method::POST, "/pets".to_string())
            .json(body)
            .security(
                SECURITY_SCHEMES,
                &[
                    &[("petstoreAuth", &["write:pets"])],
                    &[("apiKeyHeader", &[])],
                ],
            )
            .send()
            .await?;
        match response.status {
            StatusCode::CREATED => Ok(CreatePetResponse::Created(response.json()?)),
            StatusCode::CONFLICT => Ok(CreatePetResponse::Conflict(response.json()?)),
            StatusCode::TOO_MANY_REQUESTS => Ok(CreatePetResponse::TooManyRequests {
                body: response.json()?,
                headers: response.headers(&[Param::header("Retry-After", ParamKind::Integer)])?,
            }),
            status if !response.is_problem() => Ok(CreatePetResponse::Default {
                status,
                body: response.json()?,
            }),
            _ => Err(response.into_error()),
        }
    }

    /// `GET /pets/{petId}`
    ///
    /// Info for a specific pet
    pub async fn show_pet_by_id(&self, pet_id: u64) -> Result<ShowPetByIdResponse, ClientError> {
        let response = self
            .http
            .request(Method::GET, format!("/pets/{}", path_segment(&pet_id)))
            .security(SECURITY_SCHEMES, &[&[], &[("bearerAuth", &[])]])
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(ShowPetByIdResponse::Ok(response.json()?)),
            StatusCode::NOT_FOUND => Ok(ShowPetByIdResponse::NotFound),
            status if !response.is_problem() => Ok(ShowPetByIdResponse::Default {
                status,
                body: response.json()?,
            }),
            _ => Err(response.into_error()),
        }
    }

    /// `PUT /pets/{petId}`
    ///
    /// Replace a pet (its read-only fields are the shop's)
    pub async fn update_pet(
        &self,
        pet_id: u64,
        body: &Pet,
    ) -> Result<UpdatePetResponse, ClientError> {
        let response = self
            .http
            .request(Method::PUT, format!("/pets/{}", path_segment(&pet_id)))
            .json_without(body, without_read_only_pet)
            .security(
                SECURITY_SCHEMES,
                &[&[("bearerAuth", &[])], &[("apiKeyHeader", &[])]],
            )
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(UpdatePetResponse::Ok(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `DELETE /pets/{petId}`
    pub async fn delete_pet(
        &self,
        pet_id: u64,
        api_key: Option<&str>,
    ) -> Result<DeletePetResponse, ClientError> {
        let response = self
            .http
            .request(Method::DELETE, format!("/pets/{}", path_segment(&pet_id)))
            .header("api_key", api_key)
            .security(
                SECURITY_SCHEMES,
                &[&[("bearerAuth", &[])], &[("apiKeyHeader", &[])]],
            )
            .send()
            .await?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(DeletePetResponse::NoContent),
            StatusCode::BAD_REQUEST => Ok(DeletePetResponse::BadRequest),
            StatusCode::FORBIDDEN => Ok(DeletePetResponse::Forbidden(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `GET /pets/{petId}/photo`
    pub async fn download_photo(&self, pet_id: u64) -> Result<DownloadPhotoResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::GET,
                format!("/pets/{}/photo", path_segment(&pet_id)),
            )
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(DownloadPhotoResponse::Ok(response.bytes())),
            StatusCode::NOT_FOUND => Ok(DownloadPhotoResponse::NotFound),
            _ => Err(response.into_error()),
        }
    }

    /// `PUT /pets/{petId}/photo`
    ///
    /// Upload a photo
    pub async fn upload_photo(
        &self,
        pet_id: u64,
        body: Vec<u8>,
    ) -> Result<UploadPhotoResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::PUT,
                format!("/pets/{}/photo", path_segment(&pet_id)),
            )
            .bytes(body, "application/octet-stream")
            .security(
                SECURITY_SCHEMES,
                &[&[("apiKeyQuery", &[])], &[("apiKeyCookie", &[])]],
            )
            .send()
            .await?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(UploadPhotoResponse::NoContent),
            _ => Err(response.into_error()),
        }
    }

    /// `POST /pets/{petId}/documents`
    pub async fn attach_document(
        &self,
        pet_id: u64,
        body: &MultipartBody,
    ) -> Result<AttachDocumentResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::POST,
                format!("/pets/{}/documents", path_segment(&pet_id)),
            )
            .multipart(body)
            .send()
            .await?;
        match response.status {
            StatusCode::CREATED => Ok(AttachDocumentResponse::Created(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `PUT /pets/{petId}/notes`
    pub async fn replace_notes(
        &self,
        pet_id: u64,
        body: Option<&str>,
    ) -> Result<ReplaceNotesResponse, ClientError> {
        let response = self
            .http
            .request(
                Method::PUT,
                format!("/pets/{}/notes", path_segment(&pet_id)),
            )
            .optional_text(body)
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(ReplaceNotesResponse::Ok(response.text()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `POST /owners`
    pub async fn register_owner(&self, body: &Owner) -> Result<RegisterOwnerResponse, ClientError> {
        let response = self
            .http
            .request(Method::POST, "/owners".to_string())
            .json(body)
            .send()
            .await?;
        match response.status {
            StatusCode::CREATED => Ok(RegisterOwnerResponse::Created(response.json()?)),
            _ => Err(response.into_error()),
        }
    }

    /// `POST /search`
    pub async fn search_pets(&self, body: &Query) -> Result<SearchPetsResponse, ClientError> {
        let response = self
            .http
            .request(Method::POST, "/search".to_string())
            .json(body)
            .send()
            .await?;
        match response.status {
            StatusCode::OK => Ok(SearchPetsResponse::Ok(response.json()?)),
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
            _ => Err(response.into_error()),
        }
    }
}
