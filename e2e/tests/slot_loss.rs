//! A lost replication slot, repaired with the operator CLI (issue 14, item 1): Connect is
//! killed, persons and balance sheets are written, the three slots are dropped (as
//! PostgreSQL does by itself past `max_slot_wal_keep_size`), more is written, Connect starts
//! again and every connector fails for good. `ops connectors recover` restarts them from
//! fresh slots; `ops resync` republishes the sources' state through the outboxes; then
//! `ops reconcile` is clean: every entity written in the gap is in planning with its state,
//! and what was deleted in the gap is gone from planning.
//!
//! Runs the operator CLI's library functions configured like the binary (the same
//! endpoints its environment variables give). Needs the stack, the connectors and the
//! services (`cargo xtask ci` starts them all); the test stops and starts Kafka Connect, so
//! it is a test binary of its own (cargo runs test binaries one after another).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use chrono::Utc;
use contract_runtime::client::HttpClient;
use contracts::{accounting_api, person_api, topology};
use e2e::{NOT_UP, Stack};
use ops::config::Endpoints;
use ops::connectors::Connect;
use ops::reconcile::{self, Databases, Report};
use ops::resync::{self, Scope};
use uuid::Uuid;

/// Persons and balance sheets written in each of the two windows of the gap.
const PER_WINDOW: usize = 4;

fn client(port: u16) -> HttpClient {
    HttpClient::new(e2e::service_url(port)).with_credentials(e2e::DEMO_USERNAME, e2e::DEMO_PASSWORD)
}

fn persons() -> person_api::Client {
    person_api::Client::new(client(topology::person::PORT))
}

fn accounting() -> accounting_api::Client {
    accounting_api::Client::new(client(topology::accounting::PORT))
}

/// What the `ops` binary would read from its environment on this stack.
fn endpoints(stack: &Stack) -> Result<Endpoints> {
    let fact = |key: &str| stack.get(key).map(|value| Some(value.to_owned()));
    Ok(Endpoints {
        kafka_bootstrap_servers: fact("KAFKA_BOOTSTRAP_SERVERS")?,
        schema_registry_url: fact("SCHEMA_REGISTRY_URL")?,
        database_url_person: fact("DATABASE_URL_PERSON")?,
        database_url_accounting: fact("DATABASE_URL_ACCOUNTING")?,
        database_url_planning: fact("DATABASE_URL_PLANNING")?,
    })
}

/// What the test wrote, by id.
#[derive(Default)]
struct Written {
    persons: Vec<Uuid>,
    sheets: Vec<Uuid>,
}

async fn create_person(tag: &str, index: usize) -> Result<Uuid> {
    let person_api::CreatePersonResponse::Created(person) = persons()
        .create_person(&person_api::PersonInput {
            first_name: format!("{tag}-{index}"),
            last_name: "Slotless".into(),
            date_of_birth: None,
        })
        .await
        .with_context(|| format!("the person service is not answering; {NOT_UP}"))?;
    Ok(person.id)
}

async fn create_sheet(person_id: Uuid, assets: i64) -> Result<Uuid> {
    let accounting_api::CreateBalanceSheetResponse::Created(sheet) = accounting()
        .create_balance_sheet(&accounting_api::BalanceSheetInput {
            person_id,
            date_calculated: Some(Utc::now()),
            assets,
            liabilities: 1,
        })
        .await
        .with_context(|| format!("the accounting service is not answering; {NOT_UP}"))?;
    Ok(sheet.id)
}

/// Creates `PER_WINDOW` persons with a balance sheet each.
async fn write_window(tag: &str, written: &mut Written) -> Result<()> {
    for index in 0..PER_WINDOW {
        let person = create_person(tag, index).await?;
        let sheet = create_sheet(person, 1_000 + index as i64).await?;
        written.persons.push(person);
        written.sheets.push(sheet);
    }
    Ok(())
}

/// Drops the manifest's slots, retrying while a walsender of the killed Connect still holds
/// one (the server notices the closed connection within moments).
fn drop_slots(stack: &Stack) -> Result<()> {
    let slots: Vec<String> = topology::SYSTEM
        .connectors
        .iter()
        .map(|connector| format!("'{}'", connector.slot))
        .collect();
    let sql = format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
         WHERE slot_name IN ({})",
        slots.join(", ")
    );
    let url = stack.get("PG_SUPERUSER_URL")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match e2e::psql(stack, url, &sql) {
            Ok(()) => return Ok(()),
            Err(error) if Instant::now() < deadline => {
                println!("slot_loss: dropping the slots: {error:#}; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(error) => return Err(error.context("cannot drop the replication slots")),
        }
    }
}

/// Waits until every connector of the manifest reports a failed task: the lost slot's
/// symptom (without it, the test would prove nothing).
fn wait_all_failed(connect: &Connect) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut failed = 0;
        for connector in topology::SYSTEM.connectors {
            if connect
                .status(connector.name)?
                .as_ref()
                .and_then(|status| status.failure())
                .is_some()
            {
                failed += 1;
            }
        }
        if failed == topology::SYSTEM.connectors.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{failed} of {} connectors failed after their slots were dropped",
                topology::SYSTEM.connectors.len()
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[tokio::test]
async fn what_was_written_while_the_slots_were_lost_returns_through_recover_and_resync()
-> Result<()> {
    let stack = Stack::load()?;
    let endpoints = endpoints(&stack)?;
    let connect = Connect::new(stack.connect()?);
    let tag = format!("slot-{}", &Uuid::new_v4().to_string()[..8]);

    // Before the fault: a person and a sheet that will be deleted in the gap, and a person
    // that will be renamed in it, all in planning.
    let doomed_person = create_person(&tag, 100).await?;
    let renamed_person = create_person(&tag, 101).await?;
    let doomed_sheet = create_sheet(renamed_person, 7).await?;
    let databases = Databases::connect(&endpoints).await?;
    let before =
        reconcile::reconcile_with(&databases, Duration::from_secs(60), &Report::default()).await?;
    ensure!(
        before.persons.missing.is_empty() && before.sheets.missing.is_empty(),
        "planning lags before the fault: {}",
        before.summary()
    );

    e2e::xtask(&["stack", "kill", "connect"])?;
    let mut written = Written::default();
    write_window(&format!("{tag}-kept"), &mut written).await?;
    drop_slots(&stack)?;
    write_window(&format!("{tag}-lost"), &mut written).await?;
    let renamed = persons()
        .replace_person(
            renamed_person,
            &person_api::PersonInput {
                first_name: format!("{tag}-renamed"),
                last_name: "Slotless".into(),
                date_of_birth: None,
            },
        )
        .await?;
    ensure!(
        matches!(renamed, person_api::ReplacePersonResponse::Ok(_)),
        "renaming: {renamed:?}"
    );
    persons().delete_person(doomed_person).await?;
    accounting().delete_balance_sheet(doomed_sheet).await?;

    e2e::xtask(&["stack", "start", "connect"])?;
    wait_all_failed(&connect)?;
    let recovered = tokio::task::spawn_blocking(move || {
        ops::connectors::recover(&connect, Vec::new(), Duration::from_secs(120))
    })
    .await??;
    ensure!(
        recovered.len() == topology::SYSTEM.connectors.len(),
        "recovered {recovered:?}"
    );

    // The loss is real: the persons of the gap, their rename and their delete never reach
    // planning by themselves (their outbox rows were relayed by no one).
    let lost = reconcile::reconcile_with(&databases, Duration::from_secs(20), &before).await?;
    println!(
        "slot_loss: after recover, before resync:\n{}",
        lost.render(3)
    );
    for id in &written.persons {
        ensure!(
            lost.persons.missing.contains(id),
            "person {id} of the gap reached planning without a resync: {}",
            lost.summary()
        );
    }
    ensure!(
        lost.persons.extra.contains(&doomed_person),
        "the person deleted in the gap left planning without a resync"
    );

    let resynced = resync::resync(&endpoints, Scope::Everything, 500).await?;
    println!("slot_loss: {}", resynced.summary());
    ensure!(
        resynced.person_states > written.persons.len() && resynced.person_tombstones >= 1,
        "{}",
        resynced.summary()
    );

    let after =
        reconcile::reconcile_with(&databases, Duration::from_secs(120), &Report::default()).await?;
    println!("slot_loss: after resync:\n{}", after.render(5));
    ensure!(
        after.agrees(),
        "reconcile is not clean after the resync: {}",
        after.summary()
    );
    // Reconcile compared every source entity; the gap's entities are among them.
    let planning = databases.actual().await?;
    for id in &written.persons {
        ensure!(planning.persons.contains_key(id), "person {id} missing");
    }
    for id in &written.sheets {
        ensure!(
            planning.sheets.contains_key(id),
            "balance sheet {id} missing"
        );
    }
    let renamed = planning
        .persons
        .get(&renamed_person)
        .context("the renamed person is missing")?;
    ensure!(
        renamed.first_name == format!("{tag}-renamed"),
        "{renamed:?}"
    );
    ensure!(!planning.persons.contains_key(&doomed_person));
    ensure!(!planning.sheets.contains_key(&doomed_sheet));
    Ok(())
}
