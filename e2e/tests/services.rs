//! End-to-end tests of the three services on the real stack: the seed's demo flow, updates and
//! deletes reaching planning, arrival order across topics, and wire compatibility both ways
//! with services in other languages that follow the seed's contract.
//!
//! Needs the stack, the connectors and the services: `cargo xtask ci` starts them all.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as Avro;
use apache_avro::writer::datum::GenericDatumWriter;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use contract_runtime::client::HttpClient;
use contract_runtime::event::CanonicalEvent;
use contracts::planning_api::{GetRatiosResponse, Ratio, RatioResultStatus};
use contracts::{accounting_api, person_api, planning_api, topology};
use e2e::{NOT_UP, Stack, consumer_at_end, get, header, kafka_config, poll_until, registry_post};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use uuid::Uuid;

const PERSON_TOPIC: &str = contracts::events::Person::TOPIC;
const CONSISTENCY_TIMEOUT: Duration = Duration::from_secs(60);

fn client(port: u16) -> HttpClient {
    HttpClient::new(e2e::service_url(port)).with_credentials(e2e::DEMO_USERNAME, e2e::DEMO_PASSWORD)
}

fn persons() -> person_api::Client {
    person_api::Client::new(client(topology::person::PORT))
}

fn accounting() -> accounting_api::Client {
    accounting_api::Client::new(client(topology::accounting::PORT))
}

fn planning() -> planning_api::Client {
    planning_api::Client::new(client(topology::planning::PORT))
}

fn midnight(year: i32, month: u32, day: u32) -> Result<DateTime<Utc>> {
    Utc.with_ymd_and_hms(year, month, day, 0, 0, 0)
        .single()
        .context("a valid date")
}

/// Polls planning's ratios for `person_id` until `done` holds for the answer (`None` = 404).
async fn wait_for_ratios(
    person_id: Uuid,
    what: &str,
    done: impl Fn(Option<&Ratio>) -> bool,
) -> Result<Option<Ratio>> {
    let deadline = Instant::now() + CONSISTENCY_TIMEOUT;
    loop {
        let answer = match planning().get_ratios(person_id).await {
            Ok(GetRatiosResponse::Ok(ratios)) => {
                Some(ratios.into_iter().next().context("an empty ratio list")?)
            }
            Err(error) if error.status() == Some(http::StatusCode::NOT_FOUND) => None,
            Err(error) => bail!(
                "planning is not answering ({error}); {NOT_UP}, then `cargo xtask services up`"
            ),
        };
        if done(answer.as_ref()) {
            return Ok(answer);
        }
        if Instant::now() > deadline {
            bail!(
                "planning did not reach `{what}` within {CONSISTENCY_TIMEOUT:?}; last answer: {answer:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_person(
    first: &str,
    last: &str,
    born: Option<DateTime<Utc>>,
) -> Result<person_api::Person> {
    let person_api::CreatePersonResponse::Created(person) = persons()
        .create_person(&person_api::PersonInput {
            first_name: first.into(),
            last_name: last.into(),
            date_of_birth: born,
        })
        .await
        .with_context(|| format!("the person service is not answering; {NOT_UP}"))?;
    Ok(person)
}

async fn create_balance_sheet(
    person_id: Uuid,
    assets: i64,
    liabilities: i64,
) -> Result<accounting_api::BalanceSheet> {
    let accounting_api::CreateBalanceSheetResponse::Created(sheet) = accounting()
        .create_balance_sheet(&accounting_api::BalanceSheetInput {
            person_id,
            date_calculated: None,
            assets,
            liabilities,
        })
        .await
        .context("the accounting service is not answering")?;
    Ok(sheet)
}

/// The benchmark of the seed's table for someone born on `born`, today.
fn benchmark_today(born: NaiveDate) -> f64 {
    let today = Utc::now().date_naive();
    match today.years_since(born).unwrap_or(0) {
        0..=30 => 0.20,
        31..=45 => 0.50,
        46..=66 => 0.75,
        _ => 0.90,
    }
}

#[tokio::test]
async fn the_seed_demo_flow_reaches_planning() -> Result<()> {
    let bart = create_person("Bart", "Simpson", Some(midnight(1980, 2, 23)?)).await?;
    create_balance_sheet(bart.id, 3_340_000, 537_300).await?;

    let ratio = wait_for_ratios(bart.id, "a ratio", |r| {
        r.is_some_and(|r| r.result.ratio.is_some())
    })
    .await?
    .context("a ratio")?;
    assert_eq!(ratio.name, "Net Worth to Total Assets");
    assert_eq!(ratio.result.ratio, Some(0.8391317365269461));
    let benchmark = benchmark_today(NaiveDate::from_ymd_opt(1980, 2, 23).context("date")?);
    assert_eq!(ratio.result.benchmark, Some(benchmark));
    let expected_status = if 0.8391317365269461 >= benchmark {
        RatioResultStatus::Good
    } else {
        RatioResultStatus::NeedsImprovement
    };
    assert_eq!(ratio.result.status, expected_status);
    Ok(())
}

#[tokio::test]
async fn person_updates_and_deletes_reach_planning() -> Result<()> {
    let person = create_person("Lisa", "Simpson", Some(midnight(1982, 5, 9)?)).await?;
    create_balance_sheet(person.id, 1_000, 100).await?;
    wait_for_ratios(person.id, "a benchmark", |r| {
        r.is_some_and(|r| r.result.benchmark.is_some() && r.result.ratio.is_some())
    })
    .await?;

    // PATCH the date of birth to null: planning learns the age is unknown.
    let patch = person_api::PersonPatch {
        date_of_birth: Some(None),
        ..Default::default()
    };
    persons().update_person(person.id, &patch).await?;
    let unknown = wait_for_ratios(person.id, "an unknown age", |r| {
        r.is_some_and(|r| r.result.benchmark.is_none())
    })
    .await?
    .context("ratios")?;
    assert_eq!(unknown.result.status, RatioResultStatus::InsufficientData);
    assert!(
        unknown
            .result
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("date of birth unknown")),
        "{unknown:?}"
    );

    // PUT a full replacement with a date again: the benchmark comes back.
    let replacement = person_api::PersonInput {
        first_name: "Lisa".into(),
        last_name: "Simpson".into(),
        date_of_birth: Some(midnight(1950, 1, 1)?),
    };
    persons().replace_person(person.id, &replacement).await?;
    wait_for_ratios(person.id, "the 67+ benchmark", |r| {
        r.is_some_and(|r| r.result.benchmark == Some(0.90))
    })
    .await?;

    // DELETE: planning forgets the person.
    persons().delete_person(person.id).await?;
    wait_for_ratios(person.id, "404 after the delete", |r| r.is_none()).await?;
    Ok(())
}

#[tokio::test]
async fn balance_sheet_updates_and_deletes_reach_planning() -> Result<()> {
    let person = create_person("Marge", "Simpson", Some(midnight(1956, 3, 19)?)).await?;
    let sheet = create_balance_sheet(person.id, 1_000, 500).await?;
    wait_for_ratios(person.id, "ratio 0.5", |r| {
        r.is_some_and(|r| r.result.ratio == Some(0.5))
    })
    .await?;

    // PATCH one field: the others keep their values (liabilities stays 500).
    let patch = accounting_api::BalanceSheetPatch {
        assets: Some(2_000),
        ..Default::default()
    };
    let accounting_api::UpdateBalanceSheetResponse::Ok(patched) =
        accounting().update_balance_sheet(sheet.id, &patch).await?;
    assert_eq!((patched.assets, patched.liabilities), (2_000, 500));
    assert_eq!(patched.date_calculated, sheet.date_calculated);
    wait_for_ratios(person.id, "ratio 0.75", |r| {
        r.is_some_and(|r| r.result.ratio == Some(0.75))
    })
    .await?;

    // DELETE: planning has no balance sheet for the person any more.
    accounting().delete_balance_sheet(sheet.id).await?;
    let ratio = wait_for_ratios(person.id, "no balance sheet", |r| {
        r.is_some_and(|r| r.result.ratio.is_none())
    })
    .await?
    .context("ratios")?;
    assert!(
        ratio
            .result
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("no balance sheet")),
        "{ratio:?}"
    );
    Ok(())
}

/// Registers the seed's person schema under the topic's subject, as a foreign producer would,
/// and returns its id and the parsed schema.
fn register_seed_person_schema(stack: &Stack) -> Result<(u32, Schema)> {
    let text = std::fs::read_to_string(e2e::root().join("contracts/events/person.avsc"))?;
    let url = format!(
        "{}/subjects/{PERSON_TOPIC}-value/versions",
        stack.registry()?
    );
    let (status, body) = registry_post(&url, &json!({ "schema": text, "schemaType": "AVRO" }))?;
    ensure!(
        status == 200,
        "registering the person schema: {status} {body}"
    );
    let id = body["id"].as_u64().context("an id")?;
    Ok((u32::try_from(id)?, Schema::parse_str(&text)?))
}

/// Publishes a person the way a service in another language following the seed's contract
/// does: UTF-8 key, Confluent-framed Avro written with a generic writer, and only the
/// documented headers (no `ce_specversion`).
async fn publish_seed_shaped_person(
    stack: &Stack,
    id: Uuid,
    first: &str,
    born_days: i32,
) -> Result<()> {
    let (schema_id, schema) = register_seed_person_schema(stack)?;
    let record = Avro::Record(vec![
        ("id".into(), Avro::String(id.to_string())),
        ("first_name".into(), Avro::String(first.into())),
        ("last_name".into(), Avro::String("Python".into())),
        ("date_of_birth".into(), Avro::Int(born_days)),
    ])
    .resolve(&schema)?;
    let body = GenericDatumWriter::builder(&schema)
        .build()?
        .write_value_to_vec(record)?;
    let mut value = vec![0u8];
    value.extend_from_slice(&schema_id.to_be_bytes());
    value.extend_from_slice(&body);

    let event_id = Uuid::new_v4().to_string();
    let now = Utc::now().to_rfc3339();
    let key = id.to_string();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "ce_id",
            value: Some(&event_id),
        })
        .insert(Header {
            key: "ce_source",
            value: Some("person-service"),
        })
        .insert(Header {
            key: "ce_type",
            value: Some("person_entity_state"),
        })
        .insert(Header {
            key: "ce_time",
            value: Some(&now),
        })
        .insert(Header {
            key: "content-type",
            value: Some("application/avro"),
        });
    let producer: FutureProducer = kafka_config(stack)?.create()?;
    producer
        .send(
            FutureRecord::to(PERSON_TOPIC)
                .key(&key)
                .payload(&value)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(error, _)| anyhow::anyhow!("producing the seed-shaped person: {error}"))?;
    Ok(())
}

#[tokio::test]
async fn planning_takes_in_a_person_published_by_a_seed_shaped_producer() -> Result<()> {
    let stack = Stack::load()?;
    let id = Uuid::new_v4();
    // Day 3705 is 1980-02-23.
    publish_seed_shaped_person(&stack, id, "Maggie", 3705).await?;
    let ratio = wait_for_ratios(id, "the person known", |r| r.is_some())
        .await?
        .context("ratios")?;
    // Known person, no balance sheet yet: an answer, not a crash.
    assert_eq!(ratio.result.ratio, None);
    assert_eq!(
        ratio.result.benchmark,
        Some(benchmark_today(
            NaiveDate::from_ymd_opt(1980, 2, 23).context("date")?
        ))
    );
    assert_eq!(ratio.result.status, RatioResultStatus::InsufficientData);
    Ok(())
}

#[tokio::test]
async fn a_balance_sheet_whose_person_arrives_later_is_counted() -> Result<()> {
    let stack = Stack::load()?;
    let id = Uuid::new_v4();
    let sheet = create_balance_sheet(id, 2_000, 500).await?;
    // Wait until the sheet is in planning's read model (through CDC, the translator, the
    // outbox and planning's consumer) while its person exists nowhere yet.
    let planning_db = sqlx::PgPool::connect(stack.get("DATABASE_URL_PLANNING")?).await?;
    let deadline = Instant::now() + CONSISTENCY_TIMEOUT;
    while sqlx::query("SELECT 1 FROM balance_sheet WHERE id = $1")
        .bind(sheet.id)
        .fetch_optional(&planning_db)
        .await?
        .is_none()
    {
        ensure!(
            Instant::now() < deadline,
            "the balance sheet never reached planning"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        wait_for_ratios(id, "unknown", |_| true).await?.is_none(),
        "the person must not be known yet"
    );
    publish_seed_shaped_person(&stack, id, "Late", 3705).await?;
    let ratio = wait_for_ratios(id, "a ratio", |r| {
        r.is_some_and(|r| r.result.ratio.is_some())
    })
    .await?
    .context("ratios")?;
    assert_eq!(ratio.result.ratio, Some(0.75));
    Ok(())
}

#[tokio::test]
async fn our_person_events_decode_with_a_generic_avro_decoder_and_the_registry_alone() -> Result<()>
{
    let stack = Stack::load()?;
    let consumer = consumer_at_end(&stack, PERSON_TOPIC)?;
    let person = create_person("Homer", "Simpson", Some(midnight(1956, 5, 12)?)).await?;
    let key = person.id.to_string();
    let message = poll_until(&consumer, CONSISTENCY_TIMEOUT, |m| {
        m.key() == Some(key.as_bytes())
    })?;

    // Headers: CloudEvents 1.0 binary mode, as the wire contract lists them.
    let ce_id = header(&message, "ce_id").context("ce_id")?;
    Uuid::parse_str(&ce_id).with_context(|| format!("ce_id {ce_id} is a uuid"))?;
    assert_eq!(
        header(&message, "ce_source").as_deref(),
        Some("person-service")
    );
    assert_eq!(
        header(&message, "ce_type").as_deref(),
        Some("person_entity_state")
    );
    assert_eq!(
        header(&message, "content-type").as_deref(),
        Some("application/avro")
    );
    assert_eq!(header(&message, "ce_specversion").as_deref(), Some("1.0"));
    let ce_time = header(&message, "ce_time").context("ce_time")?;
    DateTime::parse_from_rfc3339(&ce_time)
        .with_context(|| format!("ce_time {ce_time} is ISO-8601"))?;

    // Value: the Confluent frame, then Avro that the registry's schema alone decodes.
    let value = message.payload().context("a value")?;
    ensure!(
        value.len() > 5 && value[0] == 0,
        "not a Confluent frame: {value:?}"
    );
    let schema_id = u32::from_be_bytes([value[1], value[2], value[3], value[4]]);
    let (status, body) = get(&format!("{}/schemas/ids/{schema_id}", stack.registry()?))?;
    ensure!(status == 200, "schema {schema_id}: {status} {body}");
    let schema = Schema::parse_str(body["schema"].as_str().context("schema text")?)?;
    let decoded = GenericDatumReader::builder(&schema)
        .build()?
        .read_value(&mut &value[5..])?;
    let Avro::Record(fields) = decoded else {
        bail!("not a record: {decoded:?}")
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("id"), Some(Avro::Uuid(person.id)));
    assert_eq!(field("first_name"), Some(Avro::String("Homer".into())));
    assert_eq!(field("last_name"), Some(Avro::String("Simpson".into())));
    // 1956-05-12 is 4982 days before 1970-01-01.
    assert_eq!(field("date_of_birth"), Some(Avro::Date(-4982)));
    Ok(())
}
