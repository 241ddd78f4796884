//! The impact of a contract change: `cargo xtask compat --report`.
//!
//! For each contract of the working tree that differs from its latest published version (or
//! was never published): the gate's verdict, what changed field by field, and who it reaches
//! — the producer and, from `contracts/system.toml`, every consuming service and consumer
//! group. Rendered as markdown fit for a pull request comment ([`ImpactReport::to_markdown`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use codegen::Manifest;
use codegen::topology::System;
use serde_json::Value as Json;

use crate::avro::SchemaVersion;
use crate::history::{ContractKind, History};
use crate::{CompatError, Level, RegistrySubject, check_contracts, diff, openapi};

/// The impact of every changed contract.
#[derive(Debug, Clone)]
pub struct ImpactReport {
    pub changed: Vec<ContractImpact>,
    /// How many contracts were looked at (changed or not).
    pub contracts_seen: usize,
}

impl ImpactReport {
    /// Whether every changed contract passes the gate.
    pub fn passed(&self) -> bool {
        self.changed.iter().all(|c| c.problems.is_empty())
    }
}

/// What kind of contract changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractName {
    /// A registry subject: its event type, topic and level.
    Event {
        subject: String,
        event_type: String,
        topic: String,
        level: Level,
    },
    /// A service's REST API.
    Api { service: String },
}

impl ContractName {
    /// `public_person_entity_events-value`, `person API`.
    pub fn title(&self) -> String {
        match self {
            Self::Event { subject, .. } => subject.clone(),
            Self::Api { service } => format!("{service} API"),
        }
    }
}

/// One service's consumer group that reads a changed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedConsumer {
    pub service: String,
    pub group: String,
    pub topic: String,
}

/// One changed contract.
#[derive(Debug, Clone)]
pub struct ContractImpact {
    pub name: ContractName,
    /// The working-tree file, relative to the root.
    pub file: PathBuf,
    /// The version it was compared with (`published v1`), none for a new contract.
    pub compared_with: Option<String>,
    /// What changed: Avro field changes, or for an API the spec's changed places.
    pub changes: Vec<String>,
    /// Why the gate fails (empty: it passes).
    pub problems: Vec<String>,
    /// The service that produces the event, or serves the API.
    pub owner: String,
    /// Who reads the event (for an API: nobody is declared; its clients are not in the
    /// manifest).
    pub consumers: Vec<AffectedConsumer>,
}

/// Looks at every contract under `root/contracts` and reports those that changed, with the
/// gate's verdict (against `registry`'s versions too, when given).
pub fn impact_report(
    root: &Path,
    registry: Option<&BTreeMap<String, RegistrySubject>>,
) -> Result<ImpactReport, CompatError> {
    let contracts = root.join("contracts");
    let manifest = Manifest::load(&contracts)?;
    let system = System::load(&contracts)?;
    let gate = check_contracts(root, registry)?;
    let history = History::new(root);
    let mut changed = Vec::new();
    let mut contracts_seen = 0;

    for event in &manifest.events {
        contracts_seen += 1;
        let subject = event.subject();
        let file = Path::new("contracts").join(&event.schema);
        let text = crate::read(root, &file)?;
        let published = history.versions(ContractKind::Event, &subject)?;
        let latest = published.last();
        if latest.is_some_and(|latest| ContractKind::Event.same_contract(&latest.text, &text)) {
            continue;
        }
        let new = SchemaVersion::parse(crate::WORKING_TREE, &text)?;
        let changes = match latest {
            Some(latest) => {
                let old = SchemaVersion::parse(latest.label(), &latest.text)?;
                diff::diff(&old.schema, &new.schema)
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            }
            None => vec!["new contract: every field is new".to_owned()],
        };
        let problems = gate
            .incompatibilities
            .iter()
            .filter(|i| i.subject == subject)
            .map(ToString::to_string)
            .collect();
        let consumers = system
            .subscriptions
            .iter()
            .filter(|s| s.event.as_deref() == Some(event.event_type.as_str()))
            .map(|s| AffectedConsumer {
                service: s.service.clone(),
                group: s.group.clone(),
                topic: s.topic.clone(),
            })
            .collect();
        changed.push(ContractImpact {
            name: ContractName::Event {
                subject,
                event_type: event.event_type.clone(),
                topic: event.topic.clone(),
                level: event.compatibility,
            },
            file,
            compared_with: latest.map(|v| v.label()),
            changes,
            problems,
            owner: event.producer.clone(),
            consumers,
        });
    }

    for (service, file) in crate::api_specs(root)? {
        contracts_seen += 1;
        let text = crate::read(root, &file)?;
        let published = history.versions(ContractKind::Api, &service)?;
        let latest = published.last();
        if latest.is_some_and(|latest| ContractKind::Api.same_contract(&latest.text, &text)) {
            continue;
        }
        let changes = match latest {
            Some(latest) => {
                let old = openapi::parse_spec(&latest.path.display().to_string(), &latest.text)?;
                let new = openapi::parse_spec(&file.display().to_string(), &text)?;
                spec_changes(&old, &new)
            }
            None => vec!["new contract: every operation is new".to_owned()],
        };
        let problems = gate
            .breaking_changes
            .iter()
            .filter(|b| b.service == service)
            .map(ToString::to_string)
            .collect();
        changed.push(ContractImpact {
            name: ContractName::Api {
                service: service.clone(),
            },
            file,
            compared_with: latest.map(|v| v.label()),
            changes,
            problems,
            owner: service,
            consumers: Vec::new(),
        });
    }
    Ok(ImpactReport {
        changed,
        contracts_seen,
    })
}

/// The places where two specs differ, as JSON pointers: a key present on one side only is
/// one change (not each of its leaves), differing scalars or arrays one change each.
pub fn spec_changes(old: &Json, new: &Json) -> Vec<String> {
    let mut out = Vec::new();
    walk_spec(old, new, String::new(), &mut out);
    out
}

fn walk_spec(old: &Json, new: &Json, pointer: String, out: &mut Vec<String>) {
    match (old, new) {
        (Json::Object(old), Json::Object(new)) => {
            for (key, new_value) in new {
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                match old.get(key) {
                    Some(old_value) => walk_spec(old_value, new_value, child, out),
                    None => out.push(format!("`{child}`: added")),
                }
            }
            for key in old.keys().filter(|key| !new.contains_key(*key)) {
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(format!("`{child}`: removed"));
            }
        }
        (old, new) if old != new => {
            let shown = |value: &Json| {
                let text = value.to_string();
                if text.len() > 80 {
                    format!("{}…", text.chars().take(80).collect::<String>())
                } else {
                    text
                }
            };
            out.push(format!(
                "`{}`: changed from {} to {}",
                if pointer.is_empty() { "/" } else { &pointer },
                shown(old),
                shown(new)
            ));
        }
        _ => {}
    }
}

/// `|` would end a markdown table cell; newlines would end the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl ImpactReport {
    /// The report as markdown: a summary table, then a section per changed contract.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("## Contract changes\n\n");
        if self.changed.is_empty() {
            let _ = writeln!(
                md,
                "No contract differs from its latest published version ({} checked).",
                self.contracts_seen
            );
            return md;
        }
        let failing = self
            .changed
            .iter()
            .filter(|c| !c.problems.is_empty())
            .count();
        let _ = writeln!(
            md,
            "{} of {} contracts changed; {}.\n",
            self.changed.len(),
            self.contracts_seen,
            if failing == 0 {
                "every change passes the compatibility gate".to_owned()
            } else {
                format!("**{failing} fail the compatibility gate**")
            }
        );
        md.push_str("| contract | verdict | compared with | affected consumers |\n");
        md.push_str("|---|---|---|---|\n");
        for contract in &self.changed {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                contract.name.title(),
                verdict(contract),
                contract.compared_with.as_deref().unwrap_or("nothing (new)"),
                cell(&consumer_summary(contract))
            );
        }
        for contract in &self.changed {
            md.push('\n');
            write_section(&mut md, contract);
        }
        md
    }
}

fn verdict(contract: &ContractImpact) -> String {
    let level = match &contract.name {
        ContractName::Event { level, .. } => format!(" under {level}"),
        ContractName::Api { .. } => String::new(),
    };
    if contract.problems.is_empty() {
        format!("✅ compatible{level}")
    } else {
        format!("❌ incompatible{level}")
    }
}

fn consumer_summary(contract: &ContractImpact) -> String {
    match &contract.name {
        ContractName::Api { service } => format!("clients of the {service} API"),
        ContractName::Event { .. } if contract.consumers.is_empty() => "none declared".into(),
        ContractName::Event { .. } => contract
            .consumers
            .iter()
            .map(|c| format!("{} (`{}`)", c.service, c.group))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn write_section(md: &mut String, contract: &ContractImpact) {
    let _ = writeln!(
        md,
        "### `{}`: {}\n",
        contract.name.title(),
        verdict(contract)
    );
    match &contract.name {
        ContractName::Event {
            event_type, topic, ..
        } => {
            let _ = writeln!(
                md,
                "Event `{event_type}` on topic `{topic}`, produced by **{}**; `{}` compared \
                 with {}.\n",
                contract.owner,
                contract.file.display(),
                contract
                    .compared_with
                    .as_deref()
                    .unwrap_or("nothing (never published)")
            );
        }
        ContractName::Api { service } => {
            let _ = writeln!(
                md,
                "REST API of **{service}**; `{}` compared with {}.\n",
                contract.file.display(),
                contract
                    .compared_with
                    .as_deref()
                    .unwrap_or("nothing (never published)")
            );
        }
    }
    md.push_str("What changed:\n\n");
    if contract.changes.is_empty() {
        md.push_str("- nothing a reader sees (formatting or order only)\n");
    }
    for change in &contract.changes {
        let _ = writeln!(md, "- {change}");
    }
    md.push('\n');
    if contract.problems.is_empty() {
        md.push_str("The compatibility gate accepts it.\n");
    } else {
        md.push_str("Why the gate rejects it:\n\n");
        for problem in &contract.problems {
            let _ = writeln!(md, "- {problem}");
        }
    }
    if let ContractName::Event { .. } = contract.name {
        md.push('\n');
        if contract.consumers.is_empty() {
            md.push_str("No service consumes it (contracts/system.toml).\n");
        } else {
            md.push_str(
                "Consumers it reaches (contracts/system.toml): each reads data written with \
                 the new version, and old data again when its group is rebuilt.\n\n",
            );
            md.push_str("| service | consumer group | topic |\n|---|---|---|\n");
            for consumer in &contract.consumers {
                let _ = writeln!(
                    md,
                    "| {} | `{}` | `{}` |",
                    consumer.service, consumer.group, consumer.topic
                );
            }
        }
    }
}
