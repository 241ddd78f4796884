//! `cargo xtask rebuild planning`: `ops rebuild planning` on the local stack, with the
//! stopping and starting of planning that an operator does by hand done here.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ops::rebuild::Rebuild;

use crate::services::{self, Service};
use crate::stack::{StackConfig, StackInfo};

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// Planning's read model (persons and balance sheets).
    Planning,
}

#[derive(Args)]
pub struct RebuildArgs {
    #[arg(value_enum)]
    target: Target,
    /// How long to wait for the consumers to catch up.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

pub fn run(args: RebuildArgs) -> Result<()> {
    let Target::Planning = args.target;
    let config = StackConfig::from_env(&crate::project_root())?;
    let info = crate::stack::info(&config);
    rebuild_planning(&config, &info, Duration::from_secs(args.timeout))
}

pub fn rebuild_planning(config: &StackConfig, info: &StackInfo, timeout: Duration) -> Result<()> {
    let endpoints = crate::endpoints(info);
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    let rebuild = runtime.block_on(Rebuild::prepare(&endpoints))?;
    services::stop(config, Service::Planning)?;
    // A consumer that was killed stays a group member until its session times out.
    runtime.block_on(rebuild.reset(&endpoints, Duration::from_secs(60)))?;
    services::start(config, info, Service::Planning)?;
    services::wait_healthy(config, Service::Planning, Duration::from_secs(90))?;
    runtime.block_on(rebuild.finish(&endpoints, timeout))
}
