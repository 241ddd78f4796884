//! Tools that checks need from outside the Rust toolchain, installed by xtask on first use:
//! the official AsyncAPI parser (npm, versions pinned by a lockfile) and headless Chromium
//! (Debian's package), so that `cargo xtask ci` needs no manual install; and Jaeger (built
//! from the Go module proxy) for `cargo xtask stack up --observability`.

pub mod asyncapi;
pub mod chromium;
pub mod jaeger;
mod npm;

use std::path::PathBuf;

use anyhow::{Context, Result};

/// `$XDG_CACHE_HOME/contract-first-kafka` (else `~/.cache/contract-first-kafka`): where the
/// installed tools are kept between runs.
pub fn cache_dir() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set: no place to cache the tools")?;
    Ok(base.join("contract-first-kafka"))
}
