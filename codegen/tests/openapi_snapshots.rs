//! Snapshot tests of the OpenAPI half of codegen over small fixture specs
//! (`tests/fixtures/openapi/`): one spec using every supported construct, and one per construct
//! the generator rejects, each of which must fail naming the file and the JSON pointer.

use std::path::{Path, PathBuf};

use codegen::CodegenError;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openapi")
        .join(path)
}

#[test]
fn supported_constructs() {
    let body = codegen::openapi::generate_api(&fixture("supported.yaml"), "fixture")
        .expect("the supported fixture generates")
        .source;
    let formatted =
        codegen::rustfmt(&body, "fixture_api.rs").expect("generated code is valid Rust");
    insta::assert_snapshot!(formatted);
}

#[test]
fn generation_is_deterministic() {
    let first =
        codegen::openapi::generate_api(&fixture("supported.yaml"), "fixture").expect("first");
    let second =
        codegen::openapi::generate_api(&fixture("supported.yaml"), "fixture").expect("second");
    assert_eq!(first, second);
}

/// (fixture, JSON pointer the error must name, words the reason must contain)
const REJECTED: &[(&str, &str, &str)] = &[
    (
        "one_of",
        "/components/schemas/Thing/oneOf",
        "schema composition",
    ),
    (
        "any_of",
        "/components/schemas/Thing/properties/name/anyOf",
        "schema composition",
    ),
    (
        "all_of",
        "/components/schemas/Thing/allOf",
        "schema composition",
    ),
    (
        "not",
        "/components/schemas/Thing/properties/name/not",
        "schema composition",
    ),
    (
        "discriminator",
        "/components/schemas/Thing/discriminator",
        "`discriminator`",
    ),
    (
        "default",
        "/components/schemas/Thing/properties/name/default",
        "`default`",
    ),
    (
        "read_only",
        "/components/schemas/Thing/properties/name/readOnly",
        "`readOnly`",
    ),
    (
        "unknown_format",
        "/components/schemas/Thing/properties/name/format",
        "string format `email`",
    ),
    (
        "unknown_keyword",
        "/components/schemas/Thing/properties/name/const",
        "`const` in a schema",
    ),
    (
        "external_ref",
        "/components/schemas/Thing/properties/name/$ref",
        "only references to",
    ),
    (
        "digit_string_in_array",
        "/components/schemas/Thing/properties/name/items/x-accept-digit-string",
        "outside an object property",
    ),
    (
        "header_parameter",
        "/paths/~1things~1/post/parameters/0",
        "header parameters",
    ),
    (
        "cookie_parameter",
        "/paths/~1things~1/post/parameters/0",
        "cookie parameters",
    ),
    (
        "array_parameter",
        "/paths/~1things~1/post/parameters/0/schema",
        "parameters that are not",
    ),
    (
        "form_body",
        "/paths/~1things~1/post/requestBody/content/application~1x-www-form-urlencoded",
        "request body of type",
    ),
    (
        "status_range",
        "/paths/~1things~1/post/responses/2XX",
        "status code ranges",
    ),
    (
        "default_response",
        "/paths/~1things~1/post/responses/default",
        "`default` responses",
    ),
    (
        "callbacks",
        "/paths/~1things~1/post/callbacks",
        "`callbacks`",
    ),
    (
        "api_key_security",
        "/components/securitySchemes/key",
        "security scheme",
    ),
    (
        "partial_path_segment",
        "/paths/~1files~1{name}.json",
        "whole segment",
    ),
];

#[test]
fn rejected_constructs_name_file_and_pointer() {
    for (name, pointer, reason) in REJECTED {
        let path = fixture(&format!("rejected/{name}.yaml"));
        let errors = codegen::openapi::generate_api(&path, "fixture").expect_err(name);
        let error = errors.into_iter().next().expect("at least one error");
        let message = error.to_string();
        let expected_location = format!("{name}.yaml#{pointer}:");
        assert!(
            message.contains(&expected_location),
            "{name}: `{message}` does not name {expected_location}"
        );
        assert!(
            message.contains(reason),
            "{name}: `{message}` does not say {reason:?}"
        );
        assert!(
            matches!(error, CodegenError::Unsupported { .. }),
            "{name}: {error:?}"
        );
    }
}
