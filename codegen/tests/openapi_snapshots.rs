//! Snapshot tests of the OpenAPI half of codegen over fixture specs
//! (`tests/fixtures/openapi/`): specs written the way published ones are (a pet shop, a
//! dropshot-style JSON spec, a data-set search API, an examples-only API, an OpenAPI 3.1 spec)
//! whose generated modules are checked in under `conformance/tests/openapi_fixtures/`,
//! one spec per construct the generator rejects (each must fail naming the file, the JSON
//! pointer and, where known, the fix), and one spec with several problems, all reported in one
//! run. `codegen/conformance/tests/openapi_fixtures.rs` compiles the generated code and serves
//! it.

use std::path::{Path, PathBuf};

use codegen::CodegenError;
use codegen::openapi::{GeneratedApi, generate_api};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openapi")
        .join(path)
}

fn generate(path: &str) -> GeneratedApi {
    match generate_api(&fixture(path), "fixture") {
        Ok(api) => api,
        Err(errors) => panic!(
            "{path} does not generate:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn formatted(path: &str) -> String {
    let api = generate(path);
    codegen::rustfmt(&api.source, "fixture_api.rs").expect("generated code is valid Rust")
}

#[test]
fn supported_constructs() {
    insta::assert_snapshot!(formatted("supported.yaml"));
}

/// The published kinds of spec generate; their code is compared with the modules the
/// conformance crate compiles (`conformance_fixture_modules_are_up_to_date`), which are the
/// snapshots of these specs.
#[test]
fn published_kinds_of_spec_generate() {
    for (spec, _, _) in CONFORMANCE_FIXTURES {
        formatted(spec);
    }
}

#[test]
fn generation_is_deterministic() {
    for spec in ["supported.yaml", "petstore.yaml"] {
        assert_eq!(generate(spec), generate(spec), "{spec}");
    }
}

#[test]
fn unknown_formats_and_skipped_media_types_are_warnings() {
    let warnings: Vec<String> = generate("petstore.yaml")
        .warnings
        .iter()
        .map(|w| {
            format!(
                "{}#{}: {}",
                w.file.file_name().unwrap_or_default().to_string_lossy(),
                w.pointer,
                w.message
            )
        })
        .collect();
    let expected = [
        "petstore.yaml#/components/schemas/newPet/properties/chipCode/format: unknown string format `ean13`: treated as a plain string",
        "petstore.yaml#/paths/~1pets/post/requestBody/content/application~1xml: request bodies of type `application/xml` are not accepted (answered with 415); `application/json` is",
        "petstore.yaml#/paths/~1pets/post/callbacks: `callbacks` describe requests this service sends; nothing is generated for them",
    ];
    for warning in expected {
        assert!(
            warnings.iter().any(|w| w == warning),
            "missing warning {warning:?} among {warnings:#?}"
        );
    }
}

/// (fixture, JSON pointer the error must name, words the reason must contain, the fix hint)
const REJECTED: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "not",
        "/components/schemas/Thing/properties/name/not",
        "`not`",
        Some("describe what is allowed instead"),
    ),
    (
        "discriminator",
        "/components/schemas/Thing/discriminator",
        "`discriminator` without `oneOf`",
        Some("list the alternatives under `oneOf`"),
    ),
    (
        "unknown_keyword",
        "/components/schemas/Thing/properties/name/const",
        "`const`",
        Some("use an `enum` with one value"),
    ),
    (
        "conditional",
        "/components/schemas/Thing/if",
        "conditional schemas",
        Some("use `oneOf` with a `discriminator`"),
    ),
    (
        "several_types",
        "/components/schemas/Thing/properties/name/type",
        "several types besides `null`",
        Some("use `oneOf` with one schema per type"),
    ),
    (
        "external_ref",
        "/components/schemas/Thing/properties/name/$ref",
        "only references to",
        Some("copy the schema into `components/schemas` of this file"),
    ),
    (
        "digit_string_in_array",
        "/components/schemas/Thing/properties/name/items/x-accept-digit-string",
        "outside an object property",
        None,
    ),
    (
        "digest_auth",
        "/components/securitySchemes/digest/scheme",
        "HTTP authentication scheme `digest`",
        Some("use `basic` or `bearer`"),
    ),
    (
        "partial_path_segment",
        "/paths/~1files~1{name}.json",
        "whole segment",
        None,
    ),
];

#[test]
fn rejected_constructs_name_file_pointer_and_fix() {
    for (name, pointer, reason, hint) in REJECTED {
        let path = fixture(&format!("rejected/{name}.yaml"));
        let errors = generate_api(&path, "fixture").expect_err(name);
        let [error] = errors.as_slice() else {
            panic!("{name}: expected one problem, got {errors:#?}");
        };
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
        let CodegenError::Unsupported { fix, .. } = error else {
            panic!("{name}: {error:?}");
        };
        match (fix, hint) {
            (Some(fix), Some(hint)) => assert!(fix.starts_with(hint), "{name}: the fix is {fix:?}"),
            (None, None) => {}
            (fix, hint) => panic!("{name}: the fix is {fix:?}, expected {hint:?}"),
        }
    }
}

#[test]
fn every_problem_of_a_spec_is_reported_in_one_run() {
    let errors = generate_api(&fixture("many_problems.yaml"), "fixture").expect_err("rejected");
    let pointers: Vec<String> = errors
        .iter()
        .map(|error| match error {
            CodegenError::Unsupported { pointer, .. } | CodegenError::Invalid { pointer, .. } => {
                pointer.clone()
            }
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        pointers,
        [
            "/components/schemas/Thing/properties/name/not",
            "/components/schemas/Thing/properties/size/const",
            "/paths/~1things~1/get/parameters/0/schema",
        ],
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .all(|e| e.to_string().contains("many_problems.yaml#/")),
        "{errors:#?}"
    );
}

/// (spec file, module file, service name) of the generated modules that
/// `codegen/conformance/tests/openapi_fixtures.rs` compiles and serves.
const CONFORMANCE_FIXTURES: &[(&str, &str, &str)] = &[
    ("petstore.yaml", "petstore_api.rs", "petstore"),
    ("dropshot_style.json", "dropshot_style_api.rs", "instances"),
    ("datasets.yaml", "datasets_api.rs", "datasets"),
    ("versions.yaml", "versions_api.rs", "versions"),
    ("inventory_3_1.yaml", "inventory_3_1_api.rs", "inventory"),
    ("supported.yaml", "supported_api.rs", "fixture"),
];

/// The conformance crate compiles checked-in copies of the fixtures' generated code; they must
/// be what the generator makes now. `UPDATE_OPENAPI_FIXTURES=1` rewrites them.
#[test]
fn conformance_fixture_modules_are_up_to_date() {
    let update = std::env::var_os("UPDATE_OPENAPI_FIXTURES").is_some();
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/tests/openapi_fixtures");
    let mut stale = Vec::new();
    for (spec, module, service) in CONFORMANCE_FIXTURES {
        let api = generate_api(&fixture(spec), service)
            .unwrap_or_else(|errors| panic!("{spec}: {errors:#?}"));
        let source = format!(
            "// @generated from codegen/tests/fixtures/openapi/{spec} by the codegen test \
             `conformance_fixture_modules_are_up_to_date`. Do not edit by hand.\n\n{}",
            api.source
        );
        let source = codegen::rustfmt(&source, module).expect("rustfmt");
        let path = modules.join(module);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(source.as_str()) {
            if update {
                std::fs::write(&path, &source).expect("write the fixture module");
            } else {
                stale.push(module.to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated modules in codegen/conformance/tests/openapi_fixtures {stale:?}: \
         rerun with UPDATE_OPENAPI_FIXTURES=1"
    );
}
