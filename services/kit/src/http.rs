//! Serving a generated router: bind, serve, stop gracefully on shutdown.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use contract_runtime::ApiError;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

/// Serves `router` on `addr` until `shutdown` is cancelled; in-flight requests complete.
pub async fn serve(
    router: Router,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, router.layer(TraceLayer::new_for_http()))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("HTTP server failed")
}

/// A database failure as an API answers it: `503`, worth retrying (the pool timed out, the
/// server restarts), never a `500` that blames the request.
pub fn database_unavailable(error: sqlx::Error) -> ApiError {
    ApiError::Unavailable(format!("database: {error}"))
}
