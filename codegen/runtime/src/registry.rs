//! Schema registration against a Confluent-API schema registry (Confluent Schema Registry, or
//! Apicurio's `/apis/ccompat/v7`).
//!
//! Small on purpose: registration needs three calls, and `schema_registry_converter` (used for
//! encoding and decoding) has no call for setting a subject's compatibility level. The
//! compatibility gate (`cargo xtask compat --registry`) also reads a subject's versions here.
//!
//! Subjects are named by the event's subject strategy (`<topic>-value`, the record's full name,
//! or `<topic>-<full name>`); the generated `register_<service>_schemas` passes each event's
//! [`CanonicalEvent::SUBJECT`](crate::event::CanonicalEvent::SUBJECT) to [`register_all`].

use std::fmt;
use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// Characters escaped in a subject used as a path segment (the record-name strategies put
/// dots in subjects, which stay; anything with meaning in a URL is escaped).
const SUBJECT_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// Why a registry call failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No answer: the registry is down, or the URL is wrong.
    #[error("schema registry at {url} is unreachable: {source}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// What the HTTP client reported.
        #[source]
        source: reqwest::Error,
    },
    /// An answer with an error status: `409` for a schema the subject's level forbids, `422`
    /// for an invalid schema, `5xx` when the registry is in trouble.
    #[error("schema registry refused {what} for subject `{subject}` ({status}): {body}")]
    Refused {
        /// The call, e.g. `registration`.
        what: &'static str,
        /// The subject it concerned.
        subject: String,
        /// The HTTP status.
        status: u16,
        /// The registry's error document, as text.
        body: String,
    },
    /// A success status whose body is not what the Confluent API describes.
    #[error(
        "schema registry sent an unexpected answer to {what} for subject `{subject}`: {source}"
    )]
    BadAnswer {
        /// The call, e.g. `registration`.
        what: &'static str,
        /// The subject it concerned.
        subject: String,
        /// Why the body could not be read.
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

/// Confluent Schema Registry compatibility levels: what a subject's next version must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// No check.
    None,
    /// Readers of the new version read data of the previous one.
    Backward,
    /// Readers of the new version read data of every earlier one.
    BackwardTransitive,
    /// Readers of the previous version read data of the new one.
    Forward,
    /// Readers of every earlier version read data of the new one.
    ForwardTransitive,
    /// Backward and forward against the previous version.
    Full,
    /// Backward and forward against every earlier version.
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
    /// The subject, named by the event's subject strategy.
    pub subject: &'static str,
    /// The Avro schema (JSON text) to register.
    pub schema: &'static str,
    /// The level set on the subject before registering.
    pub compatibility: Compatibility,
}

/// The outcome of registering one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// The subject registered under.
    pub subject: &'static str,
    /// The schema's global id: what the Confluent wire format's frame carries.
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
    /// The subject.
    pub subject: String,
    /// The version number within the subject (1, 2, ...).
    pub version: u32,
    /// The global schema id (what the Confluent frame carries).
    pub id: u32,
    /// The schema text, as the registry stores it.
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
    /// A client of the registry whose Confluent API is rooted at `base_url`, e.g.
    /// `http://127.0.0.1:8081/apis/ccompat/v7`, with a 10-second timeout per call.
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self::with_http(base_url, http)
    }

    /// A client sending through a configured reqwest client (timeouts, TLS, proxies, ...).
    pub fn with_http(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The root of the Confluent API this client calls.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every subject the registry holds (soft-deleted ones excluded), in name order.
    pub async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        let url = format!("{}/subjects", self.base_url);
        let response = self
            .send(self.http.get(&url), "listing subjects", "*")
            .await?;
        let mut subjects: Vec<String> = read_json(response, "listing subjects", "*").await?;
        subjects.sort_unstable();
        Ok(subjects)
    }

    /// `base_url` + `/<collection>/<subject>` + `rest`, the subject encoded as a path segment.
    fn subject_url(&self, collection: &str, subject: &str, rest: &str) -> String {
        format!(
            "{}/{collection}/{}{rest}",
            self.base_url,
            utf8_percent_encode(subject, SUBJECT_SEGMENT)
        )
    }

    /// Registers `schema` under `subject`; registering the same schema again returns the same
    /// id. Fails with [`RegistryError::Refused`] (409) when the subject's level forbids it.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = self.subject_url("subjects", subject, "/versions");
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
    ///
    /// Two processes setting a new subject's level at once race in Apicurio: the second
    /// gets `409` ("a rule named 'COMPATIBILITY' already exists") because the first created
    /// the rule between its check and its insert. The rule exists then, so the call is
    /// repeated once, as an update.
    pub async fn set_compatibility(
        &self,
        subject: &str,
        level: Compatibility,
    ) -> Result<(), RegistryError> {
        match self.put_compatibility(subject, level).await {
            Err(RegistryError::Refused { status: 409, .. }) => {
                self.put_compatibility(subject, level).await
            }
            outcome => outcome,
        }
    }

    async fn put_compatibility(
        &self,
        subject: &str,
        level: Compatibility,
    ) -> Result<(), RegistryError> {
        let url = self.subject_url("config", subject, "");
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
        let url = self.subject_url("config", subject, "");
        let Some(response) = self.get_unless_missing(&url, subject).await? else {
            return Ok(None);
        };
        let body: ConfigResponse = read_json(response, "reading compatibility", subject).await?;
        Ok(Some(body.compatibility_level))
    }

    /// The version numbers of `subject`, oldest first; empty when the subject does not exist.
    pub async fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        let url = self.subject_url("subjects", subject, "/versions");
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
        let url = self.subject_url("subjects", subject, &format!("/versions/{version}"));
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
        let url = self.subject_url(
            "compatibility/subjects",
            subject,
            &format!(
                "/versions/{}",
                utf8_percent_encode(version, SUBJECT_SEGMENT)
            ),
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
        let url = self.subject_url(
            "subjects",
            subject,
            if permanent { "?permanent=true" } else { "" },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_path_segments_in_urls() {
        let client = RegistryClient::new("http://registry:8081/apis/ccompat/v7/");
        let cases = [
            (
                "public_person_entity_events-value",
                "/subjects/public_person_entity_events-value/versions",
            ),
            (
                "shop.billing.PaymentReceived",
                "/subjects/shop.billing.PaymentReceived/versions",
            ),
            ("a b/c?d", "/subjects/a%20b%2Fc%3Fd/versions"),
        ];
        for (subject, path) in cases {
            assert_eq!(
                client.subject_url("subjects", subject, "/versions"),
                format!("http://registry:8081/apis/ccompat/v7{path}")
            );
        }
    }
}
