//! Prometheus metrics of every process, served as text on `/metrics`.
//!
//! Recorded through the `metrics` facade and rendered by `metrics-exporter-prometheus`. Names
//! follow the Prometheus conventions: snake case, base units in the name (`_seconds`),
//! counters ending in `_total`. Labels are bounded sets: route templates (never raw paths),
//! methods, status codes, consumer groups, topics and partitions.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ::metrics::{counter, gauge, histogram};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
pub const EVENTS_PROCESSED: &str = "consumer_events_processed_total";
pub const EVENTS_RETRIED: &str = "consumer_events_retried_total";
pub const EVENTS_DEAD_LETTERED: &str = "consumer_events_dead_lettered_total";
pub const EVENTS_DUPLICATE: &str = "consumer_events_duplicate_total";
pub const PROCESSING_DURATION: &str = "consumer_processing_duration_seconds";
pub const PARTITION_LAG: &str = "consumer_partition_lag";
pub const BATCH_SIZE: &str = "consumer_batch_size";
pub const CONSISTENCY_LAG: &str = "consistency_lag_seconds";
pub const OUTBOX_EVENTS_WRITTEN: &str = "outbox_events_written_total";
/// Records a transactional translator produced in committed transactions (the counterpart of
/// [`OUTBOX_EVENTS_WRITTEN`] for `TRANSLATOR_DELIVERY=kafka-transactions`).
pub const TRANSACTIONAL_RECORDS_PRODUCED: &str = "transactional_records_produced_total";
pub const DB_POOL_IN_USE: &str = "db_pool_connections_in_use";
pub const DB_POOL_IDLE: &str = "db_pool_connections_idle";
pub const DB_POOL_MAX: &str = "db_pool_connections_max";
pub const RELAY_CONNECTOR_RUNNING: &str = "relay_connector_running";
pub const REPLICATION_SLOT_EXISTS: &str = "replication_slot_exists";
pub const REPLICATION_SLOT_ACTIVE: &str = "replication_slot_active";
pub const REPLICATION_SLOT_RETAINED_WAL: &str = "replication_slot_retained_wal_bytes";

/// Request and processing durations: a request takes milliseconds, a retried one seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Commit-to-effect: tens of milliseconds when healthy, minutes behind an outage.
const CONSISTENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Messages per consumer transaction: one at low rates, hundreds while catching up.
const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static POOLS: Mutex<Vec<(String, PgPool)>> = Mutex::new(Vec::new());

/// Installs the process-wide recorder once (later calls return the same handle); `None` if
/// another recorder was installed first, in which case `/metrics` says so.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(CONSISTENCY_LAG.into()), CONSISTENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), BATCH_SIZE_BUCKETS)
                })
                .and_then(|b| b.set_buckets(DURATION_BUCKETS));
            let handle = match builder.map(PrometheusBuilder::install_recorder) {
                Ok(Ok(handle)) => handle,
                Ok(Err(error)) | Err(error) => {
                    tracing::warn!(%error, "no metrics recorder");
                    return None;
                }
            };
            let upkeep = handle.clone();
            // Histogram samples accumulate until drained; drain them even when nobody scrapes.
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "no metrics upkeep thread");
            }
            Some(handle)
        })
        .as_ref()
}

/// Reports `pool`'s connections (in use, idle, maximum) under `name` at every scrape.
pub fn watch_pool(name: &str, pool: &PgPool) {
    if let Ok(mut pools) = POOLS.lock() {
        pools.retain(|(n, _)| n != name);
        pools.push((name.to_string(), pool.clone()));
    }
}

/// The Prometheus text exposition of every metric of this process.
pub fn render() -> Option<String> {
    let handle = install()?;
    if let Ok(pools) = POOLS.lock() {
        for (name, pool) in pools.iter() {
            let size = pool.size();
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            gauge!(DB_POOL_IN_USE, "pool" => name.clone())
                .set(f64::from(size.saturating_sub(idle)));
            gauge!(DB_POOL_IDLE, "pool" => name.clone()).set(f64::from(idle));
            gauge!(DB_POOL_MAX, "pool" => name.clone())
                .set(f64::from(pool.options().get_max_connections()));
        }
    }
    Some(handle.render())
}

/// `GET /metrics`, to be merged into a process's router.
pub fn routes() -> Router {
    Router::new().route("/metrics", axum::routing::get(scrape))
}

async fn scrape() -> axum::response::Response {
    match render() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "no metrics recorder is installed in this process\n",
        )
            .into_response(),
    }
}

/// One HTTP request served; `route` is the matched template, `None` for unmatched paths.
pub fn http_request(route: Option<&str>, method: &str, status: u16, took: Duration) {
    histogram!(
        HTTP_REQUEST_DURATION,
        "method" => method.to_owned(),
        "route" => route.unwrap_or("unmatched").to_owned(),
        "status" => status.to_string(),
    )
    .record(took.as_secs_f64());
}

/// One event written to the outbox (in a transaction that may still roll back).
pub fn outbox_written(topic: &'static str) {
    counter!(OUTBOX_EVENTS_WRITTEN, "topic" => topic).increment(1);
}

/// `count` records produced to `topic` by a committed transaction.
pub fn transactional_produced(topic: &str, count: usize) {
    counter!(TRANSACTIONAL_RECORDS_PRODUCED, "topic" => topic.to_owned())
        .increment(u64::try_from(count).unwrap_or(u64::MAX));
}

/// What became of one consumed event, for the consumer counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// The effect and the inbox row committed.
    Processed,
    /// The inbox already had the event: a redelivery, skipped.
    Duplicate,
    /// An attempt failed and will be repeated.
    Retried,
    /// Sent to the dead-letter topic.
    DeadLettered,
}

impl EventOutcome {
    pub fn metric(self) -> &'static str {
        match self {
            Self::Processed => EVENTS_PROCESSED,
            Self::Duplicate => EVENTS_DUPLICATE,
            Self::Retried => EVENTS_RETRIED,
            Self::DeadLettered => EVENTS_DEAD_LETTERED,
        }
    }
}

/// Counts `outcome` for `group` and `topic`.
pub fn consumer_event(group: &str, topic: &str, outcome: EventOutcome) {
    counter!(outcome.metric(), "group" => group.to_owned(), "topic" => topic.to_owned())
        .increment(1);
}

/// The end of one message's handling by `group`: counts `outcome` (and, for applied
/// events, the consistency lag from its `ce_time` header) and records the processing time
/// since `started`.
pub fn event_finished(
    group: &str,
    raw: &crate::consumer::RawEvent,
    outcome: EventOutcome,
    started: std::time::Instant,
) {
    consumer_event(group, &raw.topic, outcome);
    consumer_processing(group, &raw.topic, started.elapsed());
    if outcome == EventOutcome::Processed
        && let Some(seconds) = ce_time_header(raw).as_deref().and_then(seconds_since)
    {
        consistency_lag(group, &raw.topic, seconds);
    }
}

fn ce_time_header(raw: &crate::consumer::RawEvent) -> Option<String> {
    use rdkafka::message::Headers as _;
    let headers = raw.headers.as_ref()?;
    headers
        .iter()
        .filter(|h| h.key == crate::cloudevents::TIME)
        .last()
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned)
}

/// How long one event took from receipt to the end of its handling (committed, skipped or
/// dead-lettered), retries included.
pub fn consumer_processing(group: &str, topic: &str, took: Duration) {
    histogram!(PROCESSING_DURATION, "group" => group.to_owned(), "topic" => topic.to_owned())
        .record(took.as_secs_f64());
}

/// The number of messages one consumer transaction applied (or tried to).
pub fn consumer_batch(group: &str, topic: &str, size: usize) {
    histogram!(BATCH_SIZE, "group" => group.to_owned(), "topic" => topic.to_owned())
        .record(size as f64);
}

/// Time from the event's `ce_time` to the commit of its effect. Negative differences (clock
/// skew between producer and consumer hosts) are recorded as zero.
pub fn consistency_lag(group: &str, topic: &str, seconds: f64) {
    histogram!(CONSISTENCY_LAG, "group" => group.to_owned(), "topic" => topic.to_owned())
        .record(seconds.max(0.0));
}

/// The consumer group's lag on one partition it owns.
pub fn partition_lag(group: &str, topic: &str, partition: i32, lag: i64) {
    gauge!(
        PARTITION_LAG,
        "group" => group.to_owned(),
        "topic" => topic.to_owned(),
        "partition" => partition.to_string(),
    )
    .set(lag as f64);
}

/// Whether the Debezium connector relaying this service's events and all its tasks run (1)
/// or not (0: failed, paused, unknown to Connect, or Connect unreachable).
pub fn relay_connector(connector: &str, running: bool) {
    gauge!(RELAY_CONNECTOR_RUNNING, "connector" => connector.to_owned())
        .set(f64::from(u8::from(running)));
}

/// A relay's replication slot: whether it exists, whether a connector streams from it, and
/// the WAL it retains (0 while the slot is missing: nothing is retained for it).
pub fn replication_slot(slot: &str, state: Option<&crate::health::SlotState>) {
    gauge!(REPLICATION_SLOT_EXISTS, "slot" => slot.to_owned())
        .set(f64::from(u8::from(state.is_some())));
    gauge!(REPLICATION_SLOT_ACTIVE, "slot" => slot.to_owned())
        .set(f64::from(u8::from(state.is_some_and(|s| s.active))));
    let retained = state.and_then(|s| s.retained_wal_bytes).unwrap_or(0);
    gauge!(REPLICATION_SLOT_RETAINED_WAL, "slot" => slot.to_owned()).set(retained as f64);
}

/// The seconds from `ce_time` (RFC 3339) to now; `None` when it does not parse.
pub fn seconds_since(ce_time: &str) -> Option<f64> {
    let time = chrono::DateTime::parse_from_rfc3339(ce_time).ok()?;
    let elapsed = chrono::Utc::now().signed_duration_since(time);
    Some(elapsed.num_microseconds()? as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ce_time_parses_and_garbage_does_not() {
        let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let seconds = seconds_since(&an_hour_ago).expect("parses");
        assert!((3599.0..3700.0).contains(&seconds), "{seconds}");
        assert_eq!(seconds_since("yesterday"), None);
    }

    #[test]
    fn the_exposition_has_histograms_with_buckets_and_counters() {
        install().expect("recorder");
        http_request(Some("/api/x/{id}/"), "GET", 200, Duration::from_millis(3));
        http_request(None, "GET", 404, Duration::from_millis(1));
        consumer_event("g", "t", EventOutcome::Processed);
        consumer_event("g", "t", EventOutcome::Processed);
        consistency_lag("g", "t", 0.04);
        let text = render().expect("rendered");
        assert!(
            text.contains(
                r#"http_server_request_duration_seconds_bucket{method="GET",route="/api/x/{id}/",status="200",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
        assert!(
            text.contains(r#"consumer_events_processed_total{group="g",topic="t"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"consistency_lag_seconds_bucket{group="g",topic="t",le="0.05"} 1"#),
            "{text}"
        );
    }
}
