//! Headless Chromium from Debian's `chromium` package, driven through its command line:
//! `--dump-dom` gives the DOM after the page loaded, `--screenshot` a PNG.
//!
//! Each run gets a fresh profile and every background service off: on a machine without
//! network access Chromium otherwise waits on its update, sync and QUIC probes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::stack::system;

/// How long one page load may take before the run counts as hung (a local file loads in
/// about a second).
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// A Chromium binary, installed if missing.
pub struct Chromium {
    binary: PathBuf,
}

impl Chromium {
    /// `chromium` from `PATH` (or `CHROMIUM`), installing Debian's package when missing.
    pub fn ensure_installed() -> Result<Self> {
        if let Some(binary) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
            return Ok(Self { binary });
        }
        if system::which("chromium").is_none() {
            system::apt_install(&["chromium"], "the catalog's browser test needs Chromium")?;
        }
        let binary = system::which("chromium")
            .context("chromium is not on PATH after installing the chromium package")?;
        Ok(Self { binary })
    }

    /// The serialized DOM of `url` once loaded.
    pub fn dump_dom(&self, url: &str) -> Result<String> {
        let output = self.run(&["--dump-dom".to_owned(), url.to_owned()])?;
        Ok(output)
    }

    /// A PNG screenshot of `url` at `width`×`height` pixels, written to `png`.
    pub fn screenshot(&self, url: &str, png: &Path, width: u32, height: u32) -> Result<()> {
        let png = std::path::absolute(png).context("resolving the screenshot path")?;
        if let Some(dir) = png.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let _ = std::fs::remove_file(&png);
        self.run(&[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_owned(),
            url.to_owned(),
        ])?;
        if !png.is_file() {
            bail!("chromium exited without writing {}", png.display());
        }
        Ok(())
    }

    /// Like [`Chromium::screenshot`], for a page that renders from data it fetches: the
    /// page's scripts get up to 10 s of virtual time (timers and network included) before
    /// the PNG is taken.
    pub fn screenshot_after_scripts(
        &self,
        url: &str,
        png: &Path,
        width: u32,
        height: u32,
    ) -> Result<()> {
        let png = std::path::absolute(png).context("resolving the screenshot path")?;
        if let Some(dir) = png.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let _ = std::fs::remove_file(&png);
        self.run(&[
            "--virtual-time-budget=10000".to_owned(),
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_owned(),
            url.to_owned(),
        ])?;
        if !png.is_file() {
            bail!("chromium exited without writing {}", png.display());
        }
        Ok(())
    }

    fn run(&self, args: &[String]) -> Result<String> {
        let profile = tempfile::tempdir().context("creating a Chromium profile directory")?;
        let mut child = Command::new(&self.binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        // Read both pipes while waiting, so a full pipe cannot stall the browser.
        let stdout = child.stdout.take().context("chromium's stdout")?;
        let stderr = child.stderr.take().context("chromium's stderr")?;
        let out_reader = std::thread::spawn(move || std::io::read_to_string(stdout));
        let err_reader = std::thread::spawn(move || std::io::read_to_string(stderr));
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().context("waiting for chromium")? {
                break status;
            }
            if started.elapsed() > PAGE_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "chromium did not finish {:?} within {PAGE_TIMEOUT:?}",
                    args.last()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = out_reader
            .join()
            .map_err(|_| anyhow::anyhow!("reading chromium's output panicked"))?
            .context("reading chromium's output")?;
        let stderr = err_reader
            .join()
            .map_err(|_| anyhow::anyhow!("reading chromium's errors panicked"))?
            .unwrap_or_default();
        if !status.success() {
            bail!("chromium failed ({status}) on {:?}:\n{stderr}", args.last());
        }
        Ok(stdout)
    }
}
