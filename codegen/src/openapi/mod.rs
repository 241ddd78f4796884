//! OpenAPI 3.0 and 3.1 → one Rust module per service: models, validation, the handler trait,
//! the axum router and a typed client. `codegen/README.md` lists the supported subset.
//!
//! The document is read twice: as `openapiv3::OpenAPI` for its structure (paths, operations,
//! parameters, responses, security) and as raw YAML for schemas, parameters and media types,
//! whose every keyword is checked, since openapiv3 drops the ones it does not model. Every
//! problem of a spec is collected (each with its JSON pointer), not only the first.

mod build;
mod checks;
mod names;
mod one_way;
mod shape;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use askama::Template;

use crate::{CodegenError, Result, Warning};

/// The Rust module generated from one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedApi {
    /// The body of `<module>.rs` (without the `@generated` header).
    pub source: String,
    /// What the generator accepted with a caveat (unknown formats, media types it skips).
    pub warnings: Vec<Warning>,
}

/// Generates the module of the spec at `spec_path`; `service` names its handler trait
/// (`person` → `PersonApi`). On failure, every problem found in the spec.
pub fn generate_api(spec_path: &Path, service: &str) -> Result<GeneratedApi, Vec<CodegenError>> {
    let spec = Spec::load(spec_path).map_err(|error| vec![error])?;
    let module = build::build(&spec, service);
    let mut errors = spec.errors.take();
    let module = match module {
        Ok(module) if errors.is_empty() => module,
        Ok(_) => return Err(errors),
        Err(error) => {
            errors.push(error);
            return Err(errors);
        }
    };
    let source = module.render().map_err(|error| {
        vec![CodegenError::Parse {
            file: spec_path.to_path_buf(),
            message: format!("cannot render the template: {error}"),
        }]
    })?;
    Ok(GeneratedApi {
        source,
        warnings: spec.warnings.take(),
    })
}

/// A loaded specification, and the problems found in it so far.
pub(crate) struct Spec {
    pub path: PathBuf,
    pub raw: serde_yaml::Value,
    pub doc: openapiv3::OpenAPI,
    errors: RefCell<Vec<CodegenError>>,
    warnings: RefCell<Vec<Warning>>,
}

impl Spec {
    fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| CodegenError::io(path, e))?;
        let parse = |message: String| CodegenError::Parse {
            file: path.to_path_buf(),
            message,
        };
        // YAML is a superset of JSON: `.json` specs load the same way.
        let mut raw: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| parse(e.to_string()))?;
        string_keys(&mut raw);
        // openapiv3 models OpenAPI 3.0 schemas and examples only; the generator reads those
        // from `raw`, so they are blanked for openapiv3, which then reads 3.1 documents too.
        let mut structure = raw.clone();
        blank_schemas(&mut structure);
        let doc: openapiv3::OpenAPI =
            serde_yaml::from_value(structure).map_err(|e| parse(e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            raw,
            doc,
            errors: RefCell::default(),
            warnings: RefCell::default(),
        })
    }

    /// Records a problem; generation goes on to find the others, then fails.
    pub fn report(&self, error: CodegenError) {
        self.errors.borrow_mut().push(error);
    }

    /// The value of `result`, or `None` after recording its error.
    pub fn attempt<T>(&self, result: Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.report(error);
                None
            }
        }
    }

    /// Records a warning about the construct at `pointer`.
    pub fn warn(&self, pointer: &str, message: impl Into<String>) {
        self.warnings.borrow_mut().push(Warning {
            file: self.path.clone(),
            pointer: pointer.to_string(),
            message: message.into(),
        });
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

/// YAML allows `200:` as a key; JSON pointers and OpenAPI treat every key as a string.
fn string_keys(value: &mut serde_yaml::Value) {
    match value {
        serde_yaml::Value::Mapping(mapping) => {
            let entries = std::mem::take(mapping);
            for (key, mut item) in entries {
                string_keys(&mut item);
                let key = match key {
                    serde_yaml::Value::Number(number) => {
                        serde_yaml::Value::String(number.to_string())
                    }
                    serde_yaml::Value::Bool(flag) => serde_yaml::Value::String(flag.to_string()),
                    other => other,
                };
                mapping.insert(key, item);
            }
        }
        serde_yaml::Value::Sequence(items) => items.iter_mut().for_each(string_keys),
        _ => {}
    }
}

/// Replaces every schema by `{}` and drops examples, for the openapiv3 reading.
fn blank_schemas(value: &mut serde_yaml::Value) {
    match value {
        serde_yaml::Value::Mapping(mapping) => {
            for key in ["example", "examples"] {
                mapping.remove(key);
            }
            for (key, item) in mapping.iter_mut() {
                match key.as_str() {
                    Some("schema") => *item = serde_yaml::Value::Mapping(Default::default()),
                    Some("schemas") => {
                        if let serde_yaml::Value::Mapping(schemas) = item {
                            for (_, schema) in schemas.iter_mut() {
                                *schema = serde_yaml::Value::Mapping(Default::default());
                            }
                        }
                    }
                    _ => blank_schemas(item),
                }
            }
        }
        serde_yaml::Value::Sequence(items) => items.iter_mut().for_each(blank_schemas),
        _ => {}
    }
}
