//! The load generator: open loop at a fixed offered rate, and a closed-loop probe of capacity.
//!
//! Open loop (as wrk2 does it): request `i` is *scheduled* at `start + i / rate`, whatever
//! happened to the earlier ones, and its latency is measured from that scheduled time. A
//! server that stalls for a second therefore shows a second of latency on every request that
//! should have been sent meanwhile, instead of the generator politely waiting and recording
//! one slow request (coordinated omission). At most `max_in_flight` requests are outstanding
//! (the connection count); a request that waits for a free connection waits on the clock.
//!
//! The closed-loop probe (`concurrency` workers sending back to back) only answers "how many
//! requests per second do `concurrency` connections get through"; its latencies are not
//! reported, because a closed loop hides queueing.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// One completed (or failed) request.
#[derive(Debug, Clone)]
pub struct Sample<T> {
    /// When it was due, relative to the start of the run.
    pub scheduled: Duration,
    /// From the scheduled send time to the response (queueing for a connection included).
    pub latency: Duration,
    /// Wall-clock time the response arrived (compared with database timestamps later).
    pub responded_at: SystemTime,
    /// What the request returned, or why it failed.
    pub outcome: Result<T, String>,
}

/// Everything one open-loop run produced.
#[derive(Debug)]
pub struct OpenLoopRun<T> {
    pub started_at: SystemTime,
    /// Completed requests in the order they were scheduled.
    pub samples: Vec<Sample<T>>,
    /// From the first scheduled send to the last response.
    pub elapsed: Duration,
    /// Requests that had no response when the drain deadline passed.
    pub abandoned: usize,
}

impl<T> OpenLoopRun<T> {
    pub fn successes(&self) -> impl Iterator<Item = &Sample<T>> {
        self.samples.iter().filter(|s| s.outcome.is_ok())
    }

    pub fn errors(&self) -> usize {
        self.samples.iter().filter(|s| s.outcome.is_err()).count() + self.abandoned
    }

    /// Successful responses per second over the whole run.
    pub fn achieved_rate(&self) -> f64 {
        let ok = self.successes().count() as f64;
        ok / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The first error message, for the progress line.
    pub fn first_error(&self) -> Option<&str> {
        self.samples
            .iter()
            .find_map(|s| s.outcome.as_ref().err().map(String::as_str))
    }
}

/// Sends `rate · duration` requests at fixed intervals; `request(i)` makes the i-th one.
/// Waits at most `drain` after the last scheduled send for outstanding responses.
pub async fn open_loop<T, F, Fut>(
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
    drain: Duration,
    request: F,
) -> OpenLoopRun<T>
where
    T: Send + 'static,
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let connections = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let started_at = SystemTime::now();
    let start = tokio::time::Instant::now();
    let mut in_flight = JoinSet::new();
    let mut samples = Vec::with_capacity(total as usize);
    for index in 0..total {
        let scheduled = interval.mul_f64(index as f64);
        tokio::time::sleep_until(start + scheduled).await;
        // Waiting for a connection is part of the latency: the clock started at `scheduled`.
        let Ok(permit) = connections.clone().acquire_owned().await else {
            break; // never closed
        };
        let call = request(index);
        in_flight.spawn(async move {
            let outcome = call.await;
            let responded = tokio::time::Instant::now();
            drop(permit);
            Sample {
                scheduled,
                latency: responded.saturating_duration_since(start + scheduled),
                responded_at: SystemTime::now(),
                outcome,
            }
        });
        // Collect finished ones as we go so the set stays small at high rates.
        while let Some(done) = in_flight.try_join_next() {
            if let Ok(sample) = done {
                samples.push(sample);
            }
        }
    }
    let deadline = tokio::time::Instant::now() + drain;
    loop {
        match tokio::time::timeout_at(deadline, in_flight.join_next()).await {
            Ok(Some(Ok(sample))) => samples.push(sample),
            Ok(Some(Err(_))) => {} // a panicked request task: counted as abandoned below
            Ok(None) | Err(_) => break,
        }
    }
    let abandoned = total as usize - samples.len();
    in_flight.abort_all();
    let elapsed = samples
        .iter()
        .map(|s| s.scheduled + s.latency)
        .max()
        .unwrap_or_default();
    samples.sort_by_key(|s| s.scheduled);
    OpenLoopRun {
        started_at,
        samples,
        elapsed,
        abandoned,
    }
}

/// What a closed-loop probe measured.
#[derive(Debug, Clone)]
pub struct Capacity<T> {
    pub failed: u64,
    pub throughput: f64,
    /// What the successful requests returned (the ids of what they created).
    pub returned: Vec<T>,
}

/// `concurrency` workers send back to back for `duration`: the throughput those connections
/// achieve. `request(i)` makes the i-th request.
pub async fn closed_loop_capacity<T, F, Fut>(
    concurrency: usize,
    duration: Duration,
    request: F,
) -> Capacity<T>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
    T: Send + 'static,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (request, next, failed) = (request.clone(), next.clone(), failed.clone());
        workers.spawn(async move {
            let mut returned = Vec::new();
            while Instant::now() < deadline {
                let index = next.fetch_add(1, Ordering::Relaxed);
                match request(index).await {
                    Ok(value) => returned.push(value),
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            returned
        });
    }
    let mut returned = Vec::new();
    while let Some(done) = workers.join_next().await {
        returned.extend(done.unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    Capacity {
        failed: failed.load(Ordering::Relaxed),
        throughput: returned.len() as f64 / elapsed.max(1e-9),
        returned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stalled_server_shows_up_as_latency_of_every_request_due_meanwhile() {
        // One connection, 100 requests/s for 0.2 s; the first request takes 100 ms. The
        // requests due during the stall wait for the connection, and their latency counts
        // from when they were due, so it falls linearly from ~100 ms.
        let run = open_loop(
            100.0,
            Duration::from_millis(200),
            1,
            Duration::from_secs(5),
            |index| async move {
                if index == 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok::<_, String>(index)
            },
        )
        .await;
        assert_eq!(run.samples.len(), 20);
        assert_eq!(run.abandoned, 0);
        assert!(run.samples[0].latency >= Duration::from_millis(100));
        // Due at 10 ms, sent at ~100 ms: ~90 ms of latency although it took no time itself.
        assert!(run.samples[1].latency >= Duration::from_millis(80));
        assert!(run.samples[19].latency < Duration::from_millis(50));
    }
}
