//! The parts of one service process — its consumers and its web server — run side by side
//! until shutdown; the first to stop, by shutdown or by failure, stops the others.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::consumer::{self, ConsumerHealth, ConsumerSettings, Handler};
use crate::health::HealthChecker;

pub struct ServiceParts {
    pool: PgPool,
    /// The process's health checks; every consumer spawned here is added to them.
    pub health: HealthChecker,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl ServiceParts {
    pub fn new(pool: PgPool, health: HealthChecker, shutdown: CancellationToken) -> Self {
        Self {
            pool,
            health,
            shutdown,
            tasks: JoinSet::new(),
        }
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
        self.tasks.spawn(consumer::run(
            settings,
            self.pool.clone(),
            handler,
            consumer_health,
            self.shutdown.clone(),
        ));
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
        self.tasks.spawn(crate::http::serve_with(
            router,
            addr,
            self.shutdown.clone(),
            settings,
        ));
    }

    /// Serves `/health/` and `/metrics` on `addr`: for a process without a REST API (a
    /// consumer-only process), so that it can be probed and scraped like the others. Call it
    /// after spawning the consumers, whose health it reports.
    pub fn spawn_operations(&mut self, addr: SocketAddr) {
        let health = self.health.clone();
        let router = Router::new().route(
            "/health/",
            axum::routing::get(move || {
                let health = health.clone();
                async move {
                    let health = health.check().await;
                    let status = if health.is_ok() {
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, axum::Json(health))
                }
            }),
        );
        self.spawn_web(router, addr);
    }

    /// Waits for every part; returns the first failure.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let mut result = Ok(());
        while let Some(finished) = self.tasks.join_next().await {
            self.shutdown.cancel();
            let outcome = finished
                .map_err(|e| anyhow::anyhow!("task panicked: {e}"))
                .and_then(|r| r);
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
