//! `cargo xtask demo`: the seed's demo on the real system, from nothing.
//!
//! Brings the stack up, starts the services, applies the Debezium connectors, then runs the
//! seed's three steps through the generated typed clients (`xtask-drive demo`, which needs the
//! generated crate): creates Bart Simpson, creates his balance sheet, and polls planning until
//! the ratio reflects both events, printing every request and response and how long
//! consistency took. Stops what it started unless `--keep-running`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use crate::services;
use crate::stack::{self, StackConfig};

#[derive(Args)]
pub struct DemoArgs {
    /// Leave the stack and the services running afterwards.
    #[arg(long)]
    keep_running: bool,
    /// How long to wait for planning to become consistent.
    #[arg(long, default_value = "60s", value_parser = humantime_secs)]
    timeout: Duration,
}

fn humantime_secs(text: &str) -> Result<Duration, String> {
    let digits = text.trim_end_matches('s');
    digits
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("`{text}` is not a number of seconds like `60s`"))
}

pub fn run(args: DemoArgs) -> Result<()> {
    let config = StackConfig::from_env(&crate::project_root())?;
    let stack_was_running = stack::status(&config).iter().all(|c| c.healthy);

    let result = (|| -> Result<()> {
        step("1/4 stack", || stack::up(&config).map(|_| ()))?;
        step("2/4 services", || {
            services::build()?;
            services::start_all(&config)
        })?;
        step("3/4 connectors", || {
            stack::apply_connectors(&config).map(|_| ())
        })?;
        crate::drive::drive(
            "demo",
            &["--timeout".into(), format!("{}s", args.timeout.as_secs())],
        )
    })();

    if !args.keep_running {
        services::stop_all(&config)?;
        if !stack_was_running {
            stack::down(&config)?;
        }
    } else {
        println!(
            "\nEverything keeps running; `cargo xtask services down` and `cargo xtask stack down` stop it."
        );
    }
    result
}

fn step(name: &str, action: impl FnOnce() -> Result<()>) -> Result<()> {
    let started = Instant::now();
    println!("\n=== {name}");
    action().with_context(|| format!("demo step `{name}` failed"))?;
    println!("=== {name}: done in {:.1?}", started.elapsed());
    Ok(())
}
