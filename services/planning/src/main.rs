//! `planning-service`: the planning service's process (see the library for what it does).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    planning_service::build(planning_service::Config::parse())
        .await?
        .run()
        .await
}
