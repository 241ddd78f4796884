//! W3C trace context across HTTP, the outbox, CDC rows and Kafka, and the HTTP server span.
//!
//! Spans are `tracing` spans; [`crate::telemetry::init`] bridges them to OpenTelemetry when an
//! OTLP endpoint is configured. Without one, [`enabled`] is false: no span is opened per
//! request or event, nothing is parsed, and no context is written with events, so tracing
//! costs nothing. The context travels as a `traceparent` text (and `tracestate` when the
//! caller sent one) in the W3C format, which other languages' services read and write too;
//! it is always optional: a message or request without it starts a trace of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::{Instrument, Span, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header (and outbox column, and Kafka header) carrying the trace context.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C vendor-specific companion of `traceparent`.
pub const TRACESTATE: &str = "tracestate";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (an OTLP endpoint is configured).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Header-like lookups over whatever carries the context.
struct Fields<'a>(Vec<(&'a str, &'a str)>);

impl Extractor for Fields<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| *k).collect()
    }
}

#[derive(Default)]
struct Injected {
    traceparent: Option<String>,
}

impl Injector for Injected {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.traceparent = Some(value);
        }
    }
}

/// The context a `traceparent` (and optional `tracestate`) text describes; an empty context
/// when it is absent or malformed (a bad header never fails a request or an event).
pub fn context_from_traceparent(traceparent: Option<&str>, tracestate: Option<&str>) -> Context {
    let Some(traceparent) = traceparent.filter(|t| well_formed(t)) else {
        return Context::new();
    };
    let mut fields = vec![(TRACEPARENT, traceparent)];
    if let Some(tracestate) = tracestate {
        fields.push((TRACESTATE, tracestate));
    }
    TraceContextPropagator::new().extract(&Fields(fields))
}

/// The W3C shape `version-traceid-parentid-flags` with 2, 32, 16 and 2 lowercase hex digits
/// (the propagator alone accepts shorter ids); version `ff` is invalid, later versions may
/// append fields.
fn well_formed(traceparent: &str) -> bool {
    let hex = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let parts: Vec<&str> = traceparent.trim().split('-').collect();
    match parts.as_slice() {
        [version, trace_id, parent_id, flags, rest @ ..] => {
            hex(version, 2)
                && *version != "ff"
                && (*version != "00" || rest.is_empty())
                && hex(trace_id, 32)
                && hex(parent_id, 16)
                && hex(flags, 2)
        }
        _ => false,
    }
}

/// The caller's context from HTTP request headers.
pub fn context_from_http(headers: &http::HeaderMap) -> Context {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    context_from_traceparent(text(TRACEPARENT), text(TRACESTATE))
}

/// The producer's context from Kafka message headers (UTF-8 values, as the EventRouter
/// writes them; a null or non-UTF-8 value counts as absent).
pub fn context_from_kafka<H: rdkafka::message::Headers>(headers: Option<&H>) -> Context {
    let Some(headers) = headers else {
        return Context::new();
    };
    let mut traceparent = None;
    let mut tracestate = None;
    for header in headers.iter() {
        let value = header.value.and_then(|v| std::str::from_utf8(v).ok());
        if header.key.eq_ignore_ascii_case(TRACEPARENT) {
            traceparent = value;
        } else if header.key.eq_ignore_ascii_case(TRACESTATE) {
            tracestate = value;
        }
    }
    context_from_traceparent(traceparent, tracestate)
}

/// Whether `context` names a remote or local span (a well-formed trace context).
pub fn is_valid(context: &Context) -> bool {
    context.span().span_context().is_valid()
}

/// The `traceparent` text of `context`'s span, `None` without a valid span.
pub fn traceparent_of(context: &Context) -> Option<String> {
    if !is_valid(context) {
        return None;
    }
    let mut injected = Injected::default();
    TraceContextPropagator::new().inject_context(context, &mut injected);
    injected.traceparent
}

/// The `traceparent` of the current span, to be stored with an event or a captured row;
/// `None` while tracing is off.
pub fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    traceparent_of(&Span::current().context())
}

/// Makes `span` a child of `parent` when `parent` is a valid context (otherwise the span
/// stays where `tracing` put it: a child of the current span, or a new trace's root).
pub fn continue_from(span: &Span, parent: Context) {
    if is_valid(&parent) {
        // Fails only when the span was already started, which our callers never do.
        let _ = span.set_parent(parent);
    }
}

/// The `process <topic>` consumer span of one message (messaging semantic conventions), a
/// child of the producer's context `traceparent` (the message's header, or what the handler
/// found in the message: [`crate::consumer::Handler::trace_parent`]). Its events are the
/// runtime's log events while handling the message: retries and dead-lettering.
pub fn process_span(
    group: &str,
    raw: &crate::consumer::RawEvent,
    traceparent: Option<String>,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "consumer_process",
        otel.name = format!("process {}", raw.topic),
        otel.kind = "consumer",
        otel.status_code = field::Empty,
        messaging.system = "kafka",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.consumer.group.name = group,
        messaging.destination.name = raw.topic.as_str(),
        messaging.destination.partition.id = raw.partition.to_string(),
        messaging.kafka.offset = raw.offset,
        messaging.kafka.message.key = raw.key_text(),
    );
    continue_from(
        &span,
        context_from_traceparent(traceparent.as_deref(), None),
    );
    span
}

/// The `traceparent` header of a consumed message, if any (a null or non-UTF-8 value counts
/// as absent).
pub fn traceparent_header(raw: &crate::consumer::RawEvent) -> Option<String> {
    use rdkafka::message::Headers as _;
    let headers = raw.headers.as_ref()?;
    headers
        .iter()
        .filter(|h| h.key.eq_ignore_ascii_case(TRACEPARENT))
        .last()
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned)
}

/// `router` with `GET /metrics` added and every request observed by [`http_server`]: what
/// the kit serves for each process.
pub fn observed(router: axum::Router) -> axum::Router {
    router
        .merge(crate::metrics::routes())
        .layer(axum::middleware::from_fn(http_server))
}

/// Middleware for a router: the HTTP server span (continuing the caller's `traceparent`)
/// and the request-duration histogram, by route template, method and status. Apply it with
/// [`axum::Router::layer`], so that the matched route template is known.
pub async fn http_server(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let span = if enabled() {
        let name = match &route {
            Some(route) => format!("{method} {route}"),
            None => method.to_string(),
        };
        let span = tracing::info_span!(
            "http_request",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = field::Empty,
            http.request.method = %method,
            http.route = route.as_deref(),
            url.path = request.uri().path(),
            http.response.status_code = field::Empty,
        );
        continue_from(&span, context_from_http(request.headers()));
        span
    } else {
        Span::none()
    };
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    crate::metrics::http_request(route.as_deref(), method.as_str(), status, started.elapsed());
    response
}

/// The `publish <topic>` producer span of one event on `T`'s topic, a child of `parent` (the
/// caller's current span for a write, the consumed message's span for a translator), whose
/// context the event carries as `traceparent`. Disabled while tracing is off.
pub(crate) fn publish_span<T: contract_runtime::event::CanonicalEvent>(
    parent: &Span,
    event_id: uuid::Uuid,
    key: &str,
    tombstone: bool,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    tracing::info_span!(
        parent: parent,
        "publish",
        otel.name = format!("publish {}", T::TOPIC),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.destination.name = T::TOPIC,
        messaging.message.id = %event_id,
        messaging.kafka.message.key = key,
        messaging.kafka.message.tombstone = tombstone,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34a736a2d5b2b8e1f0e01-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_round_trips() {
        let context = context_from_traceparent(Some(PARENT), None);
        assert!(is_valid(&context));
        assert_eq!(
            context.span().span_context().trace_id().to_string(),
            "4bf92f3577b34a736a2d5b2b8e1f0e01"
        );
        assert_eq!(traceparent_of(&context).as_deref(), Some(PARENT));
    }

    #[test]
    fn malformed_or_absent_context_is_empty() {
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34a736a2d5b2b8e1f0e01-0000000000000000-01",
            "00-4bf92f3577b34a736a2d5b2b8e1f0e0-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34a736a2d5b2b8e1f0e01-00f067aa0ba902b7-01",
            "00-4BF92F3577B34A736A2D5B2B8E1F0E01-00f067aa0ba902b7-01",
            "00-4bf92f3577b34a736a2d5b2b8e1f0e01-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34a736a2d5b2b8e1f0e01-00f067aa0ba902b7",
        ] {
            let context = context_from_traceparent(Some(bad), None);
            assert!(!is_valid(&context), "{bad:?} was accepted");
            assert_eq!(traceparent_of(&context), None);
        }
        assert!(!is_valid(&context_from_traceparent(None, None)));
    }

    #[test]
    fn http_headers_are_read_case_insensitively() {
        let mut headers = http::HeaderMap::new();
        headers.insert("TraceParent", PARENT.parse().expect("header value"));
        assert!(is_valid(&context_from_http(&headers)));
        assert!(!is_valid(&context_from_http(&http::HeaderMap::new())));
    }

    #[test]
    fn kafka_headers_carry_it_and_a_null_value_is_absent() {
        use rdkafka::message::{Header, OwnedHeaders};
        let with = OwnedHeaders::new()
            .insert(Header {
                key: "ce_id",
                value: Some("x"),
            })
            .insert(Header {
                key: TRACEPARENT,
                value: Some(PARENT),
            });
        let context = context_from_kafka(Some(&with));
        assert_eq!(traceparent_of(&context).as_deref(), Some(PARENT));
        let null = OwnedHeaders::new().insert::<str>(Header {
            key: TRACEPARENT,
            value: None,
        });
        assert!(!is_valid(&context_from_kafka(Some(&null))));
        assert!(!is_valid(&context_from_kafka::<OwnedHeaders>(None)));
    }
}
