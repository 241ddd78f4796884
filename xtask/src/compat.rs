//! `cargo xtask compat`: the schema evolution gate.
//!
//! Checks every contract of the working tree against its published versions
//! (`contracts/published/`) and, with `--registry`, against the registry's versions of each
//! subject; fails naming each incompatibility. `--publish` then records the working tree as
//! the next published version of each changed contract. The library is `compat/`
//! (`contract-compat`); the workflow is in the README, "Changing a contract".

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use codegen::Manifest;
use contract_compat::{RegistrySubject, RegistryVersion, check_contracts, publish_contracts};
use contract_runtime::registry::RegistryClient;

#[derive(Args)]
pub struct CompatArgs {
    /// Also compare with the versions the schema registry holds for each subject (base URL
    /// of its Confluent API, e.g. http://127.0.0.1:8081/apis/ccompat/v7).
    #[arg(long, value_name = "URL", conflicts_with = "stack_registry")]
    registry: Option<String>,
    /// Like --registry, with the local stack's registry (SCHEMA_REGISTRY_URL in .stack/env).
    #[arg(long)]
    stack_registry: bool,
    /// After a passing check, append the working-tree version of every changed contract to
    /// contracts/published/ (run it when releasing, then commit the new files).
    #[arg(long)]
    publish: bool,
    /// Print, as markdown for a pull request comment, each changed contract's verdict, field
    /// changes and the consumers it reaches (fails like the check when one is incompatible).
    #[arg(long, conflicts_with = "publish")]
    report: bool,
}

pub fn run(args: CompatArgs) -> anyhow::Result<()> {
    let root = crate::project_root();
    let registry_url = match (args.registry, args.stack_registry) {
        (Some(url), _) => Some(url),
        (None, true) => Some(stack_registry_url(&root)?),
        (None, false) => None,
    };
    let registry = match &registry_url {
        Some(url) => Some(
            fetch_registry_history(&root, url)
                .with_context(|| format!("reading the subjects' versions from {url}"))?,
        ),
        None => None,
    };

    if args.report {
        let impact = contract_compat::report::impact_report(&root, registry.as_ref())?;
        print!("{}", impact.to_markdown());
        anyhow::ensure!(
            impact.passed(),
            "compat: a changed contract is incompatible"
        );
        return Ok(());
    }
    let report = check_contracts(&root, registry.as_ref())?;
    for line in &report.checked {
        println!("compat: {line}");
    }
    for note in &report.notes {
        println!("compat: note: {note}");
    }
    for incompatibility in &report.incompatibilities {
        eprintln!("error: {incompatibility}");
    }
    for change in &report.breaking_changes {
        eprintln!("error: {change}");
    }
    if !report.passed() {
        bail!(
            "compat: {} incompatible schema change(s) and {} breaking API change(s). Make the \
             change compatible (README, \"Changing a contract\"); a deliberate break needs a \
             new topic or API path, not an edit of the published contract",
            report.incompatibilities.len(),
            report.breaking_changes.len()
        );
    }
    println!("compat: every contract is compatible with its published versions");

    if args.publish {
        let written = publish_contracts(&root)?;
        if written.is_empty() {
            println!("compat: nothing to publish: every contract equals its latest version");
        }
        for published in &written {
            println!(
                "compat: published {} as v{}: {}",
                published.name,
                published.version.number,
                published.version.path.display()
            );
        }
        if !written.is_empty() {
            println!("compat: commit contracts/published/ with the release");
        }
    }
    Ok(())
}

/// `SCHEMA_REGISTRY_URL` from the running local stack's `.stack/env`.
fn stack_registry_url(root: &Path) -> anyhow::Result<String> {
    let path = root.join(".stack/env");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {}: is the stack up (`cargo xtask stack up`)?",
            path.display()
        )
    })?;
    text.lines()
        .filter_map(|line| line.trim().split_once('='))
        .find(|(key, _)| key.trim() == "SCHEMA_REGISTRY_URL")
        .map(|(_, value)| value.trim().to_owned())
        .with_context(|| format!("{} has no SCHEMA_REGISTRY_URL", path.display()))
}

/// Every version, and the level, the registry holds for each subject of the manifest.
fn fetch_registry_history(
    root: &Path,
    url: &str,
) -> anyhow::Result<BTreeMap<String, RegistrySubject>> {
    let manifest = Manifest::load(&root.join("contracts"))?;
    let client = RegistryClient::new(url);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting an async runtime")?;
    runtime.block_on(async {
        let mut subjects = BTreeMap::new();
        for event in &manifest.events {
            let subject = event.subject();
            let level = client.compatibility(&subject).await?;
            let mut versions = Vec::new();
            for version in client.versions(&subject).await? {
                let registered = client.subject_version(&subject, version).await?;
                versions.push(RegistryVersion {
                    version: registered.version,
                    id: registered.id,
                    schema: registered.schema,
                });
            }
            subjects.insert(
                subject,
                RegistrySubject {
                    level: level.map(|level| level.to_string()),
                    versions,
                },
            );
        }
        Ok(subjects)
    })
}
