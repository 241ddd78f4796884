//! `cargo xtask gen [--check]`: contracts in, `generated/` out.

use clap::Args;

#[derive(Args)]
pub struct GenArgs {
    /// Do not write; fail and name the stale files when `generated/` differs.
    #[arg(long)]
    check: bool,
}

pub fn run(args: GenArgs) -> anyhow::Result<()> {
    let root = crate::project_root();
    codegen::run(&root, args.check)
}
