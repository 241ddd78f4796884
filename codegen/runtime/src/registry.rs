//! Schema registration against a Confluent-API schema registry (Confluent Schema Registry, or
//! Apicurio's `/apis/ccompat/v7`).
//!
//! Small on purpose: registration needs three calls, and `schema_registry_converter` (used for
//! encoding and decoding) has no call for setting a subject's compatibility level. The
//! compatibility gate (`cargo xtask compat --registry`) also reads a subject's versions here.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("schema registry at {url} is unreachable: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("schema registry refused {what} for subject `{subject}` ({status}): {body}")]
    Refused {
        what: &'static str,
        subject: String,
        status: u16,
        body: String,
    },
    #[error(
        "schema registry sent an unexpected answer to {what} for subject `{subject}`: {source}"
    )]
    BadAnswer {
        what: &'static str,
        subject: String,
        #[source]
        source: reqwest::Error,
    },
}

impl RegistryError {
    /// Whether retrying later may succeed (the registry is down or overloaded), as opposed to
    /// a refusal such as an incompatible schema.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => *status >= 500,
            Self::BadAnswer { .. } => false,
        }
    }
}

/// Confluent Schema Registry compatibility levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// One subject to register: its schema and the level its future versions must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Registration {
    pub subject: &'static str,
    pub schema: &'static str,
    pub compatibility: Compatibility,
}

/// The outcome of registering one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    pub subject: &'static str,
    pub id: u32,
}

/// A client of the Confluent-compatible registry API.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base_url: String,
    http: reqwest::Client,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterRequest<'a> {
    schema: &'a str,
    schema_type: &'static str,
}

#[derive(Deserialize)]
struct RegisterResponse {
    id: u32,
}

/// One registered version of a subject.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: u32,
    /// The global schema id (what the Confluent frame carries).
    pub id: u32,
    pub schema: String,
}

#[derive(Deserialize)]
struct CompatibilityResponse {
    is_compatible: bool,
}

#[derive(Serialize, Deserialize)]
struct ConfigBody {
    compatibility: Compatibility,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigResponse {
    #[serde(alias = "compatibility")]
    compatibility_level: Compatibility,
}

impl RegistryClient {
    /// `base_url` is the root of the Confluent API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7`.
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self::with_http(base_url, http)
    }

    pub fn with_http(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Registers `schema` under `subject`; registering the same schema again returns the same
    /// id. Fails with [`RegistryError::Refused`] (409) when the subject's level forbids it.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = format!("{}/subjects/{}/versions", self.base_url, subject);
        let request = self
            .http
            .post(&url)
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .json(&RegisterRequest {
                schema,
                schema_type: "AVRO",
            });
        let response = self.send(request, "registration", subject).await?;
        let body: RegisterResponse = read_json(response, "registration", subject).await?;
        Ok(body.id)
    }

    /// Sets the compatibility level of one subject (idempotent).
    pub async fn set_compatibility(
        &self,
        subject: &str,
        level: Compatibility,
    ) -> Result<(), RegistryError> {
        let url = format!("{}/config/{}", self.base_url, subject);
        let request = self
            .http
            .put(&url)
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .json(&ConfigBody {
                compatibility: level,
            });
        self.send(request, "setting compatibility", subject).await?;
        Ok(())
    }

    /// The subject's own compatibility level, `None` when it has none (the global one applies).
    pub async fn compatibility(
        &self,
        subject: &str,
    ) -> Result<Option<Compatibility>, RegistryError> {
        let url = format!("{}/config/{}", self.base_url, subject);
        let Some(response) = self.get_unless_missing(&url, subject).await? else {
            return Ok(None);
        };
        let body: ConfigResponse = read_json(response, "reading compatibility", subject).await?;
        Ok(Some(body.compatibility_level))
    }

    /// The version numbers of `subject`, oldest first; empty when the subject does not exist.
    pub async fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        let url = format!("{}/subjects/{}/versions", self.base_url, subject);
        let response = self.get_unless_missing(&url, subject).await?;
        let Some(response) = response else {
            return Ok(Vec::new());
        };
        let mut versions: Vec<u32> = read_json(response, "listing versions", subject).await?;
        versions.sort_unstable();
        Ok(versions)
    }

    /// One version of `subject`: its global id and schema text.
    pub async fn subject_version(
        &self,
        subject: &str,
        version: u32,
    ) -> Result<SubjectVersion, RegistryError> {
        let url = format!(
            "{}/subjects/{}/versions/{}",
            self.base_url, subject, version
        );
        let request = self.http.get(&url);
        let response = self.send(request, "reading a version", subject).await?;
        read_json(response, "reading a version", subject).await
    }

    /// Asks the registry whether `schema` may follow `version` of `subject` (a number or
    /// `latest`) under the subject's level. Apicurio compares with that one version only,
    /// whatever the level; registering is what applies a transitive level.
    pub async fn check_compatibility(
        &self,
        subject: &str,
        version: &str,
        schema: &str,
    ) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/compatibility/subjects/{}/versions/{}",
            self.base_url, subject, version
        );
        let request = self
            .http
            .post(&url)
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .json(&RegisterRequest {
                schema,
                schema_type: "AVRO",
            });
        let response = self
            .send(request, "checking compatibility", subject)
            .await?;
        let body: CompatibilityResponse =
            read_json(response, "checking compatibility", subject).await?;
        Ok(body.is_compatible)
    }

    /// Deletes `subject` and its versions: softly, or with `permanent` for good (a soft
    /// delete must come first). Needs deletion enabled in the registry.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<(), RegistryError> {
        let url = format!(
            "{}/subjects/{}{}",
            self.base_url,
            subject,
            if permanent { "?permanent=true" } else { "" }
        );
        self.send(self.http.delete(&url), "deleting the subject", subject)
            .await?;
        Ok(())
    }

    /// GET that answers `None` for a 404 (no such subject).
    async fn get_unless_missing(
        &self,
        url: &str,
        subject: &str,
    ) -> Result<Option<reqwest::Response>, RegistryError> {
        let response =
            self.http
                .get(url)
                .send()
                .await
                .map_err(|source| RegistryError::Unreachable {
                    url: url.to_owned(),
                    source,
                })?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        check_status(response, "reading the subject", subject)
            .await
            .map(Some)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
        subject: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let response = request
            .send()
            .await
            .map_err(|source| RegistryError::Unreachable {
                url: self.base_url.clone(),
                source,
            })?;
        check_status(response, what, subject).await
    }
}

/// Decodes a successful answer's JSON body.
async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: &'static str,
    subject: &str,
) -> Result<T, RegistryError> {
    response
        .json()
        .await
        .map_err(|source| RegistryError::BadAnswer {
            what,
            subject: subject.into(),
            source,
        })
}

async fn check_status(
    response: reqwest::Response,
    what: &'static str,
    subject: &str,
) -> Result<reqwest::Response, RegistryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(RegistryError::Refused {
        what,
        subject: subject.into(),
        status: status.as_u16(),
        body,
    })
}

/// Sets each subject's level, then registers its schema; returns the ids in input order.
///
/// The level is set first so that it already governs this registration. Both steps are
/// idempotent, so a service calls this at every start.
pub async fn register_all(
    client: &RegistryClient,
    registrations: &[Registration],
) -> Result<Vec<RegisteredSchema>, RegistryError> {
    let mut registered = Vec::with_capacity(registrations.len());
    for registration in registrations {
        client
            .set_compatibility(registration.subject, registration.compatibility)
            .await?;
        let id = client
            .register(registration.subject, registration.schema)
            .await?;
        registered.push(RegisteredSchema {
            subject: registration.subject,
            id,
        });
    }
    Ok(registered)
}
