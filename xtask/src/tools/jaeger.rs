//! Jaeger v2 (an OpenTelemetry Collector distribution with Jaeger's storage and query
//! service), built from the Go module proxy with the ordinary `go` client into the tools
//! cache, once per pinned version.
//!
//! `go install …@version` refuses Jaeger's module (its go.mod has a `replace` directive), so
//! the binary is built the way the module proxy's own instructions for it say: `go get -tool`
//! in a scratch module of ours, then `go build` of the package. The versions of every
//! dependency are the ones Jaeger's go.mod names (minimal version selection from one pinned
//! root), checked against the Go checksum database; the Go build cache makes a rebuild fast.
//!
//! The module carries no web UI: Jaeger's UI is built from another repository with Node and
//! is not published to any registry this machine reaches (the binary serves a placeholder
//! page). The stack therefore points Jaeger's `ui.assets_path` at a small trace viewer of
//! our own (`xtask/src/stack/jaeger-viewer/`), served by Jaeger from its query port.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::stack::system;

/// The Go module version of Jaeger to build. Jaeger v2 releases are tagged `v1.x` for Go's
/// module rules (a v2 tag would need a `/v2` module path): v1.75.0 is Jaeger v2.12.0.
pub const MODULE_VERSION: &str = "v1.75.0";

/// The package that is the `jaeger` binary.
const PACKAGE: &str = "github.com/jaegertracing/jaeger/cmd/jaeger";

/// The Jaeger binary, built if missing.
pub fn ensure_installed() -> Result<PathBuf> {
    let dir = super::cache_dir()?.join("jaeger").join(MODULE_VERSION);
    let binary = dir.join("jaeger");
    let stamp = dir.join("INSTALLED");
    if stamp.is_file() && binary.is_file() {
        return Ok(binary);
    }
    let go = system::which("go").context(
        "Jaeger is built from the Go module proxy and needs the `go` toolchain (1.24+) on PATH",
    )?;
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(
        dir.join("go.mod"),
        "// Written by xtask (xtask/src/tools/jaeger.rs): a scratch module to build Jaeger in.\n\
         module xtask.local/jaeger\n\ngo 1.24\n",
    )
    .context("writing the scratch go.mod")?;
    let started = Instant::now();
    println!(
        "install    jaeger: building {PACKAGE}@{MODULE_VERSION} with go into {} (the first \
         build takes minutes)",
        dir.display()
    );
    let log = dir.join("build.log");
    run_go(
        &go,
        &dir,
        &["get", "-tool", &format!("{PACKAGE}@{MODULE_VERSION}")],
        &log,
    )?;
    run_go(&go, &dir, &["build", "-o", "jaeger", PACKAGE], &log)?;
    if !binary.is_file() {
        bail!("go build finished without writing {}", binary.display());
    }
    fs::write(&stamp, format!("{PACKAGE}@{MODULE_VERSION}\n"))
        .with_context(|| format!("writing {}", stamp.display()))?;
    println!(
        "install    jaeger: built in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(binary)
}

/// Runs one `go` command in `dir`, appending its output to `log`; fails with its tail.
fn run_go(go: &Path, dir: &Path, args: &[&str], log: &Path) -> Result<()> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("duplicating {}", log.display()))?;
    let status = Command::new(go)
        .args(args)
        .current_dir(dir)
        // The scratch module is not a VCS checkout: nothing to stamp.
        .env("GOFLAGS", "-buildvcs=false")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .with_context(|| format!("running go {}", args.join(" ")))?;
    if !status.success() {
        bail!(
            "go {} failed ({status}); the Go module proxy must be reachable (or the modules in \
             the Go module cache). Last lines of {}:\n{}",
            args.join(" "),
            log.display(),
            crate::stack::process::tail(log, 30)
        );
    }
    Ok(())
}
