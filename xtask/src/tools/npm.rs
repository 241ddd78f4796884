//! A pinned npm package set, installed once per lockfile into the tools cache.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::stack::{process, system};

/// The files of a small npm project kept in this repository: `package.json`, its
/// `package-lock.json` (every version and integrity hash pinned) and the scripts it runs.
pub struct NpmProject {
    pub name: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

impl NpmProject {
    /// The project's folder in the cache with its dependencies installed (`npm ci`, scripts
    /// disabled); reinstalled only when one of its files changes.
    pub fn ensure_installed(&self) -> Result<PathBuf> {
        let dir = super::cache_dir()?.join("npm").join(format!(
            "{}-{:016x}",
            self.name,
            self.fingerprint()
        ));
        let stamp = dir.join("INSTALLED");
        if stamp.is_file() {
            return Ok(dir);
        }
        let npm = ensure_node()?;
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, contents) in self.files {
            let path = dir.join(name);
            fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        }
        println!(
            "install    {}: npm ci into {} (versions from its package-lock.json)",
            self.name,
            dir.display()
        );
        let output = Command::new(npm)
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .context("cannot run npm")?;
        if !output.status.success() {
            bail!(
                "npm ci for {} failed ({}); the npm registry must be reachable (or its \
                 packages in ~/.npm's cache):\n{}{}",
                self.name,
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        fs::write(&stamp, "").with_context(|| format!("writing {}", stamp.display()))?;
        Ok(dir)
    }

    /// FNV-1a over the files: a cache key, not a security check (npm verifies the packages'
    /// integrity hashes from the lockfile).
    fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, contents) in self.files {
            for byte in name.bytes().chain([0]).chain(contents.bytes()).chain([0]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }
}

/// Node 18+ and npm, installed from Debian's packages when missing; returns npm.
fn ensure_node() -> Result<PathBuf> {
    if system::which("node").is_none() || system::which("npm").is_none() {
        system::apt_install(&["nodejs", "npm"], "Node.js runs the AsyncAPI parser")?;
    }
    let node = system::which("node").context("node is not on PATH after installing nodejs")?;
    let version = process::run_checked(Command::new(&node).arg("--version"), "node --version")?;
    let major: u32 = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .with_context(|| format!("cannot read node's version from `{}`", version.trim()))?;
    if major < 18 {
        bail!(
            "{} is Node.js {}; the AsyncAPI parser needs 18+",
            node.display(),
            version.trim()
        );
    }
    system::which("npm").context("npm is not on PATH after installing npm")
}
