//! OpenAPI 3.0 → per-service Rust module: models, validation, handler trait, axum router and
//! typed client. (Being written: see the issue.)

use std::path::Path;

use crate::Result;

/// The body of `generated/src/<service>_api.rs` (without the `@generated` header).
pub fn generate_api(_spec_path: &Path, _service: &str) -> Result<String> {
    Ok(String::new())
}
