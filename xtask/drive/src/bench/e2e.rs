//! End-to-end consistency: open-loop writes followed into planning's read model, the rate
//! ladder, and the consumer-only replay.
//!
//! Nothing polls planning's API per entity: every hop leaves a timestamp on the same machine
//! clock (the write's transaction, Debezium's record timestamps on the topics, accounting's
//! inbox, planning's `updated_at`), read in bulk once the run is over. What each hop includes
//! is spelled out in [`super::report::HOP_NOTES`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use contract_runtime::event::CanonicalEvent;
use contracts::{events, topology};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use uuid::Uuid;

use super::lag::{self, LagSampler};
use super::load;
use super::plot::{Chart, Series};
use super::procs::{Sampler, Usage};
use super::report::{self, ConsistencyRun, EntityConsistency, Hop, Percentiles, Replay, Results};
use super::rest;
use super::{Bench, Service};
use crate::services;
use ops::rebuild::PLANNING_GROUPS;

fn planning_groups() -> Vec<&'static str> {
    PLANNING_GROUPS.iter().map(|(group, _)| *group).collect()
}

const PERSON_TOPIC: &str = events::Person::TOPIC;
const SHEET_TOPIC: &str = events::BalanceSheet::TOPIC;
/// Accounting's CDC translator: its group and the private topic it reads.
const CDC_TOPIC: &str = topology::accounting::subscriptions::PRIVATE_ACCOUNTING_BAL_SHEET_CDC.topic;
const TRANSLATOR_GROUP: &str =
    topology::accounting::subscriptions::PRIVATE_ACCOUNTING_BAL_SHEET_CDC.group;

/// In-flight cap of the open loop: far above what the rates need at normal latencies, so it
/// only bites when the services stall (and then the wait shows up as latency).
const MAX_IN_FLIGHT: usize = 256;

/// What one write created.
#[derive(Debug, Clone, Copy)]
enum Written {
    Person(Uuid),
    Sheet(Uuid),
}

pub async fn consistency(bench: &mut Bench) -> Result<Vec<ConsistencyRun>> {
    rest::ensure_owners(bench).await?;
    let mut runs = Vec::new();
    for rate in bench.plan.e2e_rates.clone() {
        let run = follow(bench, rate, bench.plan.e2e_duration).await?;
        print_run(&run);
        runs.push(run);
    }
    Ok(runs)
}

/// Steps the rate up until the pipeline no longer keeps up; returns the steps and the highest
/// rate that kept up.
pub async fn ladder(bench: &mut Bench) -> Result<(Vec<ConsistencyRun>, Option<f64>)> {
    rest::ensure_owners(bench).await?;
    let mut steps = Vec::new();
    let mut highest = None;
    for rate in bench.plan.ladder_rates.clone() {
        let step = follow(bench, rate, bench.plan.ladder_step).await?;
        print_run(&step);
        let kept_up = step.kept_up;
        steps.push(step);
        if !kept_up {
            break;
        }
        highest = Some(rate);
    }
    Ok((steps, highest))
}

fn print_run(run: &ConsistencyRun) {
    for entity in &run.entities {
        if let Some(e2e) = &entity.e2e {
            println!(
                "bench:   {:>13}: {}/{} visible, e2e p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                entity.kind, entity.visible, entity.written, e2e.p50_ms, e2e.p99_ms, e2e.max_ms
            );
        }
        for hop in &entity.hops {
            if let Some(latency) = &hop.latency {
                println!(
                    "bench:     {:<48} p50 {:>7.2} ms  p99 {:>7.2} ms",
                    hop.name, latency.p50_ms, latency.p99_ms
                );
            }
        }
    }
    println!(
        "bench:   backlog growth {:.1}/s over the second half: {}",
        run.backlog_slope_per_s,
        if run.kept_up {
            "kept up"
        } else {
            "did NOT keep up"
        }
    );
}

/// Writes persons and balance sheets alternately at `rate` for `duration`, waits until
/// planning shows them, and reads every hop's timestamps.
async fn follow(bench: &Bench, rate: f64, duration: Duration) -> Result<ConsistencyRun> {
    println!("bench: {rate:.0} writes/s for {duration:.0?}");
    let bootstrap = bench.info.kafka_bootstrap_servers.clone();
    let starts = blocking({
        let bootstrap = bootstrap.clone();
        move || {
            let reader = lag::observer(&bootstrap, "bench-reader")?;
            let mut starts = BTreeMap::new();
            for topic in [PERSON_TOPIC, SHEET_TOPIC, CDC_TOPIC] {
                starts.insert(topic, lag::high_watermarks(&reader, topic)?);
            }
            Ok(starts)
        }
    })
    .await?;
    let sampler_started = SystemTime::now();
    let sampler = blocking(move || LagSampler::start(&bootstrap)).await?;

    let persons = bench.persons.clone();
    let accounting = bench.accounting.clone();
    let owners = Arc::new(bench.owners.clone());
    let run = load::open_loop(
        rate,
        duration,
        MAX_IN_FLIGHT,
        Duration::from_secs(30),
        move |index| {
            let (persons, accounting, owners) =
                (persons.clone(), accounting.clone(), owners.clone());
            async move {
                if index % 2 == 0 {
                    rest::create_person(&persons, index)
                        .await
                        .map(Written::Person)
                } else {
                    let owner = owners[(index as usize / 2) % owners.len().max(1)];
                    rest::create_sheet(&accounting, owner, index)
                        .await
                        .map(Written::Sheet)
                }
            }
        },
    )
    .await;
    let (person_ids, sheet_ids): (Vec<Uuid>, Vec<Uuid>) = {
        let mut persons = Vec::new();
        let mut sheets = Vec::new();
        for written in run.successes().filter_map(|s| s.outcome.as_ref().ok()) {
            match written {
                Written::Person(id) => persons.push(*id),
                Written::Sheet(id) => sheets.push(*id),
            }
        }
        (persons, sheets)
    };
    println!(
        "bench:   {} writes in {:.1?} ({:.0}/s achieved, {} errors{}); waiting for planning",
        run.samples.len(),
        run.elapsed,
        run.achieved_rate(),
        run.errors(),
        run.first_error()
            .map_or(String::new(), |e| format!(", first: {e}"))
    );
    wait_visible(bench, &person_ids, &sheet_ids).await?;
    let lag_samples = blocking(move || Ok(sampler.finish())).await?;
    let stamps = Stamps::read(bench, &starts, &person_ids, &sheet_ids).await?;

    // Everything as milliseconds since the epoch, and relative to the first scheduled write.
    let origin_ms = epoch_ms(run.started_at);
    let mut person_e2e = Vec::new();
    let mut sheet_e2e = Vec::new();
    let mut person_hops = HopSamples::default();
    let mut sheet_hops = HopSamples::default();
    let mut backlog_events: Vec<(f64, i64)> = Vec::new();
    for sample in run.successes() {
        let responded = epoch_ms(sample.responded_at);
        backlog_events.push(((responded - origin_ms) / 1000.0, 1));
        let Ok(written) = &sample.outcome else {
            continue;
        };
        let (id, chain, e2e, hops) = match written {
            Written::Person(id) => (id, &stamps.person, &mut person_e2e, &mut person_hops),
            Written::Sheet(id) => (id, &stamps.sheet, &mut sheet_e2e, &mut sheet_hops),
        };
        let Some(visible) = chain.visible(id) else {
            continue;
        };
        backlog_events.push(((visible - origin_ms) / 1000.0, -1));
        e2e.push(visible - responded);
        hops.add(chain, id, responded);
    }
    let entities = vec![
        EntityConsistency {
            kind: "person",
            written: person_ids.len(),
            visible: stamps.person.visible_count(),
            e2e: Percentiles::of(&person_e2e),
            hops: person_hops.finish(),
            cdf: report::cdf(&person_e2e, 200),
        },
        EntityConsistency {
            kind: "balance sheet",
            written: sheet_ids.len(),
            visible: stamps.sheet.visible_count(),
            e2e: Percentiles::of(&sheet_e2e),
            hops: sheet_hops.finish(),
            cdf: report::cdf(&sheet_e2e, 200),
        },
    ];
    let backlog = backlog_timeline(backlog_events);
    let window = duration.as_secs_f64();
    let backlog_slope_per_s = slope(
        backlog
            .iter()
            .filter(|(t, _)| *t >= window / 2.0 && *t <= window)
            .map(|(t, b)| (*t, *b as f64)),
    );
    let achieved = run.achieved_rate();
    let offset_s = sampler_started
        .duration_since(run.started_at)
        .map(|d| d.as_secs_f64())
        .unwrap_or_else(|e| -e.duration().as_secs_f64());
    let lag = lag_samples
        .into_iter()
        .map(|mut sample| {
            sample.at_s += offset_s;
            sample
        })
        .collect();
    let write_latencies: Vec<f64> = run
        .successes()
        .map(|s| s.latency.as_secs_f64() * 1000.0)
        .collect();
    Ok(ConsistencyRun {
        offered_rps: rate,
        achieved_rps: achieved,
        duration_s: window,
        write_errors: run.errors(),
        write_latency: Percentiles::of(&write_latencies),
        kept_up: kept_up(rate, achieved, run.errors(), backlog_slope_per_s),
        entities,
        backlog,
        backlog_slope_per_s,
        lag,
    })
}

/// A step keeps up when the writes went out at the offered rate without errors and the
/// backlog did not grow: a growth of 5% of the input rate means the pipeline drains only 95%
/// of what comes in, and the lag grows without bound.
fn kept_up(offered: f64, achieved: f64, errors: usize, backlog_slope: f64) -> bool {
    achieved >= 0.95 * offered && errors == 0 && backlog_slope < 0.05 * offered
}

fn epoch_ms(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn timestamp_ms(time: DateTime<Utc>) -> f64 {
    time.timestamp_micros() as f64 / 1000.0
}

/// Written-but-not-visible entities every 250 ms, from (seconds, +1 written / -1 visible).
fn backlog_timeline(mut events: Vec<(f64, i64)>) -> Vec<(f64, i64)> {
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let end = events.last().map_or(0.0, |e| e.0);
    let mut timeline = Vec::new();
    let mut backlog = 0;
    let mut next = 0;
    let mut t = 0.0;
    while t <= end + 0.25 {
        while next < events.len() && events[next].0 <= t {
            backlog += events[next].1;
            next += 1;
        }
        timeline.push((t, backlog));
        t += 0.25;
    }
    timeline
}

/// Least-squares slope of `points`.
fn slope(points: impl Iterator<Item = (f64, f64)>) -> f64 {
    let points: Vec<(f64, f64)> = points.collect();
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let variance: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if variance == 0.0 {
        0.0
    } else {
        covariance / variance
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("a blocking task panicked")?
}

/// Waits until planning's read model holds every id (or the plan's drain timeout passes),
/// printing progress.
pub async fn wait_visible(bench: &Bench, persons: &[Uuid], sheets: &[Uuid]) -> Result<bool> {
    let started = Instant::now();
    let total = persons.len() + sheets.len();
    let mut last_print = Instant::now();
    loop {
        let visible_persons: i64 =
            sqlx::query_scalar("SELECT count(*) FROM person WHERE id = ANY($1)")
                .bind(persons)
                .fetch_one(&bench.planning_db)
                .await
                .context("counting planning's persons")?;
        let visible_sheets: i64 =
            sqlx::query_scalar("SELECT count(*) FROM balance_sheet WHERE id = ANY($1)")
                .bind(sheets)
                .fetch_one(&bench.planning_db)
                .await
                .context("counting planning's balance sheets")?;
        let visible = (visible_persons + visible_sheets) as usize;
        if visible >= total {
            if started.elapsed() > Duration::from_secs(2) {
                println!(
                    "bench:   planning caught up with {total} entities after {:.1?}",
                    started.elapsed()
                );
            }
            return Ok(true);
        }
        if started.elapsed() > bench.plan.drain_timeout {
            println!(
                "bench:   planning shows {visible} of {total} entities after {:.0?}; moving on",
                bench.plan.drain_timeout
            );
            return Ok(false);
        }
        if last_print.elapsed() > Duration::from_secs(5) {
            println!("bench:   planning shows {visible} of {total} entities");
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Where one kind of entity has been on its way into planning's read model: its milestones
/// in the order they happen, each a map of entity id to ms since the epoch. A milestone an
/// entity lacks (a translator that produces to Kafka itself keeps no inbox row) is skipped,
/// and the hop spans the gap.
#[derive(Default)]
struct Chain {
    milestones: Vec<(&'static str, HashMap<Uuid, f64>)>,
    /// Planning's commit of the entity, or where commit timestamps are off (PostgreSQL's
    /// `track_commit_timestamp`), the start of its transaction.
    visible: HashMap<Uuid, f64>,
}

/// The milestone the pipeline starts from: the source service's commit.
const COMMIT: &str = "commit";

impl Chain {
    fn push(&mut self, milestone: &'static str, stamps: HashMap<Uuid, f64>) {
        self.milestones.push((milestone, stamps));
    }

    /// Ends the chain: planning's apply (transaction start) and commit.
    fn finish(mut self, applied: HashMap<Uuid, f64>, committed: HashMap<Uuid, f64>) -> Self {
        let mut visible = applied.clone();
        visible.extend(committed.iter().map(|(id, at)| (*id, *at)));
        self.visible = visible;
        self.push("planning apply", applied);
        self.push("planning commit", committed);
        self
    }

    fn get(&self, milestone: &str, id: &Uuid) -> Option<f64> {
        self.milestones
            .iter()
            .find(|(name, _)| *name == milestone)
            .and_then(|(_, stamps)| stamps.get(id).copied())
    }

    fn visible(&self, id: &Uuid) -> Option<f64> {
        self.visible.get(id).copied()
    }

    fn visible_count(&self) -> usize {
        self.visible.len()
    }
}

/// The latencies of each hop, in the order the hops were first seen.
#[derive(Default)]
struct HopSamples {
    order: Vec<String>,
    samples: HashMap<String, Vec<f64>>,
}

/// The whole pipeline: the source's commit to planning's.
const PIPELINE_HOP: &str = "commit → planning commit (the pipeline)";
/// Beside the pipeline: when the client had its response.
const RESPONSE_HOP: &str = "commit → client response";

impl HopSamples {
    fn record(&mut self, hop: String, latency_ms: f64) {
        if !self.samples.contains_key(&hop) {
            self.order.push(hop.clone());
        }
        self.samples.entry(hop).or_default().push(latency_ms);
    }

    /// The hops between `id`'s consecutive milestones, the whole pipeline, and the response.
    fn add(&mut self, chain: &Chain, id: &Uuid, responded_ms: f64) {
        let present: Vec<(&str, f64)> = chain
            .milestones
            .iter()
            .filter_map(|(name, stamps)| stamps.get(id).map(|at| (*name, *at)))
            .collect();
        for pair in present.windows(2) {
            self.record(
                format!("{} → {}", pair[0].0, pair[1].0),
                pair[1].1 - pair[0].1,
            );
        }
        if let Some(commit) = chain.get(COMMIT, id) {
            if let Some(visible) = chain.get("planning commit", id) {
                self.record(PIPELINE_HOP.into(), visible - commit);
            }
            self.record(RESPONSE_HOP.into(), responded_ms - commit);
        }
    }

    fn finish(mut self) -> Vec<Hop> {
        self.order
            .into_iter()
            .map(|name| {
                let latency = self.samples.remove(&name).and_then(|v| Percentiles::of(&v));
                Hop { name, latency }
            })
            .collect()
    }
}

/// Every milestone of the entities of one run.
struct Stamps {
    person: Chain,
    sheet: Chain,
}

/// One record of a topic: its key as an id, where it is, its timestamp.
struct Record {
    id: Uuid,
    partition: i32,
    offset: i64,
    timestamp_ms: f64,
    /// For Debezium's CDC records (JSON envelopes): when Debezium read the change.
    envelope: Option<EnvelopeTimes>,
}

/// The timestamp of a Debezium change-event envelope, in ms since the epoch.
#[derive(Debug, Clone, Copy)]
struct EnvelopeTimes {
    /// The envelope's `ts_us`: when Debezium processed the change it read from the slot.
    read_ms: f64,
}

impl EnvelopeTimes {
    fn parse(value: &[u8]) -> Option<Self> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            ts_us: i64,
        }
        let envelope: Envelope = serde_json::from_slice(value).ok()?;
        Some(Self {
            read_ms: envelope.ts_us as f64 / 1000.0,
        })
    }
}

/// Per id of `table`, its timestamp `column` and its row's commit time, in ms since the
/// epoch, in one query; NULL commit times (transactions from before
/// `track_commit_timestamp` was on) are left out.
async fn row_stamps(
    table: &str,
    column: &str,
    ids: &[Uuid],
    pool: &sqlx::PgPool,
) -> Result<(HashMap<Uuid, f64>, HashMap<Uuid, f64>)> {
    let query = format!(
        "SELECT id, {column}, pg_xact_commit_timestamp(xmin) FROM {table} WHERE id = ANY($1)"
    );
    let rows: Vec<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(&query)
        .bind(ids)
        .fetch_all(pool)
        .await
        .with_context(|| format!("reading stamps: {query}"))?;
    let mut stamped = HashMap::new();
    let mut committed = HashMap::new();
    for (id, at, commit) in rows {
        stamped.insert(id, timestamp_ms(at));
        if let Some(commit) = commit {
            committed.insert(id, timestamp_ms(commit));
        }
    }
    Ok((stamped, committed))
}

impl Stamps {
    async fn read(
        bench: &Bench,
        starts: &BTreeMap<&'static str, BTreeMap<i32, i64>>,
        persons: &[Uuid],
        sheets: &[Uuid],
    ) -> Result<Self> {
        let (person_db, accounting_db, planning_db) =
            (&bench.person_db, &bench.accounting_db, &bench.planning_db);
        let wanted: HashSet<Uuid> = persons.iter().chain(sheets).copied().collect();
        let wanted = Arc::new(wanted);
        let bootstrap = bench.info.kafka_bootstrap_servers.clone();
        let starts = starts.clone();
        let (person_records, cdc_records, sheet_records) = blocking(move || {
            let read = |topic: &str| read_records(&bootstrap, topic, &starts[topic], &wanted);
            Ok((read(PERSON_TOPIC)?, read(CDC_TOPIC)?, read(SHEET_TOPIC)?))
        })
        .await?;
        let by_id = |records: &[Record]| -> HashMap<Uuid, f64> {
            records.iter().map(|r| (r.id, r.timestamp_ms)).collect()
        };

        let mut person = Chain::default();
        let (started, committed) = row_stamps("person", "created", persons, person_db).await?;
        person.push("tx start", started);
        person.push(COMMIT, committed);
        person.push("debezium read", by_id(&person_records));
        let (applied, committed) = row_stamps("person", "updated_at", persons, planning_db).await?;
        let person = person.finish(applied, committed);

        let mut sheet = Chain::default();
        let (requested, committed) =
            row_stamps("balance_sheet", "date_calculated", sheets, accounting_db).await?;
        sheet.push("request", requested);
        sheet.push(COMMIT, committed);
        sheet.push(
            "cdc read",
            cdc_records
                .iter()
                .filter_map(|r| Some((r.id, r.envelope?.read_ms)))
                .collect(),
        );
        sheet.push("cdc record", by_id(&cdc_records));
        let (translating, translated) = translator_stamps(bench, &cdc_records).await?;
        sheet.push("translator apply", translating);
        sheet.push("translator commit", translated);
        sheet.push("public record", by_id(&sheet_records));
        let (applied, committed) =
            row_stamps("balance_sheet", "updated_at", sheets, planning_db).await?;
        let sheet = sheet.finish(applied, committed);
        Ok(Self { person, sheet })
    }
}

/// The translator's inbox rows name the CDC records they came from by position: per sheet,
/// the start of the translator's transaction (`processed_at`) and its commit. Empty when the
/// translator keeps no inbox (it produces to Kafka in a Kafka transaction instead).
async fn translator_stamps(
    bench: &Bench,
    cdc_records: &[Record],
) -> Result<(HashMap<Uuid, f64>, HashMap<Uuid, f64>)> {
    let by_position: HashMap<(i32, i64), Uuid> = cdc_records
        .iter()
        .map(|r| ((r.partition, r.offset), r.id))
        .collect();
    let (mut started, mut committed) = (HashMap::new(), HashMap::new());
    for (partition, start) in &lowest_offsets(&by_position) {
        let rows: Vec<(i64, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT kafka_offset, processed_at, pg_xact_commit_timestamp(xmin) FROM inbox \
             WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = $3 AND kafka_offset >= $4",
        )
        .bind(TRANSLATOR_GROUP)
        .bind(CDC_TOPIC)
        .bind(partition)
        .bind(start)
        .fetch_all(&bench.accounting_db)
        .await
        .context("reading accounting's inbox")?;
        for (offset, processed_at, commit) in rows {
            if let Some(id) = by_position.get(&(*partition, offset)) {
                started.insert(*id, timestamp_ms(processed_at));
                if let Some(commit) = commit {
                    committed.insert(*id, timestamp_ms(commit));
                }
            }
        }
    }
    Ok((started, committed))
}

/// The lowest offset per partition among `positions`.
fn lowest_offsets(positions: &HashMap<(i32, i64), Uuid>) -> BTreeMap<i32, i64> {
    let mut starts: BTreeMap<i32, i64> = BTreeMap::new();
    for (partition, offset) in positions.keys() {
        let start = starts.entry(*partition).or_insert(*offset);
        *start = (*start).min(*offset);
    }
    starts
}

/// Reads `topic` from `starts` up to its current end, keeping the records keyed by a wanted
/// id (other engineers' writes may be interleaved).
fn read_records(
    bootstrap: &str,
    topic: &str,
    starts: &BTreeMap<i32, i64>,
    wanted: &HashSet<Uuid>,
) -> Result<Vec<Record>> {
    let consumer = lag::observer(bootstrap, "bench-reader")?;
    let mut ends = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for (partition, start) in starts {
        let (_, high) = consumer
            .fetch_watermarks(topic, *partition, Duration::from_secs(5))
            .with_context(|| format!("watermarks of {topic}"))?;
        if high > *start {
            ends.insert(*partition, high);
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(*start))
                .context("building the assignment")?;
        }
    }
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    consumer
        .assign(&assignment)
        .context("cannot assign partitions")?;
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ends.is_empty() && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.with_context(|| format!("reading {topic}"))?;
        let (partition, offset) = (message.partition(), message.offset());
        if let (Some(key), Some(timestamp)) = (message.key(), message.timestamp().to_millis())
            && let Some(id) = std::str::from_utf8(key)
                .ok()
                .and_then(|k| Uuid::parse_str(k).ok())
            && wanted.contains(&id)
        {
            records.push(Record {
                id,
                partition,
                offset,
                timestamp_ms: timestamp as f64,
                envelope: message.payload().and_then(EnvelopeTimes::parse),
            });
        }
        if ends.get(&partition).is_some_and(|end| offset + 1 >= *end) {
            ends.remove(&partition);
        }
    }
    Ok(records)
}

/// Planning stopped, its read model and inbox emptied, its groups reset to the beginning,
/// started again: how fast it applies events when it only consumes.
pub async fn replay(bench: &Bench) -> Result<(Replay, Vec<Usage>)> {
    let bootstrap = bench.info.kafka_bootstrap_servers.clone();
    services::stop(&bench.config, Service::Planning)?;
    sqlx::query("TRUNCATE person, balance_sheet")
        .execute(&bench.planning_db)
        .await
        .context("emptying planning's read model")?;
    sqlx::query("DELETE FROM inbox WHERE consumer_group = ANY($1)")
        .bind(planning_groups())
        .execute(&bench.planning_db)
        .await
        .context("deleting planning's inbox rows")?;
    let messages = blocking({
        let bootstrap = bootstrap.clone();
        move || {
            let mut messages = 0;
            for (group, topic) in PLANNING_GROUPS {
                messages += reset_to_beginning(&bootstrap, group, topic)?;
            }
            Ok(messages)
        }
    })
    .await?;
    println!(
        "bench: planning stopped, read model emptied, groups reset: {messages} messages to replay"
    );

    bench.launch.up()?;
    let mut watched = bench.watched();
    for process in &mut watched {
        process.started_in_scenario = process.name == Service::Planning.binary();
    }
    let sampler = Sampler::start(watched);
    let started_at = services::running_pid(&bench.config, Service::Planning)
        .and_then(process_start_ms)
        .unwrap_or_else(|| epoch_ms(SystemTime::now()));
    let limit = bench.plan.replay_limit;
    let caught_up = blocking(move || {
        let observers = PLANNING_GROUPS
            .iter()
            .map(|(group, topic)| {
                let consumer = lag::observer(&bootstrap, group)?;
                let partitions = lag::partitions(&consumer, topic)?;
                Ok((consumer, topic, partitions))
            })
            .collect::<Result<Vec<_>>>()?;
        let started = Instant::now();
        let mut last_print = Instant::now();
        while started.elapsed() < limit {
            let mut lag = 0;
            for (consumer, topic, partitions) in &observers {
                lag += lag::group_lag(consumer, topic, partitions).unwrap_or(i64::MAX / 4);
            }
            if lag == 0 {
                return Ok(true);
            }
            if last_print.elapsed() > Duration::from_secs(5) {
                println!("bench:   planning lags {lag} messages (committed offsets)");
                last_print = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(false)
    })
    .await?;
    let usage = sampler.finish();
    let (applied, first, last): (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(processed_at), max(processed_at) FROM inbox WHERE consumer_group = ANY($1)",
    )
    .bind(planning_groups())
    .fetch_one(&bench.planning_db)
    .await
    .context("counting planning's applied events")?;
    let (first_ms, last_ms) = (
        first.map_or(f64::NAN, timestamp_ms),
        last.map_or(f64::NAN, timestamp_ms),
    );
    let replay = Replay {
        messages,
        applied,
        applied_per_s: applied as f64 / ((last_ms - first_ms) / 1000.0).max(1e-3),
        first_event_after_s: (first_ms - started_at) / 1000.0,
        wall_s: if caught_up {
            (last_ms - started_at) / 1000.0
        } else {
            limit.as_secs_f64()
        },
        caught_up,
    };
    println!(
        "bench: replay applied {} events at {:.0}/s (first after {:.1} s){}",
        replay.applied,
        replay.applied_per_s,
        replay.first_event_after_s,
        if caught_up {
            ""
        } else {
            "; stopped measuring at the time limit, planning keeps catching up"
        }
    );
    Ok((replay, usage))
}

/// Resets `group` to the beginning of `topic` (planning is stopped, so the group has no
/// members; one killed rather than stopped stays a member until its session times out, so
/// retry for a while). Returns how many messages the topic holds.
fn reset_to_beginning(bootstrap: &str, group: &str, topic: &str) -> Result<i64> {
    let consumer = lag::observer(bootstrap, group)?;
    let mut messages = 0;
    for partition in lag::partitions(&consumer, topic)? {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(5))
            .with_context(|| format!("watermarks of {topic}"))?;
        messages += high - low;
    }
    let started = Instant::now();
    loop {
        match crate::kafka_groups::reset_to_beginning(bootstrap, group, &[topic]) {
            Ok(()) => {
                if started.elapsed() > Duration::from_secs(1) {
                    println!("bench:   {group} reset after {:.0?}", started.elapsed());
                }
                return Ok(messages);
            }
            Err(error) if started.elapsed() < Duration::from_secs(60) => {
                if started.elapsed() < Duration::from_secs(1) {
                    println!(
                        "bench:   {group} still has a member ({error:#}); waiting for its session to expire"
                    );
                }
                std::thread::sleep(Duration::from_secs(2));
            }
            Err(error) => return Err(error),
        }
    }
}

/// When process `pid` started, in ms since the epoch (`/proc/<pid>/stat` start time after
/// boot plus the boot time of `/proc/stat`).
fn process_start_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    // After the name, start time is field 20 (0-based 19).
    let start_ticks: f64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot_s: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some((boot_s + start_ticks / super::procs::ticks_per_second()) * 1000.0)
}

/// The latency CDF of every consistency run, one line per rate and entity.
pub fn cdf_charts(results: &Results) -> Vec<Chart> {
    let series = results
        .consistency
        .iter()
        .flat_map(|run| {
            run.entities.iter().map(move |entity| Series {
                name: format!("{} @ {:.0}/s", entity.kind, run.offered_rps),
                points: entity.cdf.clone(),
                dashed: entity.kind != "person",
            })
        })
        .collect();
    vec![Chart {
        title: format!(
            "End-to-end consistency latency: create response → visible in planning ({})",
            results.label
        ),
        x_label: "latency, ms (log scale)".into(),
        y_label: "fraction of entities visible".into(),
        x_log: true,
        series,
    }]
}

/// Backlog and committed lag over time for each ladder step (or the consistency runs when no
/// ladder ran).
pub fn lag_charts(results: &Results) -> Vec<Chart> {
    let runs = if results.ladder.is_empty() {
        &results.consistency
    } else {
        &results.ladder
    };
    let backlog = runs
        .iter()
        .map(|run| Series {
            name: format!(
                "{:.0} writes/s{}",
                run.offered_rps,
                if run.kept_up { "" } else { " ✗" }
            ),
            points: run.backlog.iter().map(|(t, b)| (*t, *b as f64)).collect(),
            dashed: false,
        })
        .collect();
    let committed = runs
        .iter()
        .map(|run| Series {
            name: format!("{:.0} writes/s", run.offered_rps),
            points: run
                .lag
                .iter()
                .filter(|s| s.at_s >= 0.0)
                .map(|s| (s.at_s, s.lag.values().sum::<i64>() as f64))
                .collect(),
            dashed: true,
        })
        .collect();
    vec![
        Chart {
            title: "Backlog: written, not yet visible in planning (exact, from timestamps)".into(),
            x_label: "seconds since the step's first write".into(),
            y_label: "entities".into(),
            x_log: false,
            series: backlog,
        },
        Chart {
            title: "Consumer-group lag, committed offsets (3 groups summed; commits every 5 s)"
                .into(),
            x_label: "seconds since the step's first write".into(),
            y_label: "messages".into(),
            x_log: false,
            series: committed,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_join_consecutive_milestones_and_span_the_missing_ones() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let stamps = |pairs: &[(Uuid, f64)]| pairs.iter().copied().collect::<HashMap<_, _>>();
        let mut chain = Chain::default();
        chain.push(COMMIT, stamps(&[(a, 100.0), (b, 200.0)]));
        // `b` has no inbox row (a translator without one): its hop spans the gap.
        chain.push("translator commit", stamps(&[(a, 110.0)]));
        chain.push("public record", stamps(&[(a, 130.0), (b, 240.0)]));
        let chain = chain.finish(
            stamps(&[(a, 150.0), (b, 250.0)]),
            stamps(&[(a, 151.0), (b, 252.0)]),
        );
        let mut hops = HopSamples::default();
        hops.add(&chain, &a, 105.0);
        hops.add(&chain, &b, 203.0);
        let hops: Vec<(String, f64)> = hops
            .finish()
            .into_iter()
            .map(|hop| (hop.name, hop.latency.map_or(f64::NAN, |l| l.max_ms)))
            .collect();
        let expected = [
            ("commit → translator commit", 10.0),
            ("translator commit → public record", 20.0),
            ("public record → planning apply", 20.0),
            ("planning apply → planning commit", 2.0),
            (PIPELINE_HOP, 52.0),
            (RESPONSE_HOP, 5.0),
            ("commit → public record", 40.0),
        ];
        assert_eq!(hops.len(), expected.len(), "{hops:?}");
        for ((name, max), (expected_name, expected_max)) in hops.iter().zip(expected) {
            assert_eq!(name, expected_name);
            assert!((max - expected_max).abs() < 1e-9, "{name}: {max}");
        }
        assert_eq!(chain.visible(&b), Some(252.0));
        assert_eq!(chain.visible_count(), 2);
    }

    #[test]
    fn the_backlog_counts_written_minus_visible() {
        let timeline = backlog_timeline(vec![(0.1, 1), (0.2, 1), (0.3, -1), (0.6, -1)]);
        assert_eq!(timeline, [(0.0, 0), (0.25, 2), (0.5, 1), (0.75, 0)]);
    }

    #[test]
    fn slope_of_a_line() {
        let points = (0..10).map(|i| (f64::from(i), 3.0 * f64::from(i) + 1.0));
        assert!((slope(points) - 3.0).abs() < 1e-9);
        assert_eq!(slope(std::iter::empty()), 0.0);
    }

    #[test]
    fn keeping_up_needs_the_rate_no_errors_and_a_flat_backlog() {
        assert!(kept_up(1000.0, 990.0, 0, 10.0));
        assert!(!kept_up(1000.0, 900.0, 0, 0.0));
        assert!(!kept_up(1000.0, 1000.0, 1, 0.0));
        assert!(!kept_up(1000.0, 1000.0, 0, 80.0));
    }
}
