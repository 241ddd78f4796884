//! Serving a generated router: bind, serve with read timeouts and a throttle on failed
//! authentication, stop gracefully on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use contract_runtime::{ApiError, Problem};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use tower_http::timeout::TimeoutLayer;

use crate::auth::{FailedAttempts, ThrottlePolicy};

/// How connections and requests are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeSettings {
    /// A client that has not sent a request's complete headers by then is disconnected
    /// (a half-sent header would otherwise hold a connection open indefinitely).
    pub header_read_timeout: Duration,
    /// A request not answered by then, its body's reading included, gets `408`.
    pub request_timeout: Duration,
    /// Failed authentications allowed per client address.
    pub auth_throttle: ThrottlePolicy,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            auth_throttle: ThrottlePolicy::default(),
        }
    }
}

/// Serves `router` on `addr` with the default [`ServeSettings`] until `shutdown` is cancelled;
/// in-flight requests complete.
pub async fn serve(
    router: Router,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    serve_with(router, addr, shutdown, ServeSettings::default()).await
}

/// [`serve`] with explicit settings (`HttpConfig::serve_settings`).
pub async fn serve_with(
    router: Router,
    addr: SocketAddr,
    shutdown: CancellationToken,
    settings: ServeSettings,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    serve_listener(listener, router, shutdown, settings).await
}

/// Serves on a bound listener (tests bind port 0 and read the address first).
pub async fn serve_listener(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    settings: ServeSettings,
) -> anyhow::Result<()> {
    let addr = listener.local_addr().context("listener address")?;
    tracing::info!(%addr, "listening");
    let app = layered(router, &settings);
    // axum::serve exposes no header read timeout; hyper's own connection builder does.
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: the listener itself is fine.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = graceful.watch(http1.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection closed");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The router with what every service answers the same way: the request timeout, the
/// throttle on failed authentication, and outermost `/metrics` with the HTTP span and
/// duration histogram ([`crate::trace::observed`]), so that `408`s and `429`s are seen too.
fn layered(router: Router, settings: &ServeSettings) -> Router {
    let throttle = Arc::new(FailedAttempts::new(settings.auth_throttle));
    crate::trace::observed(
        router
            .layer(axum::middleware::from_fn_with_state(
                throttle,
                throttle_failed_authentication,
            ))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                settings.request_timeout,
            )),
    )
}

/// A request carrying credentials from a client address that failed too often is refused
/// with `429` before its credentials are looked at; a `401` to a request carrying credentials
/// counts as a failure. Requests without credentials are neither counted nor refused here
/// (unauthenticated operations such as `/health/` stay reachable).
async fn throttle_failed_authentication(
    State(throttle): State<Arc<FailedAttempts>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let Some(client) = client.filter(|_| request.headers().contains_key(header::AUTHORIZATION))
    else {
        return next.run(request).await;
    };
    if let Err(retry_after) = throttle.admits(client) {
        return too_many_failures(retry_after);
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED
        && let Err(retry_after) = throttle.record_failure(client)
    {
        tracing::warn!(%client, "authentication failures over the allowance: throttled");
        return too_many_failures(retry_after);
    }
    response
}

fn too_many_failures(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0);
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS)
        .with_detail(format!(
            "Too many failed authentications from this address; retry after {seconds:.0} s."
        ))
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{seconds:.0}")) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A dependency failure as an API answers it: `503`, worth retrying (the pool timed out, the
/// server restarts), never a `500` that blames the request. The cause is logged with the
/// dependency named; the client gets a generic detail, since the error's text may name
/// hosts, users or statements.
pub fn unavailable(
    dependency: &'static str,
    error: &(dyn std::error::Error + 'static),
) -> ApiError {
    let mut cause = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        cause.push_str(": ");
        cause.push_str(&next.to_string());
        source = next.source();
    }
    tracing::warn!(dependency, error = %cause, "answering 503: a dependency is unavailable");
    ApiError::Unavailable(format!("The {dependency} is unavailable; retry later."))
}

/// [`unavailable`] for the database.
pub fn database_unavailable(error: sqlx::Error) -> ApiError {
    unavailable("database", &error)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::num::NonZeroU32;

    use axum::http::HeaderMap;
    use axum::routing::{get, post};
    use contract_runtime::auth::{Authenticator, BasicCredentials, authenticate};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::auth::{ConfiguredPassword, ConfiguredUser};

    /// Generous: the server's own limits in these tests are 1 s.
    const DEADLINE: Duration = Duration::from_secs(30);

    fn settings() -> ServeSettings {
        ServeSettings {
            header_read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            auth_throttle: ThrottlePolicy {
                burst: NonZeroU32::new(3).expect("nonzero"),
                per_minute: NonZeroU32::new(1).expect("nonzero"),
            },
        }
    }

    /// A protected route as the generated routers have them, an open one, and one that reads
    /// its body; served for real on a port of its own.
    async fn start() -> (SocketAddr, CancellationToken) {
        let user: Arc<dyn Authenticator> = Arc::new(
            ConfiguredUser::new("alice", ConfiguredPassword::Plain("s3cret".into())).expect("user"),
        );
        let router = Router::new()
            .route(
                "/protected",
                get(move |headers: HeaderMap| async move {
                    match authenticate(&headers, user.as_ref()) {
                        Ok(principal) => principal.into_response(),
                        Err(refusal) => *refusal,
                    }
                }),
            )
            .route("/open", get(|| async { "open" }))
            .route("/echo", post(|body: axum::body::Bytes| async move { body }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        tokio::spawn(serve_listener(
            listener,
            router,
            shutdown.clone(),
            settings(),
        ));
        (addr, shutdown)
    }

    fn client_from(ip: [u8; 4]) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(IpAddr::from(ip))
            .timeout(DEADLINE)
            .build()
            .expect("client")
    }

    async fn get_status(
        client: &reqwest::Client,
        addr: SocketAddr,
        path: &str,
        password: Option<&str>,
    ) -> reqwest::Response {
        let mut request = client.get(format!("http://{addr}{path}"));
        if let Some(password) = password {
            request = request.header(
                header::AUTHORIZATION,
                BasicCredentials::new("alice", password).header_value(),
            );
        }
        request.send().await.expect("answered")
    }

    #[tokio::test]
    async fn failed_authentications_are_throttled_per_address() {
        let (addr, shutdown) = start().await;
        let attacker = client_from([127, 0, 0, 1]);
        let good = get_status(&attacker, addr, "/protected", Some("s3cret")).await;
        assert_eq!(good.status(), StatusCode::OK);
        for attempt in 0..3 {
            let wrong = get_status(&attacker, addr, "/protected", Some("guess")).await;
            assert_eq!(
                wrong.status(),
                StatusCode::UNAUTHORIZED,
                "attempt {attempt}"
            );
        }
        let over = get_status(&attacker, addr, "/protected", Some("guess")).await;
        assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(over.headers().contains_key(header::RETRY_AFTER));
        // Blocked: even the right password gets no verdict from this address now.
        let right = get_status(&attacker, addr, "/protected", Some("s3cret")).await;
        assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
        // Without credentials nothing is counted or refused.
        let open = get_status(&attacker, addr, "/open", None).await;
        assert_eq!(open.status(), StatusCode::OK);
        let anonymous = get_status(&attacker, addr, "/protected", None).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        // Another address is unaffected.
        let neighbour = client_from([127, 0, 0, 2]);
        let other = get_status(&neighbour, addr, "/protected", Some("s3cret")).await;
        assert_eq!(other.status(), StatusCode::OK);
        shutdown.cancel();
    }

    /// Reads until the server closes the connection; what it sent before closing.
    async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
        let mut received = Vec::new();
        let closed = tokio::time::timeout(DEADLINE, async {
            let mut buffer = [0u8; 1024];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buffer[..n]),
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the server kept the connection open");
        String::from_utf8_lossy(&received).into_owned()
    }

    #[tokio::test]
    async fn a_half_sent_header_is_disconnected() {
        let (addr, shutdown) = start().await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /open HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            .await
            .expect("write");
        let answer = read_until_closed(&mut stream).await;
        assert!(
            !answer.contains("200 OK"),
            "answered a half request: {answer}"
        );
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_body_that_never_completes_is_answered_408() {
        let (addr, shutdown) = start().await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(
                b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly ten..",
            )
            .await
            .expect("write");
        let answer = read_until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "answer: {answer}");
        shutdown.cancel();
    }

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_database_failure_is_logged_and_answered_without_its_text() {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let error =
            sqlx::Error::Protocol("password authentication failed for user \"person\"".into());
        let answer = tracing::subscriber::with_default(subscriber, || database_unavailable(error));
        let ApiError::Unavailable(detail) = answer else {
            panic!("not a 503: {answer:?}")
        };
        assert_eq!(detail, "The database is unavailable; retry later.");
        let logged = String::from_utf8(log.0.lock().expect("log").clone()).expect("utf-8");
        assert!(logged.contains("dependency=\"database\""), "{logged}");
        assert!(
            logged.contains("password authentication failed"),
            "{logged}"
        );
    }
}
