//! Project automation, in the rust-analyzer `xtask` style: `cargo xtask <command>`.
//!
//! Every workflow a developer or CI runs lives here, in Rust, so it works the same on every
//! machine with nothing but cargo installed.

mod bench;
mod chaos;
mod ci;
mod compat;
mod demo;
mod dlq;
mod generate;
mod kafka_groups;
mod rebuild;
mod reconcile;
mod services;
mod stack;
mod tools;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate generated/asyncapi.yaml with the official AsyncAPI parser (installed on use).
    Asyncapi(tools::asyncapi::AsyncApiArgs),
    /// Measure the running system: REST latency, end-to-end consistency, lag, replay, CPU/RSS.
    Bench(bench::BenchArgs),
    /// Kill real processes under load and prove nothing is lost or applied twice.
    Chaos(chaos::ChaosArgs),
    /// Run every check and test suite, as CI does (the README's test command).
    Ci(ci::CiArgs),
    /// Check every contract against its published versions (the schema evolution gate).
    Compat(compat::CompatArgs),
    /// The seed's demo on the real system: stack, services, connectors, three requests.
    Demo(demo::DemoArgs),
    /// Inspect and re-drive dead letters (`<topic>.dlq`).
    Dlq(dlq::DlqArgs),
    /// Generate `generated/` from `contracts/`.
    Gen(generate::GenArgs),
    /// Rebuild a read model from the topics.
    Rebuild(rebuild::RebuildArgs),
    /// Compare planning's read model with the sources of truth (exit 0 only if they agree).
    Reconcile(reconcile::ReconcileArgs),
    /// Run the three services against the local stack.
    Services(services::ServicesArgs),
    /// Run the local event-streaming stack (PostgreSQL, Kafka, Connect, registry).
    Stack(stack::StackArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Asyncapi(args) => tools::asyncapi::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Ci(args) => ci::run(args),
        Command::Compat(args) => compat::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Dlq(args) => dlq::run(args),
        Command::Gen(args) => generate::run(args),
        Command::Rebuild(args) => rebuild::run(args),
        Command::Reconcile(args) => reconcile::run(args),
        Command::Services(args) => services::run(args),
        Command::Stack(args) => stack::run(args),
    }
}

/// The repository root (the workspace that contains `xtask/`).
///
/// Read from `CARGO_MANIFEST_DIR` at run time (cargo sets it for `cargo run`), as
/// rust-analyzer's xtask does: the compile-time value would point every checkout that shares a
/// target directory at whichever checkout built the binary last.
pub fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
