//! `cargo xtask gen [--check]`: contracts in, `generated/` out — a thin call of the library
//! behind `contractgen`, with this repository's settings (workspace mode).

use clap::Args;

#[derive(Args)]
pub struct GenArgs {
    /// Do not write; fail and name the stale files when `generated/` differs.
    #[arg(long)]
    check: bool,
}

pub fn run(args: GenArgs) -> anyhow::Result<()> {
    let options = codegen::Options::for_this_repository(&crate::project_root());
    codegen::run(&options, args.check)
}
