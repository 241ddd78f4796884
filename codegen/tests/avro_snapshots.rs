//! Snapshot tests of the Avro half of codegen over small fixture contracts
//! (`tests/fixtures/avro/`): one contract using every supported construct, and one per
//! construct the generator rejects, each of which must fail naming the file and JSON pointer.

use std::path::{Path, PathBuf};

use codegen::{CodegenError, Manifest};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/avro")
        .join(path)
}

fn generate(dir: &Path) -> Result<String, CodegenError> {
    let manifest = Manifest::load(dir)?;
    codegen::avro::generate_events(dir, &manifest).map_err(|errors| {
        errors
            .into_iter()
            .next()
            .expect("a failure has at least one error")
    })
}

#[test]
fn supported_constructs() {
    let dir = fixture("supported");
    let body = generate(&dir).expect("the supported fixture generates");
    let formatted = codegen::rustfmt(&body, "events.rs").expect("generated code is valid Rust");
    insta::assert_snapshot!(formatted);
}

/// (fixture, JSON pointer the error must name, words the reason must contain)
const REJECTED: &[(&str, &str, &str)] = &[
    (
        "union_null_not_first",
        "/fields/1/type",
        "`null` branch is not first",
    ),
    ("union_of_two_types", "/fields/1/type", "union other than"),
    (
        "decimal",
        "/fields/1/type/logicalType",
        "logical type `decimal`",
    ),
    (
        "logical_in_array",
        "/fields/1/type/items",
        "inside an array or map",
    ),
    (
        "default_on_logical",
        "/fields/1/default",
        "default other than null on a logical-type field",
    ),
    ("colliding_names", "/fields/2/type", "share the name `Part`"),
    ("missing_key_field", "/fields", "key field `id`"),
    (
        "key_of_wrong_type",
        "/fields/0/type",
        "key field that is not",
    ),
    ("not_a_record", "", "must be a record"),
];

#[test]
fn rejected_constructs_name_file_and_pointer() {
    for (name, pointer, reason) in REJECTED {
        let dir = fixture(&format!("rejected/{name}"));
        let error = generate(&dir).expect_err(name);
        let message = error.to_string();
        let expected_location = format!("thing.avsc#{pointer}:");
        assert!(
            message.contains(&expected_location),
            "{name}: `{message}` does not name {expected_location}"
        );
        assert!(
            message.contains(reason),
            "{name}: `{message}` does not say {reason:?}"
        );
        assert!(
            matches!(
                error,
                CodegenError::Unsupported { .. } | CodegenError::Invalid { .. }
            ),
            "{name}: {error:?}"
        );
    }
}
