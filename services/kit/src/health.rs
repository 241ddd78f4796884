//! `/health/`: is each dependency of this process ready?

use std::collections::BTreeMap;
use std::time::Duration;

use contract_runtime::health::{Check, Health};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use sqlx::PgPool;

use crate::consumer::ConsumerHealth;

/// A partition retrying one message for longer than this makes its consumer unhealthy.
pub const STUCK_AFTER: Duration = Duration::from_secs(60);

/// A partition with messages waiting that finished none for this long makes its consumer
/// unhealthy (lagging without progress). A consumer that is behind but catching up is ready:
/// its check carries the lag as detail.
pub const STALLED_AFTER: Duration = Duration::from_secs(60);

/// The dependencies a process checks.
#[derive(Clone)]
pub struct HealthChecker {
    pub pool: PgPool,
    pub bootstrap_servers: String,
    pub registry_url: String,
    pub consumers: Vec<(String, ConsumerHealth)>,
    /// Start-up steps still running in the background (schema registration).
    pub startup: Vec<(String, crate::bootstrap::StartupStep)>,
    http: reqwest::Client,
}

impl HealthChecker {
    pub fn new(pool: PgPool, bootstrap_servers: &str, registry_url: &str) -> Self {
        Self {
            pool,
            bootstrap_servers: bootstrap_servers.to_string(),
            registry_url: registry_url.trim_end_matches('/').to_string(),
            consumers: Vec::new(),
            startup: Vec::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
        }
    }

    pub fn with_consumer(mut self, group: &str, health: ConsumerHealth) -> Self {
        self.consumers.push((group.to_string(), health));
        self
    }

    /// Not ready until `step` is done (`startup:<name>` in the checks).
    pub fn with_startup_step(mut self, name: &str, step: crate::bootstrap::StartupStep) -> Self {
        self.startup.push((name.to_string(), step));
        self
    }

    /// The health as an operation's response: `ready` when every check passes, else
    /// `unavailable` (the generated `HealthResponse::Ok` / `::ServiceUnavailable`).
    pub async fn respond<R>(&self, ready: fn(Health) -> R, unavailable: fn(Health) -> R) -> R {
        let health = self.check().await;
        if health.is_ok() {
            ready(health)
        } else {
            unavailable(health)
        }
    }

    pub async fn check(&self) -> Health {
        let (database, broker, registry) =
            tokio::join!(self.database(), self.broker(), self.registry());
        let mut checks = BTreeMap::from([
            ("database".to_string(), database),
            ("broker".to_string(), broker),
            ("registry".to_string(), registry),
        ]);
        for (group, health) in &self.consumers {
            checks.insert(format!("consumer:{group}"), consumer_check(health));
        }
        for (name, step) in &self.startup {
            checks.insert(format!("startup:{name}"), step.check());
        }
        Health::from_checks(checks)
    }

    async fn database(&self) -> Check {
        match tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("SELECT 1").execute(&self.pool),
        )
        .await
        {
            Ok(Ok(_)) => Check::ready(),
            Ok(Err(error)) => Check::not_ready(error.to_string()),
            Err(_) => Check::not_ready("no answer within 2 s"),
        }
    }

    async fn broker(&self) -> Check {
        let servers = self.bootstrap_servers.clone();
        // librdkafka's metadata call blocks; keep it off the async workers.
        let result = tokio::task::spawn_blocking(move || -> Result<usize, String> {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &servers)
                .create()
                .map_err(|e| e.to_string())?;
            let metadata = consumer
                .fetch_metadata(None, Duration::from_secs(2))
                .map_err(|e| e.to_string())?;
            Ok(metadata.brokers().len())
        })
        .await;
        match result {
            Ok(Ok(brokers)) if brokers > 0 => Check::ready(),
            Ok(Ok(_)) => Check::not_ready("no broker in the metadata"),
            Ok(Err(error)) => Check::not_ready(error),
            Err(error) => Check::not_ready(error.to_string()),
        }
    }

    async fn registry(&self) -> Check {
        match self
            .http
            .get(format!("{}/subjects", self.registry_url))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => Check::ready(),
            Ok(response) => Check::not_ready(format!("answered {}", response.status())),
            Err(error) => Check::not_ready(error.to_string()),
        }
    }
}

/// Ready unless a partition is stuck on one message or stalled with messages waiting; the
/// detail always says the lag, so `/health/` shows a consumer falling behind.
fn consumer_check(health: &ConsumerHealth) -> Check {
    let mut problems: Vec<String> = health
        .stuck(STUCK_AFTER)
        .iter()
        .map(|(topic, partition, status)| {
            format!(
                "{topic}[{partition}] retrying for {:.0?}: {}",
                status.retrying_for().unwrap_or_default(),
                status.last_error.as_deref().unwrap_or("?")
            )
        })
        .collect();
    problems.extend(
        health
            .stalled(STALLED_AFTER)
            .iter()
            .filter(|(_, _, status)| status.retrying_since.is_none())
            .map(|(topic, partition, status)| {
                format!(
                    "{topic}[{partition}] lagging: {} messages waiting, none finished for {:.0?}",
                    status.lag.unwrap_or_default(),
                    status.progress_at.map(|p| p.elapsed()).unwrap_or_default()
                )
            }),
    );
    let lag = match health.total_lag() {
        Some(lag) => format!("lag {lag}"),
        None => "lag unknown".to_string(),
    };
    if problems.is_empty() {
        Check {
            ready: true,
            detail: Some(lag),
        }
    } else {
        Check::not_ready(format!("{lag}; {}", problems.join("; ")))
    }
}
