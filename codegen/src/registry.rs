//! Event manifest → `generated/src/registry.rs`: per producing service, one function that
//! registers the schemas of the subjects it writes and sets their compatibility levels.

use crate::Manifest;
use std::fmt::Write as _;

/// The body of `src/registry.rs`; `event_types` are the Rust types of the manifest's events,
/// in order.
pub fn generate_registration(manifest: &Manifest, event_types: &[String]) -> String {
    let mut functions = String::new();
    let mut records = Vec::new();
    for (producer, events) in manifest.producers() {
        let mut entries = String::new();
        let mut subjects = Vec::new();
        for event in &events {
            let index = manifest
                .events
                .iter()
                .position(|e| std::ptr::eq(e, *event))
                .unwrap_or_default();
            let record = event_types.get(index).cloned().unwrap_or_default();
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
    format!(
        "//! Schema registration, per producing service. Each function sets the compatibility\n\
         //! level of every subject the service writes (from `contracts/events.toml`), then\n\
         //! registers its schema; both steps are idempotent, so services call it at every start.\n\n\
         use contract_runtime::event::CanonicalEvent;\n\
         use contract_runtime::registry::{{\n    register_all, Compatibility, RegisteredSchema, Registration, RegistryClient, RegistryError,\n}};\n\n\
         use crate::events::{{{}}};\n{functions}",
        records.join(", ")
    )
}
