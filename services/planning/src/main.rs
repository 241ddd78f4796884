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
use service_kit::consumer::ConsumerSettings;
use service_kit::health::HealthChecker;
use service_kit::parts::ServiceParts;
use service_kit::{db, shutdown, telemetry};

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

    let health = HealthChecker::new(
        pool.clone(),
        &cli.common.kafka_bootstrap_servers,
        &cli.common.schema_registry_url,
    );
    let mut parts = ServiceParts::new(pool, health, shutdown);
    if cli.role.runs_consumers() {
        let codec = Arc::new(EventCodec::new(&cli.common.schema_registry_url)?);
        let servers = &cli.common.kafka_bootstrap_servers;
        parts.spawn_consumer(
            ConsumerSettings::new(consumers::PERSONS_GROUP, &[events::Person::TOPIC], servers),
            Arc::new(consumers::PersonProjector {
                codec: codec.clone(),
            }),
        );
        parts.spawn_consumer(
            ConsumerSettings::new(
                consumers::BALANCE_SHEETS_GROUP,
                &[events::BalanceSheet::TOPIC],
                servers,
            ),
            Arc::new(consumers::BalanceSheetProjector { codec }),
        );
    }
    if cli.role.runs_web() {
        let service = api::PlanningService::new(parts.pool(), parts.health.clone());
        let router =
            contracts::planning_api::router(Arc::new(service), Arc::new(cli.http.authenticator()?));
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
