//! `cargo xtask stack`: the real event-streaming stack as local processes.

use clap::Args;

#[derive(Args)]
pub struct StackArgs {}

pub fn run(_args: StackArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask stack` is not implemented yet")
}
