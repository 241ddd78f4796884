//! `cargo xtask ci`: the README's test command, and exactly what `.ci/run` executes.
//!
//! Static checks first (cheap, no stack), then the unit and conformance tests, then the real
//! stack for the end-to-end suites. Each step prints its name and duration; the first failure
//! stops the run with a non-zero exit.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;

#[derive(Args)]
pub struct CiArgs {
    /// Skip the suites that need the real stack (static checks and unit tests only).
    #[arg(long)]
    no_stack: bool,
    /// Leave the stack running afterwards.
    #[arg(long)]
    keep_stack: bool,
}

/// The service crates with in-process tests (`tests/in_process.rs`, feature `stack-tests`).
const IN_PROCESS_SERVICES: [&str; 3] = ["person-service", "accounting-service", "planning-service"];
/// Their features, for clippy: the in-process tests are targets too (they run in the stack
/// phase).
const IN_PROCESS_FEATURES: &str =
    "person-service/stack-tests,accounting-service/stack-tests,planning-service/stack-tests";

pub fn run(args: CiArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    pin_this_binary()?;
    step("generated code is up to date", xtask(&["gen", "--check"]))?;
    step("the AsyncAPI document is valid", xtask(&["asyncapi"]))?;
    step(
        "contracts are compatible with their published versions",
        xtask(&["compat"]),
    )?;
    step("formatting", cargo(&["fmt", "--all", "--check"]))?;
    step(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            IN_PROCESS_FEATURES,
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "unit and conformance tests",
        cargo(&["test", "--workspace", "--exclude", "e2e"]),
    )?;
    step(
        "event catalog in headless Chromium",
        xtask(&["catalog", "--check-in-browser"]),
    )?;
    if !args.no_stack {
        step("stack up", xtask(&["stack", "up"]))?;
        let result = stack_suites();
        if !args.keep_stack {
            step("stack down", xtask(&["stack", "down"]))?;
        }
        result?;
    }
    println!("ci: all steps passed in {:.0?}", started.elapsed());
    Ok(())
}

/// The suites that run against the real stack, with the services running.
fn stack_suites() -> anyhow::Result<()> {
    step("services", xtask(&["services", "up"]))?;
    // The services registered their schemas at start: the registry's versions count too.
    let result = step(
        "contracts are compatible with the registry's versions",
        xtask(&["compat", "--stack-registry"]),
    )
    .and_then(|()| step("connectors", xtask(&["stack", "connectors"])))
    .and_then(|()| {
        step(
            "end-to-end tests",
            cargo(&["test", "-p", "e2e", "--", "--test-threads=1"]),
        )
    })
    // Each test starts its own service in-process on a fresh database of the stack.
    .and_then(|()| {
        IN_PROCESS_SERVICES.iter().try_for_each(|package| {
            step(
                &format!("{package} in-process tests"),
                cargo(&[
                    "test",
                    "-p",
                    package,
                    "--features",
                    "stack-tests",
                    "--test",
                    "in_process",
                ]),
            )
        })
    })
    // The benchmark harness for a few seconds at small rates: it works and its numbers are
    // sane (never how fast: CI machines vary).
    .and_then(|()| step("bench (smoke)", xtask(&["bench", "--smoke"])))
    // Kills real processes under load: last, so no other suite sees its faults.
    .and_then(|()| step("chaos (short run)", xtask(&["chaos", "--short"])));
    step("services down", xtask(&["services", "down"]))?;
    result
}

fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(crate::project_root());
    command
}

/// The copy of this binary that the steps run (see [`pin_this_binary`]).
static PINNED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Copies this very binary beside itself (`target/debug/xtask-ci`) for the later steps.
/// `cargo test --workspace` builds the xtask binary again for xtask's integration tests, with
/// the workspace's unified features, and replaces `target/debug/xtask` while this process
/// runs it: the original path then names a deleted file.
fn pin_this_binary() -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the running xtask binary")?;
    let pinned = exe.with_file_name(format!("xtask-ci{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(&exe, &pinned)
        .with_context(|| format!("copying {} to {}", exe.display(), pinned.display()))?;
    // A second `ci` in the same process would find it already set: the same copy serves.
    let _ = PINNED.set(pinned);
    Ok(())
}

/// This very binary (its pinned copy) with other arguments: no second compile, no cargo lock
/// contention.
fn xtask(args: &[&str]) -> Command {
    let exe = PINNED
        .get()
        .cloned()
        .unwrap_or_else(|| std::env::current_exe().unwrap_or_else(|_| "cargo-xtask".into()));
    let mut command = Command::new(exe);
    command.args(args).current_dir(crate::project_root());
    command
}

fn step(name: &str, mut command: Command) -> anyhow::Result<()> {
    println!("ci: ▶ {name}");
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("cannot start `{name}`: {command:?}"))?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("ci: ✗ {name} failed after {elapsed:.0?} ({status})");
    }
    println!("ci: ✓ {name} ({elapsed:.0?})");
    Ok(())
}
