//! The planning service: consumes the canonical person and balance-sheet events into its own
//! read model and answers `/api/ratios/{person_id}/` from it.

mod api;
mod consumers;
mod ratio;
mod store;

use std::sync::Arc;

use clap::Parser;
use contract_runtime::event::CanonicalEvent;
use contracts::events;
use service_kit::codec::EventCodec;
use service_kit::config::{CommonConfig, HttpConfig, Role};
use service_kit::consumer::{self, ConsumerHealth, ConsumerSettings};
use service_kit::health::HealthChecker;
use service_kit::{db, http, shutdown, telemetry};

const DEFAULT_PORT: u16 = 8003;

#[derive(Parser)]
#[command(name = "planning-service", version, about)]
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
    telemetry::init("planning-service");
    let shutdown = shutdown::on_signal();

    let pool = db::connect_and_migrate(
        &cli.common.database_url,
        cli.common.database_pool_size,
        [db::inbox_migrations(), sqlx::migrate!()],
    )
    .await?;

    let mut health = HealthChecker::new(
        pool.clone(),
        &cli.common.kafka_bootstrap_servers,
        &cli.common.schema_registry_url,
    );
    let mut tasks = tokio::task::JoinSet::new();
    if cli.role.runs_consumers() {
        let codec = Arc::new(EventCodec::new(&cli.common.schema_registry_url)?);
        let servers = &cli.common.kafka_bootstrap_servers;

        let persons_health = ConsumerHealth::default();
        health = health.with_consumer(consumers::PERSONS_GROUP, persons_health.clone());
        tasks.spawn(consumer::run(
            ConsumerSettings::new(consumers::PERSONS_GROUP, &[events::Person::TOPIC], servers),
            pool.clone(),
            Arc::new(consumers::PersonProjector {
                codec: codec.clone(),
            }),
            persons_health,
            shutdown.clone(),
        ));

        let sheets_health = ConsumerHealth::default();
        health = health.with_consumer(consumers::BALANCE_SHEETS_GROUP, sheets_health.clone());
        tasks.spawn(consumer::run(
            ConsumerSettings::new(
                consumers::BALANCE_SHEETS_GROUP,
                &[events::BalanceSheet::TOPIC],
                servers,
            ),
            pool.clone(),
            Arc::new(consumers::BalanceSheetProjector { codec }),
            sheets_health,
            shutdown.clone(),
        ));
    }
    if cli.role.runs_web() {
        let service = api::PlanningService::new(pool, health);
        let router =
            contracts::planning_api::router(Arc::new(service), Arc::new(cli.http.authenticator()));
        tasks.spawn(http::serve(
            router,
            cli.http.addr(DEFAULT_PORT),
            shutdown.clone(),
        ));
    }
    shutdown::join_parts(tasks, shutdown).await
}
