//! The results of a run: what is kept (JSON), the markdown tables, and the sanity checks of
//! smoke mode.

use std::fmt::Write as _;

use anyhow::{Result, ensure};
use serde::Serialize;

use super::lag::LagSample;
use super::procs::Usage;

/// Latency percentiles (nearest rank) of a set of samples, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// `None` for no samples.
    pub fn of(values_ms: &[f64]) -> Option<Self> {
        let sorted = sorted(values_ms);
        let rank =
            |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        (!sorted.is_empty()).then(|| Self {
            count: sorted.len(),
            min_ms: sorted[0],
            p50_ms: rank(0.50),
            p95_ms: rank(0.95),
            p99_ms: rank(0.99),
            max_ms: sorted[sorted.len() - 1],
        })
    }

    fn cells(&self) -> String {
        format!(
            "{} | {} | {} | {}",
            ms(self.p50_ms),
            ms(self.p95_ms),
            ms(self.p99_ms),
            ms(self.max_ms)
        )
    }
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The empirical CDF thinned to at most `points` points: (latency ms, fraction ≤ it).
pub fn cdf(values_ms: &[f64], points: usize) -> Vec<(f64, f64)> {
    let sorted = sorted(values_ms);
    if sorted.is_empty() {
        return Vec::new();
    }
    let n = sorted.len();
    let step = (n / points.max(1)).max(1);
    let mut curve: Vec<(f64, f64)> = (0..n)
        .step_by(step)
        .map(|i| (sorted[i], (i + 1) as f64 / n as f64))
        .collect();
    // Keep the tail exactly: the last percent is where the interesting things are.
    let tail_start = n - n.div_ceil(100);
    for (i, value) in sorted.iter().enumerate().skip(tail_start) {
        curve.push((*value, (i + 1) as f64 / n as f64));
    }
    curve.sort_by(|a, b| a.1.total_cmp(&b.1));
    curve.dedup_by(|a, b| a.1 == b.1);
    curve
}

fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// One REST endpoint at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct RestRow {
    pub endpoint: String,
    pub concurrency: usize,
    /// Closed-loop throughput of `concurrency` connections sending back to back.
    pub capacity_rps: f64,
    /// The open-loop rate the latencies were measured at (a fraction of the capacity).
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub latency: Option<Percentiles>,
    pub errors: usize,
}

/// One hop of the way from a write to planning's read model.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub name: String,
    pub latency: Option<Percentiles>,
}

/// End-to-end consistency of one kind of entity in one run.
#[derive(Debug, Clone, Serialize)]
pub struct EntityConsistency {
    pub kind: &'static str,
    pub written: usize,
    pub visible: usize,
    /// Planning's commit minus the client's receipt of the create response.
    pub e2e: Option<Percentiles>,
    pub hops: Vec<Hop>,
    pub cdf: Vec<(f64, f64)>,
}

/// One open-loop write run followed into planning's read model.
#[derive(Debug, Clone, Serialize)]
pub struct ConsistencyRun {
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub duration_s: f64,
    pub write_errors: usize,
    pub write_latency: Option<Percentiles>,
    pub entities: Vec<EntityConsistency>,
    /// (seconds since the first write, entities written but not yet visible in planning).
    pub backlog: Vec<(f64, i64)>,
    /// Growth of the backlog over the second half of the write window, entities/s.
    pub backlog_slope_per_s: f64,
    pub lag: Vec<LagSample>,
    /// Whether the system kept up: the generator achieved the offered rate and the backlog
    /// did not grow (see `e2e::kept_up`).
    pub kept_up: bool,
}

impl ConsistencyRun {
    /// The worst e2e p99 over the entity kinds.
    pub fn worst_p99_ms(&self) -> Option<f64> {
        self.entities
            .iter()
            .filter_map(|e| e.e2e.as_ref().map(|p| p.p99_ms))
            .max_by(f64::total_cmp)
    }
}

/// Planning replaying its topics from the beginning.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// Messages on the two topics when the replay started.
    pub messages: i64,
    /// Events applied (inbox rows written) before the replay ended or the time limit.
    pub applied: i64,
    /// Applied events per second, between the first and the last applied event.
    pub applied_per_s: f64,
    /// From starting the process to the first applied event.
    pub first_event_after_s: f64,
    /// From starting the process to no lag (or the time limit).
    pub wall_s: f64,
    pub caught_up: bool,
}

/// What each process used during one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioUsage {
    pub scenario: String,
    pub wall_s: f64,
    pub usage: Vec<Usage>,
}

/// Everything one `cargo xtask bench` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub label: String,
    pub smoke: bool,
    pub started_at: String,
    pub machine: String,
    pub load_average_at_start: f64,
    pub git_commit: String,
    /// How the services were built and configured, and the connector settings.
    pub settings: Vec<(String, String)>,
    pub rest: Vec<RestRow>,
    pub consistency: Vec<ConsistencyRun>,
    pub ladder: Vec<ConsistencyRun>,
    /// The highest ladder rate at which the system kept up.
    pub max_sustained_rps: Option<f64>,
    pub replay: Option<Replay>,
    pub resources: Vec<ScenarioUsage>,
}

/// What each hop includes, for the report.
pub const HOP_NOTES: &str = "\
Every timestamp comes from the same machine clock. An entity's milestones, in order (a hop is \
the time between two consecutive ones):

- **tx start** (persons): `person.created`, `now()` of the person service's write.
- **request** (balance sheets): `balance_sheet.date_calculated`, the accounting service's \
clock just before its insert.
- **commit**: the source row's commit time, `pg_xact_commit_timestamp(xmin)` \
(`track_commit_timestamp = on`). The WAL flush follows it before the client is answered \
(`synchronous_commit = on`; the local stack runs `fsync = off`, so the flush is a write to \
the page cache) and before the walsender may send the change.
- **debezium read** (persons, the outbox relay): the Kafka record's timestamp on the person \
topic, which the Outbox EventRouter sets to the change event's `ts_ms`: the moment Debezium \
processed the change read from the slot. Before it: logical decoding in the walsender and \
Debezium's streaming loop, which sleeps `poll.interval.ms` whenever nothing is pending.
- **cdc read** (balance sheets): the CDC envelope's `ts_us`, the same moment for the \
accounting table's capture.
- **cdc record**: the record's timestamp on the private CDC topic. Plain CDC records carry no \
timestamp of their own, so Connect's producer stamps them when the task hands them over: the \
hop from the read is Debezium's queue until the Connect task's poll returns a batch (the \
poll waits up to `poll.interval.ms` for it to fill) and the converters and transforms.
- **translator apply / commit**: accounting's inbox row for that CDC record: `processed_at` \
(`now()` of the translator's batch transaction, after the fetch and the JSON decode) and the \
transaction's commit time (Avro encode, inbox and outbox rows, commit). A translator that \
produces to Kafka in a Kafka transaction keeps no inbox: the hop then goes straight from the \
CDC record to the public record.
- **public record** (balance sheets): the record's timestamp on the balance-sheet topic: the \
accounting outbox connector's read, as for persons (or, with Kafka transactions, the \
translator's produce call).
- **planning apply**: planning's `updated_at`, `now()` of the consumer's batch transaction: \
before it, the rest of the relay (queue, Connect's producer and `linger.ms`, the broker's \
append), the consumer's fetch and Avro decoding.
- **planning commit**: the commit time of planning's row: inbox insert, upsert, commit.
- **commit → planning commit** is the whole pipeline; **commit → client response** runs \
beside it (the WAL flush, the response).
- **e2e** is planning's commit minus the moment the load generator received the create \
response, i.e. how long a client that just got its 201 waits before planning shows the entity.";

impl Results {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Benchmark `{}`{}\n",
            self.label,
            if self.smoke { " (smoke)" } else { "" }
        );
        let _ = writeln!(
            out,
            "{} on {}; load average {:.2} at start; commit {}.\n",
            self.started_at, self.machine, self.load_average_at_start, self.git_commit
        );
        for (name, value) in &self.settings {
            let _ = writeln!(out, "- {name}: {value}");
        }
        let _ = writeln!(out);
        self.rest_table(&mut out);
        self.consistency_table(&mut out);
        self.ladder_table(&mut out);
        self.replay_section(&mut out);
        self.resources_table(&mut out);
        let _ = writeln!(out, "### What each hop includes\n\n{HOP_NOTES}");
        out
    }

    fn rest_table(&self, out: &mut String) {
        if self.rest.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "### REST writes\n\nCapacity: closed loop, `c` connections back to back. Latency: \
             open loop at 80% of that capacity over the same `c` connections, measured from \
             each request's scheduled send time.\n"
        );
        let _ = writeln!(
            out,
            "| endpoint | c | capacity req/s | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for row in &self.rest {
            let _ = writeln!(
                out,
                "| `{}` | {} | {:.0} | {:.0} | {:.0} | {} | {} |",
                row.endpoint,
                row.concurrency,
                row.capacity_rps,
                row.offered_rps,
                row.achieved_rps,
                row.latency
                    .as_ref()
                    .map_or("- | - | - | -".into(), Percentiles::cells),
                row.errors
            );
        }
        let _ = writeln!(out);
    }

    fn consistency_table(&self, out: &mut String) {
        if self.consistency.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "### End-to-end consistency (create response → visible in planning)\n\nOpen loop, \
             persons and balance sheets alternating; the rate counts both.\n"
        );
        let _ = writeln!(
            out,
            "| offered writes/s | achieved | entity | visible | e2e p50 ms | p95 ms | p99 ms | max ms |\n|---:|---:|---|---:|---:|---:|---:|---:|"
        );
        for run in &self.consistency {
            for entity in &run.entities {
                let _ = writeln!(
                    out,
                    "| {:.0} | {:.0} | {} | {}/{} | {} |",
                    run.offered_rps,
                    run.achieved_rps,
                    entity.kind,
                    entity.visible,
                    entity.written,
                    entity
                        .e2e
                        .as_ref()
                        .map_or("- | - | - | -".into(), Percentiles::cells)
                );
            }
        }
        let _ = writeln!(
            out,
            "\nPer hop (p50 / p99 ms):\n\n| offered writes/s | hop | p50 | p95 | p99 | max |\n|---:|---|---:|---:|---:|---:|"
        );
        for run in &self.consistency {
            for entity in &run.entities {
                for hop in &entity.hops {
                    if let Some(latency) = &hop.latency {
                        let _ = writeln!(
                            out,
                            "| {:.0} | {} | {} |",
                            run.offered_rps,
                            hop.name,
                            latency.cells()
                        );
                    }
                }
            }
        }
        let _ = writeln!(out);
    }

    fn ladder_table(&self, out: &mut String) {
        if self.ladder.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "### Highest sustained end-to-end rate\n\nThe offered rate steps up; a step keeps \
             up when the generator achieves ≥ 95% of it without errors and the backlog \
             (written, not yet visible in planning) grows by less than 5% of the rate over the \
             second half of the step.\n"
        );
        let _ = writeln!(
            out,
            "| offered writes/s | achieved | write p99 ms | backlog growth /s | e2e p99 ms (worst entity) | kept up |\n|---:|---:|---:|---:|---:|---|"
        );
        for step in &self.ladder {
            let _ = writeln!(
                out,
                "| {:.0} | {:.0} | {} | {:.1} | {} | {} |",
                step.offered_rps,
                step.achieved_rps,
                step.write_latency
                    .as_ref()
                    .map_or("-".into(), |p| ms(p.p99_ms)),
                step.backlog_slope_per_s,
                step.worst_p99_ms().map_or("-".into(), ms),
                if step.kept_up { "yes" } else { "**no**" }
            );
        }
        let _ = writeln!(
            out,
            "\n**Highest sustained rate: {}**\n",
            self.max_sustained_rps
                .map_or("below the first step".into(), |r| format!(
                    "{r:.0} writes/s"
                ))
        );
    }

    fn replay_section(&self, out: &mut String) {
        let Some(replay) = &self.replay else {
            return;
        };
        let _ = writeln!(
            out,
            "### Consumer only: planning replays its topics from the beginning\n\n\
             | messages on the topics | applied | applied events/s | first event after s | wall s | caught up |\n|---:|---:|---:|---:|---:|---|\n\
             | {} | {} | {:.0} | {:.1} | {:.1} | {} |\n",
            replay.messages,
            replay.applied,
            replay.applied_per_s,
            replay.first_event_after_s,
            replay.wall_s,
            if replay.caught_up {
                "yes"
            } else {
                "no (time limit)"
            }
        );
    }

    fn resources_table(&self, out: &mut String) {
        if self.resources.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "### CPU seconds / peak RSS (MiB) per process and scenario\n\nPostgreSQL: the whole \
             process tree, memory as the sum of proportional set sizes. The load generator is \
             this xtask process, on the same 2 cores.\n"
        );
        let mut header = "| process |".to_string();
        let mut rule = "|---|".to_string();
        for scenario in &self.resources {
            let _ = write!(
                header,
                " {} ({:.0} s) |",
                scenario.scenario, scenario.wall_s
            );
            rule.push_str("---:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        let names: Vec<&str> = self.resources[0]
            .usage
            .iter()
            .map(|u| u.name.as_str())
            .collect();
        for name in names {
            let mut row = format!("| {name} |");
            for scenario in &self.resources {
                match scenario.usage.iter().find(|u| u.name == name) {
                    Some(u) => {
                        let _ = write!(row, " {:.1} / {:.0} |", u.cpu_seconds, u.peak_rss_mib);
                    }
                    None => row.push_str(" - |"),
                }
            }
            let _ = writeln!(out, "{row}");
        }
        let _ = writeln!(out);
    }

    /// Smoke mode's checks: the harness produced numbers and they make sense. No timing
    /// thresholds: a slow CI machine must not fail.
    pub fn check_sane(&self) -> Result<()> {
        let ordered = |what: &str, p: &Percentiles| -> Result<()> {
            ensure!(p.count > 0, "{what}: no samples");
            ensure!(
                p.min_ms <= p.p50_ms
                    && p.p50_ms <= p.p95_ms
                    && p.p95_ms <= p.p99_ms
                    && p.p99_ms <= p.max_ms,
                "{what}: percentiles out of order: {p:?}"
            );
            Ok(())
        };
        ensure!(!self.rest.is_empty(), "no REST measurements");
        for row in &self.rest {
            let what = format!("{} c={}", row.endpoint, row.concurrency);
            ensure!(row.capacity_rps > 0.0, "{what}: zero capacity");
            let latency = row
                .latency
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("{what}: no latencies"))?;
            ordered(&what, latency)?;
            ensure!(latency.min_ms > 0.0, "{what}: non-positive latency");
        }
        ensure!(!self.consistency.is_empty(), "no end-to-end measurements");
        for run in self.consistency.iter().chain(&self.ladder) {
            for entity in &run.entities {
                let what = format!("{} at {:.0}/s", entity.kind, run.offered_rps);
                ensure!(
                    entity.visible == entity.written && entity.written > 0,
                    "{what}: {} of {} visible",
                    entity.visible,
                    entity.written
                );
                let e2e = entity
                    .e2e
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("{what}: no e2e samples"))?;
                ordered(&what, e2e)?;
                // Planning cannot see an entity before the client was told it exists plus a
                // relay: a non-positive latency means mismatched clocks or timestamps.
                ensure!(e2e.min_ms > 0.0, "{what}: non-positive e2e latency {e2e:?}");
                for hop in &entity.hops {
                    let latency = hop
                        .latency
                        .as_ref()
                        .ok_or_else(|| anyhow::anyhow!("{what}: hop {} unobserved", hop.name))?;
                    ordered(&format!("{what}, {}", hop.name), latency)?;
                }
            }
            ensure!(
                !run.lag.is_empty(),
                "no lag samples at {:.0}/s",
                run.offered_rps
            );
        }
        if let Some(replay) = &self.replay {
            ensure!(replay.applied > 0, "the replay applied nothing");
        }
        for scenario in &self.resources {
            for usage in &scenario.usage {
                ensure!(
                    usage.cpu_seconds.is_finite() && usage.peak_rss_mib > 0.0,
                    "{}: no CPU or memory reading for {}",
                    scenario.scenario,
                    usage.name
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&values).expect("samples");
        assert_eq!(
            (p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms),
            (50.0, 95.0, 99.0, 100.0)
        );
        let one = Percentiles::of(&[7.0]).expect("one sample");
        assert_eq!((one.p50_ms, one.p99_ms), (7.0, 7.0));
        assert!(Percentiles::of(&[]).is_none());
    }

    #[test]
    fn the_cdf_ends_at_one_and_keeps_the_maximum() {
        let values: Vec<f64> = (1..=10_000).map(f64::from).collect();
        let curve = cdf(&values, 100);
        assert!(curve.len() < 300);
        assert_eq!(curve.last().copied(), Some((10_000.0, 1.0)));
        assert!(
            curve
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1)
        );
    }
}
