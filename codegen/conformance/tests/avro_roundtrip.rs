//! The generated event records against Avro itself: encode with the schema, decode as a
//! generic Avro value and compare field by field (logical types included), then back.
//!
//! Expected values are computed independently of the code under test (epoch days and millis
//! worked out by hand), because the point is to catch a mapping that is wrong both ways.

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::{Schema, from_value, to_value};
use chrono::{DateTime, NaiveDate, Utc};
use contract_runtime::event::CanonicalEvent;
use contracts::events::{BalanceSheet, EVENTS, Person};
use uuid::Uuid;

fn write(schema: &Schema, value: Value) -> Vec<u8> {
    GenericDatumWriter::builder(schema)
        .build()
        .expect("writer")
        .write_value_to_vec(value)
        .expect("encodes")
}

fn read(schema: &Schema, bytes: &[u8]) -> Value {
    GenericDatumReader::builder(schema)
        .build()
        .expect("reader")
        .read_value(&mut &bytes[..])
        .expect("decodes")
}

fn encode<T: CanonicalEvent>(event: &T) -> Vec<u8> {
    let value = to_value(event).expect("serializes to an Avro value");
    write(
        T::schema(),
        value.resolve(T::schema()).expect("conforms to its schema"),
    )
}

fn decode_generic<T: CanonicalEvent>(bytes: &[u8]) -> Vec<(String, Value)> {
    match read(T::schema(), bytes) {
        Value::Record(fields) => fields,
        other => panic!("expected a record, got {other:?}"),
    }
}

fn decode_typed<T: CanonicalEvent>(bytes: &[u8]) -> T {
    from_value(&read(T::schema(), bytes)).expect("maps to the generated type")
}

fn bart() -> Person {
    Person {
        id: Uuid::parse_str("10cdc09d-757c-4e4f-96bc-367a7de72f70").expect("uuid"),
        first_name: "Bart".into(),
        last_name: "Simpson".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1980, 2, 23).expect("date"),
    }
}

#[test]
fn person_encodes_logical_types_as_avro_defines_them() {
    let person = bart();
    let fields = decode_generic::<Person>(&encode(&person));
    assert_eq!(
        fields,
        vec![
            ("id".into(), Value::Uuid(person.id)),
            ("first_name".into(), Value::String("Bart".into())),
            ("last_name".into(), Value::String("Simpson".into())),
            // 1970-01-01 .. 1980-01-01 is 3652 days (1972 and 1976 are leap years), then 31
            // days of January and 22 of February.
            ("date_of_birth".into(), Value::Date(3705)),
        ]
    );
}

#[test]
fn person_round_trips() {
    let person = bart();
    assert_eq!(decode_typed::<Person>(&encode(&person)), person);
}

#[test]
fn dates_before_the_epoch_round_trip() {
    let person = Person {
        date_of_birth: NaiveDate::from_ymd_opt(1969, 12, 31).expect("date"),
        ..bart()
    };
    let fields = decode_generic::<Person>(&encode(&person));
    assert_eq!(fields[3], ("date_of_birth".into(), Value::Date(-1)));
    assert_eq!(decode_typed::<Person>(&encode(&person)), person);
}

#[test]
fn balance_sheet_encodes_timestamp_millis() {
    let sheet = BalanceSheet {
        id: Uuid::parse_str("8ab01372-1e2e-493a-88b6-da171b116ef2").expect("uuid"),
        person_id: bart().id,
        date_calculated: DateTime::parse_from_rfc3339("2022-12-08T04:41:29.568Z")
            .expect("time")
            .with_timezone(&Utc),
        assets: 3_340_000,
        liabilities: 537_300,
    };
    let fields = decode_generic::<BalanceSheet>(&encode(&sheet));
    assert_eq!(
        fields,
        vec![
            ("id".into(), Value::Uuid(sheet.id)),
            ("person_id".into(), Value::Uuid(sheet.person_id)),
            // `date -u -d 2022-12-08T04:41:29Z +%s` = 1670474489
            (
                "date_calculated".into(),
                Value::TimestampMillis(1_670_474_489_568)
            ),
            ("assets".into(), Value::Long(3_340_000)),
            ("liabilities".into(), Value::Long(537_300)),
        ]
    );
    assert_eq!(decode_typed::<BalanceSheet>(&encode(&sheet)), sheet);
}

#[test]
fn sub_millisecond_precision_is_truncated_not_rejected() {
    let precise = DateTime::parse_from_rfc3339("2022-12-08T04:41:29.568289Z")
        .expect("time")
        .with_timezone(&Utc);
    let sheet = BalanceSheet {
        id: Uuid::nil(),
        person_id: Uuid::nil(),
        date_calculated: precise,
        assets: 1,
        liabilities: 0,
    };
    let back = decode_typed::<BalanceSheet>(&encode(&sheet));
    assert_eq!(
        back.date_calculated.timestamp_millis(),
        precise.timestamp_millis()
    );
}

/// Bytes written by another implementation (here: a generic Avro record built by hand, as a
/// Python or Java producer following the schema would write it) decode into our type.
#[test]
fn foreign_writer_bytes_decode_into_the_generated_type() {
    let id = Uuid::new_v4();
    let generic = Value::Record(vec![
        ("id".into(), Value::String(id.to_string())),
        ("first_name".into(), Value::String("Lisa".into())),
        ("last_name".into(), Value::String("Simpson".into())),
        ("date_of_birth".into(), Value::Int(4_000)),
    ]);
    let generic = generic.resolve(Person::schema()).expect("a valid Person");
    let bytes = write(Person::schema(), generic);
    let person = decode_typed::<Person>(&bytes);
    assert_eq!(person.id, id);
    assert_eq!(person.first_name, "Lisa");
    // Day 4000 = 3652 (to 1980-01-01) + 348: the 349th day of leap year 1980 is December 14.
    assert_eq!(
        person.date_of_birth,
        NaiveDate::from_ymd_opt(1980, 12, 14).expect("date")
    );
}

#[test]
fn event_facts_follow_the_manifest() {
    assert_eq!(Person::EVENT_TYPE, "person_entity_state");
    assert_eq!(Person::TOPIC, "public_person_entity_events");
    assert_eq!(Person::SUBJECT, "public_person_entity_events-value");
    assert_eq!(Person::SOURCE, "person-service");
    assert_eq!(BalanceSheet::EVENT_TYPE, "balance_sheet_created");
    assert_eq!(BalanceSheet::TOPIC, "public_balance_sheet_entity_events");
    assert_eq!(BalanceSheet::SOURCE, "accounting-service");
    assert_eq!(bart().key(), "10cdc09d-757c-4e4f-96bc-367a7de72f70");
    assert_eq!(EVENTS.len(), 2);
}

/// The embedded schema is the contract file itself (rsgen-avro's own rendering loses logical
/// types), and is equivalent to the seed's canonical schema.
#[test]
fn embedded_schemas_keep_logical_types_and_match_the_seed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (embedded, file) in [
        (Person::SCHEMA, "person.avsc"),
        (BalanceSheet::SCHEMA, "balance_sheet.avsc"),
    ] {
        let ours = apache_avro::Schema::parse_str(embedded).expect("parses");
        assert!(embedded.contains("logicalType"));
        let seed_path = root.join("../shared/seed/schemas").join(file);
        if let Ok(seed) = std::fs::read_to_string(&seed_path) {
            let seed = apache_avro::Schema::parse_str(&seed).expect("seed schema parses");
            assert_eq!(ours, seed, "{file} differs from the seed's schema");
        }
        let contract = std::fs::read_to_string(root.join("contracts/events").join(file))
            .expect("contract file");
        assert_eq!(
            ours,
            apache_avro::Schema::parse_str(&contract).expect("parses")
        );
    }
}
