//! `contractgen`: a contracts directory (OpenAPI specs under `api/`, optionally the event
//! manifest `events.toml` and its Avro schemas) in, one Rust crate out.
//!
//! ```text
//! contractgen generate --contracts contracts --out generated [--crate-name contracts]
//! contractgen check    --contracts contracts --out generated   # exit 1 naming stale files
//! ```
//!
//! Every problem of every contract is printed (file, JSON pointer, fix where known) before it
//! exits non-zero.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use codegen::{Options, RuntimeDependency};

#[derive(Parser)]
#[command(name = "contractgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the output crate (only files whose contents changed).
    Generate(Target),
    /// Write nothing; exit non-zero naming each file that differs from what the contracts
    /// produce.
    Check(Target),
}

#[derive(Args)]
struct Target {
    /// The contracts directory: `api/*.{yaml,yml,json}` and optionally `events.toml`.
    #[arg(long, default_value = "contracts")]
    contracts: PathBuf,
    /// The output crate's directory.
    #[arg(long)]
    out: PathBuf,
    /// The output crate's package name.
    #[arg(long, default_value = "contracts")]
    crate_name: String,
    /// Depend on `contract-runtime` at this path (default: the `codegen/runtime` this
    /// generator was built from).
    #[arg(long, conflicts_with = "runtime_version")]
    runtime_path: Option<PathBuf>,
    /// Depend on `contract-runtime` of this version from the registry.
    #[arg(long)]
    runtime_version: Option<String>,
    /// Inherit every dependency from the enclosing workspace (`dep.workspace = true`).
    /// Default: exactly when the output directory is a member of a workspace whose
    /// `[workspace.dependencies]` defines `contract-runtime`.
    #[arg(long, conflicts_with = "standalone")]
    workspace: bool,
    /// Name every dependency's version in the output's `Cargo.toml`, even inside a workspace.
    #[arg(long)]
    standalone: bool,
}

impl Target {
    fn options(self) -> Options {
        let mut options = Options::new(self.contracts, self.out);
        options.crate_name = self.crate_name;
        options.workspace = match (self.workspace, self.standalone) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        if let Some(path) = self.runtime_path {
            options.runtime = RuntimeDependency::Path(path);
        } else if let Some(version) = self.runtime_version {
            options.runtime = RuntimeDependency::Version(version);
        }
        options
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (target, check) = match cli.command {
        Command::Generate(target) => (target, false),
        Command::Check(target) => (target, true),
    };
    match codegen::run(&target.options(), check) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error:#}");
            ExitCode::FAILURE
        }
    }
}
