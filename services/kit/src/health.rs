//! The health of a process, three ways:
//!
//! - `/health/live`: the process runs and serves (always `200` while it answers);
//! - `/health/ready`: everything the service needs to do its whole job is ready — database,
//!   broker, finished start-up steps, consumers with partitions assigned and not stuck, and
//!   the Debezium connectors and replication slots that relay its events;
//! - `/health/` (the seed's path, kept for its clients): the same report, answering `200`
//!   while the service can serve its API; a relay problem makes it `degraded`, not `503`,
//!   because the services start before their connectors are applied (the connectors capture
//!   the tables the services' migrations create).
//!
//! Each check has a timeout; what a service can work without (the schema registry, once the
//! schemas are registered: writes use the cached schema ids) only makes the answer
//! `degraded`, naming the component. The answer is cached briefly and computed by one caller
//! at a time, with one Kafka client per process, so a flood of probes costs one check a
//! second.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use contract_runtime::health::{Check, Health, HealthStatus};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use sqlx::PgPool;

use crate::bootstrap::StartupStep;
use crate::consumer::ConsumerHealth;

/// A partition retrying one message for longer than this makes its consumer unhealthy.
pub const STUCK_AFTER: Duration = Duration::from_secs(60);

/// A partition with messages waiting that finished none for this long makes its consumer
/// unhealthy (lagging without progress). A consumer that is behind but catching up is ready:
/// its check carries the lag as detail.
pub const STALLED_AFTER: Duration = Duration::from_secs(60);

/// The prefix of the detail of a failing check the service can work without.
pub const OPTIONAL_DETAIL: &str = "optional, the service works without it";

/// What a service needs a checked component for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// To serve at all: database, broker, start-up steps, its consumers.
    Serve,
    /// For its events to reach the other services: the connector relaying them and its
    /// replication slot. The API works without it (the outbox keeps the events).
    Deliver,
    /// Nothing it cannot do without: the schema registry after registration.
    Optional,
}

/// Which question an answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `/health/`: can clients use the service?
    Health,
    /// `/health/ready`: does the service do its whole job?
    Ready,
}

/// What a probe concludes from its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passes.
    Ok,
    /// Only checks the probe does not require fail: `200` with `degraded: true`.
    Degraded,
    /// A check the probe requires fails: `503`.
    Unavailable,
}

impl Verdict {
    /// The answer's `status` (the published API knows `ok` and `unavailable` only).
    pub fn status(self) -> HealthStatus {
        match self {
            Self::Ok | Self::Degraded => HealthStatus::Ok,
            Self::Unavailable => HealthStatus::Unavailable,
        }
    }
}

/// The verdict over `(need, ready)` of every check: `unavailable` when a check the probe
/// requires fails, `degraded` when only others fail, `ok` when all pass.
pub fn verdict(probe: Probe, checks: impl IntoIterator<Item = (Need, bool)>) -> Verdict {
    let mut status = Verdict::Ok;
    for (need, ready) in checks {
        if ready {
            continue;
        }
        let required = match (probe, need) {
            (_, Need::Serve) => true,
            (Probe::Ready, Need::Deliver) => true,
            (Probe::Health, Need::Deliver) | (_, Need::Optional) => false,
        };
        if required {
            return Verdict::Unavailable;
        }
        status = Verdict::Degraded;
    }
    status
}

/// Whether an answer with `status` is a `200`.
pub fn answers_ok(status: HealthStatus) -> bool {
    status == HealthStatus::Ok
}

/// A Debezium connector that relays this service's events, and its replication slot (from
/// the generated `contracts::topology` connectors of the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    pub connector: String,
    pub slot: String,
}

impl Relay {
    pub fn new(connector: &str, slot: &str) -> Self {
        Self {
            connector: connector.to_string(),
            slot: slot.to_string(),
        }
    }
}

/// How the health checks reach what they check and how long they may take.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    pub bootstrap_servers: String,
    pub registry_url: String,
    /// Kafka Connect's REST API, for the relays' connector states.
    pub connect_url: String,
    /// How long one check may take before it counts as not ready.
    pub check_timeout: Duration,
    /// How long an answer is reused.
    pub cache_for: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum HealthSetupError {
    #[error("cannot create the health checks' HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("cannot create the health checks' Kafka client: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// The checks of one process. Clones share everything: the consumers, start-up steps and
/// relays added to one are checked by all, and they share one Kafka client and one cache.
#[derive(Clone)]
pub struct HealthChecker {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    settings: HealthSettings,
    /// One client for the process's broker checks: a client per check would start
    /// librdkafka's threads each time.
    kafka: Arc<BaseConsumer>,
    http: reqwest::Client,
    checked: Mutex<Checked>,
    /// The last report: one caller computes it, the others wait for it and reuse it.
    last: tokio::sync::Mutex<Option<(Instant, Report)>>,
}

#[derive(Default)]
struct Checked {
    consumers: Vec<(String, ConsumerHealth)>,
    startup: Vec<(String, StartupStep)>,
    relays: Vec<Relay>,
}

/// Every check with what it is needed for.
#[derive(Debug, Clone)]
pub struct Report {
    pub checks: BTreeMap<String, (Need, Check)>,
}

impl Report {
    /// The answer to `probe`; checks failing without making it unavailable say so.
    pub fn health(&self, probe: Probe) -> Health {
        let verdict = verdict(probe, self.checks.values().map(|(n, c)| (*n, c.ready)));
        let checks = self
            .checks
            .iter()
            .map(|(name, (need, check))| {
                let check = if !check.ready && *need == Need::Optional {
                    Check::not_ready(format!(
                        "{OPTIONAL_DETAIL}: {}",
                        check.detail.as_deref().unwrap_or("not ready")
                    ))
                } else {
                    check.clone()
                };
                (name.clone(), check)
            })
            .collect();
        Health {
            status: verdict.status(),
            degraded: verdict == Verdict::Degraded,
            checks,
        }
    }
}

impl HealthChecker {
    pub fn new(pool: PgPool, settings: HealthSettings) -> Result<Self, HealthSetupError> {
        let http = reqwest::Client::builder()
            .timeout(settings.check_timeout)
            .build()?;
        let kafka: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &settings.bootstrap_servers)
            .create()?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                settings: HealthSettings {
                    registry_url: settings.registry_url.trim_end_matches('/').to_string(),
                    connect_url: settings.connect_url.trim_end_matches('/').to_string(),
                    ..settings
                },
                kafka: Arc::new(kafka),
                http,
                checked: Mutex::default(),
                last: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn with_consumer(self, group: &str, health: ConsumerHealth) -> Self {
        self.lock().consumers.push((group.to_string(), health));
        self
    }

    /// Not ready until `step` is done (`startup:<name>` in the checks).
    pub fn with_startup_step(self, name: &str, step: StartupStep) -> Self {
        self.lock().startup.push((name.to_string(), step));
        self
    }

    /// Checks `relays` (`relay:<connector>` and `slot:<slot>`) and exports their metrics.
    pub fn with_relays(self, relays: impl IntoIterator<Item = Relay>) -> Self {
        self.lock().relays.extend(relays);
        self
    }

    /// The `/health/` answer as an operation's response: `ok` (ready) or `degraded`, else
    /// `unavailable` (the generated `HealthResponse::Ok` / `::ServiceUnavailable`).
    pub async fn respond<R>(&self, ok: fn(Health) -> R, unavailable: fn(Health) -> R) -> R {
        let health = self.check().await;
        if answers_ok(health.status) {
            ok(health)
        } else {
            unavailable(health)
        }
    }

    /// The `/health/` answer.
    pub async fn check(&self) -> Health {
        self.report().await.health(Probe::Health)
    }

    /// The `/health/ready` answer.
    pub async fn ready(&self) -> Health {
        self.report().await.health(Probe::Ready)
    }

    /// Every check, at most [`HealthSettings::cache_for`] old.
    pub async fn report(&self) -> Report {
        let mut last = self.inner.last.lock().await;
        if let Some((at, report)) = &*last
            && at.elapsed() < self.inner.settings.cache_for
        {
            return report.clone();
        }
        let report = self.evaluate().await;
        *last = Some((Instant::now(), report.clone()));
        report
    }

    /// Refreshes the report (and with it the relay metrics) every `every` until `shutdown`,
    /// so that `/metrics` says a relay's state without anyone probing the health.
    pub async fn watch(self, every: Duration, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            self.report().await;
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Checked> {
        // Only pushes happen under this lock: a panic cannot leave it half-written.
        self.inner
            .checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn evaluate(&self) -> Report {
        let (consumers, startup, relays) = {
            let checked = self.lock();
            (
                checked.consumers.clone(),
                checked.startup.clone(),
                checked.relays.clone(),
            )
        };
        let (database, broker, registry, relay_checks) = tokio::join!(
            self.timed(self.database()),
            self.timed(self.broker()),
            self.timed(self.registry()),
            self.relays(&relays),
        );
        let mut checks = BTreeMap::from([
            ("database".to_string(), (Need::Serve, database)),
            ("broker".to_string(), (Need::Serve, broker)),
            ("registry".to_string(), (Need::Optional, registry)),
        ]);
        for (group, health) in &consumers {
            checks.insert(
                format!("consumer:{group}"),
                (Need::Serve, consumer_check(health)),
            );
        }
        for (name, step) in &startup {
            checks.insert(format!("startup:{name}"), (Need::Serve, step.check()));
        }
        for (name, check) in relay_checks {
            checks.insert(name, (Need::Deliver, check));
        }
        Report { checks }
    }

    /// `check`, or not ready when it takes longer than the check timeout.
    async fn timed(&self, check: impl Future<Output = Check>) -> Check {
        let timeout = self.inner.settings.check_timeout;
        tokio::time::timeout(timeout, check)
            .await
            .unwrap_or_else(|_| Check::not_ready(format!("no answer within {timeout:?}")))
    }

    async fn database(&self) -> Check {
        match sqlx::query("SELECT 1").execute(&self.inner.pool).await {
            Ok(_) => Check::ready(),
            Err(error) => Check::not_ready(error.to_string()),
        }
    }

    async fn broker(&self) -> Check {
        let kafka = self.inner.kafka.clone();
        let timeout = self.inner.settings.check_timeout;
        // librdkafka's metadata call blocks; keep it off the async workers. Callers are
        // serialised by the report's lock, so at most one such call runs.
        let result = tokio::task::spawn_blocking(move || {
            kafka
                .fetch_metadata(None, timeout)
                .map(|metadata| metadata.brokers().len())
        })
        .await;
        match result {
            Ok(Ok(brokers)) if brokers > 0 => Check::ready(),
            Ok(Ok(_)) => Check::not_ready("no broker in the metadata"),
            Ok(Err(error)) => Check::not_ready(error.to_string()),
            Err(error) => Check::not_ready(error.to_string()),
        }
    }

    async fn registry(&self) -> Check {
        let url = format!("{}/subjects", self.inner.settings.registry_url);
        match self.inner.http.get(url).send().await {
            Ok(response) if response.status().is_success() => Check::ready(),
            Ok(response) => Check::not_ready(format!("answered {}", response.status())),
            Err(error) => Check::not_ready(error.to_string()),
        }
    }

    /// `relay:<connector>` and `slot:<slot>` of each relay; records their metrics.
    async fn relays(&self, relays: &[Relay]) -> Vec<(String, Check)> {
        if relays.is_empty() {
            return Vec::new();
        }
        let (slots, connectors) = tokio::join!(
            self.timed_slots(relays),
            futures::future::join_all(
                relays
                    .iter()
                    .map(|relay| self.timed(self.connector(&relay.connector)))
            ),
        );
        let mut checks = Vec::new();
        for (relay, connector) in relays.iter().zip(connectors) {
            crate::metrics::relay_connector(&relay.connector, connector.ready);
            checks.push((format!("relay:{}", relay.connector), connector));
            let slot = match &slots {
                Ok(slots) => {
                    let state = slots.iter().find(|s| s.name == relay.slot);
                    crate::metrics::replication_slot(&relay.slot, state);
                    slot_check(state)
                }
                Err(error) => Check::not_ready(error.clone()),
            };
            checks.push((format!("slot:{}", relay.slot), slot));
        }
        checks
    }

    async fn connector(&self, name: &str) -> Check {
        let url = format!(
            "{}/connectors/{name}/status",
            self.inner.settings.connect_url
        );
        let response = match self.inner.http.get(url).send().await {
            Ok(response) => response,
            Err(error) => return Check::not_ready(format!("Kafka Connect unreachable: {error}")),
        };
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Check::not_ready(format!("connector {name} is not declared in Kafka Connect"));
        }
        if !status.is_success() {
            return Check::not_ready(format!("Kafka Connect answered {status}"));
        }
        let parsed = response
            .json::<serde_json::Value>()
            .await
            .map_err(|e| e.to_string())
            .and_then(|body| {
                connectors::ConnectorStatus::from_json(name, &body).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(state) if state.is_running() => Check {
                ready: true,
                detail: Some(state.summary()),
            },
            Ok(state) => Check::not_ready(format!("connector {name} is {}", state.summary())),
            Err(error) => Check::not_ready(format!("unreadable status of {name}: {error}")),
        }
    }

    async fn timed_slots(&self, relays: &[Relay]) -> Result<Vec<SlotState>, String> {
        let timeout = self.inner.settings.check_timeout;
        match tokio::time::timeout(timeout, slot_states(&self.inner.pool, relays)).await {
            Ok(Ok(slots)) => Ok(slots),
            Ok(Err(error)) => Err(format!("cannot read pg_replication_slots: {error}")),
            Err(_) => Err(format!(
                "pg_replication_slots: no answer within {timeout:?}"
            )),
        }
    }
}

/// One replication slot as PostgreSQL reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    pub name: String,
    pub active: bool,
    /// WAL the slot keeps from being recycled: from its restart LSN to the current LSN.
    pub retained_wal_bytes: Option<i64>,
}

async fn slot_states(pool: &PgPool, relays: &[Relay]) -> Result<Vec<SlotState>, sqlx::Error> {
    let names: Vec<String> = relays.iter().map(|r| r.slot.clone()).collect();
    let rows: Vec<(String, bool, Option<i64>)> = sqlx::query_as(
        "SELECT slot_name::text, active, \
                pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint \
         FROM pg_replication_slots WHERE slot_name = ANY($1)",
    )
    .bind(&names)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, active, retained_wal_bytes)| SlotState {
            name,
            active,
            retained_wal_bytes,
        })
        .collect())
}

/// Ready when the slot exists and a connector streams from it; the detail says the WAL kept.
pub fn slot_check(state: Option<&SlotState>) -> Check {
    let Some(state) = state else {
        return Check::not_ready(
            "replication slot missing: the connector creates it when first applied; one \
             that ran before cannot resume: recover it (`ops connectors recover`), then resync",
        );
    };
    let retained = match state.retained_wal_bytes {
        Some(bytes) => format!("retains {bytes} bytes of WAL"),
        None => "retains no WAL".to_string(),
    };
    if state.active {
        Check {
            ready: true,
            detail: Some(format!("active, {retained}")),
        }
    } else {
        Check::not_ready(format!(
            "inactive (no connector streams from it), {retained}"
        ))
    }
}

/// Ready unless a partition is stuck on one message or stalled with messages waiting, or no
/// partition was assigned yet; the detail always says the lag, so `/health/` shows a
/// consumer falling behind.
fn consumer_check(health: &ConsumerHealth) -> Check {
    if health.partitions().is_empty() {
        return Check::not_ready("waiting for the group to assign partitions");
    }
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

/// `GET /health/live` and `GET /health/ready`, served by the kit on every process beside its
/// API (the same on a consumer-only process's operations port).
pub fn probe_routes(health: HealthChecker) -> Router {
    Router::new()
        .route("/health/live", axum::routing::get(live))
        .route(
            "/health/ready",
            axum::routing::get(move || {
                let health = health.clone();
                async move { answer(health.ready().await) }
            }),
        )
}

/// The probes and `/health/` itself: a consumer-only process's operations port, which has
/// no generated router to serve `/health/`.
pub fn operations_routes(health: HealthChecker) -> Router {
    probe_routes(health.clone()).route(
        "/health/",
        axum::routing::get(move || {
            let health = health.clone();
            async move { answer(health.check().await) }
        }),
    )
}

/// Liveness checks nothing: answering is the proof.
async fn live() -> Response {
    answer(Health::from_checks(BTreeMap::new()))
}

fn answer(health: Health) -> Response {
    let status = if answers_ok(health.status) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(health)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    use Need::{Deliver, Optional, Serve};
    use Verdict::{Degraded, Ok as Fine, Unavailable};

    #[test]
    fn the_verdict_fails_only_on_what_the_probe_requires() {
        /// The checks, then the verdicts of `/health/` and of `/health/ready`.
        type Case = (&'static [(Need, bool)], Verdict, Verdict);
        let cases: &[Case] = &[
            (&[], Fine, Fine),
            (
                &[(Serve, true), (Deliver, true), (Optional, true)],
                Fine,
                Fine,
            ),
            (&[(Serve, true), (Optional, false)], Degraded, Degraded),
            (&[(Serve, true), (Deliver, false)], Degraded, Unavailable),
            (
                &[(Serve, true), (Deliver, false), (Optional, false)],
                Degraded,
                Unavailable,
            ),
            (&[(Serve, false)], Unavailable, Unavailable),
            (
                &[(Optional, false), (Serve, false)],
                Unavailable,
                Unavailable,
            ),
            (
                &[(Serve, true), (Serve, false), (Deliver, true)],
                Unavailable,
                Unavailable,
            ),
        ];
        for (checks, health, ready) in cases {
            assert_eq!(
                verdict(Probe::Health, checks.iter().copied()),
                *health,
                "/health/ of {checks:?}"
            );
            assert_eq!(
                verdict(Probe::Ready, checks.iter().copied()),
                *ready,
                "/health/ready of {checks:?}"
            );
        }
        assert!(
            answers_ok(Fine.status())
                && answers_ok(Degraded.status())
                && !answers_ok(Unavailable.status())
        );
    }

    #[test]
    fn a_failing_optional_check_is_named_and_marked_optional() {
        let report = Report {
            checks: BTreeMap::from([
                ("database".to_string(), (Serve, Check::ready())),
                (
                    "registry".to_string(),
                    (Optional, Check::not_ready("connection refused")),
                ),
            ]),
        };
        let health = report.health(Probe::Ready);
        assert_eq!(health.status, HealthStatus::Ok);
        assert!(health.degraded);
        assert_eq!(
            health.checks["registry"].detail.as_deref(),
            Some("optional, the service works without it: connection refused")
        );
        let json = serde_json::to_value(&health).expect("json");
        assert_eq!(
            (&json["status"], &json["degraded"]),
            (&"ok".into(), &true.into())
        );
    }

    #[test]
    fn a_slot_is_ready_when_present_and_active() {
        let slot = |active, retained| SlotState {
            name: "s".into(),
            active,
            retained_wal_bytes: retained,
        };
        let missing = slot_check(None);
        assert!(!missing.ready);
        assert!(missing.detail.expect("detail").contains("missing"));
        let inactive = slot_check(Some(&slot(false, Some(4096))));
        assert!(!inactive.ready);
        assert_eq!(
            inactive.detail.as_deref(),
            Some("inactive (no connector streams from it), retains 4096 bytes of WAL")
        );
        let active = slot_check(Some(&slot(true, Some(56))));
        assert!(active.ready);
        assert_eq!(
            active.detail.as_deref(),
            Some("active, retains 56 bytes of WAL")
        );
    }

    #[test]
    fn a_consumer_without_partitions_yet_is_not_ready() {
        let check = consumer_check(&ConsumerHealth::default());
        assert!(!check.ready);
    }
}
