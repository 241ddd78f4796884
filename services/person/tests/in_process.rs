//! The person service started in-process (`person_service::build`) on port 0 with a fresh
//! database of its own on the stack's PostgreSQL, driven through the generated client.
//!
//! Needs the stack (`cargo xtask stack up`); `cargo xtask ci` runs these in its stack phase
//! (`cargo test -p person-service --features stack-tests`).

use anyhow::{Context, Result, ensure};
use chrono::{TimeZone, Utc};
use clap::Parser;
use contract_runtime::HttpClient;
use contract_runtime::client::ClientError;
use contracts::person_api::{
    Client, CreatePersonResponse, DeletePersonResponse, GetPersonResponse, HealthResponse,
    ListPersonsResponse, PersonInput, PersonPatch, ReplacePersonResponse, UpdatePersonResponse,
};
use service_kit::bootstrap::RunningApp;
use service_kit::testing::TestDatabase;
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

const USERNAME: &str = e2e::DEMO_USERNAME;
const PASSWORD: &str = e2e::DEMO_PASSWORD;

/// A running person service and its database.
struct Person {
    app: RunningApp,
    // Dropped after the app (fields drop in order): the app's pool closes first.
    db: TestDatabase,
}

impl Person {
    async fn start() -> Result<Self> {
        let stack = e2e::Stack::load()?;
        Self::start_with_registry(stack.registry()?).await
    }

    async fn start_with_registry(registry: &str) -> Result<Self> {
        let stack = e2e::Stack::load()?;
        let db = TestDatabase::create(stack.get("PG_SUPERUSER_URL")?, "person").await?;
        let database_url = db.url().to_string();
        Self::start_on(db, &database_url, registry, &[]).await
    }

    /// Started with a pool of one connection (one statement cache), connecting through
    /// `proxy` to its database.
    async fn start_through(proxy: &StatementCounter) -> Result<Self> {
        let stack = e2e::Stack::load()?;
        let db = TestDatabase::create(stack.get("PG_SUPERUSER_URL")?, "person").await?;
        let database_url = proxy.start(db.url()).await?;
        Self::start_on(
            db,
            &database_url,
            stack.registry()?,
            &["--database-pool-size", "1"],
        )
        .await
    }

    async fn start_on(
        db: TestDatabase,
        database_url: &str,
        registry: &str,
        more_args: &[&str],
    ) -> Result<Self> {
        let stack = e2e::Stack::load()?;
        let args = [
            "person-service",
            "--database-url",
            database_url,
            "--kafka-bootstrap-servers",
            stack.kafka()?,
            "--schema-registry-url",
            registry,
            "--http-addr",
            "127.0.0.1:0",
            "--api-username",
            USERNAME,
            "--api-password",
            PASSWORD,
        ];
        let config = person_service::Config::try_parse_from(args.iter().chain(more_args.iter()))?;
        let app = person_service::build(config).await?.spawn();
        Ok(Self { app, db })
    }

    fn base_url(&self) -> String {
        self.app.base_url().expect("the person service serves HTTP")
    }

    fn client(&self) -> Client {
        Client::new(HttpClient::new(self.base_url()).with_credentials(USERNAME, PASSWORD))
    }

    async fn sql(&self) -> Result<sqlx::PgConnection> {
        Ok(sqlx::PgConnection::connect(self.db.url()).await?)
    }
}

fn input(first: &str, last: &str) -> PersonInput {
    PersonInput {
        first_name: first.into(),
        last_name: last.into(),
        date_of_birth: Some(Utc.with_ymd_and_hms(1980, 2, 23, 0, 0, 0).unwrap()),
    }
}

#[tokio::test]
async fn create_get_update_delete_through_the_generated_client() -> Result<()> {
    let person = Person::start().await?;
    let client = person.client();

    let CreatePersonResponse::Created(created) =
        client.create_person(&input("Bart", "Simpson")).await?;
    assert_eq!(
        (created.first_name.as_str(), created.last_name.as_str()),
        ("Bart", "Simpson")
    );
    assert_eq!(
        created.date_of_birth,
        Some(Utc.with_ymd_and_hms(1980, 2, 23, 0, 0, 0).unwrap())
    );

    let GetPersonResponse::Ok(got) = client.get_person(created.id).await?;
    assert_eq!(got, created);

    let ReplacePersonResponse::Ok(replaced) = client
        .replace_person(created.id, &input("Lisa", "Simpson"))
        .await?;
    assert_eq!(replaced.first_name, "Lisa");
    assert!(replaced.modified >= created.modified);

    let patch = PersonPatch {
        last_name: Some("Bouvier".into()),
        date_of_birth: Some(None),
        ..PersonPatch::default()
    };
    let UpdatePersonResponse::Ok(patched) = client.update_person(created.id, &patch).await?;
    assert_eq!(
        (patched.first_name.as_str(), patched.last_name.as_str()),
        ("Lisa", "Bouvier")
    );
    assert_eq!(patched.date_of_birth, None);

    let ListPersonsResponse::Ok(page) = client.list_persons(None).await?;
    assert_eq!(page.count, 1);
    assert_eq!(page.results, vec![patched.clone()]);

    let DeletePersonResponse::NoContent = client.delete_person(created.id).await?;
    let missing = client.get_person(created.id).await.expect_err("deleted");
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404), "{missing}");
    let again = client
        .delete_person(created.id)
        .await
        .expect_err("already deleted");
    assert_eq!(again.status().map(|s| s.as_u16()), Some(404), "{again}");
    Ok(())
}

/// A TCP proxy in front of PostgreSQL that counts the statements its clients send: the
/// frontend messages `Q` (a simple query, such as `BEGIN` and `COMMIT`) and `E` (the
/// execution of a prepared statement), so a test sees how many statements a request costs;
/// and the `P` (Parse) messages, which a connection's statement cache saves on reuse.
#[derive(Default)]
struct StatementCounter {
    statements: Arc<AtomicUsize>,
    parses: Arc<AtomicUsize>,
}

impl StatementCounter {
    fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    fn parses(&self) -> usize {
        self.parses.load(Ordering::SeqCst)
    }

    /// Listens on a free port, relaying to `database_url`'s server; returns the URL with
    /// the proxy in its place (without TLS, so the proxy can read the messages).
    async fn start(&self, database_url: &str) -> Result<String> {
        let mut url = url::Url::parse(database_url)?;
        let upstream = format!(
            "{}:{}",
            url.host_str().context("the database URL has no host")?,
            url.port().unwrap_or(5432)
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (statements, parses) = (self.statements.clone(), self.parses.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, statements.clone(), parses.clone()));
            }
        });
        url.set_port(Some(port))
            .map_err(|()| anyhow::anyhow!("cannot set the port"))?;
        url.query_pairs_mut().append_pair("sslmode", "disable");
        Ok(url.to_string())
    }
}

/// Copies the server's bytes to the client as they come, and the client's to the server
/// message by message, counting the statements among them.
async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    statements: Arc<AtomicUsize>,
    parses: Arc<AtomicUsize>,
) -> Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });
    // The startup message has no type byte: a length (itself included), then the rest.
    let length = client_read.read_u32().await?;
    let mut startup = vec![0; length.saturating_sub(4) as usize];
    client_read.read_exact(&mut startup).await?;
    server_write.write_u32(length).await?;
    server_write.write_all(&startup).await?;
    loop {
        let kind = client_read.read_u8().await?;
        let length = client_read.read_u32().await?;
        let mut body = vec![0; length.saturating_sub(4) as usize];
        client_read.read_exact(&mut body).await?;
        match kind {
            b'Q' | b'E' => statements.fetch_add(1, Ordering::SeqCst),
            b'P' => parses.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
        server_write.write_u8(kind).await?;
        server_write.write_u32(length).await?;
        server_write.write_all(&body).await?;
    }
}

#[tokio::test]
async fn create_replace_and_delete_are_one_prepared_statement_each() -> Result<()> {
    let proxy = StatementCounter::default();
    let person = Person::start_through(&proxy).await?;
    let client = person.client();
    // Once first, so each statement is prepared (and health or start-up queries are done).
    let CreatePersonResponse::Created(first) =
        client.create_person(&input("Abe", "Simpson")).await?;
    client
        .replace_person(first.id, &input("Abe", "Simpson"))
        .await?;
    client.delete_person(first.id).await?;

    let (before, parsed) = (proxy.statements(), proxy.parses());
    let CreatePersonResponse::Created(created) =
        client.create_person(&input("Homer", "Simpson")).await?;
    assert_eq!(proxy.statements() - before, 1, "create");
    assert_eq!(
        proxy.parses() - parsed,
        0,
        "the create's statement is prepared once per connection, then reused"
    );
    let before = proxy.statements();
    client
        .replace_person(created.id, &input("Homer", "Simpson"))
        .await?;
    assert_eq!(proxy.statements() - before, 1, "replace");
    let before = proxy.statements();
    client.delete_person(created.id).await?;
    assert_eq!(proxy.statements() - before, 1, "delete");
    // A patch reads the row it changes, locked: BEGIN, SELECT ... FOR UPDATE, the change with
    // its event, COMMIT.
    let CreatePersonResponse::Created(patched) =
        client.create_person(&input("Marge", "Simpson")).await?;
    let before = proxy.statements();
    let patch = PersonPatch {
        first_name: Some("Maggie".into()),
        ..PersonPatch::default()
    };
    client.update_person(patched.id, &patch).await?;
    assert_eq!(proxy.statements() - before, 4, "patch");
    Ok(())
}

/// One decoded transaction of `test_decoding`'s output: its change lines.
fn transactions(lines: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in lines {
        if line.starts_with("BEGIN") {
            current = Some(Vec::new());
        } else if line.starts_with("COMMIT") {
            out.extend(current.take());
        } else if let Some(changes) = current.as_mut() {
            changes.push(line.clone());
        }
    }
    out
}

#[tokio::test]
async fn every_change_writes_its_outbox_row_in_the_same_transaction() -> Result<()> {
    let person = Person::start().await?;
    let client = person.client();
    let mut sql = person.sql().await?;
    // A logical slot on the test database shows each committed transaction's row changes,
    // which is the only place the outbox row is visible (its statement deletes it).
    sqlx::query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')")
        .bind(format!("{}_slot", person.db.name()))
        .execute(&mut sql)
        .await
        .context("creating a test_decoding slot")?;

    let CreatePersonResponse::Created(created) =
        client.create_person(&input("Homer", "Simpson")).await?;
    client
        .replace_person(created.id, &input("Homer", "Simpson"))
        .await?;
    let patch = PersonPatch {
        first_name: Some("Marge".into()),
        ..PersonPatch::default()
    };
    client.update_person(created.id, &patch).await?;
    // No event for a change of no person.
    client
        .replace_person(Uuid::new_v4(), &input("Nobody", "Simpson"))
        .await
        .expect_err("no such person");
    client
        .delete_person(Uuid::new_v4())
        .await
        .expect_err("no such person");
    client.delete_person(created.id).await?;
    let outbox_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(outbox_rows, 0, "the outbox table stays empty");

    let lines: Vec<String> =
        sqlx::query_scalar("SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)")
            .bind(format!("{}_slot", person.db.name()))
            .fetch_all(&mut sql)
            .await?;
    let id = created.id.to_string();
    let changes: Vec<Vec<String>> = transactions(&lines)
        .into_iter()
        .filter(|tx| tx.iter().any(|l| l.starts_with("table public.person:")))
        .collect();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|tx| {
            let person_change = tx
                .iter()
                .find(|l| l.starts_with("table public.person:"))
                .expect("filtered");
            ["INSERT", "UPDATE", "DELETE"]
                .into_iter()
                .find(|k| person_change.contains(&format!(": {k}:")))
                .unwrap_or("?")
        })
        .collect();
    assert_eq!(
        kinds,
        ["INSERT", "UPDATE", "UPDATE", "DELETE"],
        "{lines:#?}"
    );
    let outbox_rows = lines
        .iter()
        .filter(|l| l.starts_with("table public.outbox: INSERT:"))
        .count();
    assert_eq!(
        outbox_rows, 4,
        "only changes of a person publish: {lines:#?}"
    );
    for (tx, kind) in changes.iter().zip(kinds) {
        let outbox: Vec<&String> = tx
            .iter()
            .filter(|l| l.starts_with("table public.outbox: INSERT:"))
            .collect();
        ensure!(
            outbox.len() == 1,
            "{kind}: one outbox row in its transaction: {tx:#?}"
        );
        let row = outbox[0];
        assert!(row.contains(&format!("aggregateid[text]:'{id}'")), "{row}");
        assert!(row.contains("type[text]:'person_entity_state'"), "{row}");
        assert!(
            row.contains(&format!(
                "aggregatetype[text]:'{}'",
                <contracts::events::Person as contracts::runtime::event::CanonicalEvent>::TOPIC
            )),
            "{row}"
        );
        // A delete publishes a tombstone: no payload.
        assert_eq!(
            kind == "DELETE",
            row.contains("payload[bytea]:null"),
            "{kind}: {row}"
        );
        assert!(
            tx.iter()
                .any(|l| l.starts_with("table public.outbox: DELETE:")),
            "the outbox row is deleted in its own transaction: {tx:#?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn bad_input_is_a_400_and_changes_nothing() -> Result<()> {
    let person = Person::start().await?;
    let http = reqwest::Client::new();
    let url = format!("{}/api/persons/", person.base_url());
    for body in [
        r#"{"first_name": "Bart"}"#,
        r#"{"first_name": "", "last_name": "Simpson"}"#,
        r#"{"first_name": 7, "last_name": "Simpson"}"#,
        r#"{"first_name": "Bart", "last_name": "Simpson", "date_of_birth": "yesterday"}"#,
        "not json",
    ] {
        let response = http
            .post(&url)
            .basic_auth(USERNAME, Some(PASSWORD))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let problem: serde_json::Value = response.json().await?;
        assert_eq!(problem["status"], 400, "{body}: {problem}");
    }
    let long = "x".repeat(201);
    let error = person
        .client()
        .create_person(&input(&long, "Simpson"))
        .await
        .expect_err("too long");
    assert!(matches!(error, ClientError::Problem(_)), "{error}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));

    let unknown = person
        .client()
        .get_person(Uuid::new_v4())
        .await
        .expect_err("none");
    assert_eq!(unknown.status().map(|s| s.as_u16()), Some(404));

    let mut sql = person.sql().await?;
    let persons: i64 = sqlx::query_scalar("SELECT count(*) FROM person")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(persons, 0);
    Ok(())
}

#[tokio::test]
async fn without_valid_credentials_it_is_401() -> Result<()> {
    let person = Person::start().await?;
    let url = format!("{}/api/persons/", person.base_url());
    let http = reqwest::Client::new();
    let anonymous = http.get(&url).send().await?;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = http
        .get(&url)
        .basic_auth(USERNAME, Some("wrong"))
        .send()
        .await?;
    assert_eq!(wrong.status().as_u16(), 401);
    let client = Client::new(HttpClient::new(person.base_url()));
    let error = client.list_persons(None).await.expect_err("no credentials");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    Ok(())
}

#[tokio::test]
async fn it_starts_without_the_registry_and_is_not_ready_until_registered() -> Result<()> {
    // Nothing listens on port 1: registration keeps failing as unreachable.
    let person = Person::start_with_registry("http://127.0.0.1:1/apis/ccompat/v7").await?;
    let client = Client::new(HttpClient::new(person.base_url()));
    let HealthResponse::ServiceUnavailable(health) = client.health().await? else {
        panic!("ready without a registry");
    };
    let registration = health
        .checks
        .get("startup:schema-registration")
        .context("the registration is a check")?;
    assert!(!registration.ready, "{health:?}");
    // The API still answers reads from its database.
    let ListPersonsResponse::Ok(page) = person.client().list_persons(None).await?;
    assert_eq!(page.count, 0);
    Ok(())
}

#[tokio::test]
async fn with_the_registry_it_registers_and_becomes_ready() -> Result<()> {
    let person = Person::start().await?;
    let client = person.client();
    // Registration runs in the background: wait for it (bounded), never for a fixed time.
    let mut last = None;
    for _ in 0..100 {
        let health = match client.health().await? {
            HealthResponse::Ok(health) | HealthResponse::ServiceUnavailable(health) => health,
        };
        if health
            .checks
            .get("startup:schema-registration")
            .is_some_and(|c| c.ready)
        {
            return Ok(());
        }
        last = Some(health);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("never registered: {last:?}")
}
