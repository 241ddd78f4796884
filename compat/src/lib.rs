//! The schema evolution gate behind `cargo xtask compat`.
//!
//! Contracts change; a change that breaks a consumer in production must fail CI before it is
//! published. [`check_contracts`] compares the working tree's contracts with every version
//! that was published before:
//!
//! - each registry subject of `contracts/events.toml`: the working-tree Avro schema against
//!   the subject's published versions (and, when given, the registry's), under the subject's
//!   compatibility level with Confluent's semantics ([`avro`]);
//! - each OpenAPI spec of `contracts/api/`: the working tree against its latest published
//!   version, for changes that break clients ([`openapi`]).
//!
//! "Published" is `contracts/published/` ([`history`]): `cargo xtask compat --publish`
//! ([`publish_contracts`]) appends the working-tree version of each contract that changed.
//! The workflow and the levels are explained in the README ("Changing a contract").

pub mod avro;
pub mod catalog;
pub mod diff;
pub mod history;
pub mod openapi;
pub mod report;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A subject's compatibility level, as `contracts/events.toml` declares it.
pub use codegen::Compatibility as Level;
use codegen::Manifest;

use crate::avro::{Incompatibility, SchemaVersion};
use crate::history::{ContractKind, History, PublishedVersion};
use crate::openapi::BreakingChange;

#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] codegen::CodegenError),
    #[error(transparent)]
    Contracts(#[from] codegen::Errors),
    #[error("{what} is not a valid Avro schema: {message}")]
    AvroSchema { what: String, message: String },
    #[error("{what} is not a valid OpenAPI document: {message}")]
    Spec { what: String, message: String },
    #[error("{}: {message}", path.display())]
    History { path: PathBuf, message: String },
    #[error("rendering {what}: {message}")]
    Render { what: String, message: String },
}

/// The label of the contract being checked.
pub const WORKING_TREE: &str = "working tree";

/// What the schema registry holds for one subject, fetched by the caller.
#[derive(Debug, Clone, Default)]
pub struct RegistrySubject {
    /// The subject's own compatibility level (`FORWARD`...), if it has one.
    pub level: Option<String>,
    /// Every version, oldest first.
    pub versions: Vec<RegistryVersion>,
}

#[derive(Debug, Clone)]
pub struct RegistryVersion {
    pub version: u32,
    pub id: u32,
    pub schema: String,
}

impl RegistryVersion {
    /// `registry version 3 (id 12)`.
    pub fn label(&self) -> String {
        format!("registry version {} (id {})", self.version, self.id)
    }
}

/// A breaking change of one service's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBreak {
    pub service: String,
    /// `contracts/api/person.yaml`.
    pub spec: PathBuf,
    /// Label of the version compared with (`published v1`).
    pub old: String,
    pub change: BreakingChange,
}

impl fmt::Display for ApiBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} API): {WORKING_TREE} vs {}: {}",
            self.spec.display(),
            self.service,
            self.old,
            self.change
        )
    }
}

/// The outcome of [`check_contracts`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub incompatibilities: Vec<Incompatibility>,
    pub breaking_changes: Vec<ApiBreak>,
    /// One line per contract: what it was compared with.
    pub checked: Vec<String>,
    /// Facts worth knowing that do not fail the check.
    pub notes: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.incompatibilities.is_empty() && self.breaking_changes.is_empty()
    }
}

/// Checks every contract of the working tree under `root` against its published versions
/// and, for subjects present in `registry`, against the registry's versions too.
pub fn check_contracts(
    root: &Path,
    registry: Option<&BTreeMap<String, RegistrySubject>>,
) -> Result<Report, CompatError> {
    let contracts = root.join("contracts");
    let manifest = Manifest::load(&contracts)?;
    let history = History::new(root);
    let mut report = Report::default();

    let texts = registered_schemas(&contracts, &manifest)?;
    for (event, text) in manifest.events.iter().zip(texts) {
        // The subject follows the event's subject strategy (events.toml `subject_strategy`).
        let subject = event.subject();
        let level = event.compatibility;
        let schema_path = Path::new("contracts").join(&event.schema);
        let candidate = SchemaVersion::parse(WORKING_TREE, &text).map_err(|error| match error {
            CompatError::AvroSchema { message, .. } => CompatError::AvroSchema {
                what: schema_path.display().to_string(),
                message,
            },
            other => other,
        })?;

        let published = history.versions(ContractKind::Event, &subject)?;
        let previous = published
            .iter()
            .map(|version| SchemaVersion::parse(version.label(), &version.text))
            .collect::<Result<Vec<_>, _>>()?;
        let mut compared = compared_labels(level, &previous);
        let mut registry_note = String::new();
        report
            .incompatibilities
            .extend(avro::check_subject(&subject, level, &previous, &candidate)?);

        if let Some(in_registry) = registry.and_then(|registry| registry.get(&subject)) {
            if let Some(registry_level) = &in_registry.level
                && registry_level != level.as_str()
            {
                report.notes.push(format!(
                    "{subject}: the registry's level is {registry_level}, events.toml says \
                     {level}; the gate applies {level} (services set it when they register)"
                ));
            }
            let registry_previous = registry_versions_to_compare(level, &published, in_registry)?;
            if registry_previous.is_empty() {
                registry_note = match in_registry.versions.last() {
                    None => "; the registry has no version yet".into(),
                    Some(_) if avro::is_transitive(level) => format!(
                        "; the registry's {} version(s) are all published",
                        in_registry.versions.len()
                    ),
                    Some(latest) => format!(
                        "; the registry's latest (version {}) is the published latest",
                        latest.version
                    ),
                };
            }
            compared.extend(compared_labels(level, &registry_previous));
            report.incompatibilities.extend(avro::check_subject(
                &subject,
                level,
                &registry_previous,
                &candidate,
            )?);
        }

        report
            .checked
            .push(if level == codegen::Compatibility::None {
                format!("{subject} ({level}): nothing to check")
            } else if compared.is_empty() {
                format!("{subject} ({level}): no published version yet")
            } else {
                format!(
                    "{subject} ({level}): {WORKING_TREE} vs {}{registry_note}",
                    compared.join(", ")
                )
            });
    }

    for (service, spec_path) in api_specs(root)? {
        let service = service.as_str();
        let text = read(root, &spec_path)?;
        let new = openapi::parse_spec(&spec_path.display().to_string(), &text)?;
        let published = history.versions(ContractKind::Api, service)?;
        let Some(latest) = published.last() else {
            report.checked.push(format!(
                "{} ({service} API): no published version yet",
                spec_path.display()
            ));
            continue;
        };
        let old = openapi::parse_spec(&latest.path.display().to_string(), &latest.text)?;
        report.checked.push(format!(
            "{} ({service} API): {WORKING_TREE} vs {}",
            spec_path.display(),
            latest.label()
        ));
        report
            .breaking_changes
            .extend(
                openapi::breaking_changes(&old, &new)
                    .into_iter()
                    .map(|change| ApiBreak {
                        service: (*service).to_owned(),
                        spec: spec_path.clone(),
                        old: latest.label(),
                        change,
                    }),
            );
    }
    Ok(report)
}

/// The registry versions a level compares with that the published history does not already
/// cover: for a transitive level every version unlike all published ones, else the registry's
/// latest unless it is the published latest.
fn registry_versions_to_compare(
    level: codegen::Compatibility,
    published: &[PublishedVersion],
    in_registry: &RegistrySubject,
) -> Result<Vec<SchemaVersion>, CompatError> {
    let is_published = |schema: &str, among: &[PublishedVersion]| {
        among
            .iter()
            .any(|version| ContractKind::Event.same_contract(&version.text, schema))
    };
    let selected: Vec<&RegistryVersion> = if avro::is_transitive(level) {
        in_registry
            .versions
            .iter()
            .filter(|version| !is_published(&version.schema, published))
            .collect()
    } else {
        in_registry
            .versions
            .last()
            .filter(|latest| {
                !is_published(
                    &latest.schema,
                    published
                        .last()
                        .map(std::slice::from_ref)
                        .unwrap_or_default(),
                )
            })
            .into_iter()
            .collect()
    };
    selected
        .into_iter()
        .map(|version| SchemaVersion::parse(version.label(), &version.schema))
        .collect()
}

/// The labels of the versions `level` compares with, among `previous`.
fn compared_labels(level: codegen::Compatibility, previous: &[SchemaVersion]) -> Vec<String> {
    if level == codegen::Compatibility::None {
        Vec::new()
    } else if avro::is_transitive(level) {
        previous.iter().map(|v| v.label.clone()).collect()
    } else {
        previous
            .last()
            .map(|v| v.label.clone())
            .into_iter()
            .collect()
    }
}

/// One contract version written by [`publish_contracts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The subject or the service.
    pub name: String,
    pub version: PublishedVersion,
}

/// Appends the working-tree version of every contract that differs from its latest published
/// version (the first version of a contract never published). Check first: this does not.
pub fn publish_contracts(root: &Path) -> Result<Vec<Published>, CompatError> {
    let manifest = Manifest::load(&root.join("contracts"))?;
    let history = History::new(root);
    let mut written = Vec::new();
    let texts = registered_schemas(&root.join("contracts"), &manifest)?;
    for (event, text) in manifest.events.iter().zip(texts) {
        let subject = event.subject();

        if let Some(version) = history.publish(ContractKind::Event, &subject, &text)? {
            written.push(Published {
                name: subject,
                version,
            });
        }
    }
    for (service, spec_path) in api_specs(root)? {
        let text = read(root, &spec_path)?;
        if let Some(version) = history.publish(ContractKind::Api, &service, &text)? {
            written.push(Published {
                name: service,
                version,
            });
        }
    }
    Ok(written)
}

/// Per manifest event, the schema text its producer registers: the contract file, or, when
/// the record refers to types of other files, the record with those inlined (as generated).
fn registered_schemas(contracts: &Path, manifest: &Manifest) -> Result<Vec<String>, CompatError> {
    let schemas = codegen::avro::event_schemas(contracts, manifest).map_err(codegen::Errors)?;
    Ok(schemas.into_iter().map(|s| s.schema).collect())
}

/// Every spec under `contracts/api/` (as the generator finds them): service name and path
/// relative to `root`.
pub(crate) fn api_specs(root: &Path) -> Result<Vec<(String, PathBuf)>, CompatError> {
    let specs = codegen::api_specs(&root.join("contracts")).map_err(codegen::Errors)?;
    Ok(specs
        .into_iter()
        .map(|spec| {
            let relative = spec
                .path
                .strip_prefix(root)
                .map(Path::to_path_buf)
                .unwrap_or(spec.path);
            (spec.service, relative)
        })
        .collect())
}

pub(crate) fn read(root: &Path, relative: &Path) -> Result<String, CompatError> {
    let path = root.join(relative);
    std::fs::read_to_string(&path).map_err(|source| CompatError::Io { path, source })
}
