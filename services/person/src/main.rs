//! The person service: the person REST API; every change publishes the person's full state
//! (`person_entity_state`) through the transactional outbox, relayed by Debezium.

mod api;
mod store;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use contract_runtime::registry::RegistryClient;
use contracts::registry::register_person_schemas;
use service_kit::codec::EventCodec;
use service_kit::config::{CommonConfig, HttpConfig};
use service_kit::health::HealthChecker;
use service_kit::outbox::Outbox;
use service_kit::{db, http, shutdown, telemetry};

const DEFAULT_PORT: u16 = 8001;

#[derive(Parser)]
#[command(name = "person-service", version, about)]
struct Cli {
    #[command(flatten)]
    common: CommonConfig,
    #[command(flatten)]
    http: HttpConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init("person-service");
    let shutdown = shutdown::on_signal();

    let pool = db::connect_and_migrate(
        &cli.common.database_url,
        cli.common.database_pool_size,
        [db::outbox_migrations(), sqlx::migrate!()],
    )
    .await?;
    let registered = register_person_schemas(&RegistryClient::new(&cli.common.schema_registry_url))
        .await
        .context("cannot register the person schemas")?;
    tracing::info!(?registered, "schemas registered");

    let codec = Arc::new(EventCodec::new(&cli.common.schema_registry_url)?);
    let health = HealthChecker::new(
        pool.clone(),
        &cli.common.kafka_bootstrap_servers,
        &cli.common.schema_registry_url,
    );
    let service = api::PersonService::new(pool, Outbox::new(codec), health);
    let router =
        contracts::person_api::router(Arc::new(service), Arc::new(cli.http.authenticator()?));
    let result = http::serve_with(
        router,
        cli.http.addr(DEFAULT_PORT),
        shutdown,
        cli.http.serve_settings(),
    )
    .await;
    telemetry::shutdown();
    result
}
