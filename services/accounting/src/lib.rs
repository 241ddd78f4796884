//! The accounting service: the balance-sheet REST API (writes only its table) and the CDC
//! translator that turns Debezium's changes of that table into canonical events.
//!
//! [`build`] starts it from a [`Config`]; [`store`] is its table and [`cdc::parse`] the
//! translation of one change (what the operator CLI's reconcile compares).

mod api;
pub mod cdc;
pub mod source;
pub mod store;

use std::sync::Arc;

use clap::Parser;
use contracts::registry::register_accounting_schemas;
use contracts::topology::{self, accounting};
use service_kit::bootstrap::{App, Launch};
use service_kit::config::{CommonConfig, HttpConfig, Role};
use service_kit::consumer::ConsumerConfig;
use service_kit::consumer::transactional::{self, Delivery, TranslatorConfig};
use service_kit::db;
use service_kit::health::Relay;
use service_kit::outbox::Outbox;

/// The service's settings, from flags or the environment.
#[derive(Debug, Clone, Parser)]
#[command(name = "accounting-service", version, about)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    #[command(flatten)]
    pub http: HttpConfig,
    /// Retries, dead letters and the dead-letter limit of its consumers.
    #[command(flatten)]
    pub consumer: ConsumerConfig,
    /// How the CDC translator delivers canonical events (`TRANSLATOR_DELIVERY`).
    #[command(flatten)]
    pub translator: TranslatorConfig,
    /// Which parts run in this process.
    #[arg(long, env = "SERVICE_ROLE", value_enum, default_value = "all")]
    pub role: Role,
}

/// Migrates the database, starts the schema registration, spawns the CDC translator and
/// binds the REST API (as `role` says).
pub async fn build(config: Config) -> anyhow::Result<App> {
    let mut launch = Launch::start(
        accounting::NAME,
        &config.common,
        [
            db::outbox_migrations(),
            db::inbox_migrations(),
            sqlx::migrate!(),
        ],
    )
    .await?;
    launch.register_schemas(|registry| async move { register_accounting_schemas(&registry).await });
    // The connectors relaying accounting's events (outbox and CDC), with their slots.
    let relays = topology::SYSTEM.connectors.iter();
    launch.watch_relays(
        relays
            .filter(|c| c.service == accounting::NAME)
            .map(|c| Relay::new(c.name, c.slot)),
    );
    if config.role.runs_consumers() {
        launch.parts().configure_consumers(&config.consumer);
        match config.translator.translator_delivery {
            Delivery::Outbox => {
                let outbox = Outbox::new(launch.codec()?);
                let codec = launch.codec()?;
                contracts::consumers::accounting::spawn(
                    launch.parts(),
                    Arc::new(cdc::Consumers { outbox }),
                    codec,
                );
            }
            // The CDC subscription (accounting's only one) on the transactional runtime.
            Delivery::KafkaTransactions => {
                let cdc = accounting::subscriptions::PRIVATE_ACCOUNTING_BAL_SHEET_CDC;
                let transactional_id =
                    transactional::transactional_id(cdc.group, &config.translator.instance_id());
                let records = cdc::CanonicalRecords {
                    codec: launch.codec()?,
                };
                launch.parts().spawn_transactional(
                    cdc.group,
                    cdc.topic,
                    &transactional_id,
                    records,
                );
            }
        }
    }
    if config.role.runs_web() {
        let service = api::AccountingService::new(launch.pool(), launch.health());
        let router = contracts::accounting_api::router(
            Arc::new(service),
            Arc::new(config.http.authenticator()?),
        );
        launch
            .serve(
                router,
                config.http.addr(accounting::PORT),
                config.http.serve_settings(),
            )
            .await?;
    } else {
        // A consumer-only process: probes and metrics on its operations port.
        let port = config.http.addr(accounting::PORT).port();
        launch
            .serve_operations(config.common.operations_addr(port))
            .await?;
    }
    Ok(launch.finish())
}
