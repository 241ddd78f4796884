//! `ops connectors apply | status | recover`: the Debezium connectors through Kafka Connect's
//! REST API, with the same code as `cargo xtask stack connectors` (the `connectors` crate).
//!
//! `recover` is the documented way back from a lost replication slot (PostgreSQL drops a slot
//! that passes `max_slot_wal_keep_size`, or an operator drops it): the connector's task fails
//! for good (`The connector is trying to read change stream starting at … lsn`); recovering
//! stops it, deletes its offsets and resumes it, so Debezium creates a fresh slot at the end
//! of the WAL and streams from there. What was written meanwhile is not relayed: run
//! `ops resync` afterwards.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
pub use connectors::Connect;
use connectors::ConnectorStatus;
use contracts::topology;
use sqlx::postgres::PgPoolOptions;

use crate::config::Endpoints;

#[derive(Args)]
pub struct ConnectorsArgs {
    /// Kafka Connect's REST API.
    #[arg(long, env = "KAFKA_CONNECT_URL", global = true)]
    connect_url: Option<String>,
    #[command(subcommand)]
    command: ConnectorsCommand,
}

#[derive(Subcommand)]
enum ConnectorsCommand {
    /// Create or update every connector declared in DIR (ksqldb/migrations), substituting
    /// `${env:NAME}` from the environment, and wait until each runs.
    Apply {
        #[arg(long, env = "CONNECTOR_DECLARATIONS")]
        declarations: PathBuf,
        /// How long each connector may take to run.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Each connector's state and, with DATABASE_URL_PERSON, each replication slot's.
    Status,
    /// Restart connectors from fresh offsets (a new slot when theirs is gone): the named
    /// ones, or every connector that is FAILED. Then run `ops resync`.
    Recover {
        names: Vec<String>,
        /// How long each step may take.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
}

pub fn run(args: ConnectorsArgs, endpoints: &Endpoints) -> Result<()> {
    let url = args
        .connect_url
        .as_deref()
        .filter(|url| !url.trim().is_empty())
        .context("KAFKA_CONNECT_URL is not set: this command needs it (or pass --connect-url)")?;
    let connect = Connect::new(url);
    match args.command {
        ConnectorsCommand::Apply {
            declarations,
            timeout,
        } => {
            let lookup = |name: &str| std::env::var(name).ok();
            let declared = connectors::load_declarations(&declarations, &lookup)?;
            connectors::apply_all(&connect, &declared, Duration::from_secs(timeout))
        }
        ConnectorsCommand::Status => {
            let mut healthy = true;
            for connector in topology::SYSTEM.connectors {
                let line = match connect.status(connector.name)? {
                    None => {
                        healthy = false;
                        "not declared in Connect".to_owned()
                    }
                    Some(status) => {
                        healthy &= status.is_running();
                        status.summary()
                    }
                };
                println!("connector  {:<28} {line}", connector.name);
            }
            if let Some(url) = endpoints.database_url_person.as_deref() {
                let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
                for slot in runtime.block_on(slots(url))? {
                    healthy &= slot.is_healthy();
                    println!("{}", slot.line());
                }
            }
            if !healthy {
                bail!("a connector does not run or a replication slot is missing or inactive");
            }
            Ok(())
        }
        ConnectorsCommand::Recover { names, timeout } => {
            let recovered = recover(&connect, names, Duration::from_secs(timeout))?;
            if recovered.is_empty() {
                println!("connectors: none is FAILED; nothing to recover");
            } else {
                println!(
                    "connectors: recovered; changes made while a slot was missing were not \
                     relayed: run `ops resync` now"
                );
            }
            Ok(())
        }
    }
}

/// Restarts `names` from fresh offsets (a new slot when theirs is gone), or, when `names` is
/// empty, every manifest connector that is FAILED; returns the connectors recovered.
pub fn recover(connect: &Connect, names: Vec<String>, timeout: Duration) -> Result<Vec<String>> {
    let names = if names.is_empty() {
        failed(connect)?
    } else {
        names
    };
    for name in &names {
        println!("connector  {name:<28} restarting from fresh offsets");
        connect.restart_from_fresh_offsets(name, timeout)?;
        println!("connector  {name:<28} RUNNING");
    }
    Ok(names)
}

/// The manifest's connectors that Connect reports FAILED (connector or a task).
fn failed(connect: &Connect) -> Result<Vec<String>> {
    let mut failed = Vec::new();
    for connector in topology::SYSTEM.connectors {
        if connect
            .status(connector.name)?
            .as_ref()
            .and_then(ConnectorStatus::failure)
            .is_some()
        {
            failed.push(connector.name.to_owned());
        }
    }
    Ok(failed)
}

/// One of the manifest's replication slots, as PostgreSQL reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    pub connector: &'static str,
    pub slot: &'static str,
    /// `None` when the slot does not exist.
    pub active: Option<bool>,
    /// WAL the slot keeps (bytes from its restart position to the current WAL position).
    pub retained_wal_bytes: Option<i64>,
}

impl SlotState {
    pub fn is_healthy(&self) -> bool {
        self.active == Some(true)
    }

    pub fn line(&self) -> String {
        let state = match self.active {
            None => "MISSING".to_owned(),
            Some(active) => format!(
                "{}, retains {} of WAL",
                if active { "active" } else { "INACTIVE" },
                self.retained_wal_bytes
                    .map_or_else(|| "?".to_owned(), human_bytes)
            ),
        };
        format!(
            "slot       {:<28} {state} (connector {})",
            self.slot, self.connector
        )
    }
}

fn human_bytes(bytes: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// The state of every slot the manifest's connectors use (`pg_replication_slots` is readable
/// by any role of the cluster).
pub async fn slots(database_url: &str) -> Result<Vec<SlotState>> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(database_url)
        .await
        .context("cannot connect to read the replication slots")?;
    let rows: Vec<(String, bool, Option<i64>)> = sqlx::query_as(
        "SELECT slot_name::text, active, \
                pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint \
         FROM pg_replication_slots",
    )
    .fetch_all(&pool)
    .await
    .context("reading pg_replication_slots")?;
    Ok(topology::SYSTEM
        .connectors
        .iter()
        .map(|connector| {
            let found = rows.iter().find(|(name, _, _)| name == connector.slot);
            SlotState {
                connector: connector.name,
                slot: connector.slot,
                active: found.map(|(_, active, _)| *active),
                retained_wal_bytes: found.and_then(|(_, _, bytes)| *bytes),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_line_says_missing_inactive_or_what_it_retains() {
        let slot = |active, bytes| SlotState {
            connector: "c",
            slot: "s",
            active,
            retained_wal_bytes: bytes,
        };
        assert!(slot(None, None).line().contains("MISSING"));
        assert!(!slot(None, None).is_healthy());
        assert!(slot(Some(false), Some(0)).line().contains("INACTIVE"));
        assert!(!slot(Some(false), Some(0)).is_healthy());
        let active = slot(Some(true), Some(3 * 1024 * 1024 + 1));
        assert!(active.is_healthy());
        assert!(
            active.line().contains("active, retains 3.0 MiB"),
            "{}",
            active.line()
        );
        assert!(slot(Some(true), Some(2048)).line().contains("2 KiB"));
    }
}
