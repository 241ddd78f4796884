//! `accounting-service`: the accounting service's process (see the library for what it does).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    accounting_service::build(accounting_service::Config::parse())
        .await?
        .run()
        .await
}
