//! Event manifest → `generated/src/registry.rs`: per producing service, one function that
//! registers the schemas of the subjects it writes and sets their compatibility levels.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::{CodegenError, Manifest, Result};

/// The body of `generated/src/registry.rs`. `contracts` locates the schema files, whose
/// record names are the Rust types.
pub fn generate_registration(contracts: &Path, manifest: &Manifest) -> Result<String> {
    let mut functions = String::new();
    let mut records = Vec::new();
    for (producer, events) in manifest.producers() {
        let mut entries = String::new();
        let mut subjects = Vec::new();
        for event in &events {
            let record = record_type(contracts, &event.schema)?;
            subjects.push(format!("`{}`", event.subject()));
            writeln!(
                entries,
                "Registration {{ subject: {record}::SUBJECT, schema: {record}::SCHEMA, compatibility: Compatibility::{} }},",
                event.compatibility.runtime_variant()
            )
            .ok();
            records.push(record);
        }
        write!(
            functions,
            r#"
/// Registers the schemas the {producer} service produces; returns their ids.
///
/// Subjects: {subjects}.
pub async fn register_{producer}_schemas(
    client: &RegistryClient,
) -> Result<Vec<RegisteredSchema>, RegistryError> {{
    register_all(client, &[
        {entries}
    ])
    .await
}}
"#,
            subjects = subjects.join(", "),
        )
        .ok();
    }
    records.sort();
    records.dedup();
    Ok(format!(
        "//! Schema registration, per producing service. Each function sets the compatibility\n\
         //! level of every subject the service writes (from `contracts/events.toml`), then\n\
         //! registers its schema; both steps are idempotent, so services call it at every start.\n\n\
         use contract_runtime::event::CanonicalEvent;\n\
         use contract_runtime::registry::{{\n    register_all, Compatibility, RegisteredSchema, Registration, RegistryClient, RegistryError,\n}};\n\n\
         use crate::events::{{{}}};\n{functions}",
        records.join(", ")
    ))
}

fn record_type(contracts: &Path, schema: &Path) -> Result<String> {
    let path = contracts.join(schema);
    let text = std::fs::read_to_string(&path).map_err(|e| CodegenError::io(&path, e))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| CodegenError::Parse {
        file: path.clone(),
        message: e.to_string(),
    })?;
    let name = json.get("name").and_then(Value::as_str).unwrap_or_default();
    Ok(crate::avro::rust_type_name(
        name.rsplit('.').next().unwrap_or(name),
    ))
}
