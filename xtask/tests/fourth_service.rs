//! Issue 11's "done when": adding a fourth service that consumes person events is one
//! manifest entry and one new folder, with no edit anywhere else, and the compiler names what
//! the domain code is missing.
//!
//! The workspace is copied to a scratch directory under this checkout's target directory,
//! the fixture (`tests/fixtures/fourth_service/`) adds the manifest entry and
//! `services/newsletter/`, the generator runs (the library behind `cargo xtask gen`) and
//! `cargo check --offline` builds the new service and the rest of the workspace. The scratch
//! copy keeps its path and only rewrites files whose content changed, and builds into a
//! target directory of its own that it keeps, so a second run recompiles only what changed.
//!
//! Why not this checkout's target directory: cargo hashes a path package by its path
//! relative to the workspace root, so a copy of the workspace shares every unit's name with
//! the original, and a unit last built from one copy can be taken as fresh for the other
//! (tried: an edit that breaks three crates "passed"). One target directory per copy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

const FIXTURE: &str = "tests/fixtures/fourth_service";
/// What the copy leaves out: build output, the local stack, version control, and
/// `generated/`, which the generator writes in the copy (only the files that change).
const NOT_COPIED: &[&str] = &["target", ".stack", ".git", "generated"];

#[test]
fn a_fourth_service_is_a_manifest_entry_and_a_folder() -> Result<()> {
    let root = xtask::project_root();
    let fixture = root.join("xtask").join(FIXTURE);
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let scratch = tmp.join("fourth-service");
    let target_dir = tmp.join("fourth-service-target");

    // 1. The workspace as it is, and nothing else.
    let mut written = BTreeSet::new();
    sync_tree(&root, &scratch, Path::new(""), &mut written)?;
    // 2. The manifest entry: appended, as a newcomer would.
    let manifest = scratch.join("contracts/system.toml");
    let mut text = std::fs::read_to_string(&manifest)?;
    text.push_str(&std::fs::read_to_string(fixture.join("system.toml.entry"))?);
    write_if_changed(&manifest, text.as_bytes())?;
    // 3. The new folder.
    let folder = Path::new("services/newsletter");
    sync_tree(
        &fixture.join(folder),
        &scratch.join(folder),
        folder,
        &mut written,
    )?;
    remove_unlisted(&scratch, Path::new(""), &written)?;

    // 4. The generator, as `cargo xtask gen` calls it.
    let options = codegen::Options::for_this_repository(&scratch);
    codegen::run(&options, false)
        .map_err(|error| anyhow::anyhow!("generating the scratch workspace: {error:#}"))?;
    let consumers = std::fs::read_to_string(scratch.join("generated/src/consumers.rs"))?;
    ensure!(
        consumers.contains("pub trait NewsletterConsumer"),
        "the generator wrote no NewsletterConsumer trait"
    );

    // 5. Domain code that forgets a method of the generated trait: the compiler names it.
    let lib = scratch.join(folder).join("src/lib.rs");
    write_if_changed(&lib, &std::fs::read(fixture.join("missing_method/lib.rs"))?)?;
    let (missing, elapsed) = check(&scratch, &target_dir, &["--package", "newsletter-service"])?;
    let stderr = String::from_utf8_lossy(&missing.stderr);
    ensure!(
        !missing.status.success(),
        "a consumer without delete_person compiled"
    );
    ensure!(
        stderr.contains("E0046") && stderr.contains("`delete_person`"),
        "the compiler should name the missing method `delete_person` (E0046):\n{stderr}"
    );
    eprintln!("fourth service: missing method reported in {elapsed:.1?}");

    // 6. The complete fixture builds, and so does every other crate of the workspace (the
    //    operator CLI, xtask, e2e read the topology): nothing else needed an edit.
    write_if_changed(
        &lib,
        &std::fs::read(fixture.join(folder).join("src/lib.rs"))?,
    )?;
    let (built, elapsed) = check(&scratch, &target_dir, &["--workspace"])?;
    if !built.status.success() {
        bail!(
            "the fourth service does not build:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
    }
    eprintln!("fourth service: cargo check --offline --workspace passed in {elapsed:.1?}");
    Ok(())
}

/// `cargo check --offline` of `packages` in `workspace`, building into `target_dir`.
fn check(
    workspace: &Path,
    target_dir: &Path,
    packages: &[&str],
) -> Result<(Output, std::time::Duration)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let output = Command::new(cargo)
        .args(["check", "--offline", "--quiet"])
        .args(packages)
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .context("running cargo check in the scratch workspace")?;
    Ok((output, started.elapsed()))
}

/// Copies `from` into `to`, writing only files whose content differs (so that their
/// modification times, and cargo's fingerprints, survive between runs); records each
/// relative path in `written`.
fn sync_tree(from: &Path, to: &Path, rel: &Path, written: &mut BTreeSet<PathBuf>) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if rel.as_os_str().is_empty() && NOT_COPIED.iter().any(|n| name == *n) {
            continue;
        }
        let kind = entry.file_type()?;
        let rel = rel.join(&name);
        if kind.is_dir() {
            sync_tree(&entry.path(), &to.join(&name), &rel, written)?;
        } else if kind.is_file() {
            write_if_changed(&to.join(&name), &std::fs::read(entry.path())?)?;
            written.insert(rel);
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, content: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}

/// Removes the files of an earlier run that the workspace no longer has (`generated/` is
/// the generator's to clean).
fn remove_unlisted(dir: &Path, rel: &Path, keep: &BTreeSet<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if rel.as_os_str().is_empty() && NOT_COPIED.iter().any(|n| entry.file_name() == *n) {
            continue;
        }
        let rel = rel.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            remove_unlisted(&entry.path(), &rel, keep)?;
        } else if !keep.contains(&rel) {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("removing stale {}", rel.display()))?;
        }
    }
    Ok(())
}
