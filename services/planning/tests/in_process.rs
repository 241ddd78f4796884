//! The planning service's REST API started in-process (`planning_service::build`, role `web`)
//! on port 0 with a fresh database of its own on the stack's PostgreSQL. The read model is
//! filled through the service's own consumer implementation ([`ReadModel`], the domain side
//! of the generated `PlanningConsumer`), the code the Kafka consumers call, so no topic is
//! involved and tests running side by side share nothing.
//!
//! Needs the stack (`cargo xtask stack up`); `cargo xtask ci` runs these in its stack phase
//! (`cargo test -p planning-service --features stack-tests`).

use anyhow::{Context, Result};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use clap::Parser;
use contract_runtime::HttpClient;
use contracts::consumers::planning::PlanningConsumer;
use contracts::events;
use contracts::planning_api::{Client, GetRatiosResponse, Ratio, RatioResultStatus};
use planning_service::ReadModel;
use service_kit::bootstrap::RunningApp;
use service_kit::conventions::UNKNOWN_DATE_OF_BIRTH;
use service_kit::testing::TestDatabase;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const USERNAME: &str = e2e::DEMO_USERNAME;
const PASSWORD: &str = e2e::DEMO_PASSWORD;

/// A running planning API and its database.
struct Planning {
    app: RunningApp,
    // Dropped after the app (fields drop in order): the app's pool closes first.
    db: TestDatabase,
}

impl Planning {
    async fn start() -> Result<Self> {
        let stack = e2e::Stack::load()?;
        let db = TestDatabase::create(stack.get("PG_SUPERUSER_URL")?, "planning").await?;
        let config = planning_service::Config::try_parse_from([
            "planning-service",
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
            // The API only: the read model is written by the test, not by consumer groups.
            "--role",
            "web",
        ])?;
        let app = planning_service::build(config).await?.spawn();
        Ok(Self { app, db })
    }

    fn base_url(&self) -> Result<String> {
        self.app
            .base_url()
            .context("the planning service serves HTTP")
    }

    fn client(&self) -> Result<Client> {
        Ok(Client::new(
            HttpClient::new(self.base_url()?).with_credentials(USERNAME, PASSWORD),
        ))
    }

    /// A connection to the read model, for the consumer implementation.
    async fn read_model(&self) -> Result<PgConnection> {
        Ok(PgConnection::connect(self.db.url()).await?)
    }

    /// The one ratio the API answers for `person_id`.
    async fn ratio(&self, person_id: Uuid) -> Result<Ratio> {
        let GetRatiosResponse::Ok(ratios) = self.client()?.get_ratios(person_id).await?;
        let [ratio] = <[Ratio; 1]>::try_from(ratios)
            .map_err(|all| anyhow::anyhow!("one ratio expected: {all:?}"))?;
        Ok(ratio)
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn person(id: Uuid, date_of_birth: NaiveDate) -> events::Person {
    events::Person {
        id,
        first_name: "Bart".into(),
        last_name: "Simpson".into(),
        date_of_birth,
    }
}

fn sheet(
    person_id: Uuid,
    at: DateTime<Utc>,
    assets: i64,
    liabilities: i64,
) -> events::BalanceSheet {
    events::BalanceSheet {
        id: Uuid::new_v4(),
        person_id,
        date_calculated: at,
        assets,
        liabilities,
    }
}

#[tokio::test]
async fn an_unknown_person_is_404_until_the_person_event_arrives() -> Result<()> {
    let planning = Planning::start().await?;
    let id = Uuid::new_v4();
    let missing = planning.client()?.get_ratios(id).await.expect_err("nobody");
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404), "{missing}");

    let mut model = planning.read_model().await?;
    ReadModel
        .upsert_person(&mut model, &person(id, date(1980, 2, 23)))
        .await?;
    let ratio = planning.ratio(id).await?;
    assert_eq!(ratio.name, "Net Worth to Total Assets");
    assert_eq!(ratio.result.status, RatioResultStatus::InsufficientData);
    assert_eq!(ratio.result.ratio, None);
    assert!(ratio.result.benchmark.is_some(), "{ratio:?}");
    assert_eq!(ratio.result.detail.as_deref(), Some("no balance sheet yet"));

    // A tombstone removes the person again.
    ReadModel.delete_person(&mut model, id).await?;
    let gone = planning
        .client()?
        .get_ratios(id)
        .await
        .expect_err("deleted");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404), "{gone}");
    Ok(())
}

#[tokio::test]
async fn the_ratio_comes_from_the_latest_balance_sheet_up_to_now() -> Result<()> {
    let planning = Planning::start().await?;
    let mut model = planning.read_model().await?;
    let id = Uuid::new_v4();
    // A balance sheet before its person: stored, counted once the person arrives.
    let older = Utc
        .with_ymd_and_hms(2021, 6, 1, 0, 0, 0)
        .single()
        .context("date")?;
    ReadModel
        .upsert_balance_sheet(&mut model, &sheet(id, older, 1_000, 900))
        .await?;
    ReadModel
        .upsert_person(&mut model, &person(id, date(1980, 2, 23)))
        .await?;
    let first = planning.ratio(id).await?;
    assert_eq!(first.result.ratio, Some(0.1));
    assert_eq!(first.result.status, RatioResultStatus::NeedsImprovement);

    // The seed's figures, dated later: they are the ones that count.
    let latest = Utc
        .with_ymd_and_hms(2022, 12, 8, 4, 41, 29)
        .single()
        .context("date")?;
    let seed = sheet(id, latest, 3_340_000, 537_300);
    ReadModel.upsert_balance_sheet(&mut model, &seed).await?;
    // One dated tomorrow does not count yet.
    let tomorrow = Utc::now()
        .checked_add_days(Days::new(1))
        .context("tomorrow")?;
    ReadModel
        .upsert_balance_sheet(&mut model, &sheet(id, tomorrow, 1, 1_000_000))
        .await?;
    let ratio = planning.ratio(id).await?;
    assert_eq!(ratio.result.ratio, Some(0.8391317365269461));
    // Born in 1980: 46 to 66 years old, whatever year before 2047 the test runs in.
    assert_eq!(ratio.result.benchmark, Some(0.75));
    assert_eq!(ratio.result.status, RatioResultStatus::Good);
    assert_eq!(ratio.result.detail, None);

    // Deleting the latest sheet falls back to the older one.
    ReadModel.delete_balance_sheet(&mut model, seed.id).await?;
    assert_eq!(planning.ratio(id).await?.result.ratio, Some(0.1));
    Ok(())
}

#[tokio::test]
async fn missing_figures_or_birth_date_are_insufficient_data_with_the_reason() -> Result<()> {
    let planning = Planning::start().await?;
    let mut model = planning.read_model().await?;
    let now = Utc::now();

    let unknown_birth = Uuid::new_v4();
    ReadModel
        .upsert_person(&mut model, &person(unknown_birth, UNKNOWN_DATE_OF_BIRTH))
        .await?;
    ReadModel
        .upsert_balance_sheet(&mut model, &sheet(unknown_birth, now, 100, 50))
        .await?;
    let ratio = planning.ratio(unknown_birth).await?;
    assert_eq!(ratio.result.ratio, Some(0.5));
    assert_eq!(ratio.result.benchmark, None);
    assert_eq!(ratio.result.status, RatioResultStatus::InsufficientData);
    assert_eq!(
        ratio.result.detail.as_deref(),
        Some("date of birth unknown")
    );

    let no_assets = Uuid::new_v4();
    ReadModel
        .upsert_person(&mut model, &person(no_assets, date(1990, 1, 1)))
        .await?;
    ReadModel
        .upsert_balance_sheet(&mut model, &sheet(no_assets, now, 0, 10))
        .await?;
    let ratio = planning.ratio(no_assets).await?;
    assert_eq!(ratio.result.ratio, None);
    assert_eq!(ratio.result.status, RatioResultStatus::InsufficientData);
    assert_eq!(
        ratio.result.detail.as_deref(),
        Some("assets are 0, so the ratio is undefined")
    );

    // Figures no database column limits: answered, not a panic or a dropped connection.
    let extreme = Uuid::new_v4();
    ReadModel
        .upsert_person(&mut model, &person(extreme, date(1990, 1, 1)))
        .await?;
    ReadModel
        .upsert_balance_sheet(&mut model, &sheet(extreme, now, i64::MAX, i64::MIN))
        .await?;
    let ratio = planning.ratio(extreme).await?;
    assert_eq!(ratio.result.ratio, Some(2.0));
    Ok(())
}

#[tokio::test]
async fn a_malformed_id_is_400_and_no_credentials_401() -> Result<()> {
    let planning = Planning::start().await?;
    let http = reqwest::Client::new();
    let malformed = http
        .get(format!("{}/api/ratios/not-a-uuid/", planning.base_url()?))
        .basic_auth(USERNAME, Some(PASSWORD))
        .send()
        .await?;
    assert_eq!(malformed.status().as_u16(), 400);
    let problem: serde_json::Value = malformed.json().await?;
    assert_eq!(problem["status"], 400, "{problem}");

    let url = format!("{}/api/ratios/{}/", planning.base_url()?, Uuid::new_v4());
    let anonymous = http.get(&url).send().await?;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = http
        .get(&url)
        .basic_auth(USERNAME, Some("wrong"))
        .send()
        .await?;
    assert_eq!(wrong.status().as_u16(), 401);
    let client = Client::new(HttpClient::new(planning.base_url()?));
    let error = client
        .get_ratios(Uuid::new_v4())
        .await
        .expect_err("no credentials");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    Ok(())
}
