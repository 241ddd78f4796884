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

// The fixture using every supported Avro construct (`codegen/tests/fixtures/avro/supported`),
// generated into `contract_conformance::avro_fixture`. Each type: encoded with its schema,
// decoded as generic Avro and compared with the value built by hand, decoded back to itself;
// and bytes written from a hand-built generic value decode into it.

mod fixture {
    use super::*;
    use apache_avro::types::Value;
    use apache_avro::{Days, Decimal, Duration, Millis, Months};
    use chrono::{NaiveDateTime, NaiveTime};
    use contract_conformance::avro_fixture::*;
    use contract_runtime::avro::BigDecimal;
    use contract_runtime::event::KeySource;
    use std::collections::BTreeMap;

    fn decimal(text: &str) -> BigDecimal {
        text.parse().expect("decimal")
    }

    /// The generic value must equal `expected`, and both ways must give `event` back.
    fn round_trip<T: CanonicalEvent + PartialEq + std::fmt::Debug>(
        event: &T,
        expected: Vec<(String, Value)>,
    ) {
        let bytes = encode(event);
        assert_eq!(decode_generic::<T>(&bytes), expected);
        assert_eq!(&decode_typed::<T>(&bytes), event);
        let foreign = Value::Record(expected)
            .resolve(T::schema())
            .expect("the hand-built value conforms");
        assert_eq!(&decode_typed::<T>(&write(T::schema(), foreign)), event);
    }

    fn field(name: &str, value: Value) -> (String, Value) {
        (name.to_string(), value)
    }

    fn payment() -> PaymentReceived {
        PaymentReceived {
            application_id: "APP-42".into(),
            amount: decimal("1234.56"),
            fee: decimal("-0.5"),
            billing_address: BillingAddress {
                line: "742 Evergreen Terrace".into(),
                country: "US".into(),
            },
            shipping_address: Some(ShippingAddress {
                street: "Main St 1".into(),
                postal_code: "49007".into(),
            }),
            method: PaymentReceivedMethod::Card(Card {
                last4: "4242".into(),
                expires: NaiveDate::from_ymd_opt(1970, 1, 11).expect("date"),
            }),
            received_at_local: NaiveDateTime::parse_from_str(
                "1970-01-01 00:00:01.5",
                "%Y-%m-%d %H:%M:%S%.f",
            )
            .expect("local time"),
            received_at_local_micros: NaiveDateTime::parse_from_str(
                "1970-01-02 00:00:00.000001",
                "%Y-%m-%d %H:%M:%S%.f",
            )
            .expect("local time"),
            cutoff: NaiveTime::from_hms_milli_opt(1, 2, 3, 4).expect("time"),
            cutoff_micros: NaiveTime::from_hms_micro_opt(0, 0, 1, 5).expect("time"),
            grace_period: contract_runtime::avro::Duration {
                months: 1,
                days: 2,
                millis: 3,
            },
            history: vec![
                NaiveDate::from_ymd_opt(1969, 12, 31).expect("date"),
                NaiveDate::from_ymd_opt(1970, 1, 2).expect("date"),
            ],
            rates: BTreeMap::from([("eur".to_string(), decimal("0.9215"))]),
            reference: Some(Uuid::from_u128(0x10cd_c09d_757c_4e4f_96bc_367a_7de7_2f70)),
            amount_in_cents: 123_456,
            note: None,
        }
    }

    #[test]
    fn payment_logical_types_unions_and_namespaces_encode_as_avro_defines_them() {
        let payment = payment();
        round_trip(
            &payment,
            vec![
                field("applicationId", Value::String("APP-42".into())),
                // 123456 in 8 bytes of two's complement.
                field(
                    "amount",
                    Value::Decimal(Decimal::from(vec![0, 0, 0, 0, 0, 1, 0xe2, 0x40])),
                ),
                // -50 (scale 2) is 0xCE, sign-extended to the 4 bytes precision 9 needs.
                field(
                    "fee",
                    Value::Decimal(Decimal::from(vec![0xff, 0xff, 0xff, 0xce])),
                ),
                field(
                    "billingAddress",
                    Value::Record(vec![
                        field("line", Value::String("742 Evergreen Terrace".into())),
                        field("country", Value::String("US".into())),
                    ]),
                ),
                // ["shop.shipping.Address", "null"]: the record is branch 0.
                field(
                    "shippingAddress",
                    Value::Union(
                        0,
                        Box::new(Value::Record(vec![
                            field("street", Value::String("Main St 1".into())),
                            field("postalCode", Value::String("49007".into())),
                        ])),
                    ),
                ),
                // ["null", "string", Card, timestamp-millis]: the card is branch 2.
                field(
                    "method",
                    Value::Union(
                        2,
                        Box::new(Value::Record(vec![
                            field("last4", Value::String("4242".into())),
                            field("expires", Value::Date(10)),
                        ])),
                    ),
                ),
                field("receivedAtLocal", Value::LocalTimestampMillis(1_500)),
                field(
                    "receivedAtLocalMicros",
                    Value::LocalTimestampMicros(86_400_000_001),
                ),
                // 1 h 2 min 3.004 s = 3723004 ms.
                field("cutoff", Value::TimeMillis(3_723_004)),
                field("cutoffMicros", Value::TimeMicros(1_000_005)),
                field(
                    "gracePeriod",
                    Value::Duration(Duration::new(Months::new(1), Days::new(2), Millis::new(3))),
                ),
                field(
                    "history",
                    Value::Array(vec![Value::Date(-1), Value::Date(1)]),
                ),
                field(
                    "rates",
                    Value::Map(
                        [(
                            "eur".to_string(),
                            Value::Decimal(Decimal::from(vec![0x00, 0x23, 0xff])),
                        )]
                        .into_iter()
                        .collect(),
                    ),
                ),
                field(
                    "reference",
                    Value::Union(0, Box::new(Value::Uuid(payment.reference.expect("uuid")))),
                ),
                field("amountInCents", Value::Long(123_456)),
                field("note", Value::Union(0, Box::new(Value::Null))),
            ],
        );
    }

    #[test]
    fn every_branch_of_a_union_enum_round_trips() {
        let at = DateTime::from_timestamp_millis(1_670_474_489_568).expect("time");
        for (method, index, inner) in [
            (PaymentReceivedMethod::Null, 0, Value::Null),
            (
                PaymentReceivedMethod::String("cash".into()),
                1,
                Value::String("cash".into()),
            ),
            (
                PaymentReceivedMethod::Timestamp(at),
                3,
                Value::TimestampMillis(1_670_474_489_568),
            ),
        ] {
            let payment = PaymentReceived {
                method: method.clone(),
                ..payment()
            };
            let fields = decode_generic::<PaymentReceived>(&encode(&payment));
            assert_eq!(
                fields[5],
                field("method", Value::Union(index, Box::new(inner)))
            );
            assert_eq!(
                decode_typed::<PaymentReceived>(&encode(&payment)).method,
                method
            );
        }
    }

    #[test]
    fn a_camel_case_key_field_is_the_key() {
        assert_eq!(payment().key(), "APP-42");
        assert_eq!(PaymentReceived::KEY, KeySource::Field("applicationId"));
    }

    /// A schema referring to records of another file (`common.avsc`) once generated and then
    /// panicked in `schema()`: the embedded schema now carries those definitions.
    #[test]
    fn a_schema_referring_to_another_file_parses_on_its_own() {
        let schema = PaymentReceived::schema();
        assert!(matches!(schema, Schema::Record(_)));
        assert!(PaymentReceived::SCHEMA.contains("\"postalCode\""));
        assert!(PaymentReceived::SCHEMA.contains("\"shop.common\""));
        assert!(
            RefundIssued::schema()
                .canonical_form()
                .contains("shop.common.Amount")
        );
    }

    #[test]
    fn decimals_never_lose_digits() {
        let too_precise = PaymentReceived {
            fee: decimal("0.125"),
            ..payment()
        };
        assert!(
            to_value(&too_precise).is_err(),
            "a third decimal place is refused, not rounded"
        );
    }

    #[test]
    fn two_event_types_share_a_topic_under_the_record_name_strategies() {
        assert_eq!(PaymentReceived::TOPIC, RefundIssued::TOPIC);
        assert_eq!(PaymentReceived::SUBJECT, "shop.billing.PaymentReceived");
        assert_eq!(RefundIssued::SUBJECT, "payments-shop.billing.RefundIssued");
    }

    #[test]
    fn refund_with_renamed_symbols_and_a_composite_key() {
        let refund = RefundIssued {
            application_id: "APP-1".into(),
            sequence: 3,
            amount: decimal("-12.30"),
            reason: RefundReason::RequestedByCustomer,
        };
        assert_eq!(refund.key(), "APP-1/3");
        round_trip(
            &refund,
            vec![
                field("applicationId", Value::String("APP-1".into())),
                field("sequence", Value::Int(3)),
                // -1230 = 0xFB32, sign-extended to 8 bytes.
                field(
                    "amount",
                    Value::Decimal(Decimal::from(vec![
                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, 0x32,
                    ])),
                ),
                field("reason", Value::Enum(2, "requested_by_customer".into())),
            ],
        );
    }

    #[test]
    fn a_keyless_envelope_with_recursion_maps_and_unions_of_scalars() {
        let row = contract_conformance::avro_fixture::Value {
            sku: "A-1".into(),
            on_hand: 7,
            updated_at: DateTime::from_timestamp_micros(1_000_001).expect("time"),
        };
        let envelope = Envelope {
            before: None,
            after: Some(row.clone()),
            source: Source {
                connector: "postgresql".into(),
                lsn: Some(42),
                snapshot: Some(SnapshotRecord::False),
            },
            op: "c".into(),
            ts_ms: None,
            labels: BTreeMap::from([
                ("n".to_string(), EnvelopeLabelsValue::Long(5)),
                ("x".to_string(), EnvelopeLabelsValue::Double(0.5)),
                ("s".to_string(), EnvelopeLabelsValue::String("t".into())),
                ("z".to_string(), EnvelopeLabelsValue::Null),
            ]),
            next: Some(Box::new(Envelope {
                before: Some(row),
                after: None,
                source: Source {
                    connector: "postgresql".into(),
                    lsn: None,
                    snapshot: None,
                },
                op: "d".into(),
                ts_ms: Some(1),
                labels: BTreeMap::new(),
                next: None,
            })),
        };
        assert_eq!(envelope.key(), "");
        assert_eq!(Envelope::KEY, KeySource::None);
        let bytes = encode(&envelope);
        assert_eq!(decode_typed::<Envelope>(&bytes), envelope);
        let fields = decode_generic::<Envelope>(&bytes);
        let labels = &fields[5].1;
        let Value::Map(labels) = labels else {
            panic!("labels: {labels:?}")
        };
        assert_eq!(labels["n"], Value::Union(2, Box::new(Value::Long(5))));
        assert_eq!(labels["x"], Value::Union(3, Box::new(Value::Double(0.5))));
        assert_eq!(labels["z"], Value::Union(0, Box::new(Value::Null)));
        // ["SnapshotRecord", "null"]: the enum is branch 0, its symbol `false` index 2.
        let Value::Record(source) = &fields[2].1 else {
            panic!("source: {:?}", fields[2])
        };
        assert_eq!(
            source[2],
            field(
                "snapshot",
                Value::Union(0, Box::new(Value::Enum(2, "false".into())))
            )
        );
    }

    #[test]
    fn order_with_enums_fixed_bytes_and_nested_records_round_trips() {
        let order = Order {
            id: Uuid::nil(),
            placed_on: NaiveDate::from_ymd_opt(1970, 1, 3).expect("date"),
            placed_at: DateTime::from_timestamp_millis(5).expect("time"),
            paid_at: Some(DateTime::from_timestamp_micros(6).expect("time")),
            coupon: Some("SAVE".into()),
            customer: Customer {
                name: "Marge".into(),
                loyal: true,
            },
            status: Status::Paid,
            lines: vec![Line {
                sku: "D-1".into(),
                quantity: 2,
                unit_price_cents: 199,
            }],
            tags: BTreeMap::from([("gift".to_string(), "yes".to_string())]),
            weight: 1.25,
            ratio: 0.5,
            signature: vec![1, 2, 3],
            checksum: [9, 8, 7, 6],
        };
        round_trip(
            &order,
            vec![
                field("id", Value::Uuid(Uuid::nil())),
                field("placed_on", Value::Date(2)),
                field("placed_at", Value::TimestampMillis(5)),
                field(
                    "paid_at",
                    Value::Union(1, Box::new(Value::TimestampMicros(6))),
                ),
                field(
                    "coupon",
                    Value::Union(1, Box::new(Value::String("SAVE".into()))),
                ),
                field(
                    "customer",
                    Value::Record(vec![
                        field("name", Value::String("Marge".into())),
                        field("loyal", Value::Boolean(true)),
                    ]),
                ),
                field("status", Value::Enum(1, "PAID".into())),
                field(
                    "lines",
                    Value::Array(vec![Value::Record(vec![
                        field("sku", Value::String("D-1".into())),
                        field("quantity", Value::Int(2)),
                        field("unit_price_cents", Value::Long(199)),
                    ])]),
                ),
                field(
                    "tags",
                    Value::Map(
                        [("gift".to_string(), Value::String("yes".into()))]
                            .into_iter()
                            .collect(),
                    ),
                ),
                field("weight", Value::Double(1.25)),
                field("ratio", Value::Float(0.5)),
                field("signature", Value::Bytes(vec![1, 2, 3])),
                field("checksum", Value::Fixed(4, vec![9, 8, 7, 6])),
            ],
        );
        let counter = CounterTick { number: -3 };
        round_trip(&counter, vec![field("number", Value::Long(-3))]);
        assert_eq!(counter.key(), "-3");
    }

    #[test]
    fn violations_apply_the_rest_schema_limits_and_refuse_nul() {
        assert_eq!(payment().violations(), vec![]);
        let bad = PaymentReceived {
            application_id: "X".into(),
            amount_in_cents: 0,
            note: Some("a\0b".into()),
            ..payment()
        };
        let pointers: Vec<String> = bad.violations().into_iter().map(|v| v.pointer).collect();
        // applicationId: too short and not `^APP-[0-9]+$`; amountInCents below 1; note: NUL.
        assert_eq!(
            pointers,
            [
                "/applicationId",
                "/applicationId",
                "/amountInCents",
                "/note"
            ],
        );
        let nul_in_address = PaymentReceived {
            billing_address: BillingAddress {
                line: "\0".into(),
                country: "US".into(),
            },
            ..payment()
        };
        // Only top-level text fields are checked.
        assert_eq!(nul_in_address.violations(), vec![]);
    }
}

#[test]
fn this_repositorys_events_share_the_limits_of_their_rest_schemas() {
    let person = Person {
        first_name: String::new(),
        last_name: "x".repeat(51),
        ..bart()
    };
    let pointers: Vec<String> = person.violations().into_iter().map(|v| v.pointer).collect();
    assert_eq!(pointers, ["/first_name", "/last_name"]);
    assert_eq!(bart().violations(), vec![]);
    let sheet = BalanceSheet {
        id: Uuid::nil(),
        person_id: Uuid::nil(),
        date_calculated: DateTime::from_timestamp_millis(0).expect("time"),
        assets: -1,
        liabilities: 0,
    };
    let pointers: Vec<String> = sheet.violations().into_iter().map(|v| v.pointer).collect();
    assert_eq!(pointers, ["/assets"]);
}
