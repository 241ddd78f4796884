//! Support for services' in-process tests against the real stack: a fresh, uniquely named
//! database per test on the stack's PostgreSQL, dropped when the test ends (also when it
//! fails), so tests run side by side and leave nothing behind.

use anyhow::Context as _;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// A database created for one test from an administrator URL (`PG_SUPERUSER_URL` of the
/// stack); dropped, with its connections and replication slots, on drop.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates `<prefix>_test_<random>` and returns it; `prefix` says whose it is
    /// (the service name), so a leftover is recognisable.
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(admin_url).context("the admin URL is not a URL")?;
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("cannot connect to the stack's PostgreSQL as its administrator")?;
        // The name is ours (letters, digits, `_`): quoting it is enough.
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cannot create database {name}"))?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            admin_url: admin_url.to_string(),
            url: url.to_string(),
            name,
        })
    }

    /// The URL of the database, with the administrator's credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn remove(admin_url: &str, name: &str) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(admin_url).await?;
        // A test's logical slot would keep the database from being dropped.
        sqlx::query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
             WHERE database = $1 AND NOT active",
        )
        .bind(name)
        .execute(&mut admin)
        .await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Dropping may happen inside the test's runtime, which cannot block on itself: a
        // thread of its own with a runtime of its own does the asynchronous work.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(Self::remove(&admin_url, &name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("cannot drop test database {}: {error:#}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}
