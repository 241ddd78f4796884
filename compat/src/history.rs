//! The published versions of the contracts: `contracts/published/`.
//!
//! ```text
//! contracts/published/events/<subject>/v1.avsc, v2.avsc, ...   one per released schema
//! contracts/published/api/<service>/v1.yaml, v2.yaml, ...      one per released spec
//! ```
//!
//! Each file is a byte-for-byte copy of the contract as it was released, written by
//! `cargo xtask compat --publish` and never edited afterwards. Versions are numbered from 1
//! without gaps; a version is appended only when the contract differs in meaning from the
//! latest one (whitespace and key order do not count).

use std::fs;
use std::path::{Path, PathBuf};

use crate::CompatError;

/// Where the published versions live, relative to the repository root.
pub const PUBLISHED_DIR: &str = "contracts/published";

/// What kind of contract a history holds; decides the folder, the extension and what
/// "the same contract" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractKind {
    /// An Avro schema of a registry subject.
    Event,
    /// The OpenAPI spec of a service.
    Api,
}

impl ContractKind {
    fn folder(self) -> &'static str {
        match self {
            Self::Event => "events",
            Self::Api => "api",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Event => "avsc",
            Self::Api => "yaml",
        }
    }

    /// Whether two texts are the same contract: equal once parsed (JSON for Avro, YAML for
    /// OpenAPI). Unparsable text is compared as is.
    pub fn same_contract(self, a: &str, b: &str) -> bool {
        match self {
            Self::Event => {
                match (
                    serde_json::from_str::<serde_json::Value>(a),
                    serde_json::from_str::<serde_json::Value>(b),
                ) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => a == b,
                }
            }
            Self::Api => {
                match (
                    serde_yaml::from_str::<serde_yaml::Value>(a),
                    serde_yaml::from_str::<serde_yaml::Value>(b),
                ) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => a == b,
                }
            }
        }
    }
}

/// One published version of a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    /// 1, 2, ...
    pub number: u32,
    /// Relative to the repository root.
    pub path: PathBuf,
    pub text: String,
}

impl PublishedVersion {
    /// `published v2`.
    pub fn label(&self) -> String {
        format!("published v{}", self.number)
    }
}

/// The published versions under one repository root.
#[derive(Debug, Clone)]
pub struct History {
    root: PathBuf,
}

impl History {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn folder(&self, kind: ContractKind, name: &str) -> PathBuf {
        Path::new(PUBLISHED_DIR).join(kind.folder()).join(name)
    }

    /// Every published version of `name` (a subject or a service), oldest first; empty when
    /// none was published.
    pub fn versions(
        &self,
        kind: ContractKind,
        name: &str,
    ) -> Result<Vec<PublishedVersion>, CompatError> {
        let folder = self.folder(kind, name);
        let absolute = self.root.join(&folder);
        let entries = match fs::read_dir(&absolute) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(CompatError::Io {
                    path: absolute,
                    source,
                });
            }
        };
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CompatError::Io {
                path: absolute.clone(),
                source,
            })?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let path = folder.join(&file_name);
            let number = file_name
                .strip_prefix('v')
                .and_then(|rest| rest.strip_suffix(&format!(".{}", kind.extension())))
                .and_then(|digits| digits.parse::<u32>().ok())
                .filter(|number| *number > 0)
                .ok_or_else(|| CompatError::History {
                    path: path.clone(),
                    message: format!(
                        "unexpected file: published versions are named v<N>.{}",
                        kind.extension()
                    ),
                })?;
            let text = fs::read_to_string(entry.path()).map_err(|source| CompatError::Io {
                path: entry.path(),
                source,
            })?;
            versions.push(PublishedVersion { number, path, text });
        }
        versions.sort_by_key(|version| version.number);
        for (expected, version) in (1..).zip(&versions) {
            if version.number != expected {
                return Err(CompatError::History {
                    path: version.path.clone(),
                    message: format!(
                        "versions must be numbered 1, 2, ... without gaps; v{expected} is missing"
                    ),
                });
            }
        }
        Ok(versions)
    }

    /// Appends `text` as the next version of `name` unless it is the same contract as the
    /// latest published one; returns the new version, if any.
    pub fn publish(
        &self,
        kind: ContractKind,
        name: &str,
        text: &str,
    ) -> Result<Option<PublishedVersion>, CompatError> {
        let versions = self.versions(kind, name)?;
        if let Some(latest) = versions.last()
            && kind.same_contract(&latest.text, text)
        {
            return Ok(None);
        }
        let number = versions.last().map_or(1, |latest| latest.number + 1);
        let folder = self.folder(kind, name);
        let path = folder.join(format!("v{number}.{}", kind.extension()));
        let absolute_folder = self.root.join(&folder);
        fs::create_dir_all(&absolute_folder).map_err(|source| CompatError::Io {
            path: absolute_folder,
            source,
        })?;
        let absolute = self.root.join(&path);
        fs::write(&absolute, text).map_err(|source| CompatError::Io {
            path: absolute,
            source,
        })?;
        Ok(Some(PublishedVersion {
            number,
            path,
            text: text.to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_only_changed_contracts_and_numbers_them() -> Result<(), CompatError> {
        let dir = tempfile::tempdir().map_err(|source| CompatError::Io {
            path: "tempdir".into(),
            source,
        })?;
        let history = History::new(dir.path());
        let subject = "topic-value";
        assert!(history.versions(ContractKind::Event, subject)?.is_empty());

        let v1 = r#"{"type": "record", "name": "R", "fields": []}"#;
        let first = history.publish(ContractKind::Event, subject, v1)?;
        assert_eq!(first.map(|v| v.number), Some(1));
        // Same meaning, other formatting: not a new version.
        let reformatted = r#"{"name":"R","type":"record","fields":[]}"#;
        assert_eq!(
            history.publish(ContractKind::Event, subject, reformatted)?,
            None
        );
        let v2 = r#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "default": 0}]}"#;
        let second = history.publish(ContractKind::Event, subject, v2)?;
        assert_eq!(
            second.map(|v| v.path),
            Some(PathBuf::from(
                "contracts/published/events/topic-value/v2.avsc"
            ))
        );
        let versions = history.versions(ContractKind::Event, subject)?;
        assert_eq!(
            versions.iter().map(|v| v.number).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(versions[1].text, v2);
        Ok(())
    }

    #[test]
    fn rejects_gaps_and_stray_files() -> Result<(), CompatError> {
        let dir = tempfile::tempdir().map_err(|source| CompatError::Io {
            path: "tempdir".into(),
            source,
        })?;
        let folder = dir.path().join("contracts/published/api/person");
        let write = |name: &str| {
            fs::create_dir_all(&folder)
                .and_then(|()| fs::write(folder.join(name), "openapi: 3.0.3\n"))
                .map_err(|source| CompatError::Io {
                    path: folder.join(name),
                    source,
                })
        };
        write("v1.yaml")?;
        write("v3.yaml")?;
        let history = History::new(dir.path());
        let gap = history.versions(ContractKind::Api, "person");
        assert!(
            matches!(&gap, Err(CompatError::History { message, .. }) if message.contains("v2 is missing")),
            "{gap:?}"
        );
        write("notes.txt")?;
        let stray = history.versions(ContractKind::Api, "person");
        assert!(
            matches!(&stray, Err(CompatError::History { message, .. }) if message.contains("unexpected file")),
            "{stray:?}"
        );
        Ok(())
    }
}
