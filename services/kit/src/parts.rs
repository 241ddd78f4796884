//! The parts of one service process — its consumers and its web server — run side by side
//! until shutdown; the first to stop, by shutdown or by failure, stops the others. Background
//! start-up steps (schema registration) run beside them: one that finishes stops nothing, one
//! that fails stops everything.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::consumer::{self, ConsumerConfig, ConsumerHealth, ConsumerSettings, Handler};
use crate::health::HealthChecker;

/// Whether a part finishing successfully ends the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifetime {
    /// Runs until shutdown (consumers, web server): its end stops the others.
    UntilShutdown,
    /// Finishes on its own (start-up steps): only its failure stops the others.
    Background,
}

pub struct ServiceParts {
    pool: PgPool,
    /// The process's health checks; every consumer spawned here is added to them.
    pub health: HealthChecker,
    shutdown: CancellationToken,
    /// Kafka bootstrap servers of the consumers spawned here.
    bootstrap_servers: String,
    /// Retry policy and dead-letter limit of the consumers spawned here.
    consumer_config: ConsumerConfig,
    tasks: JoinSet<(Lifetime, anyhow::Result<()>)>,
}

impl ServiceParts {
    pub fn new(
        pool: PgPool,
        health: HealthChecker,
        shutdown: CancellationToken,
        bootstrap_servers: &str,
    ) -> Self {
        Self {
            pool,
            health,
            shutdown,
            bootstrap_servers: bootstrap_servers.to_string(),
            consumer_config: ConsumerConfig::default(),
            tasks: JoinSet::new(),
        }
    }

    /// The consumers spawned from now on use `config` (retries, dead letters).
    pub fn configure_consumers(&mut self, config: &ConsumerConfig) {
        self.consumer_config = config.clone();
    }

    /// The process's database pool.
    pub fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// Runs a consumer group with `handler`, reported in the process's health.
    pub fn spawn_consumer<H: Handler>(&mut self, settings: ConsumerSettings, handler: Arc<H>) {
        let consumer_health = ConsumerHealth::default();
        self.health = self
            .health
            .clone()
            .with_consumer(&settings.group_id, consumer_health.clone());
        let run = consumer::run(
            settings,
            self.pool.clone(),
            handler,
            consumer_health,
            self.shutdown.clone(),
        );
        self.tasks
            .spawn(async move { (Lifetime::UntilShutdown, run.await) });
    }

    /// Runs consumer group `group` on `topic` with `handler` (what the generated
    /// `contracts::consumers::<service>::spawn` calls for each subscription of the manifest).
    pub fn spawn_subscription<H: Handler>(&mut self, group: &str, topic: &str, handler: H) {
        let settings = ConsumerSettings::new(group, &[topic], self.bootstrap_servers.as_str())
            .configured(&self.consumer_config);
        self.spawn_consumer(settings, Arc::new(handler));
    }

    /// Runs `translator` as consumer group `group` on `topic`, producing in Kafka transactions
    /// under `transactional_id` (see [`consumer::transactional`]), reported in the process's
    /// health like the other consumers.
    pub fn spawn_transactional<T: consumer::transactional::Translator>(
        &mut self,
        group: &str,
        topic: &str,
        transactional_id: &str,
        translator: T,
    ) {
        let settings = consumer::transactional::TransactionalSettings::new(
            group,
            &[topic],
            self.bootstrap_servers.as_str(),
            transactional_id,
        )
        .configured(&self.consumer_config);
        let consumer_health = ConsumerHealth::default();
        self.health = self
            .health
            .clone()
            .with_consumer(&settings.group_id, consumer_health.clone());
        let run = consumer::transactional::run(
            settings,
            Arc::new(translator),
            consumer_health,
            self.shutdown.clone(),
        );
        self.tasks
            .spawn(async move { (Lifetime::UntilShutdown, run.await) });
    }

    /// Serves `router` on `addr`.
    pub fn spawn_web(&mut self, router: Router, addr: SocketAddr) {
        self.spawn_web_with(router, addr, crate::http::ServeSettings::default());
    }

    /// Serves `router` on `addr` with `settings` (`HttpConfig::serve_settings`).
    pub fn spawn_web_with(
        &mut self,
        router: Router,
        addr: SocketAddr,
        settings: crate::http::ServeSettings,
    ) {
        let serve = crate::http::serve_with(router, addr, self.shutdown.clone(), settings);
        self.tasks
            .spawn(async move { (Lifetime::UntilShutdown, serve.await) });
    }

    /// Serves `router` on an already bound `listener` with `settings`.
    pub fn spawn_web_listener(
        &mut self,
        router: Router,
        listener: TcpListener,
        settings: crate::http::ServeSettings,
    ) {
        let serve = crate::http::serve_listener(listener, router, self.shutdown.clone(), settings);
        self.tasks
            .spawn(async move { (Lifetime::UntilShutdown, serve.await) });
    }

    /// Runs a start-up step beside the parts; its failure stops the process.
    pub fn spawn_background(
        &mut self,
        step: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        self.tasks
            .spawn(async move { (Lifetime::Background, step.await) });
    }

    /// Serves `/health/`, `/health/live`, `/health/ready` and `/metrics` on `addr`: for a
    /// process without a REST API (a consumer-only process), so that it can be probed and
    /// scraped like the others. Call it after spawning the consumers, whose health it
    /// reports.
    pub fn spawn_operations(&mut self, addr: SocketAddr) {
        let router = crate::health::operations_routes(self.health.clone());
        self.spawn_web(router, addr);
    }

    /// Waits for every part; returns the first failure.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let mut result = Ok(());
        while let Some(finished) = self.tasks.join_next().await {
            let outcome = match finished {
                Ok((Lifetime::Background, Ok(()))) => continue,
                Ok((_, outcome)) => outcome,
                Err(e) => Err(anyhow::anyhow!("task panicked: {e}")),
            };
            self.shutdown.cancel();
            if let Err(error) = outcome {
                tracing::error!(error = %format!("{error:#}"), "stopping");
                if result.is_ok() {
                    result = Err(error);
                }
            }
        }
        result
    }
}
