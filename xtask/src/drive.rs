//! Runs the packages that hold the heavy commands: `xtask-drive` (demo flow, bench, chaos,
//! rebuild on the local stack) and the operator CLI `ops` (given the local stack's connection
//! facts as its environment, as an operator would set them).
//!
//! Both are built by `cargo run` in the dev profile, like xtask itself; cargo's build lock
//! is free again once this process runs, so the nested build does not wait for us.

use std::process::Command;

use anyhow::{Context, Result, bail};

use xtask::stack::{self, StackConfig};

/// The variable through which the drivers find this binary (to run `services up` with other
/// build settings without rebuilding xtask into another target directory).
pub const XTASK_BIN: &str = "XTASK_BIN";

/// `cargo run -p xtask-drive -- <command> <args>`.
pub fn drive(command: &str, args: &[String]) -> Result<()> {
    let mut child = cargo_run("xtask-drive");
    if let Ok(exe) = std::env::current_exe() {
        child.env(XTASK_BIN, exe);
    }
    child.arg(command).args(args);
    run(child, &format!("xtask-drive {command}"))
}

/// `cargo run -p ops -- <command> <args>` with the local stack's connection facts.
pub fn ops(command: &str, args: &[String]) -> Result<()> {
    let config = StackConfig::from_env(&xtask::project_root())?;
    let mut child = cargo_run("ops");
    child.envs(stack::info(&config).env);
    child.arg(command).args(args);
    run(child, &format!("ops {command}"))
}

fn cargo_run(package: &str) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(xtask::project_root())
        .args(["run", "--quiet", "--package", package, "--"]);
    command
}

fn run(mut command: Command, name: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run `{name}`: {command:?}"))?;
    if !status.success() {
        bail!("`{name}` failed ({status})");
    }
    Ok(())
}
