//! The compatibility gate agrees with the registry: every case of
//! `compat/tests/fixtures/avro-pairs.json`, under each level it lists, is answered by the real
//! registry (Apicurio's Confluent API, Avro's Java rules) and by `cargo xtask compat`'s
//! checker, and the answers must match, except where the table records a deliberate
//! difference and its reason.
//!
//! The registry's verdict is what production enforces: registering the new schema under a
//! throwaway subject that holds the case's history, with the level set (409 = incompatible).
//! For single-version histories the `/compatibility/.../versions/latest` answer must match
//! it too. (Apicurio's compatibility endpoint compares with one version whatever the level,
//! so only registration shows a transitive level's verdict.)

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use contract_compat::Level;
use contract_compat::avro::{SchemaVersion, check_subject};
use contract_runtime::registry::{Compatibility, RegistryClient, RegistryError};
use e2e::{NOT_UP, Stack, root};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Table {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    history: Vec<Value>,
    new: Value,
    /// The gate's verdict per level (true = compatible).
    expect: BTreeMap<String, bool>,
    /// The registry's verdict where it differs from the gate's.
    #[serde(default)]
    registry: BTreeMap<String, bool>,
    why: Option<String>,
}

fn table() -> Result<Table> {
    let path = root().join("compat/tests/fixtures/avro-pairs.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The same level in the runtime client's and in the manifest's vocabulary.
fn level(name: &str) -> Result<(Compatibility, Level)> {
    let as_json = Value::String(name.to_owned());
    Ok((
        serde_json::from_value(as_json.clone()).with_context(|| format!("level {name}"))?,
        serde_json::from_value(as_json).with_context(|| format!("level {name}"))?,
    ))
}

fn verdict(compatible: bool) -> &'static str {
    if compatible {
        "compatible"
    } else {
        "incompatible"
    }
}

/// The registry's verdicts on `case` under `level`: (by registration, by the compatibility
/// endpoint when the history has one version).
async fn registry_verdicts(
    client: &RegistryClient,
    subject: &str,
    case: &Case,
    level: Compatibility,
) -> Result<(bool, Option<bool>)> {
    // The history goes in under NONE: its own steps need not satisfy the level under test.
    client
        .set_compatibility(subject, Compatibility::None)
        .await
        .with_context(|| format!("the registry: {NOT_UP}"))?;
    for schema in &case.history {
        client.register(subject, &schema.to_string()).await?;
    }
    client.set_compatibility(subject, level).await?;
    let new = case.new.to_string();
    let by_endpoint = if case.history.len() == 1 {
        Some(client.check_compatibility(subject, "latest", &new).await?)
    } else {
        None
    };
    let by_registration = match client.register(subject, &new).await {
        Ok(_) => true,
        Err(RegistryError::Refused { status: 409, .. }) => false,
        Err(error) => return Err(error.into()),
    };
    Ok((by_registration, by_endpoint))
}

async fn delete_subject(client: &RegistryClient, subject: &str) -> Result<()> {
    client.delete_subject(subject, false).await?;
    client.delete_subject(subject, true).await?;
    Ok(())
}

#[tokio::test]
async fn the_gate_agrees_with_the_registry_on_every_pair() -> Result<()> {
    let stack = Stack::load()?;
    let client = RegistryClient::new(stack.registry()?);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let table = table()?;

    let mut rows = vec![
        "| # | case | level | gate | registry | |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    let mut failures = Vec::new();
    let mut deviations = Vec::new();
    for (index, case) in table.cases.iter().enumerate() {
        let history = case
            .history
            .iter()
            .enumerate()
            .map(|(i, schema)| SchemaVersion::parse(format!("v{}", i + 1), &schema.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let candidate = SchemaVersion::parse("new", &case.new.to_string())?;
        for (level_name, gate_expected) in &case.expect {
            let (registry_level, gate_level) = level(level_name)?;
            let subject = format!("e2e-compat-{run}-{index}-{level_name}");
            let verdicts = registry_verdicts(&client, &subject, case, registry_level).await;
            let cleanup = delete_subject(&client, &subject).await;
            let (registry, endpoint) = verdicts?;
            cleanup.with_context(|| format!("deleting the throwaway subject {subject}"))?;

            let findings = check_subject("subject", gate_level, &history, &candidate)?;
            let gate = findings.is_empty();
            let registry_expected = case.registry.get(level_name).unwrap_or(gate_expected);
            let label = format!("{} [{level_name}]", case.name);
            if gate != *gate_expected {
                failures.push(format!(
                    "{label}: the gate says {}, the table {}: {findings:#?}",
                    verdict(gate),
                    verdict(*gate_expected)
                ));
            }
            if registry != *registry_expected {
                failures.push(format!(
                    "{label}: the registry says {}, the table {}",
                    verdict(registry),
                    verdict(*registry_expected)
                ));
            }
            if let Some(endpoint) = endpoint
                && endpoint != registry
            {
                failures.push(format!(
                    "{label}: /compatibility says {}, registration {}",
                    verdict(endpoint),
                    verdict(registry)
                ));
            }
            let agreement = if gate == registry {
                "agree".to_owned()
            } else {
                deviations.push(format!(
                    "{label}: gate {}, registry {}: {}",
                    verdict(gate),
                    verdict(registry),
                    case.why.as_deref().unwrap_or("(no reason recorded)")
                ));
                "**differs** (documented)".to_owned()
            };
            rows.push(format!(
                "| {} | {} | {level_name} | {} | {} | {agreement} |",
                index + 1,
                case.name,
                verdict(gate),
                verdict(registry)
            ));
        }
    }
    println!("{}", rows.join("\n"));
    println!("\ndeliberate differences:\n{}", deviations.join("\n"));
    if !failures.is_empty() {
        bail!(
            "{} disagreement(s) with the table:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(())
}
