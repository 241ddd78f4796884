//! `check_contracts` and `publish_contracts` on a copy of the repository's contracts.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use contract_compat::{RegistrySubject, RegistryVersion, check_contracts, publish_contracts};

const PERSON_SUBJECT: &str = "public_person_entity_events-value";

/// A temporary root holding a copy of `contracts/` (with its published history).
fn copy_of_contracts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts");
    copy_tree(&source, &dir.path().join("contracts"));
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("creates the folder");
    for entry in fs::read_dir(from).expect("reads the folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copies the file");
        }
    }
}

fn edit(root: &Path, relative: &str, from: &str, to: &str) {
    let path: PathBuf = root.join(relative);
    let text = fs::read_to_string(&path).expect("reads the contract");
    assert!(text.contains(from), "{relative} contains {from}");
    fs::write(&path, text.replacen(from, to, 1)).expect("writes the contract");
}

#[test]
fn the_repository_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let report = check_contracts(&root, None).expect("checks");
    assert!(report.passed(), "{report:#?}");
    assert!(
        report.checked.contains(
            &"public_person_entity_events-value (FORWARD): working tree vs published v1".into()
        ),
        "{:#?}",
        report.checked
    );
}

#[test]
fn a_changed_field_type_and_a_removed_api_field_fail() {
    let dir = copy_of_contracts();
    edit(
        dir.path(),
        "contracts/events/person.avsc",
        r#"{"type": "int", "logicalType": "date"}"#,
        r#""string""#,
    );
    edit(
        dir.path(),
        "contracts/api/planning.yaml",
        "required: [name, result]",
        "required: [name]",
    );
    let report = check_contracts(dir.path(), None).expect("checks");
    let lines: Vec<String> = report
        .incompatibilities
        .iter()
        .map(ToString::to_string)
        .chain(report.breaking_changes.iter().map(ToString::to_string))
        .collect();
    assert_eq!(
        lines,
        [
            "public_person_entity_events-value (FORWARD): working tree vs published v1: \
             `Person.date_of_birth`: type changed from int (date) to string; consumers on \
             published v1 cannot read data written with working tree",
            "contracts/api/planning.yaml (planning API): working tree vs published v2: \
             GET /api/ratios/{person_id}/ response 200: `[].result`: no longer required: \
             clients built for the previous version expect it in every response",
        ]
    );
}

#[test]
fn the_registrys_versions_count_too() {
    let dir = copy_of_contracts();
    // The registry holds a version nobody published (registered from a branch): FORWARD
    // compares with the registry's latest, whose readers require `nickname`.
    let published_v1 = fs::read_to_string(dir.path().join("contracts/events/person.avsc"))
        .expect("reads person.avsc");
    let unpublished = published_v1.replacen(
        r#"    {
      "name": "last_name","#,
        r#"    {
      "name": "nickname",
      "type": "string"
    },
    {
      "name": "last_name","#,
        1,
    );
    assert_ne!(unpublished, published_v1);
    let registry = BTreeMap::from([(
        PERSON_SUBJECT.to_owned(),
        RegistrySubject {
            level: Some("FORWARD".into()),
            versions: vec![
                RegistryVersion {
                    version: 1,
                    id: 1,
                    schema: published_v1,
                },
                RegistryVersion {
                    version: 2,
                    id: 7,
                    schema: unpublished,
                },
            ],
        },
    )]);
    let report = check_contracts(dir.path(), Some(&registry)).expect("checks");
    let lines: Vec<String> = report
        .incompatibilities
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "public_person_entity_events-value (FORWARD): working tree vs registry version 2 \
             (id 7): `Person.nickname`: field removed, but the older version declares it \
             without a default, so its readers require it (keep the field); consumers on \
             registry version 2 (id 7) cannot read data written with working tree"
        ]
    );
    assert!(
        report.checked.contains(
            &"public_person_entity_events-value (FORWARD): working tree vs published v1, \
              registry version 2 (id 7)"
                .into()
        ),
        "{:#?}",
        report.checked
    );
}

#[test]
fn publishing_appends_only_changed_contracts() {
    let dir = copy_of_contracts();
    assert_eq!(publish_contracts(dir.path()).expect("publishes"), []);
    edit(
        dir.path(),
        "contracts/events/person.avsc",
        r#"      "type": {"type": "int", "logicalType": "date"}
    }"#,
        r#"      "type": {"type": "int", "logicalType": "date"}
    },
    {"name": "email", "type": ["null", "string"], "default": null}"#,
    );
    let report = check_contracts(dir.path(), None).expect("checks");
    assert!(report.passed(), "{report:#?}");
    let written = publish_contracts(dir.path()).expect("publishes");
    assert_eq!(written.len(), 1, "{written:#?}");
    assert_eq!(written[0].name, PERSON_SUBJECT);
    assert_eq!(
        written[0].version.path,
        Path::new("contracts/published/events/public_person_entity_events-value/v2.avsc")
    );
    let report = check_contracts(dir.path(), None).expect("checks");
    assert!(
        report.checked.contains(
            &"public_person_entity_events-value (FORWARD): working tree vs published v2".into()
        ),
        "{:#?}",
        report.checked
    );
}
