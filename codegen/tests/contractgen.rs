//! The `contractgen` binary and the library driver behind it: every problem of every
//! contract in one run, drift detection naming the stale files, and discovery of every spec
//! under `api/` with an optional event manifest.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("contractgen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creates a scratch directory");
    dir
}

fn contractgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_contractgen"))
        .args(args)
        .output()
        .expect("runs contractgen")
}

/// `fixtures/broken` holds three broken specs and two broken schema files (plus a manifest
/// naming a missing key field): one run reports all of them, each with file and pointer.
#[test]
fn every_problem_of_every_contract_is_reported_in_one_run() {
    let contracts = fixtures().join("broken");
    let out = scratch("broken");
    let errors = codegen::generate(&codegen::Options::new(&contracts, &out))
        .expect_err("the broken fixture does not generate");
    let mut found: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            let file = e
                .file()
                .and_then(|f| f.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            (file, e.pointer().unwrap_or("-").to_string())
        })
        .collect();
    found.sort();
    let expected = [
        (
            "billing.yaml",
            "/components/schemas/Invoice/properties/owner/$ref",
        ),
        (
            "billing.yaml",
            "/components/schemas/Invoice/properties/total/not",
        ),
        ("garbled.yml", "-"),
        ("order.avsc", "/fields/1/type"),
        ("order.avsc", "/fields/2/type"),
        (
            "orders.json",
            "/paths/~1orders~1/get/responses/200/content/application~1json/schema/$ref",
        ),
        ("part.avsc", "/0/fields"),
        ("part.avsc", "/1"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(f, p)| (f.to_string(), p.to_string()))
        .collect();
    assert_eq!(found, expected, "{}", codegen::Errors(errors));
    assert!(
        errors.iter().filter(|e| e.fix().is_some()).count() >= 4,
        "most problems come with a fix: {}",
        codegen::Errors(errors)
    );

    let output = contractgen(&[
        "generate",
        "--contracts",
        &contracts.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (file, _) in &expected {
        assert!(
            stderr.contains(file.as_str()),
            "{file} missing from:\n{stderr}"
        );
    }
    assert!(stderr.contains("8 problems in 5 files"), "{stderr}");
    assert!(
        !out.join("src").exists(),
        "nothing is written when the contracts have problems"
    );
}

/// A contracts directory with only `api/` (no event manifest) generates; `check` then passes,
/// and after an edit fails naming the stale file.
#[test]
fn check_names_stale_files_and_exits_non_zero() {
    let contracts = scratch("api-only");
    std::fs::create_dir_all(contracts.join("api")).expect("api dir");
    std::fs::copy(
        fixtures().join("standalone/contracts/api/greeter.yaml"),
        contracts.join("api/Greeter.yml"),
    )
    .expect("copies the spec");
    let out = contracts.join("out");
    let args = |command: &'static str| {
        vec![
            command.to_string(),
            "--contracts".into(),
            contracts.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--crate-name".into(),
            "greeter-contracts".into(),
        ]
    };
    let run = |command: &'static str| {
        let args = args(command);
        contractgen(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let generated = run("generate");
    assert!(generated.status.success(), "{generated:?}");
    assert!(
        out.join("src/greeter_api.rs").exists(),
        "module named after the file stem"
    );
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains("name = \"greeter-contracts\""),
        "{manifest}"
    );
    assert!(
        !manifest.contains(".workspace = true"),
        "standalone: {manifest}"
    );
    assert!(
        !manifest.contains("apache-avro"),
        "no events, no Avro: {manifest}"
    );
    assert!(run("check").status.success());

    std::fs::write(out.join("src/lib.rs"), "// edited by hand\n").expect("edits");
    let checked = run("check");
    assert!(!checked.status.success());
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(stderr.contains("src/lib.rs (differs)"), "{stderr}");
    let _ = std::fs::remove_dir_all(&contracts);
}
