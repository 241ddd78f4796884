//! The accounting service started in-process (`accounting_service::build`, role `web`) on
//! port 0 with a fresh database of its own on the stack's PostgreSQL, driven through the
//! generated client; its CDC translator is driven directly with Debezium envelopes.
//!
//! Needs the stack (`cargo xtask stack up`); `cargo xtask ci` runs these in its stack phase
//! (`cargo test -p accounting-service --features stack-tests`).

use std::sync::Arc;

use accounting_service::cdc::{self, CdcTranslator};
use anyhow::{Context, Result, ensure};
use chrono::{TimeZone, Utc};
use clap::Parser;
use contract_runtime::HttpClient;
use contract_runtime::event::CanonicalEvent;
use contracts::accounting_api::{
    BalanceSheet, BalanceSheetInput, BalanceSheetPatch, Client, CreateBalanceSheetResponse,
    DeleteBalanceSheetResponse, GetBalanceSheetResponse, HealthResponse, ListBalanceSheetsResponse,
    ReplaceBalanceSheetResponse, UpdateBalanceSheetResponse,
};
use contracts::events::BalanceSheet as BalanceSheetEvent;
use service_kit::bootstrap::RunningApp;
use service_kit::codec::EventCodec;
use service_kit::consumer::{Handler, RawEvent};
use service_kit::outbox::Outbox;
use service_kit::testing::TestDatabase;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const USERNAME: &str = e2e::DEMO_USERNAME;
const PASSWORD: &str = e2e::DEMO_PASSWORD;

/// A running accounting API and its database.
struct Accounting {
    app: RunningApp,
    registry: String,
    // Dropped after the app (fields drop in order): the app's pool closes first.
    db: TestDatabase,
}

impl Accounting {
    async fn start() -> Result<Self> {
        let stack = e2e::Stack::load()?;
        let db = TestDatabase::create(stack.get("PG_SUPERUSER_URL")?, "accounting").await?;
        let config = accounting_service::Config::try_parse_from([
            "accounting-service",
            "--database-url",
            db.url(),
            "--kafka-bootstrap-servers",
            stack.kafka()?,
            "--schema-registry-url",
            stack.registry()?,
            "--http-addr",
            "127.0.0.1:0",
            "--api-username",
            USERNAME,
            "--api-password",
            PASSWORD,
            // The API only: the CDC translator is driven by the test, not by a consumer group.
            "--role",
            "web",
        ])?;
        let app = accounting_service::build(config).await?.spawn();
        Ok(Self {
            app,
            registry: stack.registry()?.to_string(),
            db,
        })
    }

    fn base_url(&self) -> Result<String> {
        self.app
            .base_url()
            .context("the accounting service serves HTTP")
    }

    fn client(&self) -> Result<Client> {
        Ok(Client::new(
            HttpClient::new(self.base_url()?).with_credentials(USERNAME, PASSWORD),
        ))
    }

    async fn sql(&self) -> Result<PgConnection> {
        Ok(PgConnection::connect(self.db.url()).await?)
    }

    /// A `test_decoding` slot on the test database: it shows each committed transaction's
    /// row changes, including outbox rows that are deleted before commit.
    async fn watch_changes(&self, sql: &mut PgConnection) -> Result<String> {
        let slot = format!("{}_slot", self.db.name());
        sqlx::query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')")
            .bind(&slot)
            .execute(&mut *sql)
            .await
            .context("creating a test_decoding slot")?;
        Ok(slot)
    }

    /// Waits (bounded) until the service registered its schemas, which the outbox's encoder
    /// looks up.
    async fn registered(&self) -> Result<()> {
        let client = self.client()?;
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
}

/// The committed transactions' change lines since the last call.
async fn committed(sql: &mut PgConnection, slot: &str) -> Result<Vec<Vec<String>>> {
    let lines: Vec<String> =
        sqlx::query_scalar("SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)")
            .bind(slot)
            .fetch_all(&mut *sql)
            .await?;
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in lines {
        if line.starts_with("BEGIN") {
            current = Some(Vec::new());
        } else if line.starts_with("COMMIT") {
            out.extend(current.take());
        } else if let Some(changes) = current.as_mut() {
            changes.push(line);
        }
    }
    Ok(out)
}

fn input(person_id: Uuid, assets: i64, liabilities: i64) -> BalanceSheetInput {
    BalanceSheetInput {
        person_id,
        date_calculated: Utc.with_ymd_and_hms(2022, 12, 8, 4, 41, 29).single(),
        assets,
        liabilities,
    }
}

#[tokio::test]
async fn create_get_replace_update_delete_through_the_generated_client() -> Result<()> {
    let accounting = Accounting::start().await?;
    let client = accounting.client()?;
    let person_id = Uuid::new_v4();

    let CreateBalanceSheetResponse::Created(created) = client
        .create_balance_sheet(&input(person_id, 3_340_000, 537_300))
        .await?;
    assert_eq!(created.person_id, person_id);
    assert_eq!((created.assets, created.liabilities), (3_340_000, 537_300));
    let GetBalanceSheetResponse::Ok(got) = client.get_balance_sheet(created.id).await?;
    assert_eq!(got, created);

    let ReplaceBalanceSheetResponse::Ok(replaced) = client
        .replace_balance_sheet(created.id, &input(person_id, 10, 20))
        .await?;
    assert_eq!((replaced.assets, replaced.liabilities), (10, 20));
    let patch = BalanceSheetPatch {
        liabilities: Some(5),
        ..BalanceSheetPatch::default()
    };
    let UpdateBalanceSheetResponse::Ok(patched) =
        client.update_balance_sheet(created.id, &patch).await?;
    assert_eq!((patched.assets, patched.liabilities), (10, 5));

    let ListBalanceSheetsResponse::Ok(page) = client.list_balance_sheets(None).await?;
    assert_eq!(page.count, 1);
    assert_eq!(page.results, vec![patched.clone()]);

    let DeleteBalanceSheetResponse::NoContent = client.delete_balance_sheet(created.id).await?;
    let missing = client
        .get_balance_sheet(created.id)
        .await
        .expect_err("deleted");
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404), "{missing}");
    let again = client
        .delete_balance_sheet(created.id)
        .await
        .expect_err("already deleted");
    assert_eq!(again.status().map(|s| s.as_u16()), Some(404), "{again}");
    Ok(())
}

/// Each API write is one transaction changing the captured table only; the CDC translator
/// writes the canonical event's outbox row (inserted and deleted) in the transaction that
/// applies the change.
#[tokio::test]
async fn writes_are_captured_rows_and_the_translator_writes_the_outbox_in_its_transaction()
-> Result<()> {
    let accounting = Accounting::start().await?;
    let client = accounting.client()?;
    let mut sql = accounting.sql().await?;
    let slot = accounting.watch_changes(&mut sql).await?;

    let CreateBalanceSheetResponse::Created(created) = client
        .create_balance_sheet(&input(Uuid::new_v4(), 100, 40))
        .await?;
    let patch = BalanceSheetPatch {
        assets: Some(200),
        ..BalanceSheetPatch::default()
    };
    client.update_balance_sheet(created.id, &patch).await?;
    client.delete_balance_sheet(created.id).await?;

    let transactions = committed(&mut sql, &slot).await?;
    let api_writes: Vec<&Vec<String>> = transactions
        .iter()
        .filter(|tx| {
            tx.iter()
                .any(|l| l.starts_with("table public.balance_sheet:"))
        })
        .collect();
    let kinds: Vec<&str> = api_writes
        .iter()
        .map(|tx| {
            ["INSERT", "UPDATE", "DELETE"]
                .into_iter()
                .find(|k| tx[0].contains(&format!(": {k}:")))
                .unwrap_or("?")
        })
        .collect();
    assert_eq!(kinds, ["INSERT", "UPDATE", "DELETE"], "{transactions:#?}");
    for tx in &api_writes {
        ensure!(
            tx.len() == 1 && tx[0].contains(&created.id.to_string()),
            "one change of the captured row per write, nothing else: {tx:#?}"
        );
    }

    // The translator, given Debezium's envelopes of the create and the delete.
    accounting.registered().await?;
    let codec = Arc::new(EventCodec::new(&accounting.registry)?);
    let translator = CdcTranslator {
        outbox: Outbox::new(codec),
    };
    for (offset, envelope) in [
        (1, create_envelope(&created)),
        (2, delete_envelope(created.id)),
    ] {
        let raw = RawEvent {
            topic: contracts::topology::private_topics::PRIVATE_ACCOUNTING_BAL_SHEET_CDC
                .name
                .into(),
            partition: 0,
            offset,
            key: None,
            value: Some(envelope.to_string().into_bytes()),
            headers: None,
        };
        let change = cdc::parse(&raw)?;
        let mut tx = sql.begin().await?;
        translator.apply(&mut tx, &change, &raw).await?;
        tx.commit().await?;
    }
    let translated = committed(&mut sql, &slot).await?;
    assert_eq!(translated.len(), 2, "{translated:#?}");
    for (tx, tombstone) in translated.iter().zip([false, true]) {
        let inserts: Vec<&String> = tx
            .iter()
            .filter(|l| l.starts_with("table public.outbox: INSERT:"))
            .collect();
        ensure!(inserts.len() == 1, "one outbox row per change: {tx:#?}");
        let row = inserts[0];
        assert!(
            row.contains(&format!("aggregateid[text]:'{}'", created.id)),
            "{row}"
        );
        assert!(
            row.contains(&format!(
                "aggregatetype[text]:'{}'",
                BalanceSheetEvent::TOPIC
            )),
            "{row}"
        );
        assert!(
            row.contains(&format!("type[text]:'{}'", BalanceSheetEvent::EVENT_TYPE)),
            "{row}"
        );
        assert_eq!(row.contains("payload[bytea]:null"), tombstone, "{row}");
        assert!(
            tx.iter()
                .any(|l| l.starts_with("table public.outbox: DELETE:")),
            "the outbox row is deleted in the same transaction: {tx:#?}"
        );
    }
    Ok(())
}

fn create_envelope(sheet: &BalanceSheet) -> serde_json::Value {
    serde_json::json!({
        "before": null,
        "after": {
            "id": sheet.id,
            "person_id": sheet.person_id,
            "date_calculated": sheet.date_calculated,
            "assets": sheet.assets,
            "liabilities": sheet.liabilities,
        },
        "source": { "lsn": 1001 },
        "op": "c",
    })
}

fn delete_envelope(id: Uuid) -> serde_json::Value {
    serde_json::json!({
        "before": { "id": id },
        "after": null,
        "source": { "lsn": 1002 },
        "op": "d",
    })
}

#[tokio::test]
async fn bad_input_is_a_400_and_changes_nothing() -> Result<()> {
    let accounting = Accounting::start().await?;
    let http = reqwest::Client::new();
    let url = format!("{}/api/balance-sheets/", accounting.base_url()?);
    let person_id = Uuid::new_v4();
    for body in [
        format!(r#"{{"person_id": "{person_id}", "assets": 1}}"#),
        r#"{"person_id": "not-a-uuid", "assets": 1, "liabilities": 2}"#.to_string(),
        format!(r#"{{"person_id": "{person_id}", "assets": "1x", "liabilities": 2}}"#),
        format!(r#"{{"person_id": "{person_id}", "assets": 1.5, "liabilities": 2}}"#),
        format!(
            r#"{{"person_id": "{person_id}", "assets": 1, "liabilities": 2, "date_calculated": "today"}}"#
        ),
        "not json".to_string(),
    ] {
        let response = http
            .post(&url)
            .basic_auth(USERNAME, Some(PASSWORD))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let problem: serde_json::Value = response.json().await?;
        assert_eq!(problem["status"], 400, "{body}: {problem}");
    }
    let unknown = accounting
        .client()?
        .get_balance_sheet(Uuid::new_v4())
        .await
        .expect_err("none");
    assert_eq!(unknown.status().map(|s| s.as_u16()), Some(404));

    let mut sql = accounting.sql().await?;
    let sheets: i64 = sqlx::query_scalar("SELECT count(*) FROM balance_sheet")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(sheets, 0);
    Ok(())
}

#[tokio::test]
async fn without_valid_credentials_it_is_401() -> Result<()> {
    let accounting = Accounting::start().await?;
    let url = format!("{}/api/balance-sheets/", accounting.base_url()?);
    let http = reqwest::Client::new();
    let anonymous = http.get(&url).send().await?;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = http
        .post(&url)
        .basic_auth(USERNAME, Some("wrong"))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"person_id": "{}", "assets": 1, "liabilities": 2}}"#,
            Uuid::new_v4()
        ))
        .send()
        .await?;
    assert_eq!(wrong.status().as_u16(), 401);
    let client = Client::new(HttpClient::new(accounting.base_url()?));
    let error = client
        .list_balance_sheets(None)
        .await
        .expect_err("no credentials");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));

    let mut sql = accounting.sql().await?;
    let sheets: i64 = sqlx::query_scalar("SELECT count(*) FROM balance_sheet")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(sheets, 0, "a refused write changes nothing");
    Ok(())
}
