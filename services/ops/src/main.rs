//! `ops`: what an operator runs against a live system (see the README, "Operating").

use anyhow::Result;
use clap::{Parser, Subcommand};

use ops::config::Endpoints;
use ops::{connectors, dlq, rebuild, reconcile, resync};

#[derive(Parser)]
#[command(name = "ops", about = "Operate the running system", version)]
struct Cli {
    #[command(flatten)]
    endpoints: Endpoints,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply, inspect and recover the Debezium connectors (Kafka Connect's REST API).
    Connectors(connectors::ConnectorsArgs),
    /// Inspect and re-drive dead letters (`<topic>.dlq`).
    Dlq(dlq::DlqArgs),
    /// Compare planning's read model with the sources of truth (exit 0 only if they agree).
    Reconcile(reconcile::ReconcileArgs),
    /// Rebuild a read model from the topics.
    Rebuild(rebuild::RebuildArgs),
    /// Republish the sources' current state through their outboxes (after `connectors
    /// recover`), and tombstones for what planning has but the sources do not.
    Resync(resync::ResyncArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Connectors(args) => connectors::run(args, &cli.endpoints),
        Command::Dlq(args) => dlq::run(args, &cli.endpoints),
        Command::Reconcile(args) => reconcile::run(args, &cli.endpoints),
        Command::Rebuild(args) => rebuild::run(args, &cli.endpoints),
        Command::Resync(args) => resync::run(args, &cli.endpoints),
    }
}
