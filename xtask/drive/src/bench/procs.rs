//! CPU seconds and peak memory of every process of the system during a scenario, from
//! `/proc` (Linux only, like the stack).
//!
//! - CPU: `utime + stime` of `/proc/<pid>/stat` at the end minus at the start. A JVM is one
//!   process (all its threads count). PostgreSQL is a process tree: the postmaster's own and
//!   reaped children's time (`cutime + cstime`) plus every live backend's.
//! - Memory: resident set sampled every 250 ms, the peak kept. For PostgreSQL the sum of the
//!   tree's proportional set sizes (`Pss`, `/proc/<pid>/smaps_rollup`), so shared buffers are
//!   counted once, not once per backend.

use std::collections::BTreeMap;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

/// A process (or process tree) to watch.
#[derive(Debug, Clone)]
pub struct Watched {
    pub name: String,
    pub pid: u32,
    /// Sum its descendants too (PostgreSQL's backends).
    pub tree: bool,
    /// Started during the scenario: all its CPU time counts (not only from the sampler's
    /// start, which may come a little later).
    pub started_in_scenario: bool,
}

/// What one process used during a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    pub name: String,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

/// Samples memory in a background thread until [`Sampler::finish`].
pub struct Sampler {
    watched: Vec<Watched>,
    cpu_at_start: Vec<Option<f64>>,
    peaks: Arc<Mutex<BTreeMap<u32, u64>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    pub fn start(watched: Vec<Watched>) -> Self {
        let cpu_at_start = watched
            .iter()
            .map(|process| {
                if process.started_in_scenario {
                    Some(0.0)
                } else {
                    cpu_seconds(process)
                }
            })
            .collect();
        let peaks: Arc<Mutex<BTreeMap<u32, u64>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (watched, peaks, stop) = (watched.clone(), peaks.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut peaks = peaks.lock().unwrap_or_else(|p| p.into_inner());
                    for process in &watched {
                        if let Some(kib) = resident_kib(process) {
                            let peak = peaks.entry(process.pid).or_default();
                            *peak = (*peak).max(kib);
                        }
                    }
                    drop(peaks);
                    std::thread::sleep(Duration::from_millis(250));
                }
            })
        };
        Self {
            watched,
            cpu_at_start,
            peaks,
            stop,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) -> Vec<Usage> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let peaks = self.peaks.lock().unwrap_or_else(|p| p.into_inner());
        self.watched
            .iter()
            .zip(&self.cpu_at_start)
            .map(|(process, start)| Usage {
                name: process.name.clone(),
                cpu_seconds: match (start, cpu_seconds(process)) {
                    (Some(start), Some(end)) => (end - start).max(0.0),
                    _ => f64::NAN,
                },
                peak_rss_mib: peaks
                    .get(&process.pid)
                    .map_or(f64::NAN, |kib| *kib as f64 / 1024.0),
            })
            .collect()
    }
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux).
pub fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The fields of `/proc/<pid>/stat` after the command name (which may contain spaces).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &text[text.rfind(')')? + 2..];
    // Field 3 (state) is a letter; parse the rest, keeping positions.
    Some(
        after_name
            .split_whitespace()
            .map(|field| field.parse().unwrap_or(0))
            .collect(),
    )
}

/// utime + stime (+ cutime + cstime for a tree's root) in seconds.
fn cpu_seconds(process: &Watched) -> Option<f64> {
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let own = stat_fields(process.pid)?;
    let mut ticks = own.get(11)? + own.get(12)?;
    if process.tree {
        ticks += own.get(13)? + own.get(14)?;
        for child in children(process.pid) {
            if let Some(fields) = stat_fields(child) {
                ticks += fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0);
            }
        }
    }
    Some(ticks as f64 / ticks_per_second())
}

/// Direct children of `parent` (PostgreSQL backends are the postmaster's children).
fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| stat_fields(*pid).and_then(|f| f.get(1).copied()) == Some(u64::from(parent)))
        .collect()
}

/// A `kB` field of a `/proc` status-like file.
fn kib_field(path: &str, field: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn resident_kib(process: &Watched) -> Option<u64> {
    if !process.tree {
        return kib_field(&format!("/proc/{}/status", process.pid), "VmRSS:");
    }
    let mut total = kib_field(&format!("/proc/{}/smaps_rollup", process.pid), "Pss:")?;
    for child in children(process.pid) {
        total += kib_field(&format!("/proc/{child}/smaps_rollup"), "Pss:").unwrap_or(0);
    }
    Some(total)
}

/// The machine, for the report's header.
pub fn machine_description() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gib =
        kib_field("/proc/meminfo", "MemTotal:").map_or(0.0, |kib| kib as f64 / 1048576.0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into());
    format!(
        "{cores} cores ({cpu}), {memory_gib:.0} GiB RAM, {os}, kernel {}",
        kernel.trim()
    )
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}
