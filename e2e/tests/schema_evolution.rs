//! The worked evolution of README "Changing a contract": person v2 adds an optional field
//! with a default (`tests/fixtures/person.v2.avsc`), and neither side needs a coordinated
//! deploy. On the real registry, a consumer built for v1 (the generated
//! `contracts::events::Person`) reads data written with v2, and a consumer built for v2 reads
//! data written with v1. Both decode through `service_kit::codec::EventCodec`, as the
//! services do: the writer's schema comes from the registry by the id in the Confluent frame
//! and is resolved to the schema the consumer was compiled with.

use std::sync::LazyLock;

use anyhow::{Context, Result, ensure};
use apache_avro::Schema;
use apache_avro::writer::datum::GenericDatumWriter;
use chrono::NaiveDate;
use contract_compat::Level;
use contract_compat::avro::{SchemaVersion, check_subject};
use contract_runtime::event::CanonicalEvent;
use contract_runtime::registry::{Compatibility, RegistryClient};
use contracts::events::Person;
use e2e::{NOT_UP, Stack};
use serde::{Deserialize, Serialize};
use service_kit::codec::{EventCodec, MAGIC_BYTE};

const PERSON_V2_SCHEMA: &str = include_str!("fixtures/person.v2.avsc");

static PERSON_V2: LazyLock<Schema> = LazyLock::new(|| {
    Schema::parse_str(PERSON_V2_SCHEMA).expect("the v2 fixture is a valid schema")
});

/// What a consumer compiled against v2 would have generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PersonV2 {
    #[serde(with = "contract_runtime::avro::uuid_string")]
    id: uuid::Uuid,
    first_name: String,
    last_name: String,
    #[serde(with = "contract_runtime::avro::date_days")]
    date_of_birth: NaiveDate,
    email: Option<String>,
}

impl CanonicalEvent for PersonV2 {
    const EVENT_TYPE: &'static str = Person::EVENT_TYPE;
    const SOURCE: &'static str = Person::SOURCE;
    const TOPIC: &'static str = Person::TOPIC;
    const SUBJECT: &'static str = Person::SUBJECT;
    const SCHEMA: &'static str = PERSON_V2_SCHEMA;

    fn schema() -> &'static Schema {
        &PERSON_V2
    }

    fn key(&self) -> String {
        self.id.to_string()
    }
}

/// A Confluent-framed value, as a producer on that schema version writes it: 0x00, the
/// schema id (big-endian), the Avro body.
fn confluent_frame<T: CanonicalEvent>(schema_id: u32, event: &T) -> Result<Vec<u8>> {
    let value = apache_avro::to_value(event)?.resolve(T::schema())?;
    let body = GenericDatumWriter::builder(T::schema())
        .build()?
        .write_value_to_vec(value)?;
    let mut frame = vec![MAGIC_BYTE];
    frame.extend_from_slice(&schema_id.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

#[tokio::test]
async fn consumers_on_v1_and_v2_read_each_others_data() -> Result<()> {
    let stack = Stack::load()?;
    let registry_url = stack.registry()?;
    let client = RegistryClient::new(registry_url);

    // The gate accepts v2 after the published v1 under the person subject's level and FULL.
    let v1 = SchemaVersion::parse("published v1", Person::SCHEMA)?;
    let v2 = SchemaVersion::parse("person v2", PERSON_V2_SCHEMA)?;
    for level in [Level::Forward, Level::Full] {
        let found = check_subject(Person::SUBJECT, level, std::slice::from_ref(&v1), &v2)?;
        ensure!(
            found.is_empty(),
            "the gate rejects v2 under {level}: {found:#?}"
        );
    }

    // A throwaway subject under FULL: the registry itself accepts v2 after v1 both ways.
    let subject = format!("e2e-evolution-{}-value", uuid::Uuid::new_v4().simple());
    let result = exchange(&client, registry_url, &subject).await;
    let cleanup = async {
        client.delete_subject(&subject, false).await?;
        client.delete_subject(&subject, true).await
    }
    .await;
    result?;
    cleanup.with_context(|| format!("deleting the throwaway subject {subject}"))?;
    Ok(())
}

async fn exchange(client: &RegistryClient, registry_url: &str, subject: &str) -> Result<()> {
    client
        .set_compatibility(subject, Compatibility::Full)
        .await
        .with_context(|| format!("the registry: {NOT_UP}"))?;
    let v1_id = client.register(subject, Person::SCHEMA).await?;
    let v2_id = client
        .register(subject, PERSON_V2_SCHEMA)
        .await
        .context("the registry refuses v2 after v1 under FULL")?;
    ensure!(v1_id != v2_id, "v1 and v2 got the same schema id {v1_id}");

    let id = uuid::Uuid::new_v4();
    let born = NaiveDate::from_ymd_opt(1980, 2, 23).context("a valid date")?;
    let written_by_v1 = Person {
        id,
        first_name: "Bart".into(),
        last_name: "Simpson".into(),
        date_of_birth: born,
    };
    let written_by_v2 = PersonV2 {
        id,
        first_name: "Lisa".into(),
        last_name: "Simpson".into(),
        date_of_birth: born,
        email: Some("lisa@springfield.example".into()),
    };
    let v1_bytes = confluent_frame(v1_id, &written_by_v1)?;
    let v2_bytes = confluent_frame(v2_id, &written_by_v2)?;

    let codec = EventCodec::new(registry_url)?;

    // An old consumer meets new data (FORWARD): the field it does not know is skipped.
    let read_by_v1: Person = codec.decode(&v2_bytes).await?;
    ensure!(
        read_by_v1
            == Person {
                id,
                first_name: "Lisa".into(),
                last_name: "Simpson".into(),
                date_of_birth: born,
            },
        "a v1 consumer read v2 data as {read_by_v1:?}"
    );

    // A new consumer meets old data (BACKWARD), e.g. replaying the compacted topic: the
    // field the writer did not have takes its default.
    let read_by_v2: PersonV2 = codec.decode(&v1_bytes).await?;
    ensure!(
        read_by_v2
            == PersonV2 {
                id,
                first_name: "Bart".into(),
                last_name: "Simpson".into(),
                date_of_birth: born,
                email: None,
            },
        "a v2 consumer read v1 data as {read_by_v2:?}"
    );

    // And each reads its own version unchanged.
    let same_v1: Person = codec.decode(&v1_bytes).await?;
    let same_v2: PersonV2 = codec.decode(&v2_bytes).await?;
    ensure!(same_v1 == written_by_v1, "v1 round trip: {same_v1:?}");
    ensure!(same_v2 == written_by_v2, "v2 round trip: {same_v2:?}");
    println!(
        "v1 (id {v1_id}) and v2 (id {v2_id}) of {subject}: v1 consumer read v2 data as \
         {read_by_v1:?}; v2 consumer read v1 data as {read_by_v2:?}"
    );
    Ok(())
}
