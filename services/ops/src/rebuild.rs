//! `ops rebuild planning`: rebuild planning's read model from the topics.
//!
//! Planning's read model is a pure function of the two compacted entity topics, which keep
//! the latest state of every entity (and, for `delete.retention.ms`, the tombstones of
//! deleted ones). Rebuilding: note the state before, wait until planning's consumers are
//! stopped (their groups have no member: the operator stops them, `cargo xtask rebuild`
//! does it on the local stack), empty the read model and its consumer groups' inbox rows,
//! reset both groups to the beginning of their topics, wait while planning's consumers are
//! started again until both groups have no lag, then check the result against the state
//! before and against the sources of truth (reconcile).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use contracts::topology;

use crate::config::Endpoints;
use crate::kafka_groups;
use crate::reconcile::{self, Databases, ReadModel, Report};

/// Planning's consumer groups and their topics (the manifest's subscriptions).
pub const PLANNING_GROUPS: [(&str, &str); 2] = [
    group_and_topic(topology::planning::subscriptions::PERSON_ENTITY_STATE),
    group_and_topic(topology::planning::subscriptions::BALANCE_SHEET_CREATED),
];

const fn group_and_topic(subscription: topology::Subscription) -> (&'static str, &'static str) {
    (subscription.group, subscription.topic)
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// Planning's read model (persons and balance sheets).
    Planning,
}

#[derive(Args)]
pub struct RebuildArgs {
    #[arg(value_enum)]
    target: Target,
    /// How long to wait for planning's consumers to stop, and then to catch up.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

pub fn run(args: RebuildArgs, endpoints: &Endpoints) -> Result<()> {
    let Target::Planning = args.target;
    let timeout = Duration::from_secs(args.timeout);
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    let rebuild = runtime.block_on(Rebuild::prepare(endpoints))?;
    println!("rebuild: waiting until planning's consumers are stopped (their groups empty)");
    runtime.block_on(rebuild.reset(endpoints, timeout))?;
    println!("rebuild: start planning's consumers now; waiting until they caught up");
    runtime.block_on(rebuild.finish(endpoints, timeout))
}

/// A rebuild of planning's read model, in its three steps: [`Rebuild::prepare`] while
/// planning runs, [`Rebuild::reset`] once its consumers are stopped, [`Rebuild::finish`] once
/// they are started again.
pub struct Rebuild {
    databases: Databases,
    before: ReadModel,
    drift_before: Report,
}

impl Rebuild {
    /// Notes planning's state and the drift that exists already.
    pub async fn prepare(endpoints: &Endpoints) -> Result<Self> {
        let databases = Databases::connect(endpoints).await?;
        let before = databases.actual().await?;
        // Drift that exists already (events a foreign producer wrote onto a topic are in the
        // topics but in no source database) is rebuilt as it was; only new drift fails.
        let drift_before =
            reconcile::reconcile_with(&databases, Duration::ZERO, &Report::default()).await?;
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
        Ok(Self {
            databases,
            before,
            drift_before,
        })
    }

    /// Once planning's groups have no member (waiting up to `timeout`): empties the read
    /// model and the groups' inbox rows, and resets the groups to the beginning.
    pub async fn reset(&self, endpoints: &Endpoints, timeout: Duration) -> Result<()> {
        let kafka = endpoints.kafka()?.to_owned();
        let waiting = kafka.clone();
        tokio::task::spawn_blocking(move || {
            PLANNING_GROUPS
                .iter()
                .try_for_each(|(group, _)| wait_until_empty(&waiting, group, timeout))
        })
        .await
        .context("waiting for planning's consumers to stop")??;
        empty_read_model(&self.databases).await?;
        println!("rebuild: read model and inbox rows of planning's groups deleted");
        for (group, topic) in PLANNING_GROUPS {
            kafka_groups::reset_to_beginning(&kafka, group, &[topic])?;
            println!("rebuild: {group} reset to the beginning of {topic}");
        }
        Ok(())
    }

    /// Waits until planning's groups caught up, then compares with the state before and
    /// reconciles with the sources.
    pub async fn finish(self, endpoints: &Endpoints, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        let kafka = endpoints.kafka()?.to_owned();
        tokio::task::spawn_blocking(move || wait_caught_up(&kafka, timeout))
            .await
            .context("waiting for planning to catch up")??;
        println!("rebuild: planning caught up in {:.1?}", started.elapsed());
        let after = self.databases.actual().await?;
        let unchanged = Report::compare(&self.before, &after);
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
        let report =
            reconcile::reconcile_with(&self.databases, Duration::from_secs(30), &self.drift_before)
                .await?;
        print!("{}", report.render(10));
        if !report.agrees() {
            bail!("the rebuilt read model differs from the sources of truth");
        }
        Ok(())
    }
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

/// Waits until `group` has no member. A consumer killed without leaving stays a member until
/// its session times out (the consumers' `session.timeout.ms`, 10 s).
fn wait_until_empty(bootstrap_servers: &str, group: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let members = kafka_groups::group_members(bootstrap_servers, group)?;
        if members == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{group} still has {members} member(s) after {timeout:?}: stop every planning \
                 process that consumes (SERVICE_ROLE all or consumer) first"
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Waits until planning's groups have committed everything on their topics.
pub fn wait_caught_up(bootstrap_servers: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut lag = 0;
        for (group, topic) in PLANNING_GROUPS {
            lag += kafka_groups::group_lag(bootstrap_servers, group, &[topic])?;
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
