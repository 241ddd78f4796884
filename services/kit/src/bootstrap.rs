//! Starting a service, once for all of them: telemetry → database and migrations → schema
//! registration (in the background, retried with backoff; `/health/` not ready meanwhile) →
//! health (`/health/`, `/health/live`, `/health/ready`, relays) → the process's parts (consumers, web server) → an [`App`] that tests spawn
//! in-process and `main` runs until a signal.
//!
//! A service's `build(config)` is a [`Launch`] with its own parts plugged in (in outline;
//! `services/person/src/lib.rs` is the whole of it, compiled and tested):
//!
//! ```text
//! let mut launch = Launch::start(topology::person::NAME, &config.common, migrators).await?;
//! launch.register_schemas(|registry| async move { register_person_schemas(&registry).await });
//! let router = /* the generated router over the domain, with launch.health() */;
//! launch.serve(router, config.http.addr(topology::person::PORT), config.http.serve_settings()).await?;
//! Ok(launch.finish())
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use contract_runtime::health::Check;
use contract_runtime::registry::{RegisteredSchema, RegistryClient, RegistryError};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::codec::EventCodec;
use crate::config::CommonConfig;
use crate::health::{HealthChecker, Relay};
use crate::http::ServeSettings;
use crate::parts::ServiceParts;
use crate::{db, shutdown, telemetry};

/// A service being started: its database is migrated, its parts are being added.
pub struct Launch {
    name: &'static str,
    common: CommonConfig,
    parts: ServiceParts,
    codec: Option<Arc<EventCodec>>,
    http_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
}

impl Launch {
    /// Telemetry, then the database pool with `migrators` applied in order. `name` is the
    /// service's name in the manifest (`contracts::topology::<service>::NAME`).
    pub async fn start(
        name: &'static str,
        common: &CommonConfig,
        migrators: impl IntoIterator<Item = Migrator>,
    ) -> anyhow::Result<Self> {
        telemetry::init(&format!("{name}-service"));
        let pool =
            db::connect_and_migrate(&common.database_url, common.database_pool_size, migrators)
                .await?;
        let health = HealthChecker::new(pool.clone(), common.health_settings())
            .context("cannot set up the health checks")?;
        let shutdown = CancellationToken::new();
        Ok(Self {
            name,
            common: common.clone(),
            parts: ServiceParts::new(
                pool,
                health,
                shutdown.clone(),
                &common.kafka_bootstrap_servers,
            ),
            codec: None,
            http_addr: None,
            shutdown,
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn pool(&self) -> PgPool {
        self.parts.pool()
    }

    /// The process's event codec (one registry client and schema cache for all its parts).
    pub fn codec(&mut self) -> anyhow::Result<Arc<EventCodec>> {
        if let Some(codec) = &self.codec {
            return Ok(codec.clone());
        }
        let codec = Arc::new(
            EventCodec::new(&self.common.schema_registry_url)
                .context("cannot create the event codec (SCHEMA_REGISTRY_URL)")?,
        );
        self.codec = Some(codec.clone());
        Ok(codec)
    }

    /// The consumers and the web server; generated `contracts::consumers::<service>::spawn`
    /// adds the service's consumer groups here.
    pub fn parts(&mut self) -> &mut ServiceParts {
        &mut self.parts
    }

    /// The process's health checks, with every consumer and start-up step added so far:
    /// hand it to the API after spawning the consumers.
    pub fn health(&self) -> HealthChecker {
        self.parts.health.clone()
    }

    /// Checks the Debezium connectors relaying this service's events and their replication
    /// slots (the service's connectors in the generated `contracts::topology`): readiness
    /// fails while one is not running or its slot is missing or inactive, `/health/` says
    /// `degraded`, and `/metrics` has `relay_connector_running`, `replication_slot_active`
    /// and `replication_slot_retained_wal_bytes`.
    pub fn watch_relays(&mut self, relays: impl IntoIterator<Item = Relay>) {
        self.parts.health = self.parts.health.clone().with_relays(relays);
    }

    /// Binds `addr` now and serves `/health/`, `/health/live`, `/health/ready` and
    /// `/metrics` there once the app runs: for a process without a REST API (a consumer-only
    /// process), so that it is probed and scraped like the others. Call it after spawning
    /// the consumers.
    pub async fn serve_operations(&mut self, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (OPERATIONS_ADDR)"))?;
        let bound = listener.local_addr().context("listener address")?;
        let router = crate::health::operations_routes(self.parts.health.clone());
        self.parts
            .spawn_web_listener(router, listener, ServeSettings::default());
        Ok(bound)
    }

    /// Registers the service's schemas in the background (the generated
    /// `contracts::registry::register_<service>_schemas`): a registry that is down at start
    /// is retried with [`registration_delay`] while `/health/` reports
    /// `startup:schema-registration` not ready; a refused schema (incompatible, invalid)
    /// stops the service, since it must not publish what the registry rejects.
    pub fn register_schemas<F, Fut>(&mut self, register: F)
    where
        F: Fn(RegistryClient) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<RegisteredSchema>, RegistryError>> + Send,
    {
        let step = StartupStep::default();
        self.parts.health = self
            .parts
            .health
            .clone()
            .with_startup_step("schema-registration", step.clone());
        let client = RegistryClient::new(&self.common.schema_registry_url);
        let shutdown = self.shutdown.clone();
        self.parts.spawn_background(async move {
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                match register(client.clone()).await {
                    Ok(registered) => {
                        tracing::info!(?registered, attempt, "schemas registered");
                        step.done();
                        return Ok(());
                    }
                    Err(error) if error.is_transient() => {
                        let delay = registration_delay(attempt);
                        tracing::warn!(
                            error = %error, attempt, retry_in = ?delay,
                            "cannot register the schemas yet; not ready until registered"
                        );
                        step.failed(attempt, &error);
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = shutdown.cancelled() => return Ok(()),
                        }
                    }
                    Err(error) => {
                        step.failed(attempt, &error);
                        return Err(anyhow::Error::new(error)
                            .context("the schema registry refused the service's schemas"));
                    }
                }
            }
        });
    }

    /// Binds `addr` now (port 0 picks a free port; [`App::http_addr`] says which) and serves
    /// `router` with `settings` once the app runs.
    pub async fn serve(
        &mut self,
        router: Router,
        addr: SocketAddr,
        settings: ServeSettings,
    ) -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr().context("listener address")?;
        // The probes beside the API, from the kit: the same on every process.
        let router = router.merge(crate::health::probe_routes(self.parts.health.clone()));
        self.parts.spawn_web_listener(router, listener, settings);
        self.http_addr = Some(bound);
        Ok(bound)
    }

    /// The started service.
    pub fn finish(mut self) -> App {
        // Keeps the relay metrics current between probes.
        let health = self.parts.health.clone();
        let shutdown = self.shutdown.clone();
        self.parts.spawn_background(async move {
            health.watch(HEALTH_REFRESH, shutdown).await;
            Ok(())
        });
        App {
            name: self.name,
            parts: self.parts,
            http_addr: self.http_addr,
            shutdown: self.shutdown,
        }
    }
}

/// How often the health report (and with it the relay metrics) is refreshed without probes.
pub const HEALTH_REFRESH: Duration = Duration::from_secs(5);

/// The pause before registration attempt `attempt + 1`: 0.5 s doubling to at most 30 s.
/// Deterministic (one registration per process, so nothing to spread).
pub fn registration_delay(attempt: u32) -> Duration {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);
    FIRST
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(MAX)
}

/// A start-up step that finishes in the background; not ready until [`StartupStep::done`].
#[derive(Debug, Clone, Default)]
pub struct StartupStep(Arc<Mutex<StepState>>);

#[derive(Debug, Default)]
enum StepState {
    #[default]
    Pending,
    Failed {
        attempts: u32,
        error: String,
    },
    Done,
}

impl StartupStep {
    pub fn done(&self) {
        *self.lock() = StepState::Done;
    }

    pub fn failed(&self, attempts: u32, error: &dyn std::fmt::Display) {
        *self.lock() = StepState::Failed {
            attempts,
            error: error.to_string(),
        };
    }

    /// The step as a `/health/` check.
    pub fn check(&self) -> Check {
        match &*self.lock() {
            StepState::Done => Check::ready(),
            StepState::Pending => Check::not_ready("in progress"),
            StepState::Failed { attempts, error } => {
                Check::not_ready(format!("{attempts} attempts so far, last: {error}"))
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StepState> {
        // A panic while holding this lock cannot leave the state half-written.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A started service: its web server (if any) is bound, its parts run when it runs.
pub struct App {
    name: &'static str,
    parts: ServiceParts,
    http_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
}

impl App {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The address the REST API listens on, when this process serves it.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Runs until SIGTERM/SIGINT or the first part failing (what `main` does).
    pub async fn run(self) -> anyhow::Result<()> {
        shutdown::cancel_on_signal(self.shutdown.clone());
        let result = self.parts.run().await;
        // Exported traces still buffered go out before the process exits.
        telemetry::shutdown();
        result
    }

    /// Runs in a task of the current runtime (what tests do); stopped by
    /// [`RunningApp::stop`] or when dropped.
    pub fn spawn(self) -> RunningApp {
        let shutdown = self.shutdown.clone();
        RunningApp {
            http_addr: self.http_addr,
            shutdown,
            task: Some(tokio::spawn(self.parts.run())),
        }
    }
}

/// An [`App`] running in a task.
pub struct RunningApp {
    http_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl RunningApp {
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// `http://<addr>` of the REST API.
    pub fn base_url(&self) -> Option<String> {
        self.http_addr.map(|addr| format!("http://{addr}"))
    }

    /// Stops every part gracefully and returns how the app ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.context("the service task panicked")?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_backs_off_doubling_up_to_thirty_seconds() {
        let delays: Vec<u64> = (1..=9)
            .map(|a| registration_delay(a).as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(registration_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn a_startup_step_is_not_ready_until_done() {
        let step = StartupStep::default();
        assert!(!step.check().ready);
        step.failed(3, &"connection refused");
        let check = step.check();
        assert!(!check.ready);
        assert_eq!(
            check.detail.as_deref(),
            Some("3 attempts so far, last: connection refused")
        );
        step.done();
        assert!(step.check().ready);
    }
}
