//! The light part of the project's automation, as a library: the local stack ([`stack`]) and
//! the services as local processes ([`services`]). The `cargo xtask` binary and the heavy
//! drivers in `xtask/drive` (demo, bench, chaos) both use it.
//!
//! Architecture invariant: this package depends on no generated code, no service crate, no
//! librdkafka and no sqlx, so `cargo xtask gen` works when the generated code does not compile
//! and `cargo xtask` builds in seconds.

pub mod services;
pub mod stack;
pub mod tools;
pub mod topology;

use std::path::{Path, PathBuf};

/// The repository root (the workspace that contains `xtask/`).
///
/// Read from `CARGO_MANIFEST_DIR` at run time (cargo sets it for `cargo run`), as
/// rust-analyzer's xtask does: the compile-time value would point every checkout that shares a
/// target directory at whichever checkout built the binary last. The variable names the
/// package being run (`xtask/` or `xtask/drive/`): the root is the nearest directory above it
/// whose `Cargo.toml` declares the workspace.
pub fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    workspace_root_above(&manifest_dir).unwrap_or_else(|| {
        manifest_dir
            .parent()
            .map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
    })
}

/// The nearest ancestor of `dir` (itself included) whose `Cargo.toml` has a `[workspace]`.
fn workspace_root_above(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|candidate| {
            std::fs::read_to_string(candidate.join("Cargo.toml"))
                .is_ok_and(|text| text.lines().any(|line| line.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_workspace_above_the_running_package() -> std::io::Result<()> {
        let scratch = std::env::temp_dir().join(format!("xtask-root-{}", std::process::id()));
        let drive = scratch.join("xtask/drive");
        std::fs::create_dir_all(&drive)?;
        std::fs::write(scratch.join("Cargo.toml"), "[workspace]\nmembers = []\n")?;
        std::fs::write(
            scratch.join("xtask/Cargo.toml"),
            "[package]\nname = \"x\"\n",
        )?;
        std::fs::write(drive.join("Cargo.toml"), "[package]\nname = \"y\"\n")?;
        assert_eq!(workspace_root_above(&drive), Some(scratch.clone()));
        assert_eq!(
            workspace_root_above(&scratch.join("xtask")),
            Some(scratch.clone())
        );
        std::fs::remove_dir_all(&scratch)?;
        Ok(())
    }
}
