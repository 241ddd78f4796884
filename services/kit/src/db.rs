//! The service's PostgreSQL pool and migrations.
//!
//! The kit's own tables (outbox, inbox) have migrations of their own, applied next to the
//! service's. Every migrator ignores the others' versions (`set_ignore_missing`); version
//! numbers are disjoint: the kit's are small integers, services' are timestamps.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

/// The outbox table, for services that publish events.
pub fn outbox_migrations() -> Migrator {
    sqlx::migrate!("./migrations/outbox")
}

/// The inbox table, for services that consume events.
pub fn inbox_migrations() -> Migrator {
    sqlx::migrate!("./migrations/inbox")
}

/// Connects, then applies `migrators` in order.
pub async fn connect_and_migrate(
    url: &str,
    pool_size: u32,
    migrators: impl IntoIterator<Item = Migrator>,
) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings every connection when it returns to the pool (unconditionally, in 0.8):
        // a ping on acquire too would test again what was tested when it went idle, a round
        // trip per request. A connection that broke while idle fails one request (a 503 the
        // client retries) and is closed by its failed release ping.
        .test_before_acquire(false)
        .connect(url)
        .await
        .context("cannot connect to the database (DATABASE_URL)")?;
    crate::metrics::watch_pool("default", &pool);
    for mut migrator in migrators {
        migrator.set_ignore_missing(true);
        migrator
            .run(&pool)
            .await
            .context("database migrations failed")?;
    }
    Ok(pool)
}
