//! `xtask-drive`: the commands of `cargo xtask` that need the generated typed clients, Kafka
//! clients or the databases (`cargo xtask demo | bench | chaos | rebuild` build and run it).
//! They drive the local stack and services through the `xtask` library and check the system
//! through the operator CLI's library (`ops`).

mod bench;
mod chaos;
mod demo;
mod rebuild;

use clap::{Parser, Subcommand};
use ops::{dlq, kafka_groups, reconcile};
use xtask::stack::{StackConfig, StackInfo};
use xtask::{project_root, services, stack};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "The heavy drivers of cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure the running system: REST latency, end-to-end consistency, lag, replay, CPU/RSS.
    Bench(bench::BenchArgs),
    /// Kill real processes under load and prove nothing is lost or applied twice.
    Chaos(chaos::ChaosArgs),
    /// The seed's three steps through the generated clients (the services must run).
    Demo(demo::DemoArgs),
    /// Rebuild planning's read model from the topics on the local stack.
    Rebuild(rebuild::RebuildArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Rebuild(args) => rebuild::run(args),
    }
}

/// A service's base URL on the local machine: its port from the manifest (generated), shifted
/// by the stack's `STACK_PORT_OFFSET` when one is set or recorded.
pub fn base_url(service: services::Service) -> String {
    use contracts::topology;
    static OFFSET: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    let offset = *OFFSET.get_or_init(|| {
        StackConfig::from_env(&project_root())
            .map(|config| config.port_offset)
            .unwrap_or_else(|error| panic!("reading the stack configuration: {error:#}"))
    });
    let port = match service {
        services::Service::Person => topology::person::PORT,
        services::Service::Accounting => topology::accounting::PORT,
        services::Service::Planning => topology::planning::PORT,
    };
    format!("http://127.0.0.1:{}", port + offset)
}

/// The operator CLI's view of the local stack.
pub fn endpoints(info: &StackInfo) -> ops::config::Endpoints {
    ops::config::Endpoints {
        kafka_bootstrap_servers: Some(info.kafka_bootstrap_servers.clone()),
        schema_registry_url: Some(info.schema_registry_url.clone()),
        database_url_person: Some(info.database_url_person.clone()),
        database_url_accounting: Some(info.database_url_accounting.clone()),
        database_url_planning: Some(info.database_url_planning.clone()),
    }
}
