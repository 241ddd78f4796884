//! Consumer-group lag sampled every 250 ms: committed offsets against high watermarks, read
//! from the broker with a consumer that names the group but never joins it or commits.
//!
//! The consumers commit their stored offsets every 5 s (librdkafka's auto-commit interval),
//! so committed lag is a sawtooth that includes up to 5 s of input even when the consumer is
//! current; the report's backlog ("written, not yet visible in planning") is the exact
//! measure, this one is what an operator's lag dashboard would show.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The consumer groups on the way from a write to planning's read model (every
/// subscription), and their topics.
pub fn groups() -> impl Iterator<Item = (&'static str, &'static str)> {
    contracts::topology::SYSTEM
        .subscriptions
        .iter()
        .map(|subscription| (subscription.group, subscription.topic))
}

/// The lag of every group at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct LagSample {
    /// Seconds since the sampler started.
    pub at_s: f64,
    /// Group → messages not committed yet.
    pub lag: BTreeMap<String, i64>,
}

/// A consumer that reads `group`'s committed offsets (never subscribes, never commits).
pub fn observer(bootstrap_servers: &str, group: &str) -> Result<BaseConsumer> {
    crate::kafka_groups::standalone_consumer(bootstrap_servers, group)
}

pub use crate::kafka_groups::partitions;

/// The group's lag on `topic`: high watermark minus committed offset (the low watermark when
/// it never committed), summed over partitions.
pub fn group_lag(consumer: &BaseConsumer, topic: &str, partitions: &[i32]) -> Result<i64> {
    let mut list = TopicPartitionList::new();
    for partition in partitions {
        list.add_partition(topic, *partition);
    }
    let committed = consumer
        .committed_offsets(list, TIMEOUT)
        .context("cannot read committed offsets")?;
    let mut lag = 0;
    for element in committed.elements() {
        let (low, high) = consumer
            .fetch_watermarks(topic, element.partition(), TIMEOUT)
            .with_context(|| format!("cannot read the watermarks of {topic}"))?;
        let position = match element.offset() {
            Offset::Offset(offset) => offset.max(low),
            _ => low,
        };
        lag += (high - position).max(0);
    }
    Ok(lag)
}

/// High watermarks of every partition of `topic` (where a scenario's messages start).
pub fn high_watermarks(consumer: &BaseConsumer, topic: &str) -> Result<BTreeMap<i32, i64>> {
    let mut marks = BTreeMap::new();
    for partition in partitions(consumer, topic)? {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, TIMEOUT)
            .with_context(|| format!("cannot read the watermarks of {topic}"))?;
        marks.insert(partition, high);
    }
    Ok(marks)
}

/// Samples every group's lag every 250 ms in a background thread.
pub struct LagSampler {
    samples: Arc<Mutex<Vec<LagSample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LagSampler {
    pub fn start(bootstrap_servers: &str) -> Result<Self> {
        let mut observers = Vec::new();
        for (group, topic) in groups() {
            let consumer = observer(bootstrap_servers, group)?;
            let partitions = partitions(&consumer, topic)?;
            observers.push((group, topic, consumer, partitions));
        }
        let samples: Arc<Mutex<Vec<LagSample>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (samples, stop) = (samples.clone(), stop.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let at_s = start.elapsed().as_secs_f64();
                    let mut lag = BTreeMap::new();
                    for (group, topic, consumer, partitions) in &observers {
                        // A failed read (broker busy) leaves a gap rather than a wrong zero.
                        if let Ok(value) = group_lag(consumer, topic, partitions) {
                            lag.insert((*group).to_string(), value);
                        }
                    }
                    samples
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(LagSample { at_s, lag });
                    let next = start + Duration::from_secs_f64(at_s + 0.25);
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })
        };
        Ok(Self {
            samples,
            stop,
            thread: Some(thread),
        })
    }

    pub fn finish(mut self) -> Vec<LagSample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
