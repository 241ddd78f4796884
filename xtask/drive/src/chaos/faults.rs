//! The faults: what is killed, frozen or lost, and how it comes back.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ops::resync::{self, Resynced, Scope};

use crate::kafka_groups;
use crate::services::{self, Role, Service};
use crate::stack::{self, Component, StackConfig, StackInfo, process};

/// The consumer groups that must have members again after a recovery: every subscription's.
fn groups() -> impl Iterator<Item = &'static str> {
    contracts::topology::SYSTEM
        .subscriptions
        .iter()
        .map(|subscription| subscription.group)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    PlanningRebalance,
    PlanningConsumers,
    AccountingCdcConsumer,
    KafkaConnect,
    KafkaBroker,
    Postgres,
    FreezeKafkaBroker,
    FreezePostgres,
    FreezePlanningConsumer,
    SlotLoss,
    Poison,
}

impl Fault {
    pub const ALL: [Fault; 11] = [
        Fault::PlanningRebalance,
        Fault::PlanningConsumers,
        Fault::AccountingCdcConsumer,
        Fault::KafkaConnect,
        Fault::KafkaBroker,
        Fault::Postgres,
        Fault::FreezeKafkaBroker,
        Fault::FreezePostgres,
        Fault::FreezePlanningConsumer,
        Fault::SlotLoss,
        Fault::Poison,
    ];

    /// A freeze (SIGSTOP, then SIGCONT after the freeze time rather than the hold).
    pub fn is_freeze(self) -> bool {
        matches!(
            self,
            Self::FreezeKafkaBroker | Self::FreezePostgres | Self::FreezePlanningConsumer
        )
    }

    /// Extra events per entity the fault's repair may publish beyond the writes: `ops resync`
    /// republishes every entity once (persons, sheets), and the CDC connector restarted
    /// from fresh offsets snapshots every balance sheet once more. `(0, 0)`: counts are exact.
    pub fn republications(self) -> (u64, u64) {
        match self {
            Self::SlotLoss => (1, 2),
            _ => (0, 0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::PlanningRebalance => "planning-rebalance",
            Self::PlanningConsumers => "planning-consumers",
            Self::AccountingCdcConsumer => "accounting-cdc-consumer",
            Self::KafkaConnect => "kafka-connect",
            Self::KafkaBroker => "kafka-broker",
            Self::Postgres => "postgres",
            Self::FreezeKafkaBroker => "freeze-kafka-broker",
            Self::FreezePostgres => "freeze-postgres",
            Self::FreezePlanningConsumer => "freeze-planning-consumer",
            Self::SlotLoss => "slot-loss",
            Self::Poison => "poison",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::PlanningRebalance => {
                "a second planning consumer process joins both groups (partitions move to it), \
                 then leaves with SIGTERM after the hold (they move back): revocations under load"
            }
            Self::PlanningConsumers => {
                "kill -9 of planning's consumer process (both groups), restarted after the hold"
            }
            Self::AccountingCdcConsumer => {
                "kill -9 of accounting's consumer process (the CDC translator), restarted after the hold"
            }
            Self::KafkaConnect => {
                "kill -9 of Kafka Connect (all three Debezium connectors), restarted; connectors checked RUNNING"
            }
            Self::KafkaBroker => "kill -9 of the only Kafka broker, restarted",
            Self::Postgres => {
                "kill -9 of the PostgreSQL postmaster, restarted. One cluster holds every \
                 database (person, accounting, planning, the registry's storage), so this is \
                 harsher than losing planning's database alone: REST writes fail meanwhile and \
                 are not acknowledged"
            }
            Self::FreezeKafkaBroker => {
                "SIGSTOP of the only Kafka broker, SIGCONT after the freeze: every client's \
                 requests hang instead of failing, sessions expire meanwhile"
            }
            Self::FreezePostgres => {
                "SIGSTOP of the PostgreSQL postmaster and every backend, SIGCONT after the \
                 freeze: open connections hang mid-query (REST writes, consumers, Debezium's \
                 replication, the registry's storage)"
            }
            Self::FreezePlanningConsumer => {
                "SIGSTOP of planning's consumer process, SIGCONT after the freeze: its group \
                 session expires while it is stopped, and it finds itself fenced when it wakes"
            }
            Self::SlotLoss => {
                "kill -9 of Kafka Connect, the three replication slots dropped after the hold \
                 (as PostgreSQL does past max_slot_wal_keep_size), writes go on, Connect \
                 started (every connector fails for good), then `ops connectors recover` and \
                 `ops resync`: what was written meanwhile returns through the outboxes. \
                 Applied-event counts allow the repair's republications (one per entity, one \
                 more per balance sheet for the CDC connector's fresh snapshot)"
            }
            Self::Poison => {
                "poison produced onto both public topics: random bytes, a frame with an unknown \
                 schema id, valid Avro of the other topic's schema; and values that decode but \
                 break the contract: NUL in first_name, a 200-character name, assets = \
                 i64::MIN, an event without ce_id, an event with the other event's ce_type"
            }
        }
    }

    /// Kills the component ([`Fault::Poison`] injects instead, [`Fault::PlanningRebalance`]
    /// adds a consumer).
    pub fn kill(self, config: &StackConfig, info: &StackInfo) -> Result<()> {
        match self {
            Self::PlanningRebalance => {
                services::start_role(config, info, Service::Planning, Role::SecondConsumer)
            }
            Self::PlanningConsumers => services::kill(config, Service::Planning, Role::Consumer),
            Self::AccountingCdcConsumer => {
                services::kill(config, Service::Accounting, Role::Consumer)
            }
            Self::KafkaConnect => stack::kill_component(config, Component::Connect),
            Self::KafkaBroker => stack::kill_component(config, Component::Kafka),
            Self::Postgres => stack::kill_component(config, Component::Postgres),
            Self::FreezeKafkaBroker => freeze(component_pid(config, Component::Kafka)?, true),
            Self::FreezePostgres => freeze(component_pid(config, Component::Postgres)?, true),
            Self::FreezePlanningConsumer => freeze(planning_consumer_pid(config)?, true),
            Self::SlotLoss => stack::kill_component(config, Component::Connect),
            Self::Poison => Ok(()),
        }
    }

    /// Restarts what [`Fault::kill`] killed and waits until the system is whole again.
    pub fn recover(self, config: &StackConfig, info: &StackInfo) -> Result<()> {
        match self {
            Self::PlanningRebalance => {
                services::stop_role(config, Service::Planning, Role::SecondConsumer)?
            }
            Self::PlanningConsumers => {
                services::start_role(config, info, Service::Planning, Role::Consumer)?
            }
            Self::AccountingCdcConsumer => {
                services::start_role(config, info, Service::Accounting, Role::Consumer)?
            }
            Self::KafkaConnect => start_again(config, Component::Connect)?,
            Self::KafkaBroker => start_again(config, Component::Kafka)?,
            Self::Postgres => start_again(config, Component::Postgres)?,
            Self::FreezeKafkaBroker => freeze(component_pid(config, Component::Kafka)?, false)?,
            Self::FreezePostgres => freeze(component_pid(config, Component::Postgres)?, false)?,
            Self::FreezePlanningConsumer => freeze(planning_consumer_pid(config)?, false)?,
            Self::SlotLoss => {
                let resynced = repair_slot_loss(config, info)?;
                println!("chaos: {}", resynced.summary());
            }
            Self::Poison => return Ok(()),
        }
        ensure_whole(config, info, Duration::from_secs(180))
    }
}

fn component_pid(config: &StackConfig, component: Component) -> Result<u32> {
    stack::status(config)
        .into_iter()
        .find(|status| status.component == component)
        .and_then(|status| status.pid)
        .with_context(|| format!("{component} is not running"))
}

fn planning_consumer_pid(config: &StackConfig) -> Result<u32> {
    services::role_pid(config, Service::Planning, Role::Consumer)
        .context("planning's consumer process is not running")
}

/// SIGSTOP (`stop`) or SIGCONT a process and all its descendants (PostgreSQL's backends are
/// children of the postmaster: stopping the postmaster alone would freeze nothing that is
/// connected). Parents stop first, so none forks a child that escapes; children continue
/// first, so none waits on a stopped parent.
fn freeze(pid: u32, stop: bool) -> Result<()> {
    let mut tree = process_tree(pid);
    if !stop {
        tree.reverse();
    }
    for member in &tree {
        process::signal(*member, if stop { "STOP" } else { "CONT" })?;
    }
    println!(
        "chaos: {} pid {pid} and {} descendant(s)",
        if stop { "SIGSTOP to" } else { "SIGCONT to" },
        tree.len() - 1
    );
    Ok(())
}

/// `pid` and its descendants, parents before children (from `/proc/<pid>/stat`).
fn process_tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| Some((child, parent_of(child)?)))
        .collect();
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        tree.extend(
            parents
                .iter()
                .filter(|(_, of)| *of == parent)
                .map(|(child, _)| *child),
        );
        next += 1;
    }
    tree
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may contain spaces and parentheses.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

/// The slot-loss fault's second half and its repair: drops the slots while Connect is dead,
/// starts Connect, waits until its connectors fail (the symptom), recovers them from fresh
/// slots and resyncs every entity (`ops connectors recover`, `ops resync`).
fn repair_slot_loss(config: &StackConfig, info: &StackInfo) -> Result<Resynced> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let started = Instant::now();
    let dropped = runtime.block_on(drop_slots(&info.pg_superuser_url))?;
    println!("chaos: replication slots dropped: {}", dropped.join(", "));
    start_again(config, Component::Connect)?;
    println!("chaos: Connect started after {:.1?}", started.elapsed());
    let connect = connectors::Connect::new(&info.kafka_connect_url);
    wait_connectors_failed(&connect, Duration::from_secs(180))?;
    println!(
        "chaos: every connector FAILED after {:.1?}",
        started.elapsed()
    );
    let recovered = ops::connectors::recover(&connect, Vec::new(), Duration::from_secs(120))?;
    println!(
        "chaos: recovered {} after {:.1?}",
        recovered.join(", "),
        started.elapsed()
    );
    // What the loss did, before the repair (in-flight events show up here too).
    let lost = runtime.block_on(async {
        let databases = ops::reconcile::Databases::connect(&crate::endpoints(info)).await?;
        let expected = databases.expected().await?;
        let actual = databases.actual().await?;
        anyhow::Ok(ops::reconcile::Report::compare(&expected, &actual))
    })?;
    println!("chaos: before the resync: {}", lost.summary());
    let resynced = runtime.block_on(resync::resync(
        &crate::endpoints(info),
        Scope::Everything,
        500,
    ))?;
    println!("chaos: resync done after {:.1?}", started.elapsed());
    Ok(resynced)
}

/// Drops every manifest slot, retrying while a walsender of the killed Connect still holds
/// one.
async fn drop_slots(superuser_url: &str) -> Result<Vec<String>> {
    let pool = ops::reconcile::connect(superuser_url).await?;
    let slots: Vec<String> = contracts::topology::SYSTEM
        .connectors
        .iter()
        .map(|connector| connector.slot.to_owned())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let dropped = sqlx::query_scalar::<_, String>(
            "SELECT slot_name::text FROM pg_replication_slots, \
                 LATERAL pg_drop_replication_slot(slot_name) WHERE slot_name = ANY($1)",
        )
        .bind(&slots)
        .fetch_all(&pool)
        .await;
        match dropped {
            Ok(dropped) => return Ok(dropped),
            Err(error) if Instant::now() < deadline => {
                println!("chaos: dropping the slots: {error}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error).context("cannot drop the replication slots"),
        }
    }
}

/// Waits until every manifest connector reports a failure (a lost slot fails for good).
fn wait_connectors_failed(connect: &connectors::Connect, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut healthy = Vec::new();
        for connector in contracts::topology::SYSTEM.connectors {
            let failed = connect
                .status(connector.name)?
                .as_ref()
                .and_then(connectors::ConnectorStatus::failure)
                .is_some();
            if !failed {
                healthy.push(connector.name);
            }
        }
        if healthy.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "connectors {} did not fail after their slots were dropped",
                healthy.join(", ")
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Starts a killed component; a start can fail while the dead process's resources (ports,
/// PostgreSQL's shared memory held by exiting backends) are being released, so retry.
fn start_again(config: &StackConfig, component: Component) -> Result<()> {
    let mut last = None;
    for attempt in 1..=3 {
        match stack::start_component(config, component) {
            Ok(()) => return Ok(()),
            Err(error) => {
                println!("chaos: starting {component} failed (attempt {attempt}): {error:#}");
                last = Some(error);
                std::thread::sleep(Duration::from_secs(3));
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("cannot start {component}")))
}

/// Waits until every stack component is healthy, the connectors run (restarting failed
/// ones) and every consumer group has a member again.
pub fn ensure_whole(config: &StackConfig, info: &StackInfo, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let unhealthy: Vec<String> = stack::status(config)
            .into_iter()
            .filter(|s| !s.healthy)
            .map(|s| s.component.name().to_string())
            .collect();
        if unhealthy.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!("stack components not healthy: {}", unhealthy.join(", "));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    ensure_connectors(config, info, deadline)?;
    for group in groups() {
        let left = deadline.saturating_duration_since(Instant::now());
        kafka_groups::wait_for_members(&info.kafka_bootstrap_servers, group, left)?;
    }
    Ok(())
}

/// Applies the connectors (a no-op when unchanged) and waits until they run; a connector or
/// task that failed while its dependency was away is restarted through Connect's REST API.
fn ensure_connectors(config: &StackConfig, info: &StackInfo, deadline: Instant) -> Result<()> {
    loop {
        match stack::apply_connectors(config) {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() < deadline => {
                println!("chaos: connectors not running yet ({error:#}); restarting failed ones");
                restart_failed_connectors(&info.kafka_connect_url)?;
                std::thread::sleep(Duration::from_secs(2));
            }
            Err(error) => return Err(error.context("connectors did not come back")),
        }
    }
}

fn restart_failed_connectors(connect_url: &str) -> Result<()> {
    let connect = connectors::Connect::new(connect_url);
    for name in connect.names()? {
        if let Err(error) = connect.restart_failed(&name) {
            println!("chaos: restarting {name}: {error}");
        }
    }
    Ok(())
}
