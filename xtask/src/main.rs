//! Project automation, in the rust-analyzer `xtask` style: `cargo xtask <command>`.
//!
//! Every workflow a developer or CI runs lives here, in Rust, so it works the same on every
//! machine with nothing but cargo installed. The commands that need the generated code, Kafka
//! clients or the databases run in other packages, which this one builds and starts: the
//! operator CLI `ops` (`services/ops`: dlq, reconcile, rebuild) and `xtask-drive`
//! (`xtask/drive`: the demo's typed-client flow, bench, chaos).

mod catalog;
mod ci;
mod compat;
mod demo;
mod drive;
mod generate;

use clap::{Args, Parser, Subcommand};
use xtask::{project_root, services, stack, tools};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Arguments handed unchanged to the package that runs the command (`--help` included).
#[derive(Args)]
#[command(disable_help_flag = true)]
struct Forwarded {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate generated/asyncapi.yaml with the official AsyncAPI parser (installed on use).
    Asyncapi(tools::asyncapi::AsyncApiArgs),
    /// Measure the running system: REST latency, end-to-end consistency, lag, replay, CPU/RSS.
    Bench(Forwarded),
    /// Kill real processes under load and prove nothing is lost or applied twice.
    Chaos(Forwarded),
    /// Write the event catalog (a static site) from the contracts; optionally test it in Chromium.
    Catalog(catalog::CatalogArgs),
    /// Run every check and test suite, as CI does (the README's test command).
    Ci(ci::CiArgs),
    /// Check every contract against its published versions (the schema evolution gate).
    Compat(compat::CompatArgs),
    /// The seed's demo on the real system: stack, services, connectors, three requests.
    Demo(demo::DemoArgs),
    /// `ops dlq` against the local stack: inspect and re-drive dead letters.
    Dlq(Forwarded),
    /// Generate `generated/` from `contracts/`.
    Gen(generate::GenArgs),
    /// Rebuild planning's read model from the topics, stopping and starting planning.
    Rebuild(Forwarded),
    /// `ops reconcile` against the local stack (exit 0 only if they agree).
    Reconcile(Forwarded),
    /// Run the three services against the local stack.
    Services(services::ServicesArgs),
    /// Run the local event-streaming stack (PostgreSQL, Kafka, Connect, registry).
    Stack(stack::StackArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Asyncapi(args) => tools::asyncapi::run(args),
        Command::Bench(forwarded) => drive::drive("bench", &forwarded.args),
        Command::Chaos(forwarded) => drive::drive("chaos", &forwarded.args),
        Command::Catalog(args) => catalog::run(args),
        Command::Ci(args) => ci::run(args),
        Command::Compat(args) => compat::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Dlq(forwarded) => drive::ops("dlq", &forwarded.args),
        Command::Gen(args) => generate::run(args),
        Command::Rebuild(forwarded) => drive::drive("rebuild", &forwarded.args),
        Command::Reconcile(forwarded) => drive::ops("reconcile", &forwarded.args),
        Command::Services(args) => services::run(args),
        Command::Stack(args) => stack::run(args),
    }
}
