//! OpenAPI 3.0 → one Rust module per service: models, validation, the handler trait, the axum
//! router and a typed client. `codegen/README.md` lists the supported subset.
//!
//! The document is read twice: as `openapiv3::OpenAPI` for its structure (paths, operations,
//! parameters, responses, security) and as raw YAML for schemas, parameters and media types,
//! whose every keyword is checked, since openapiv3 drops the ones it does not model.

mod build;
mod checks;
mod names;
mod shape;

use std::path::{Path, PathBuf};

use askama::Template;

use crate::{CodegenError, Result, Warning};

/// One generated API module and what was accepted with a caveat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedApi {
    /// The body of `src/<name>.rs` (without the `@generated` header).
    pub source: String,
    /// Constructs generated, but not exactly as written.
    pub warnings: Vec<Warning>,
}

/// The API module of the spec at `spec_path`; `service` names the handler trait, the client
/// and the module's items. Every problem of the spec is reported, not just the first.
pub fn generate_api(
    spec_path: &Path,
    service: &str,
) -> std::result::Result<GeneratedApi, Vec<CodegenError>> {
    let spec = Spec::load(spec_path).map_err(|e| vec![e])?;
    let module = build::build(&spec, service).map_err(|e| vec![e])?;
    let source = module.render().map_err(|error| {
        vec![CodegenError::Parse {
            file: spec_path.to_path_buf(),
            message: format!("cannot render the template: {error}"),
        }]
    })?;
    Ok(GeneratedApi {
        source,
        warnings: Vec::new(),
    })
}

/// A loaded specification.
pub(crate) struct Spec {
    pub path: PathBuf,
    pub raw: serde_yaml::Value,
    pub doc: openapiv3::OpenAPI,
}

impl Spec {
    fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| CodegenError::io(path, e))?;
        let parse = |message: String| CodegenError::Parse {
            file: path.to_path_buf(),
            message,
        };
        let raw: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| parse(e.to_string()))?;
        let doc: openapiv3::OpenAPI =
            serde_yaml::from_value(raw.clone()).map_err(|e| parse(e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            raw,
            doc,
        })
    }

    /// The raw value at a JSON pointer.
    pub fn raw_at(&self, pointer: &str) -> Option<&serde_yaml::Value> {
        let mut value = &self.raw;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            value = match value {
                serde_yaml::Value::Mapping(mapping) => mapping.get(token.as_str())?,
                serde_yaml::Value::Sequence(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    pub fn raw_component(&self, name: &str) -> Option<&serde_yaml::Value> {
        self.raw_at(&names::pointer(["components", "schemas", name]))
    }
}
