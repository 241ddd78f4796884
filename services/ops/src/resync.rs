//! `ops resync`: republish the sources' current state through their outboxes, the repair
//! after events were lost on the way (a replication slot dropped while Connect was down, or
//! past `max_slot_wal_keep_size`: what was written meanwhile is never relayed, see
//! `ops connectors recover`).
//!
//! The entity topics carry full state keyed by id, so the current state of an entity is all
//! a consumer needs. Resync writes, per entity, the event its service would write now:
//! persons through the person service's outbox (`person_service::source::republish`, the
//! API's own [`canonical`](person_service::source::canonical) mapping and outbox writer),
//! balance sheets through accounting's outbox (`accounting_service::source::republish`: the
//! canonical event with a fresh CloudEvents id, relayed by the accounting outbox connector
//! without the CDC path; why: there). For an entity planning holds but its source no longer
//! has, it writes a tombstone through the same outbox.
//!
//! By default every entity of the sources is republished (and every entity planning has
//! extra is tombstoned); with `--only-differences`, only those a reconcile finds missing,
//! different or extra.
//!
//! Idempotent for consumers: each event is an upsert of the entity's whole state (or a delete
//! of an id), so applying it again — or applying it to a consumer that had the state already —
//! leaves the same row; the fresh `ce_id` only means the inbox does not skip it, and the
//! consumer then writes what it has. Each batch holds the source rows locked while it writes
//! their events, as the services' own changes do, so a change committed meanwhile is relayed
//! after the resync's event and the newest state wins. Running resync twice is safe.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use service_kit::codec::EventCodec;
use service_kit::outbox::Outbox;
use uuid::Uuid;

use crate::config::Endpoints;
use crate::reconcile::{Databases, ReadModel, Report};

#[derive(Args)]
pub struct ResyncArgs {
    /// Republish only the entities a reconcile finds missing or different in planning (and
    /// tombstone those it has extra), not every entity of the sources.
    #[arg(long)]
    only_differences: bool,
    /// Entities per source transaction (their rows stay locked while it runs).
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

/// How much of the sources to republish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every entity of the sources, and tombstones for what planning has extra.
    Everything,
    /// Only what a reconcile finds missing, different or extra.
    OnlyDifferences,
}

/// The ids to republish, per source: an id its source has gets its state, one it lacks a
/// tombstone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub persons: Vec<Uuid>,
    pub sheets: Vec<Uuid>,
}

impl Plan {
    /// What to republish, from what planning should hold (`expected`) and holds (`actual`).
    pub fn of(expected: &ReadModel, actual: &ReadModel, scope: Scope) -> Self {
        let report = Report::compare(expected, actual);
        let pick = |all: Vec<Uuid>, differences: &crate::reconcile::TableDifferences| {
            let mut ids: BTreeSet<Uuid> = match scope {
                Scope::Everything => all.into_iter().collect(),
                Scope::OnlyDifferences => differences
                    .missing
                    .iter()
                    .chain(differences.differing.iter().map(|(id, _, _)| id))
                    .copied()
                    .collect(),
            };
            ids.extend(differences.extra.iter().copied());
            ids.into_iter().collect()
        };
        Self {
            persons: pick(expected.persons.keys().copied().collect(), &report.persons),
            sheets: pick(expected.sheets.keys().copied().collect(), &report.sheets),
        }
    }
}

/// What a resync wrote into the outboxes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resynced {
    pub person_states: usize,
    pub person_tombstones: usize,
    pub sheet_states: usize,
    pub sheet_tombstones: usize,
}

impl Resynced {
    pub fn summary(&self) -> String {
        format!(
            "resync: {} person states and {} person tombstones through person's outbox, \
             {} balance-sheet states and {} balance-sheet tombstones through accounting's outbox",
            self.person_states, self.person_tombstones, self.sheet_states, self.sheet_tombstones
        )
    }
}

pub fn run(args: ResyncArgs, endpoints: &Endpoints) -> Result<()> {
    let scope = if args.only_differences {
        Scope::OnlyDifferences
    } else {
        Scope::Everything
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    let resynced = runtime.block_on(resync(endpoints, scope, args.batch))?;
    println!("{}", resynced.summary());
    println!("resync: run `ops reconcile` to see planning converge");
    Ok(())
}

/// Plans and writes a resync (see the module's documentation).
pub async fn resync(endpoints: &Endpoints, scope: Scope, batch: usize) -> Result<Resynced> {
    let databases = Databases::connect(endpoints).await?;
    let codec = EventCodec::new(endpoints.registry()?).context("schema registry settings")?;
    let outbox = Outbox::new(Arc::new(codec));
    // Planning is read after the sources, as reconcile does: an entity created meanwhile is
    // then at worst republished needlessly, never tombstoned (its source is checked again,
    // under lock, before a tombstone is written).
    let expected = databases.expected().await?;
    let actual = databases.actual().await?;
    let plan = Plan::of(&expected, &actual, scope);
    println!(
        "resync: {} person ids and {} balance-sheet ids to republish",
        plan.persons.len(),
        plan.sheets.len()
    );
    write(&databases, &outbox, &plan, batch.max(1)).await
}

/// Writes `plan` in batches, one source transaction each.
pub async fn write(
    databases: &Databases,
    outbox: &Outbox,
    plan: &Plan,
    batch: usize,
) -> Result<Resynced> {
    let mut resynced = Resynced::default();
    for ids in plan.persons.chunks(batch) {
        let mut tx = databases.person.begin().await.context("person database")?;
        let written = person_service::source::republish(&mut tx, outbox, ids)
            .await
            .context("writing person's outbox")?;
        tx.commit()
            .await
            .context("committing person's outbox rows")?;
        resynced.person_states += written.states;
        resynced.person_tombstones += written.tombstones;
    }
    for ids in plan.sheets.chunks(batch) {
        let mut tx = databases
            .accounting
            .begin()
            .await
            .context("accounting database")?;
        let written = accounting_service::source::republish(&mut tx, outbox, ids)
            .await
            .context("writing accounting's outbox")?;
        tx.commit()
            .await
            .context("committing accounting's outbox rows")?;
        resynced.sheet_states += written.states;
        resynced.sheet_tombstones += written.tombstones;
    }
    Ok(resynced)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use contracts::events;
    use service_kit::conventions::UNKNOWN_DATE_OF_BIRTH;

    use super::*;

    fn person(id: Uuid, last: &str) -> events::Person {
        events::Person {
            id,
            first_name: "Bart".into(),
            last_name: last.into(),
            date_of_birth: UNKNOWN_DATE_OF_BIRTH,
        }
    }

    fn model(persons: &[(Uuid, &str)]) -> ReadModel {
        ReadModel {
            persons: persons
                .iter()
                .map(|(id, last)| (*id, person(*id, last)))
                .collect(),
            sheets: BTreeMap::new(),
        }
    }

    #[test]
    fn the_plan_covers_the_sources_or_only_the_differences_and_always_the_extras() {
        let mut ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        ids.sort();
        let [same, missing, differing, extra, also_same] = ids[..] else {
            panic!("five ids")
        };
        let expected = model(&[
            (same, "s"),
            (missing, "m"),
            (differing, "d"),
            (also_same, "a"),
        ]);
        let actual = model(&[
            (same, "s"),
            (differing, "changed"),
            (extra, "e"),
            (also_same, "a"),
        ]);
        let sorted = |mut v: Vec<Uuid>| {
            v.sort();
            v
        };
        let cases = [
            (
                Scope::Everything,
                sorted(vec![same, missing, differing, extra, also_same]),
            ),
            (
                Scope::OnlyDifferences,
                sorted(vec![missing, differing, extra]),
            ),
        ];
        for (scope, want) in cases {
            let plan = Plan::of(&expected, &actual, scope);
            assert_eq!(plan.persons, want, "{scope:?}");
            assert!(plan.sheets.is_empty());
        }
        // Nothing differs: only-differences has nothing to do, everything still everything.
        assert_eq!(
            Plan::of(&expected, &expected, Scope::OnlyDifferences),
            Plan::default()
        );
        assert_eq!(
            Plan::of(&expected, &expected, Scope::Everything)
                .persons
                .len(),
            4
        );
    }
}
