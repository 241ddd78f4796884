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
use service_kit::consumer::{self, ConsumerHealth, ConsumerSettings};
use service_kit::health::HealthChecker;
use service_kit::outbox::Outbox;
use service_kit::{db, http, shutdown, telemetry};

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

    let mut health = HealthChecker::new(
        pool.clone(),
        &cli.common.kafka_bootstrap_servers,
        &cli.common.schema_registry_url,
    );
    let mut tasks = tokio::task::JoinSet::new();
    if cli.role.runs_consumers() {
        let codec = Arc::new(EventCodec::new(&cli.common.schema_registry_url)?);
        let consumer_health = ConsumerHealth::default();
        health = health.with_consumer(cdc::GROUP, consumer_health.clone());
        let settings = ConsumerSettings::new(
            cdc::GROUP,
            &[cdc::TOPIC],
            &cli.common.kafka_bootstrap_servers,
        );
        let translator = Arc::new(cdc::CdcTranslator {
            outbox: Outbox::new(codec),
        });
        tasks.spawn(consumer::run(
            settings,
            pool.clone(),
            translator,
            consumer_health,
            shutdown.clone(),
        ));
    }
    if cli.role.runs_web() {
        let service = api::AccountingService::new(pool, health);
        let router = contracts::accounting_api::router(
            Arc::new(service),
            Arc::new(cli.http.authenticator()),
        );
        tasks.spawn(http::serve(
            router,
            cli.http.addr(DEFAULT_PORT),
            shutdown.clone(),
        ));
    }
    shutdown::join_parts(tasks, shutdown).await
}
