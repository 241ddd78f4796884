//! The accounting service: the balance-sheet REST API (writes only its table) and the CDC
//! translator that turns Debezium's changes of that table into canonical events.

mod api;
mod cdc;
mod store;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use contract_runtime::registry::RegistryClient;
use contracts::registry::register_accounting_schemas;
use service_kit::codec::EventCodec;
use service_kit::config::{CommonConfig, HttpConfig, Role};
use service_kit::consumer::ConsumerSettings;
use service_kit::health::HealthChecker;
use service_kit::outbox::Outbox;
use service_kit::parts::ServiceParts;
use service_kit::{db, shutdown, telemetry};

const DEFAULT_PORT: u16 = 8002;

#[derive(Parser)]
#[command(name = "accounting-service", version, about)]
struct Cli {
    #[command(flatten)]
    common: CommonConfig,
    #[command(flatten)]
    http: HttpConfig,
    /// Which parts run in this process.
    #[arg(long, env = "SERVICE_ROLE", value_enum, default_value = "all")]
    role: Role,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init("accounting-service");
    let shutdown = shutdown::on_signal();

    let pool = db::connect_and_migrate(
        &cli.common.database_url,
        cli.common.database_pool_size,
        [
            db::outbox_migrations(),
            db::inbox_migrations(),
            sqlx::migrate!(),
        ],
    )
    .await?;
    let registered =
        register_accounting_schemas(&RegistryClient::new(&cli.common.schema_registry_url))
            .await
            .context("cannot register the accounting schemas")?;
    tracing::info!(?registered, "schemas registered");

    let health = HealthChecker::new(
        pool.clone(),
        &cli.common.kafka_bootstrap_servers,
        &cli.common.schema_registry_url,
    );
    let mut parts = ServiceParts::new(pool, health, shutdown);
    if cli.role.runs_consumers() {
        let codec = Arc::new(EventCodec::new(&cli.common.schema_registry_url)?);
        parts.spawn_consumer(
            ConsumerSettings::new(
                cdc::GROUP,
                &[cdc::TOPIC],
                &cli.common.kafka_bootstrap_servers,
            ),
            Arc::new(cdc::CdcTranslator {
                outbox: Outbox::new(codec),
            }),
        );
    }
    if cli.role.runs_web() {
        let service = api::AccountingService::new(parts.pool(), parts.health.clone());
        let router = contracts::accounting_api::router(
            Arc::new(service),
            Arc::new(cli.http.authenticator()?),
        );
        parts.spawn_web_with(
            router,
            cli.http.addr(DEFAULT_PORT),
            cli.http.serve_settings(),
        );
    } else {
        parts.spawn_operations(cli.common.operations_addr(DEFAULT_PORT));
    }
    let result = parts.run().await;
    telemetry::shutdown();
    result
}
