//! Jaeger v2 as the stack's trace backend (`stack up --observability`): an OTLP/HTTP receiver
//! for the services' spans, in-memory storage, and the query service (HTTP API and UI) on
//! one more port. The binary is built from the Go module proxy (`tools::jaeger`).

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::Component;
use super::config::{LOOPBACK, StackConfig};
use super::http;
use super::process;

/// Our trace viewer, served by Jaeger in place of its UI (which no registry ships).
const VIEWER_INDEX: &str = include_str!("jaeger-viewer/index.html");

/// How many traces the in-memory store keeps before it drops the oldest (a full bench run
/// writes about 100 000; each trace is a handful of spans).
const MAX_TRACES: u32 = 200_000;

/// The base URL the services' `OTEL_EXPORTER_OTLP_ENDPOINT` is set to (the exporter appends
/// `/v1/traces`).
pub fn otlp_endpoint(config: &StackConfig) -> String {
    format!("http://{LOOPBACK}:{}", config.ports.jaeger_otlp)
}

/// The query service: the viewer at `/`, a trace at `/trace/<id>`, Jaeger's JSON API under
/// `/api/`.
pub fn ui_url(config: &StackConfig) -> String {
    format!("http://{LOOPBACK}:{}", config.ports.jaeger_ui)
}

fn work_dir(config: &StackConfig) -> PathBuf {
    config.conf_dir().join("jaeger")
}

fn config_file(config: &StackConfig) -> PathBuf {
    work_dir(config).join("config.yaml")
}

/// Writes Jaeger's configuration and the viewer's page.
pub fn prepare(config: &StackConfig) -> Result<()> {
    let ui_dir = work_dir(config).join("ui");
    fs::create_dir_all(&ui_dir).with_context(|| format!("creating {}", ui_dir.display()))?;
    fs::write(ui_dir.join("index.html"), VIEWER_INDEX).context("writing the trace viewer")?;
    let yaml = render_config(config, &ui_dir);
    fs::write(config_file(config), yaml).context("writing Jaeger's config.yaml")?;
    Ok(())
}

/// The collector configuration: OTLP/HTTP in, batches into the memory store, the query
/// extension out. Every listener on loopback and on a port of the stack's config; Jaeger's
/// own metrics endpoint (default 8888) and self-tracing are off, so two stacks side by side
/// do not collide and the backend's spans do not mix with the services'.
fn render_config(config: &StackConfig, ui_dir: &Path) -> String {
    let ports = &config.ports;
    format!(
        "# Written by `cargo xtask stack up --observability` on every start; edit \
         xtask/src/stack/jaeger.rs.\n\
         service:\n\
         \x20 extensions: [jaeger_storage, jaeger_query]\n\
         \x20 pipelines:\n\
         \x20   traces:\n\
         \x20     receivers: [otlp]\n\
         \x20     processors: [batch]\n\
         \x20     exporters: [jaeger_storage_exporter]\n\
         \x20 telemetry:\n\
         \x20   resource:\n\
         \x20     service.name: jaeger\n\
         \x20   metrics:\n\
         \x20     level: none\n\
         \x20   logs:\n\
         \x20     level: info\n\
         extensions:\n\
         \x20 jaeger_query:\n\
         \x20   storage:\n\
         \x20     traces: memory_store\n\
         \x20   enable_tracing: false\n\
         \x20   ui:\n\
         \x20     assets_path: {ui}\n\
         \x20   http:\n\
         \x20     endpoint: {LOOPBACK}:{ui_port}\n\
         \x20   grpc:\n\
         \x20     endpoint: {LOOPBACK}:{grpc_port}\n\
         \x20 jaeger_storage:\n\
         \x20   backends:\n\
         \x20     memory_store:\n\
         \x20       memory:\n\
         \x20         max_traces: {MAX_TRACES}\n\
         receivers:\n\
         \x20 otlp:\n\
         \x20   protocols:\n\
         \x20     http:\n\
         \x20       endpoint: {LOOPBACK}:{otlp_port}\n\
         processors:\n\
         \x20 batch:\n\
         exporters:\n\
         \x20 jaeger_storage_exporter:\n\
         \x20   trace_storage: memory_store\n",
        ui = ui_dir.display(),
        ui_port = ports.jaeger_ui,
        grpc_port = ports.jaeger_grpc,
        otlp_port = ports.jaeger_otlp,
    )
}

/// Starts Jaeger in the background; returns its pid.
pub fn start(config: &StackConfig, binary: &Path) -> Result<u32> {
    let mut command = Command::new(binary);
    command
        .current_dir(work_dir(config))
        // The config path names the stack's state directory, which is how `stack` knows the
        // process is its own.
        .arg("--config")
        .arg(config_file(config));
    let pid = process::spawn_logged(command, &config.log_file(Component::Jaeger))?;
    process::write_pid_file(&config.pid_file(Component::Jaeger), pid)?;
    Ok(pid)
}

/// Ready when the query API lists services and the OTLP receiver accepts connections.
pub fn is_ready(config: &StackConfig) -> bool {
    let receiver = SocketAddr::from(([127, 0, 0, 1], config.ports.jaeger_otlp));
    http::answers_ok(
        &format!("{}/api/services", ui_url(config)),
        Duration::from_secs(2),
    ) && TcpStream::connect_timeout(&receiver, Duration::from_secs(2)).is_ok()
}

/// The spans Jaeger holds for `trace_id` (32 hex digits), per service name; `None` while it
/// knows no such trace.
pub fn trace_services(config: &StackConfig, trace_id: &str) -> Result<Option<Vec<String>>> {
    let url = format!("{}/api/traces/{trace_id}", ui_url(config));
    let reply = http::get(&url, Duration::from_secs(10))?;
    if reply.status == 404 {
        return Ok(None);
    }
    if !reply.is_success() {
        anyhow::bail!("GET {url}: HTTP {} {}", reply.status, reply.body);
    }
    let body: serde_json::Value =
        serde_json::from_str(&reply.body).with_context(|| format!("GET {url}: not JSON"))?;
    Ok(span_services(&body))
}

/// The service name of every span of the first trace in a `/api/traces/<id>` answer, sorted.
fn span_services(body: &serde_json::Value) -> Option<Vec<String>> {
    let trace = body["data"].as_array()?.first()?;
    let mut services: Vec<String> = trace["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|span| {
            let process = span["processID"].as_str()?;
            trace["processes"][process]["serviceName"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    services.sort();
    Some(services)
}

/// How long `stack trace` waits for the spans of a trace to arrive (the services export in
/// batches every few seconds).
const TRACE_WAIT: Duration = Duration::from_secs(60);

/// Waits until Jaeger holds `trace_id` with spans from at least `min_services` services,
/// prints the viewer's URL for it and, with `screenshot`, writes a PNG of that page.
pub fn show_trace(
    config: &StackConfig,
    trace_id: &str,
    min_services: usize,
    screenshot: Option<&Path>,
) -> Result<()> {
    let trace_id = trace_id.trim().to_ascii_lowercase();
    if trace_id.len() != 32 || !trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!("{trace_id:?} is not a trace id (32 hex digits)");
    }
    let started = std::time::Instant::now();
    let spans = loop {
        let found = trace_services(config, &trace_id)?;
        if let Some(spans) = &found {
            let mut distinct = spans.clone();
            distinct.dedup();
            if distinct.len() >= min_services {
                break spans.clone();
            }
        }
        if started.elapsed() > TRACE_WAIT {
            anyhow::bail!(
                "after {TRACE_WAIT:?} Jaeger holds {} for trace {trace_id} (wanted spans from \
                 {min_services} services); were the services started with \
                 OTEL_EXPORTER_OTLP_ENDPOINT={} (`cargo xtask services up` after `stack up \
                 --observability`)?",
                found.map_or_else(
                    || "nothing".to_owned(),
                    |spans| format!("spans of {}", spans.join(", "))
                ),
                otlp_endpoint(config)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let url = format!("{}/trace/{trace_id}", ui_url(config));
    let mut distinct = spans.clone();
    distinct.dedup();
    println!(
        "trace      {} spans from {}: {url}",
        spans.len(),
        distinct.join(", ")
    );
    if let Some(png) = screenshot {
        let chromium = crate::tools::chromium::Chromium::ensure_installed()?;
        // A header, the legend and one two-line row (about 40 pixels) per span.
        let height = 190 + 42 * u32::try_from(spans.len()).unwrap_or(u32::MAX / 64);
        chromium.screenshot_after_scripts(&url, png, 1500, height)?;
        println!("trace      screenshot in {}", png.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listener_is_on_loopback_and_on_a_port_of_the_stack() -> Result<()> {
        let root = std::env::temp_dir().join(format!("xtask-jaeger-{}", std::process::id()));
        let config = StackConfig::from_env(&crate::project_root())?;
        let yaml = render_config(&config, &root);
        let endpoints: Vec<&str> = yaml
            .lines()
            .filter_map(|line| line.trim().strip_prefix("endpoint: "))
            .collect();
        let ports = &config.ports;
        let expected: Vec<String> = [ports.jaeger_ui, ports.jaeger_grpc, ports.jaeger_otlp]
            .iter()
            .map(|port| format!("{LOOPBACK}:{port}"))
            .collect();
        assert_eq!(endpoints, expected, "{yaml}");
        assert!(
            yaml.contains("level: none"),
            "the metrics listener is off: {yaml}"
        );
        Ok(())
    }

    #[test]
    fn span_services_names_the_service_of_every_span() {
        let body = serde_json::json!({"data": [{
            "traceID": "4bf92f3577b34da6a3ce929d0e0e4736",
            "spans": [
                {"spanID": "a", "processID": "p1"},
                {"spanID": "b", "processID": "p2"},
                {"spanID": "c", "processID": "p1"},
            ],
            "processes": {
                "p1": {"serviceName": "person-service"},
                "p2": {"serviceName": "accounting-service"},
            },
        }]});
        assert_eq!(
            span_services(&body),
            Some(vec![
                "accounting-service".to_owned(),
                "person-service".to_owned(),
                "person-service".to_owned(),
            ])
        );
        assert_eq!(span_services(&serde_json::json!({"data": []})), None);
    }
}
