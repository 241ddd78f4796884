//! `cargo xtask compat --report` on scratch edits of a copy of the repository's contracts.

use std::fs;
use std::path::Path;

use contract_compat::report::{ContractName, impact_report};

/// A temporary root with copies of `contracts/` (with its published history) and the
/// connector declarations `system.toml` is checked against.
fn copy_of_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for folder in ["contracts", "ksqldb"] {
        copy_tree(&repository.join(folder), &dir.path().join(folder));
    }
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
    let path = root.join(relative);
    let text = fs::read_to_string(&path).expect("reads the contract");
    assert!(text.contains(from), "{relative} contains {from}");
    fs::write(&path, text.replacen(from, to, 1)).expect("writes the contract");
}

#[test]
fn an_unchanged_repository_reports_nothing() {
    let dir = copy_of_repository();
    let report = impact_report(dir.path(), None).expect("reports");
    assert!(report.changed.is_empty(), "{report:#?}");
    assert!(report.passed());
    assert!(
        report
            .to_markdown()
            .contains("No contract differs from its latest published version"),
        "{}",
        report.to_markdown()
    );
}

#[test]
fn an_incompatible_schema_edit_names_its_verdict_diff_and_consumers() {
    let dir = copy_of_repository();
    edit(
        dir.path(),
        "contracts/events/balance_sheet.avsc",
        r#""name": "liabilities",
      "type": "long""#,
        r#""name": "liabilities",
      "type": "string""#,
    );
    let report = impact_report(dir.path(), None).expect("reports");
    assert!(!report.passed());
    let [changed] = report.changed.as_slice() else {
        panic!("one changed contract expected: {report:#?}");
    };
    assert!(
        matches!(&changed.name, ContractName::Event { event_type, .. } if event_type == "balance_sheet_created"),
        "{changed:#?}"
    );
    assert_eq!(
        changed.changes,
        ["`liabilities`: type changed from long to string"]
    );
    assert_eq!(changed.owner, "accounting");
    let consumers: Vec<(&str, &str)> = changed
        .consumers
        .iter()
        .map(|c| (c.service.as_str(), c.group.as_str()))
        .collect();
    assert_eq!(consumers, [("planning", "planning-consumer-2")]);

    let markdown = report.to_markdown();
    for expected in [
        "| `public_balance_sheet_entity_events-value` | ❌ incompatible under FORWARD | published v1 | planning (`planning-consumer-2`) |",
        "- `liabilities`: type changed from long to string",
        "| planning | `planning-consumer-2` | `public_balance_sheet_entity_events` |",
        "consumers on published v1 cannot read data written with working tree",
    ] {
        assert!(
            markdown.contains(expected),
            "missing {expected:?} in:\n{markdown}"
        );
    }
    // The person event did not change, so neither it nor its consumer group is named.
    assert!(!markdown.contains("planning-consumer-1"), "{markdown}");
}

#[test]
fn a_compatible_addition_passes_and_still_names_the_consumers() {
    let dir = copy_of_repository();
    edit(
        dir.path(),
        "contracts/events/person.avsc",
        r#"{
      "name": "last_name",
      "type": "string"
    },"#,
        r#"{
      "name": "last_name",
      "type": "string"
    },
    {
      "name": "nickname",
      "type": ["null", "string"],
      "default": null,
      "doc": "What friends call the person."
    },"#,
    );
    edit(
        dir.path(),
        "contracts/api/planning.yaml",
        "required: [name, result]",
        "required: [name]",
    );
    let report = impact_report(dir.path(), None).expect("reports");
    let markdown = report.to_markdown();
    let person = report
        .changed
        .iter()
        .find(|c| c.name.title() == "public_person_entity_events-value")
        .unwrap_or_else(|| panic!("the person subject changed:\n{markdown}"));
    assert!(person.problems.is_empty(), "{markdown}");
    assert_eq!(
        person.changes,
        ["`nickname`: added: union [null, string], default null"]
    );
    assert!(
        markdown.contains("| `public_person_entity_events-value` | ✅ compatible under FORWARD | published v1 | planning (`planning-consumer-1`) |"),
        "{markdown}"
    );
    // The API edit is breaking (a response field became optional) and is reported too.
    let api = report
        .changed
        .iter()
        .find(|c| c.name.title() == "planning API")
        .unwrap_or_else(|| panic!("the planning API changed:\n{markdown}"));
    assert!(!api.problems.is_empty(), "{markdown}");
    assert!(
        api.changes.iter().any(|c| c.contains("required")),
        "{:?}",
        api.changes
    );
    assert!(!report.passed());
}
