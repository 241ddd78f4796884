//! The planning service: consumes the canonical person and balance-sheet events into its own
//! read model and answers `/api/ratios/{person_id}/` from it.
//!
//! [`build`] starts it from a [`Config`]; [`store`] is the read model (what the operator
//! CLI's reconcile and rebuild compare and write).

mod api;
mod consumers;
mod ratio;
pub mod read_model;
pub mod store;

use std::sync::Arc;

use clap::Parser;
use contracts::topology::planning;
use service_kit::bootstrap::{App, Launch};
use service_kit::config::{CommonConfig, HttpConfig, Role};
use service_kit::consumer::ConsumerConfig;
use service_kit::db;

pub use consumers::ReadModel;

/// The service's settings, from flags or the environment.
#[derive(Debug, Clone, Parser)]
#[command(name = "planning-service", version, about)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    #[command(flatten)]
    pub http: HttpConfig,
    /// Retries, dead letters and the dead-letter limit of its consumers.
    #[command(flatten)]
    pub consumer: ConsumerConfig,
    /// Which parts run in this process.
    #[arg(long, env = "SERVICE_ROLE", value_enum, default_value = "all")]
    pub role: Role,
}

/// Migrates the database, spawns the consumers and binds the REST API (as `role` says).
pub async fn build(config: Config) -> anyhow::Result<App> {
    let mut launch = Launch::start(
        planning::NAME,
        &config.common,
        [db::inbox_migrations(), sqlx::migrate!()],
    )
    .await?;
    if config.role.runs_consumers() {
        launch.parts().configure_consumers(&config.consumer);
        let codec = launch.codec()?;
        contracts::consumers::planning::spawn(launch.parts(), Arc::new(ReadModel), codec);
    }
    if config.role.runs_web() {
        let service = api::PlanningService::new(launch.pool(), launch.health());
        let router = contracts::planning_api::router(
            Arc::new(service),
            Arc::new(config.http.authenticator()?),
        );
        launch
            .serve(
                router,
                config.http.addr(planning::PORT),
                config.http.serve_settings(),
            )
            .await?;
    } else {
        // A consumer-only process: probes and metrics on its operations port.
        let port = config.http.addr(planning::PORT).port();
        launch
            .serve_operations(config.common.operations_addr(port))
            .await?;
    }
    Ok(launch.finish())
}
