//! Writing `generated/` and detecting drift.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::{CodegenError, GENERATED_HEADER, GeneratedFile, Result};

/// `generated/src/lib.rs`.
pub fn lib_rs(api_modules: &[String]) -> String {
    let mut out = String::from(
        "//! Typed contracts of the system, generated from `contracts/`.\n//!\n\
         //! - [`events`]: one type per Avro record, and per canonical event its topic, subject,\n\
         //!   key and CloudEvents facts.\n\
         //! - [`registry`]: per producing service, registration of its subjects' schemas.\n\
         //! - `<service>_api`: REST models, the handler trait, the axum router and a typed client.\n\
         //! - [`topology`]: services, consumer groups, topics and connectors of `system.toml`.\n\n\
         pub mod events;\npub mod registry;\npub mod topology;\n",
    );
    for module in api_modules {
        out.push_str(&format!("pub mod {module};\n"));
    }
    out
}

/// `generated/Cargo.toml`: generated too, so the crate's dependencies follow the generator.
pub fn cargo_toml() -> String {
    let header = GENERATED_HEADER.replacen("//", "#", 1);
    format!(
        r#"{header}

[package]
name = "contracts"
version = "0.1.0"
description = "Typed contracts generated from contracts/ by `cargo xtask gen`."
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

[lib]
path = "src/lib.rs"

[dependencies]
contract-runtime.workspace = true
apache-avro.workspace = true
axum.workspace = true
chrono.workspace = true
reqwest.workspace = true
serde.workspace = true
serde_json.workspace = true
uuid.workspace = true
"#
    )
}

/// Paths (relative to the root) whose contents differ from `files`, plus files under
/// `generated/` that the generator no longer produces.
pub fn stale_files(root: &Path, files: &[GeneratedFile]) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for file in files {
        let on_disk = std::fs::read_to_string(root.join(&file.path)).ok();
        match on_disk {
            None => stale.push(format!("{} (missing)", file.path.display())),
            Some(text) if text != file.contents => {
                stale.push(format!("{} (differs)", file.path.display()))
            }
            Some(_) => {}
        }
    }
    let expected: BTreeSet<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    for extra in existing_files(root)? {
        if !expected.contains(&extra) {
            stale.push(format!("{} (no longer generated)", extra.display()));
        }
    }
    Ok(stale)
}

/// Writes files whose contents changed, removes files no longer generated; returns the
/// paths touched.
pub fn write_files(root: &Path, files: &[GeneratedFile]) -> Result<Vec<PathBuf>> {
    let mut touched = Vec::new();
    for file in files {
        let path = root.join(&file.path);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(file.contents.as_str()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CodegenError::io(dir, e))?;
        }
        std::fs::write(&path, &file.contents).map_err(|e| CodegenError::io(&path, e))?;
        touched.push(file.path.clone());
    }
    let expected: BTreeSet<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    for extra in existing_files(root)? {
        if !expected.contains(&extra) {
            let path = root.join(&extra);
            std::fs::remove_file(&path).map_err(|e| CodegenError::io(&path, e))?;
            touched.push(extra);
        }
    }
    Ok(touched)
}

/// Every file under `generated/` (relative to the root), skipping build output.
fn existing_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.join("generated")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry.map_err(|e| CodegenError::io(&dir, e))?;
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "target") {
                    continue;
                }
                dirs.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                found.push(rel.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}
