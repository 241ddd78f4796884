//! `person-service`: the person service's process (see the library for what it does).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    person_service::build(person_service::Config::parse())
        .await?
        .run()
        .await
}
