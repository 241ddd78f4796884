//! Background processes: start with a log and a pid file, find, stop, kill.
//!
//! The stack only ever signals processes whose pid file it wrote *and* whose command line
//! still mentions the stack's state directory, so a recycled pid is never signalled.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Starts `command` detached from the terminal (its own process group, so Ctrl-C on xtask
/// does not stop the stack), appending stdout and stderr to `log`. Returns its pid.
pub fn spawn_logged(mut command: Command, log: &Path) -> Result<u32> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening log {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("duplicating log handle {}", log.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = command
        .spawn()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    // The child is not waited for: it outlives xtask and is reaped by init. Liveness checks
    // read /proc and treat a zombie as dead.
    Ok(child.id())
}

pub fn write_pid_file(path: &Path, pid: u32) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(path, format!("{pid}\n")).with_context(|| format!("writing {}", path.display()))
}

/// The pid recorded in `path`, if the file exists and holds a number.
pub fn read_pid_file(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live (not zombie) process whose command line contains `marker`.
pub fn is_ours_and_alive(pid: u32, marker: &str) -> bool {
    is_alive(pid) && command_line(pid).is_some_and(|cmdline| cmdline.contains(marker))
}

/// Whether `pid` exists and is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: `pid (comm) state ...`; comm may contain spaces and parentheses.
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// The command line of `pid`, arguments joined by spaces.
pub fn command_line(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        String::from_utf8_lossy(&raw)
            .split('\0')
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Resident set size of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Sends `signal` (a name such as `TERM`, `INT`, `KILL`) to `pid`.
///
/// Uses `kill(1)`: the workspace forbids `unsafe`, which a direct `kill(2)` call would need.
pub fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .context("running kill(1)")?;
    if !status.success() && is_alive(pid) {
        bail!("kill -{signal} {pid} failed");
    }
    Ok(())
}

/// Stops `pid` cleanly: `stop_signal`, up to `grace` for it to exit, then SIGKILL.
/// Returns whether SIGKILL was needed.
pub fn stop(pid: u32, stop_signal: &str, grace: Duration) -> Result<bool> {
    if !is_alive(pid) {
        return Ok(false);
    }
    signal(pid, stop_signal)?;
    if wait_for_exit(pid, grace) {
        return Ok(false);
    }
    signal(pid, "KILL")?;
    if !wait_for_exit(pid, Duration::from_secs(10)) {
        bail!("process {pid} survived SIGKILL for 10 s");
    }
    Ok(true)
}

/// Waits up to `timeout` for `pid` to exit; returns whether it did.
pub fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
    true
}

/// Whether something already listens on (or holds) `127.0.0.1:port`.
pub fn port_in_use(port: u16) -> bool {
    TcpListener::bind((super::config::LOOPBACK, port)).is_err()
}

/// The last `lines` lines of `path` (reads at most the final 64 KiB).
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let Ok(len) = file.metadata().map(|meta| meta.len()) else {
        return String::new();
    };
    let start = len.saturating_sub(64 * 1024);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs `command` to completion, failing with its output when it exits non-zero.
pub fn run_checked(command: &mut Command, what: &str) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: cannot run {:?}", command.get_program()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}
