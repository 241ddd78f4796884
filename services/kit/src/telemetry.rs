//! Logs, traces and metrics of a process.
//!
//! - Logs: structured with `tracing`, JSON lines when `LOG_FORMAT=json`, readable text
//!   otherwise; levels from `RUST_LOG` (default `info`).
//! - Traces: when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set
//!   (and `OTEL_SDK_DISABLED` is not `true`), `tracing` spans are exported as OpenTelemetry
//!   spans with OTLP over HTTP/protobuf (the exporter reads the other standard `OTEL_*`
//!   variables itself: headers, timeout, batch sizes; `OTEL_SERVICE_NAME` overrides the
//!   service name). Unset, no OpenTelemetry layer is installed and no span is opened per
//!   request or event ([`crate::trace::enabled`]).
//! - Metrics: the Prometheus recorder ([`crate::metrics`]), always.

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether the environment asks for trace export.
pub fn export_configured(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
    !disabled && (set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT"))
}

fn tracer_provider(service: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    let resource = if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        Resource::builder().build()
    } else {
        Resource::builder()
            .with_service_name(service.to_owned())
            .build()
    };
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Sets up logs, traces (when configured) and metrics for the process `service`. A second
/// call (tests that start several services in one process) keeps the first set-up.
pub fn init(service: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,rdkafka=warn,sqlx=warn"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = if json {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .json()
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().with_target(false).boxed()
    };

    let mut export_error = None;
    let provider = if export_configured(|name| std::env::var(name).ok()) {
        match tracer_provider(service) {
            Ok(provider) => Some(provider),
            Err(error) => {
                export_error = Some(error);
                None
            }
        }
    } else {
        None
    };
    // Our spans are at INFO; RUST_LOG filters the log lines, not what is exported.
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("service-kit"))
            .with_filter(LevelFilter::INFO)
    });
    let installed = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(spans)
        .try_init()
        .is_ok();
    if installed && let Some(provider) = provider {
        let _ = PROVIDER.set(provider);
        crate::trace::set_enabled(true);
    }
    crate::metrics::install();
    tracing::info!(
        service,
        version = env!("CARGO_PKG_VERSION"),
        traces_exported = crate::trace::enabled(),
        "starting"
    );
    if let Some(error) = export_error {
        // Telemetry must not stop a service: run without traces, loudly.
        tracing::error!(error = %format!("{error:#}"), "cannot set up the OTLP trace exporter; traces are not exported");
    }
}

/// Exports the spans still buffered; call once before the process exits.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get()
        && let Err(error) = provider.shutdown()
    {
        tracing::warn!(%error, "trace exporter shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn export_follows_the_standard_variables() {
        let endpoint = "http://127.0.0.1:4318";
        assert!(!export_configured(env(&[])));
        assert!(!export_configured(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            " "
        )])));
        assert!(export_configured(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            endpoint
        )])));
        assert!(export_configured(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            endpoint
        )])));
        assert!(!export_configured(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_SDK_DISABLED", "true"),
        ])));
        assert!(!export_configured(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_TRACES_EXPORTER", "none"),
        ])));
    }
}
