//! The person service: the person REST API; every change publishes the person's full state
//! (`person_entity_state`) through the transactional outbox, relayed by Debezium.
//!
//! [`build`] starts it from a [`Config`] (the binary's `main` parses one from the
//! environment; tests build one with a port-0 address and a database of their own).

mod api;
pub mod source;
mod store;

use std::sync::Arc;

use clap::Parser;
use contracts::registry::register_person_schemas;
use contracts::topology::{self, person};
use service_kit::bootstrap::{App, Launch};
use service_kit::config::{CommonConfig, HttpConfig};
use service_kit::db;
use service_kit::health::Relay;
use service_kit::outbox::Outbox;

pub use api::canonical;
pub use store::PersonRow;

/// The service's settings, from flags or the environment.
#[derive(Debug, Clone, Parser)]
#[command(name = "person-service", version, about)]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    #[command(flatten)]
    pub http: HttpConfig,
}

/// Migrates the database, starts the schema registration and binds the REST API.
pub async fn build(config: Config) -> anyhow::Result<App> {
    let mut launch = Launch::start(
        person::NAME,
        &config.common,
        [db::outbox_migrations(), sqlx::migrate!()],
    )
    .await?;
    launch.register_schemas(|registry| async move { register_person_schemas(&registry).await });
    // The connectors relaying the person's events, with their slots, from the manifest.
    let relays = topology::SYSTEM.connectors.iter();
    launch.watch_relays(
        relays
            .filter(|c| c.service == person::NAME)
            .map(|c| Relay::new(c.name, c.slot)),
    );
    let outbox = Outbox::new(launch.codec()?);
    let service = api::PersonService::new(launch.pool(), outbox, launch.health());
    let router =
        contracts::person_api::router(Arc::new(service), Arc::new(config.http.authenticator()?));
    launch
        .serve(
            router,
            config.http.addr(person::PORT),
            config.http.serve_settings(),
        )
        .await?;
    Ok(launch.finish())
}
