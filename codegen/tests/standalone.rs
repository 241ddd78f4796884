//! "Use it in your project" (codegen/README.md), proved: a crate generated from
//! `tests/fixtures/standalone/contracts` into a directory outside this workspace builds on its
//! own with the toy server of `tests/fixtures/standalone/server`, which serves one request
//! through the generated router and client.
//!
//! The build is offline (the registry cache of this machine) with this workspace's
//! `Cargo.lock` as the starting point, into `<target>/standalone-crate`, so that after the
//! first run only the two small crates are compiled again.

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creates the directory");
    for entry in std::fs::read_dir(from).expect("reads the fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copies");
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn a_generated_crate_builds_outside_the_workspace_and_serves() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/standalone");
    let project =
        std::env::temp_dir().join(format!("contractgen-standalone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&project);
    copy_dir(&fixture, &project);

    let options = codegen::Options::new(project.join("contracts"), project.join("contracts-gen"));
    let generated =
        codegen::generate(&options).unwrap_or_else(|errors| panic!("{}", codegen::Errors(errors)));
    codegen::write(&options, &generated).expect("writes the crate");
    let manifest =
        std::fs::read_to_string(project.join("contracts-gen/Cargo.toml")).expect("Cargo.toml");
    assert!(!manifest.contains("workspace"), "standalone: {manifest}");

    let server = project.join("server");
    std::fs::copy(
        workspace_root().join("Cargo.lock"),
        server.join("Cargo.lock"),
    )
    .expect("starts from the workspace's lock file");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("standalone-crate");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["run", "--offline", "--quiet"])
        .current_dir(&server)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("runs cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the toy server failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "Hello, Lisa!",
            "refused: Some(400)",
            "event on greetings keyed Lisa"
        ],
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&project);
}

/// The versions a standalone crate names are the ones this workspace builds and tests with.
#[test]
fn standalone_dependency_versions_follow_the_workspace() {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml"))
        .expect("the workspace manifest");
    let workspace: toml::Table = text.parse().expect("valid TOML");
    let dependencies = &workspace["workspace"]["dependencies"];
    let version = |value: &toml::Value| -> String {
        match value {
            toml::Value::String(v) => v.clone(),
            other => other
                .get("version")
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    };
    for (name, requirement) in codegen::STANDALONE_DEPENDENCIES {
        let ours: toml::Value = format!("x = {requirement}")
            .parse::<toml::Table>()
            .expect("valid requirement")["x"]
            .clone();
        let theirs = dependencies
            .get(*name)
            .unwrap_or_else(|| panic!("{name} is not a workspace dependency"));
        assert_eq!(version(&ours), version(theirs), "{name}");
    }
}
