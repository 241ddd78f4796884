//! Kafka Connect's REST API: apply a declaration, read a connector's state, restart failed
//! tasks, and restart a connector from fresh offsets (KIP-875: stop, `DELETE .../offsets`,
//! resume) after its replication slot was lost.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::ConnectorDeclaration;

/// A Kafka Connect worker's REST API.
#[derive(Debug, Clone)]
pub struct Connect {
    base_url: String,
    timeout: Duration,
}

/// What `PUT /connectors/<name>/config` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
}

/// One task of a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    pub id: i64,
    pub state: String,
    pub trace: Option<String>,
}

/// `GET /connectors/<name>/status`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    pub name: String,
    /// RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED or RESTARTING.
    pub state: String,
    pub trace: Option<String>,
    pub tasks: Vec<TaskStatus>,
}

impl ConnectorStatus {
    /// Reads Connect's status document.
    pub fn from_json(name: &str, status: &Value) -> Result<Self> {
        let state = status["connector"]["state"]
            .as_str()
            .with_context(|| format!("Connect's status of {name} has no connector.state"))?;
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let tasks = status["tasks"]
            .as_array()
            .map(|tasks| {
                tasks
                    .iter()
                    .map(|task| TaskStatus {
                        id: task["id"].as_i64().unwrap_or(-1),
                        state: text(&task["state"]).unwrap_or_else(|| "UNKNOWN".into()),
                        trace: text(&task["trace"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            name: name.to_owned(),
            state: state.to_owned(),
            trace: text(&status["connector"]["trace"]),
            tasks,
        })
    }

    /// The connector and at least one task run, and no task is in another state.
    pub fn is_running(&self) -> bool {
        self.state == "RUNNING"
            && !self.tasks.is_empty()
            && self.tasks.iter().all(|task| task.state == "RUNNING")
    }

    /// The first failure, with Connect's stack trace: the connector's, else a task's.
    pub fn failure(&self) -> Option<String> {
        if self.state == "FAILED" {
            return Some(format!(
                "connector {} FAILED:\n{}",
                self.name,
                self.trace.as_deref().unwrap_or("(no trace)")
            ));
        }
        self.tasks
            .iter()
            .find(|task| task.state == "FAILED")
            .map(|task| {
                format!(
                    "task {} of connector {} FAILED:\n{}",
                    task.id,
                    self.name,
                    task.trace.as_deref().unwrap_or("(no trace)")
                )
            })
    }

    /// One line: `RUNNING (tasks: RUNNING)`.
    pub fn summary(&self) -> String {
        let tasks: Vec<&str> = self.tasks.iter().map(|task| task.state.as_str()).collect();
        format!(
            "{} (tasks: {})",
            self.state,
            if tasks.is_empty() {
                "none".to_owned()
            } else {
                tasks.join(", ")
            }
        )
    }
}

struct Reply {
    status: u16,
    body: String,
}

impl Connect {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(30),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn agent(&self) -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .build()
            .into()
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply> {
        let url = format!("{}{path}", self.base_url);
        let agent = self.agent();
        let what = format!("{method} {url}");
        let response = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            ("POST", _) => agent.post(&url).send_empty(),
            ("PUT", Some(body)) => agent
                .put(&url)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .send(body.to_string()),
            ("PUT", None) => agent.put(&url).send_empty(),
            _ => bail!("unsupported request {what}"),
        };
        let mut response =
            response.with_context(|| format!("{what}: is Kafka Connect running?"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("{what}: reading the response body"))?;
        Ok(Reply { status, body })
    }

    fn expect_success(&self, method: &str, path: &str) -> Result<()> {
        let reply = self.send(method, path, None)?;
        if !(200..300).contains(&reply.status) {
            bail!(
                "{method} {}{path}: HTTP {} {}",
                self.base_url,
                reply.status,
                reply.body
            );
        }
        Ok(())
    }

    /// Whether the worker answers its root resource.
    pub fn is_ready(&self) -> bool {
        self.send("GET", "/", None)
            .is_ok_and(|reply| reply.status == 200)
    }

    /// Creates or updates one connector (`PUT /connectors/<name>/config`).
    pub fn apply(&self, declaration: &ConnectorDeclaration) -> Result<Applied> {
        let body =
            serde_json::to_value(&declaration.config).context("encoding a connector config")?;
        let path = format!("/connectors/{}/config", declaration.name);
        let reply = self.send("PUT", &path, Some(&body))?;
        match reply.status {
            201 => Ok(Applied::Created),
            200..=299 => Ok(Applied::Updated),
            status => bail!(
                "Kafka Connect rejected connector {} (from {}): HTTP {status} {}",
                declaration.name,
                declaration.source.display(),
                reply.body
            ),
        }
    }

    /// The connectors the worker knows.
    pub fn names(&self) -> Result<Vec<String>> {
        let reply = self.send("GET", "/connectors", None)?;
        if reply.status != 200 {
            bail!("GET /connectors: HTTP {} {}", reply.status, reply.body);
        }
        serde_json::from_str(&reply.body).context("reading Connect's connector list")
    }

    /// A connector's state, `None` when Connect does not know it.
    pub fn status(&self, name: &str) -> Result<Option<ConnectorStatus>> {
        let reply = self.send("GET", &format!("/connectors/{name}/status"), None)?;
        match reply.status {
            404 => Ok(None),
            200 => {
                let status: Value = serde_json::from_str(&reply.body)
                    .with_context(|| format!("Connect answered non-JSON status for {name}"))?;
                ConnectorStatus::from_json(name, &status).map(Some)
            }
            status => bail!("status of {name}: HTTP {status} {}", reply.body),
        }
    }

    /// Waits until connector `name` and all its tasks are RUNNING; fails with Connect's stack
    /// trace as soon as one is FAILED.
    ///
    /// After a changed config Connect restarts the connector asynchronously, so the first
    /// status read may still describe the old instance: RUNNING must hold for a second.
    pub fn wait_running(&self, name: &str, timeout: Duration) -> Result<()> {
        const SETTLE: Duration = Duration::from_secs(1);
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no status yet");
        let mut running_since: Option<Instant> = None;
        loop {
            if let Ok(Some(status)) = self.status(name) {
                if let Some(failure) = status.failure() {
                    bail!("{failure}");
                }
                if status.is_running() {
                    let since = *running_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= SETTLE {
                        return Ok(());
                    }
                } else {
                    running_since = None;
                }
                last = status.summary();
            }
            if Instant::now() >= deadline {
                bail!("connector {name} is not RUNNING after {timeout:?}; last status: {last}");
            }
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// Restarts the connector's failed instances and tasks (the same offsets: for a failure
    /// that a retry cures, such as a database that was down).
    pub fn restart_failed(&self, name: &str) -> Result<()> {
        self.expect_success(
            "POST",
            &format!("/connectors/{name}/restart?includeTasks=true&onlyFailed=true"),
        )
    }

    /// Restarts `name` from fresh offsets: stop it, delete its offsets, resume it, wait until
    /// it runs. For a Debezium PostgreSQL connector this means: stream from its replication
    /// slot's current position, or — when the slot is gone — create a new slot at the
    /// current end of the WAL (and snapshot, if its `snapshot.mode` says so). Changes made
    /// while no slot kept them are not relayed: `ops resync` republishes their state.
    pub fn restart_from_fresh_offsets(&self, name: &str, timeout: Duration) -> Result<()> {
        self.expect_success("PUT", &format!("/connectors/{name}/stop"))?;
        self.wait_state(name, "STOPPED", timeout)?;
        self.expect_success("DELETE", &format!("/connectors/{name}/offsets"))?;
        self.expect_success("PUT", &format!("/connectors/{name}/resume"))?;
        self.wait_running(name, timeout)
    }

    fn wait_state(&self, name: &str, state: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status(name)?;
            if status.as_ref().is_some_and(|status| status.state == state) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "connector {name} is not {state} after {timeout:?}; last status: {}",
                    status.map_or_else(|| "unknown connector".to_owned(), |s| s.summary())
                );
            }
            thread::sleep(Duration::from_millis(250));
        }
    }
}

/// Applies every declaration, then waits until each connector and task runs, printing one
/// line per step.
pub fn apply_all(
    connect: &Connect,
    declarations: &[ConnectorDeclaration],
    timeout: Duration,
) -> Result<()> {
    for declaration in declarations {
        let applied = connect.apply(declaration)?;
        println!(
            "connector  {:<28} {} ({})",
            declaration.name,
            match applied {
                Applied::Created => "created",
                Applied::Updated => "exists, config applied",
            },
            declaration.source.display()
        );
    }
    for declaration in declarations {
        let started = Instant::now();
        connect.wait_running(&declaration.name, timeout)?;
        println!(
            "connector  {:<28} RUNNING ({:.1}s)",
            declaration.name,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_document_tells_running_from_failed() -> Result<()> {
        let running = ConnectorStatus::from_json(
            "c",
            &json!({"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}),
        )?;
        assert!(running.is_running());
        assert_eq!(running.failure(), None);
        assert_eq!(running.summary(), "RUNNING (tasks: RUNNING)");

        let failed_task = ConnectorStatus::from_json(
            "c",
            &json!({"connector": {"state": "RUNNING"},
                    "tasks": [{"id": 0, "state": "FAILED", "trace": "lsn gone"}]}),
        )?;
        assert!(!failed_task.is_running());
        let failure = failed_task.failure().expect("a failed task");
        assert!(
            failure.contains("task 0") && failure.contains("lsn gone"),
            "{failure}"
        );

        let stopped = ConnectorStatus::from_json(
            "c",
            &json!({"connector": {"state": "STOPPED"}, "tasks": []}),
        )?;
        assert!(!stopped.is_running());
        assert_eq!(stopped.summary(), "STOPPED (tasks: none)");

        let failed = ConnectorStatus::from_json(
            "c",
            &json!({"connector": {"state": "FAILED", "trace": "boom"}, "tasks": []}),
        )?;
        assert!(failed.failure().is_some_and(|f| f.contains("boom")));
        assert!(ConnectorStatus::from_json("c", &json!({"tasks": []})).is_err());
        Ok(())
    }
}
