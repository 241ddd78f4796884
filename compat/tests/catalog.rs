//! The event catalog built from a copy of the repository's contracts with a scratch history:
//! every published version, the field changes between consecutive ones and the gate's
//! verdict for each.

use std::fs;
use std::path::Path;

use contract_compat::catalog::{build_catalog, render_site};
use contract_compat::publish_contracts;

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

const LAST_NAME: &str = r#"{
      "name": "last_name",
      "type": "string"
    },"#;

#[test]
fn every_version_shows_its_changes_and_the_gates_verdict() {
    let dir = copy_of_repository();
    let root = dir.path();
    let person = "contracts/events/person.avsc";
    // v2: an optional field, compatible under FORWARD; published.
    edit(
        root,
        person,
        LAST_NAME,
        &format!(
            r#"{LAST_NAME}
    {{"name": "nickname", "type": ["null", "string"], "default": null, "doc": "Short name."}},"#
        ),
    );
    let published = publish_contracts(root).expect("publishes");
    assert_eq!(published.len(), 1, "{published:?}");
    // The working tree then changes a type: old consumers cannot read it.
    edit(
        root,
        person,
        r#"{"type": "int", "logicalType": "date"}"#,
        r#""string""#,
    );

    let catalog = build_catalog(root).expect("builds");
    let event = catalog
        .event("person_entity_state")
        .expect("the person event is listed");
    let labels: Vec<&str> = event.versions.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["published v1", "published v2", "working tree"]);

    let [v1, v2, tree] = event.versions.as_slice() else {
        panic!("three versions");
    };
    assert!(v1.changes.is_empty() && v1.compatible() && v1.previous.is_none());
    assert_eq!(v2.previous.as_deref(), Some("published v1"));
    assert_eq!(
        v2.changes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["`nickname`: added: union [null, string], default null"]
    );
    assert!(v2.compatible(), "{:?}", v2.incompatibilities);
    assert_eq!(
        tree.changes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["`date_of_birth`: type changed from int (date) to string"]
    );
    assert!(!tree.compatible());
    assert!(
        tree.incompatibilities[0].contains("consumers on published v2 cannot read"),
        "{:?}",
        tree.incompatibilities
    );
    assert_eq!(event.consumers[0].group, "planning-consumer-1");

    let site = render_site(&catalog).expect("renders");
    let page = site
        .iter()
        .find(|f| f.path == Path::new("events/person_entity_state.html"))
        .expect("the event has a page");
    for expected in [
        r#"<section class="version" id="v2" data-version="published v2">"#,
        r#"id="working-tree" data-version="working tree""#,
        "<h4>Changes from published v1</h4>",
        "added: union [null, string], default null",
        "type changed from int (date) to string",
        r#"<tr data-field="nickname">"#,
        "Short name.",
    ] {
        assert!(page.contents.contains(expected), "missing {expected:?}");
    }
    let service = site
        .iter()
        .find(|f| f.path == Path::new("services/person.html"))
        .expect("the person service has a page");
    assert!(
        service
            .contents
            .contains(r#"data-operation="create_person""#)
    );
}
