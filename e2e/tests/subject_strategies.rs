//! Registration follows each event's subject strategy, against the real registry (Apicurio's
//! Confluent API). A scratch manifest (names unique to the run) declares one event per
//! strategy, two of them sharing a topic as the record-name strategies allow; the generator's
//! manifest code names each subject, the runtime's registration code (`register_all`, what
//! the generated `register_<service>_schemas` calls) sets its level and registers its schema,
//! and the registry must then list exactly those subjects, each with the manifest's level and
//! the schema as registered. The level then governs the next version under that subject: a
//! change FORWARD forbids is refused by the registry's check and by registration.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use codegen::Manifest;
use contract_runtime::registry::{
    Compatibility, Registration, RegistryClient, RegistryError, register_all,
};
use e2e::{NOT_UP, Stack};
use serde_json::{Value, json};

fn record(namespace: &str, name: &str, fields: &[(&str, &str)]) -> String {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(name, ty)| json!({"name": name, "type": ty}))
        .collect();
    json!({"type": "record", "name": name, "namespace": namespace, "fields": fields}).to_string()
}

/// The registry's canonical JSON of a schema and ours: equal as JSON values.
fn same_schema(registered: &str, ours: &str) -> Result<bool> {
    let registered: Value = serde_json::from_str(registered).context("the registered schema")?;
    let ours: Value = serde_json::from_str(ours).context("our schema")?;
    Ok(registered == ours)
}

#[tokio::test]
async fn each_subject_strategy_registers_under_its_own_subject() -> Result<()> {
    let stack = Stack::load()?;
    let client = RegistryClient::new(stack.registry()?);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let namespace = format!("e2e.strategies.r{run}");
    let own_topic = format!("e2e-strategies-{run}-opened");
    let shared_topic = format!("e2e-strategies-{run}-payments");
    let manifest_text = format!(
        r#"
[[event]]
type = "opened"
schema = "events/opened.avsc"
topic = "{own_topic}"
key_field = "id"
producer = "scratch"
source = "e2e"
compatibility = "BACKWARD"

[[event]]
type = "paid"
schema = "events/payments.avsc"
record = "{namespace}.Paid"
topic = "{shared_topic}"
subject_strategy = "record_name"
key_field = "id"
producer = "scratch"
source = "e2e"
compatibility = "FORWARD"

[[event]]
type = "refunded"
schema = "events/payments.avsc"
record = "{namespace}.Refunded"
topic = "{shared_topic}"
subject_strategy = "topic_record_name"
key_field = "id"
producer = "scratch"
source = "e2e"
compatibility = "FULL"
"#
    );
    let manifest = Manifest::parse(&manifest_text, Path::new("scratch/events.toml"))
        .map_err(|error| anyhow::anyhow!("{error}"))?;

    // What the generator names each subject, per Confluent's strategies.
    let subjects: Vec<String> = manifest.events.iter().map(|e| e.subject()).collect();
    assert_eq!(
        subjects,
        [
            format!("{own_topic}-value"),
            format!("{namespace}.Paid"),
            format!("{shared_topic}-{namespace}.Refunded"),
        ]
    );
    let schemas = [
        record(&namespace, "Opened", &[("id", "string")]),
        record(&namespace, "Paid", &[("id", "string"), ("amount", "long")]),
        record(
            &namespace,
            "Refunded",
            &[("id", "string"), ("amount", "long")],
        ),
    ];
    let levels = [
        Compatibility::Backward,
        Compatibility::Forward,
        Compatibility::Full,
    ];
    for (event, level) in manifest.events.iter().zip(levels) {
        assert_eq!(event.compatibility.as_str(), level.to_string());
    }

    // Registration as generated code does it; `Registration` holds the `'static` strings the
    // generated constants are, so the scratch ones are leaked for the test's lifetime.
    let registrations: Vec<Registration> = subjects
        .iter()
        .zip(&schemas)
        .zip(levels)
        .map(|((subject, schema), compatibility)| Registration {
            subject: subject.clone().leak(),
            schema: schema.clone().leak(),
            compatibility,
        })
        .collect();
    let registered = register_all(&client, &registrations)
        .await
        .with_context(|| format!("registering the scratch subjects; {NOT_UP}"))?;
    let outcome = check_registered(&client, &subjects, &schemas, &levels, &registered).await;
    let gate = if outcome.is_ok() {
        the_level_governs_the_next_version(&client, &subjects[1], &namespace).await
    } else {
        Ok(())
    };
    // Scratch subjects go, whatever happened.
    for subject in &subjects {
        client.delete_subject(subject, false).await?;
        client.delete_subject(subject, true).await?;
    }
    let remaining = client.subjects().await?;
    ensure!(
        subjects.iter().all(|s| !remaining.contains(s)),
        "scratch subjects are still listed after deletion"
    );
    outcome?;
    gate
}

async fn check_registered(
    client: &RegistryClient,
    subjects: &[String],
    schemas: &[String],
    levels: &[Compatibility],
    registered: &[contract_runtime::registry::RegisteredSchema],
) -> Result<()> {
    // Registering again is idempotent: the same ids.
    let listed = client.subjects().await?;
    let ours: Vec<&String> = listed.iter().filter(|s| s.contains("strategies")).collect();
    for subject in subjects {
        ensure!(
            ours.contains(&subject),
            "{subject} is not among the registry's subjects {ours:?}"
        );
    }
    for (((subject, schema), level), registration) in
        subjects.iter().zip(schemas).zip(levels).zip(registered)
    {
        assert_eq!(registration.subject, subject.as_str());
        assert_eq!(client.compatibility(subject).await?, Some(*level));
        assert_eq!(client.versions(subject).await?, [1]);
        let version = client.subject_version(subject, 1).await?;
        assert_eq!(version.id, registration.id, "{subject}");
        ensure!(
            same_schema(&version.schema, schema)?,
            "{subject} holds {} instead of {schema}",
            version.schema
        );
        assert_eq!(client.register(subject, schema).await?, registration.id);
    }
    Ok(())
}

/// Under the record-name subject (level FORWARD), dropping a field the previous readers need
/// is refused, by the compatibility check and by registration; adding an optional one is not.
async fn the_level_governs_the_next_version(
    client: &RegistryClient,
    subject: &str,
    namespace: &str,
) -> Result<()> {
    let dropped = record(namespace, "Paid", &[("id", "string")]);
    assert!(
        !client
            .check_compatibility(subject, "latest", &dropped)
            .await?
    );
    match client.register(subject, &dropped).await {
        Err(RegistryError::Refused { status: 409, .. }) => {}
        Ok(id) => bail!("the registry took a FORWARD-incompatible schema (id {id})"),
        Err(error) => return Err(error.into()),
    }
    let added = json!({
        "type": "record", "name": "Paid", "namespace": namespace,
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "amount", "type": "long"},
            {"name": "note", "type": ["null", "string"], "default": null}
        ]
    })
    .to_string();
    assert!(
        client
            .check_compatibility(subject, "latest", &added)
            .await?
    );
    client.register(subject, &added).await?;
    assert_eq!(client.versions(subject).await?, [1, 2]);
    Ok(())
}
