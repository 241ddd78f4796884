//! rustfmt as a subprocess: the toolchain's own formatter is the only way to match what
//! `cargo fmt --check` expects of the checked-in files.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{CodegenError, Result};

/// `source` formatted by rustfmt (edition 2024); `path` names the file in errors.
pub fn rustfmt(source: &str, path: &str) -> Result<String> {
    let fail = |message: String| CodegenError::Rustfmt {
        file: path.to_string(),
        message,
    };
    let mut child = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start rustfmt: {e}")))?;
    child
        .stdin
        .take()
        .ok_or_else(|| fail("no stdin".into()))?
        .write_all(source.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !output.status.success() {
        return Err(fail(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    String::from_utf8(output.stdout).map_err(|e| fail(e.to_string()))
}
