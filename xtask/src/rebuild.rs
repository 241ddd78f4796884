//! `cargo xtask rebuild planning`: rebuild planning's read model from the topics.
//!
//! Planning's read model is a pure function of the two compacted entity topics, which keep
//! the latest state of every entity (and, for `delete.retention.ms`, the tombstones of
//! deleted ones). Rebuilding: stop planning, empty the read model and its consumer groups'
//! inbox rows, reset both groups to the beginning of their topics, start planning, wait until
//! both groups have no lag, then check the result against the state before and against the
//! sources of truth (reconcile).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use contract_runtime::event::CanonicalEvent;
use contracts::events;

use crate::reconcile::{self, Databases, Report};
use crate::services::{self, Service};
use crate::stack::{StackConfig, StackInfo};

/// Planning's consumer groups (`services/planning/src/consumers.rs`) and their topics.
pub const PLANNING_GROUPS: [(&str, &str); 2] = [
    ("planning-consumer-1", events::Person::TOPIC),
    ("planning-consumer-2", events::BalanceSheet::TOPIC),
];

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
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    let databases = runtime.block_on(Databases::connect(info))?;
    let before = runtime.block_on(databases.actual())?;
    // Drift that exists already (events a foreign producer wrote onto a topic are in the
    // topics but in no source database) is rebuilt as it was; only new drift fails.
    let drift_before = runtime.block_on(reconcile::reconcile_with(
        &databases,
        Duration::ZERO,
        &Report::default(),
    ))?;
    if !drift_before.agrees() {
        println!(
            "rebuild: drift before the rebuild (kept out of the verdict): {}",
            drift_before.summary()
        );
    }
    println!(
        "rebuild: planning holds {} persons and {} balance sheets",
        before.persons.len(),
        before.sheets.len()
    );

    services::stop(config, Service::Planning)?;
    runtime.block_on(empty_read_model(&databases))?;
    println!("rebuild: read model and inbox rows of planning's groups deleted");
    for (group, topic) in PLANNING_GROUPS {
        reset_when_empty(info, group, topic)?;
        println!("rebuild: {group} reset to the beginning of {topic}");
    }

    let started = Instant::now();
    services::start(config, info, Service::Planning)?;
    services::wait_healthy(config, Service::Planning, Duration::from_secs(90))?;
    wait_caught_up(info, timeout)?;
    println!("rebuild: planning caught up in {:.1?}", started.elapsed());

    let after = runtime.block_on(databases.actual())?;
    let unchanged = Report::compare(&before, &after);
    if unchanged.agrees() {
        println!(
            "rebuild: same state as before ({} persons, {} balance sheets)",
            after.persons.len(),
            after.sheets.len()
        );
    } else {
        println!(
            "rebuild: differs from the state before (sources changed meanwhile, or the old \
             model had drifted):\n{}",
            unchanged.render(10)
        );
    }
    let report = runtime.block_on(reconcile::reconcile_with(
        &databases,
        Duration::from_secs(30),
        &drift_before,
    ))?;
    print!("{}", report.render(10));
    if !report.agrees() {
        bail!("the rebuilt read model differs from the sources of truth");
    }
    Ok(())
}

async fn empty_read_model(databases: &Databases) -> Result<()> {
    let mut tx = databases.planning.begin().await?;
    sqlx::query("TRUNCATE person, balance_sheet")
        .execute(&mut *tx)
        .await
        .context("emptying planning's read model")?;
    let groups: Vec<&str> = PLANNING_GROUPS.iter().map(|(group, _)| *group).collect();
    // Dead-letter markers stay: the replay then skips poison it already dead-lettered
    // instead of copying it to the dead-letter topic a second time.
    sqlx::query(
        "DELETE FROM inbox WHERE consumer_group = ANY($1) AND event_id NOT LIKE 'dead-letter/%'",
    )
    .bind(&groups)
    .execute(&mut *tx)
    .await
    .context("deleting planning's inbox rows")?;
    tx.commit().await?;
    Ok(())
}

/// Resets `group` once its members are gone (a consumer killed without leaving stays a
/// member until its session times out, 45 s).
fn reset_when_empty(info: &StackInfo, group: &str, topic: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let members = crate::kafka_groups::group_members(&info.kafka_bootstrap_servers, group)?;
        if members == 0 {
            return crate::kafka_groups::reset_to_beginning(
                &info.kafka_bootstrap_servers,
                group,
                &[topic],
            );
        }
        if Instant::now() > deadline {
            bail!("{group} still has {members} member(s): is another planning consumer running?");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Waits until planning's groups have committed everything on their topics.
pub fn wait_caught_up(info: &StackInfo, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut lag = 0;
        for (group, topic) in PLANNING_GROUPS {
            lag += crate::kafka_groups::group_lag(&info.kafka_bootstrap_servers, group, &[topic])?;
        }
        if lag == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("planning still lags {lag} message(s) after {timeout:?}");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
