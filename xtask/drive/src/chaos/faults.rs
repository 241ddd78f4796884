//! The faults: what is killed and how it comes back.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::kafka_groups;
use crate::services::{self, Role, Service};
use crate::stack::{self, Component, StackConfig, StackInfo};

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
    Poison,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::PlanningRebalance,
        Fault::PlanningConsumers,
        Fault::AccountingCdcConsumer,
        Fault::KafkaConnect,
        Fault::KafkaBroker,
        Fault::Postgres,
        Fault::Poison,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::PlanningRebalance => "planning-rebalance",
            Self::PlanningConsumers => "planning-consumers",
            Self::AccountingCdcConsumer => "accounting-cdc-consumer",
            Self::KafkaConnect => "kafka-connect",
            Self::KafkaBroker => "kafka-broker",
            Self::Postgres => "postgres",
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
            Self::Poison => {
                "poison produced onto both public topics: random bytes, a frame with an unknown \
                 schema id, valid Avro of the other topic's schema"
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
            Self::Poison => return Ok(()),
        }
        ensure_whole(config, info, Duration::from_secs(180))
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
