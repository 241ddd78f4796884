//! Support for the integration and end-to-end tests in `tests/`, which run against the real
//! local stack and services.
//!
//! Bring everything up and run them with `cargo xtask ci`, or by hand:
//! `cargo xtask stack up && cargo xtask services up && cargo xtask stack connectors && cargo test -p e2e`.
//! Connection facts come from the environment, else from `.stack/env`; a test fails (never
//! skips) with the command to run when the stack is not up.

pub mod otlp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

pub const NOT_UP: &str = "the local stack is not up: run `cargo xtask stack up` (and \
                      `cargo xtask stack connectors`), or `cargo xtask stack test`";

/// The workspace root: the nearest ancestor of the run-time `CARGO_MANIFEST_DIR` (cargo sets
/// it when it runs the tests of `e2e/` or of a service crate that uses this library) whose
/// `Cargo.toml` declares `[workspace]`. The compile-time value would point every checkout
/// that shares a target directory at whichever checkout built the tests last.
pub fn root() -> PathBuf {
    root_from(std::env::var_os("CARGO_MANIFEST_DIR"))
}

fn root_from(manifest_dir: Option<std::ffi::OsString>) -> PathBuf {
    let manifest_dir = manifest_dir
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .ancestors()
        .find(|dir| declares_workspace(&dir.join("Cargo.toml")))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.join(".."))
}

fn declares_workspace(cargo_toml: &Path) -> bool {
    std::fs::read_to_string(cargo_toml)
        .map(|text| text.lines().any(|line| line.trim() == "[workspace]"))
        .unwrap_or(false)
}

/// Connection facts: environment variables override `.stack/env`.
pub struct Stack {
    facts: BTreeMap<String, String>,
}

impl Stack {
    pub fn load() -> Result<Self> {
        let path = root().join(".stack/env");
        let mut facts = match std::fs::read_to_string(&path) {
            Ok(text) => parse_env(&text),
            Err(error) if std::env::var_os("KAFKA_BOOTSTRAP_SERVERS").is_none() => {
                bail!("{NOT_UP} ({} is unreadable: {error})", path.display());
            }
            Err(_) => BTreeMap::new(),
        };
        for (key, value) in std::env::vars() {
            if facts.contains_key(&key) {
                facts.insert(key, value);
            }
        }
        Ok(Self { facts })
    }

    pub fn get(&self, key: &str) -> Result<&str> {
        self.facts
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("{key} is not set; {NOT_UP}"))
    }

    pub fn kafka(&self) -> Result<&str> {
        self.get("KAFKA_BOOTSTRAP_SERVERS")
    }

    pub fn registry(&self) -> Result<&str> {
        self.get("SCHEMA_REGISTRY_URL")
    }

    pub fn connect(&self) -> Result<&str> {
        self.get("KAFKA_CONNECT_URL")
    }
}

/// The local URL of a service whose manifest port is `manifest_port` (a
/// `contracts::topology::<service>::PORT`), shifted by the stack's `STACK_PORT_OFFSET` (from
/// the environment, else as `cargo xtask stack up` recorded it in `.stack/env`).
pub fn service_url(manifest_port: u16) -> String {
    format!("http://127.0.0.1:{}", service_port(manifest_port))
}

/// [`service_url`]'s port.
pub fn service_port(manifest_port: u16) -> u16 {
    // Read once per test process: `stack up` writes `.stack/env` before any test runs.
    static OFFSET: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    let offset = *OFFSET.get_or_init(|| {
        let recorded = || {
            let text = std::fs::read_to_string(root().join(".stack/env")).ok()?;
            parse_env(&text).remove(PORT_OFFSET)
        };
        match std::env::var(PORT_OFFSET).ok().or_else(recorded) {
            None => 0,
            Some(raw) => raw
                .parse::<u16>()
                .unwrap_or_else(|_| panic!("{PORT_OFFSET}={raw:?} is not a port offset")),
        }
    });
    manifest_port
        .checked_add(offset)
        .unwrap_or_else(|| panic!("port {manifest_port} + {PORT_OFFSET} {offset} exceeds 65535"))
}

/// `KEY=value` lines of `.stack/env` (blank lines and `#` comments skipped).
fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

const PORT_OFFSET: &str = "STACK_PORT_OFFSET";

/// The seed's demo credentials, which `cargo xtask services up` gives the services.
pub const DEMO_USERNAME: &str = "root";
/// See [`DEMO_USERNAME`].
pub const DEMO_PASSWORD: &str = "P@ssw0rd1";

pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Sends a request; returns the status and the JSON body (Null when empty).
pub fn call(
    request: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    what: &str,
) -> Result<(u16, Value)> {
    let mut response = request.with_context(|| format!("{what}: {NOT_UP}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("{what}: reading the body"))?;
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).with_context(|| format!("{what}: non-JSON body {text:?}"))?
    };
    Ok((status, body))
}

pub const SCHEMA_REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";

pub fn registry_post(url: &str, body: &Value) -> Result<(u16, Value)> {
    call(
        http()
            .post(url)
            .header("Content-Type", SCHEMA_REGISTRY_JSON)
            .send(body.to_string()),
        &format!("POST {url}"),
    )
}

pub fn get(url: &str) -> Result<(u16, Value)> {
    call(http().get(url).call(), &format!("GET {url}"))
}

pub fn kafka_config(stack: &Stack) -> Result<ClientConfig> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", stack.kafka()?);
    Ok(config)
}

pub fn admin(stack: &Stack) -> Result<AdminClient<DefaultClientContext>> {
    kafka_config(stack)?
        .create()
        .context("creating a Kafka admin client")
}

/// Runs `cargo xtask <args>` in the workspace (same cargo as the one running the tests).
pub fn xtask(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .current_dir(root())
        .args(["run", "--quiet", "-p", "xtask", "--"])
        .args(args)
        .status()
        .with_context(|| format!("running {cargo} xtask {}", args.join(" ")))?;
    ensure!(
        status.success(),
        "`cargo xtask {}` failed: {status}",
        args.join(" ")
    );
    Ok(())
}

/// Runs one SQL script through `psql` against `url`.
pub fn psql(stack: &Stack, url: &str, sql: &str) -> Result<()> {
    let psql = stack
        .get("STACK_PG_BIN_DIR")
        .map(|dir| Path::new(dir).join("psql"))
        .unwrap_or_else(|_| PathBuf::from("psql"));
    let output = Command::new(&psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .with_context(|| format!("running {}", psql.display()))?;
    ensure!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// A consumer positioned at the current end of every partition of `topic`, so it only sees
/// what is produced after this call.
pub fn consumer_at_end(stack: &Stack, topic: &str) -> Result<BaseConsumer> {
    let consumer: BaseConsumer = kafka_config(stack)?
        .set("group.id", format!("e2e-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .context("creating a consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("reading metadata of {topic}: {NOT_UP}"))?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    ensure!(partitions > 0, "topic {topic} does not exist");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..i32::try_from(partitions)? {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .with_context(|| format!("reading watermarks of {topic}/{partition}"))?;
        assignment.add_partition_offset(topic, partition, Offset::Offset(high))?;
    }
    consumer
        .assign(&assignment)
        .context("assigning partitions")?;
    Ok(consumer)
}

/// Polls until a message satisfies `wanted`, or fails after `timeout`.
pub fn poll_until(
    consumer: &BaseConsumer,
    timeout: Duration,
    wanted: impl Fn(&OwnedMessage) -> bool,
) -> Result<OwnedMessage> {
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let message = message.detach();
                if wanted(&message) {
                    return Ok(message);
                }
            }
            // Transient (e.g. a subscribed topic that Connect has not created yet): keep
            // polling, and report the last one if nothing arrives.
            Some(Err(error)) => last_error = Some(error),
            None => {}
        }
    }
    bail!("no matching message within {timeout:?} (last consumer error: {last_error:?})")
}

pub fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == name)
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_file_parser_skips_blanks_and_comments() {
        let facts = parse_env("# stack\n\nA=1\n B = two words \nnot a pair\n");
        assert_eq!(
            facts.into_iter().collect::<Vec<_>>(),
            [("A".into(), "1".into()), ("B".into(), "two words".into())]
        );
    }

    #[test]
    fn the_root_is_the_workspace_above_the_run_time_manifest_dir() -> std::io::Result<()> {
        let checkout = std::env::temp_dir().join(format!("e2e-root-{}", std::process::id()));
        let service = checkout.join("services").join("person");
        std::fs::create_dir_all(&service)?;
        std::fs::write(checkout.join("Cargo.toml"), "[workspace]\nmembers = []\n")?;
        std::fs::write(service.join("Cargo.toml"), "[package]\nname = \"person\"\n")?;
        // From a service crate two levels down and from a crate right below the root.
        assert_eq!(root_from(Some(service.clone().into())), checkout);
        assert_eq!(root_from(Some(checkout.join("services").into())), checkout);
        std::fs::remove_dir_all(&checkout)?;
        // This checkout, whichever crate's tests run.
        assert!(root_from(None).join("e2e").join("Cargo.toml").exists());
        Ok(())
    }
}
