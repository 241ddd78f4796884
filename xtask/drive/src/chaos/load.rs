//! The load generator and its ledger: REST writes through the generated clients, and for
//! every entity how many of its writes happened (each publishes exactly one event) and what
//! state planning must end with.
//!
//! Only acknowledged writes (2xx) count as happened. A write that failed or timed out during
//! a fault is "in doubt": the entity gets no further writes, and after the phase the source
//! database decides whether it happened (every write carries distinct content, and a create
//! a unique marker — the person's first name, the sheet's assets — to find it by).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use contract_runtime::client::HttpClient;
use contracts::{accounting_api, person_api};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::state::{PersonState, SheetState};
use crate::reconcile::Databases;

/// What the ledger knows about one entity.
#[derive(Debug, Clone)]
pub struct Tracked<T> {
    /// Upserts of this entity that happened: the events planning must have applied.
    pub upserts: u64,
    /// The state planning must end with; `None` once deleted.
    pub state: Option<T>,
    /// A write whose outcome is unknown.
    pub doubt: Option<Doubt<T>>,
}

#[derive(Debug, Clone)]
pub enum Doubt<T> {
    Upsert(T),
    Delete,
}

/// What became of an in-doubt write, judged from the source's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Happened,
    DidNotHappen,
    /// The source holds neither the intended state nor the one before.
    Unexplained,
}

/// Decides an in-doubt write from the source row (`None`: no row).
pub fn resolve<T: PartialEq>(tracked: &Tracked<T>, source: Option<&T>) -> Resolution {
    let Some(doubt) = &tracked.doubt else {
        return Resolution::DidNotHappen;
    };
    let happened = match doubt {
        Doubt::Upsert(intended) => source == Some(intended),
        Doubt::Delete => source.is_none(),
    };
    if happened {
        Resolution::Happened
    } else if source == tracked.state.as_ref() {
        Resolution::DidNotHappen
    } else {
        Resolution::Unexplained
    }
}

impl<T: Clone> Tracked<T> {
    fn created(state: T) -> Self {
        Self {
            upserts: 1,
            state: Some(state),
            doubt: None,
        }
    }

    /// Applies the resolution of the doubt.
    fn settle(&mut self, resolution: Resolution) {
        if let (Resolution::Happened, Some(doubt)) = (resolution, self.doubt.take()) {
            match doubt {
                Doubt::Upsert(state) => {
                    self.upserts += 1;
                    self.state = Some(state);
                }
                Doubt::Delete => self.state = None,
            }
        }
        self.doubt = None;
    }

    fn writable(&self) -> bool {
        self.state.is_some() && self.doubt.is_none()
    }
}

/// Everything written in one phase.
#[derive(Debug, Default)]
pub struct Ledger {
    pub persons: BTreeMap<Uuid, Tracked<PersonState>>,
    pub sheets: BTreeMap<Uuid, Tracked<SheetState>>,
    /// Creates without an answer: (first-name marker, intended state).
    pub doubtful_person_creates: Vec<(String, PersonState)>,
    /// Creates without an answer: (assets marker, intended state).
    pub doubtful_sheet_creates: Vec<(i64, SheetState)>,
    pub attempted: u64,
    pub acknowledged: u64,
    pub unknown: u64,
    pub unknown_happened: u64,
    pub unexplained: Vec<String>,
}

impl Ledger {
    pub fn entities(&self) -> usize {
        self.persons.len() + self.sheets.len()
    }

    /// Decides every in-doubt write from the source databases.
    pub async fn resolve_doubts(&mut self, databases: &Databases) -> Result<()> {
        for (marker, intended) in std::mem::take(&mut self.doubtful_person_creates) {
            let found: Option<(Uuid, String, String, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT id, first_name, last_name, date_of_birth FROM person WHERE first_name = $1",
            )
            .bind(&marker)
            .fetch_optional(&databases.person)
            .await
            .context("looking up an in-doubt person create")?;
            if let Some((id, first, last, birth)) = found {
                let state = PersonState::from_source(first, last, birth);
                if state != intended {
                    self.unexplained.push(format!(
                        "person {id} created as {state:?}, sent {intended:?}"
                    ));
                }
                self.persons.insert(id, Tracked::created(state));
                self.unknown_happened += 1;
            }
        }
        for (marker, intended) in std::mem::take(&mut self.doubtful_sheet_creates) {
            let found: Option<(Uuid, Uuid, DateTime<Utc>, i64, i64)> = sqlx::query_as(
                "SELECT id, person_id, date_calculated, assets, liabilities FROM balance_sheet WHERE assets = $1",
            )
            .bind(marker)
            .fetch_optional(&databases.accounting)
            .await
            .context("looking up an in-doubt balance-sheet create")?;
            if let Some((id, person, date, assets, liabilities)) = found {
                let state = SheetState::from_source(person, date, assets, liabilities);
                if state != intended {
                    self.unexplained.push(format!(
                        "balance sheet {id} created as {state:?}, sent {intended:?}"
                    ));
                }
                self.sheets.insert(id, Tracked::created(state));
                self.unknown_happened += 1;
            }
        }
        let mut resolutions = Vec::new();
        for (id, tracked) in self.persons.iter_mut().filter(|(_, t)| t.doubt.is_some()) {
            let source = source_person(&databases.person, *id).await?;
            let resolution = resolve(tracked, source.as_ref());
            resolutions.push((resolution, format!("person {id}: source {source:?}")));
            tracked.settle(resolution);
        }
        for (id, tracked) in self.sheets.iter_mut().filter(|(_, t)| t.doubt.is_some()) {
            let source = source_sheet(&databases.accounting, *id).await?;
            let resolution = resolve(tracked, source.as_ref());
            resolutions.push((resolution, format!("balance sheet {id}: source {source:?}")));
            tracked.settle(resolution);
        }
        for (resolution, what) in resolutions {
            match resolution {
                Resolution::Happened => self.unknown_happened += 1,
                Resolution::DidNotHappen => {}
                Resolution::Unexplained => self.unexplained.push(what),
            }
        }
        Ok(())
    }
}

async fn source_person(pool: &PgPool, id: Uuid) -> Result<Option<PersonState>> {
    let row: Option<(String, String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT first_name, last_name, date_of_birth FROM person WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .context("reading a person from the source")?;
    Ok(row.map(|(first, last, birth)| PersonState::from_source(first, last, birth)))
}

async fn source_sheet(pool: &PgPool, id: Uuid) -> Result<Option<SheetState>> {
    let row: Option<(Uuid, DateTime<Utc>, i64, i64)> = sqlx::query_as(
        "SELECT person_id, date_calculated, assets, liabilities FROM balance_sheet WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("reading a balance sheet from the source")?;
    Ok(row.map(|(person, date, assets, liabilities)| {
        SheetState::from_source(person, date, assets, liabilities)
    }))
}

/// Issues REST writes, one at a time at a fixed rate, and records them in its ledger.
pub struct LoadGenerator {
    persons: person_api::Client,
    accounting: accounting_api::Client,
    rng: StdRng,
    /// Distinguishes this run's and phase's markers from every other's.
    tag: String,
    sequence: u64,
    pub ledger: Ledger,
}

/// Which write to issue next.
enum Write {
    CreatePerson,
    ReplacePerson(Uuid),
    RenamePerson(Uuid),
    DeletePerson(Uuid),
    CreateSheet(Uuid),
    ReplaceSheet(Uuid),
    DeleteSheet(Uuid),
}

impl LoadGenerator {
    pub fn new(seed: u64, username: &str, password: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .context("cannot build the HTTP client")?;
        let client = |service: crate::services::Service| {
            HttpClient::new(crate::base_url(service))
                .with_credentials(username, password)
                .with_reqwest(http.clone())
        };
        Ok(Self {
            persons: person_api::Client::new(client(crate::services::Service::Person)),
            accounting: accounting_api::Client::new(client(crate::services::Service::Accounting)),
            rng: StdRng::seed_from_u64(seed),
            tag: String::new(),
            sequence: 0,
            ledger: Ledger::default(),
        })
    }

    /// Starts a phase: a fresh ledger and markers tagged `tag`.
    pub fn begin_phase(&mut self, tag: String) -> Ledger {
        self.tag = tag;
        std::mem::take(&mut self.ledger)
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// Issues up to `count` writes at `rate` per second; stops early once `until` turns true
    /// (when given). Returns how many were issued.
    pub async fn run(
        &mut self,
        count: u64,
        rate: f64,
        mut until: Option<&mut watch::Receiver<bool>>,
    ) -> u64 {
        let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
        let mut issued = 0;
        while issued < count {
            if let Some(flag) = until.as_deref_mut()
                && *flag.borrow_and_update()
            {
                break;
            }
            let started = Instant::now();
            self.write_one().await;
            issued += 1;
            if let Some(rest) = interval.checked_sub(started.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
        issued
    }

    fn pick<T: Clone>(rng: &mut StdRng, entities: &BTreeMap<Uuid, Tracked<T>>) -> Option<Uuid> {
        let writable: Vec<Uuid> = entities
            .iter()
            .filter(|(_, t)| t.writable())
            .map(|(id, _)| *id)
            .collect();
        (!writable.is_empty()).then(|| writable[rng.random_range(0..writable.len())])
    }

    fn choose(&mut self) -> Write {
        let roll: f64 = self.rng.random();
        let person = Self::pick(&mut self.rng, &self.ledger.persons);
        let sheet = Self::pick(&mut self.rng, &self.ledger.sheets);
        match (person, sheet) {
            (None, _) => Write::CreatePerson,
            (Some(_), _) if roll < 0.20 => Write::CreatePerson,
            (Some(p), None) => Write::CreateSheet(p),
            (Some(p), Some(_)) if roll < 0.40 => Write::CreateSheet(p),
            (Some(p), Some(_)) if roll < 0.55 => Write::ReplacePerson(p),
            (Some(p), Some(_)) if roll < 0.65 => Write::RenamePerson(p),
            (Some(_), Some(s)) if roll < 0.93 => Write::ReplaceSheet(s),
            (Some(p), Some(_)) if roll < 0.965 => Write::DeletePerson(p),
            (Some(_), Some(s)) => Write::DeleteSheet(s),
        }
    }

    fn birth(&mut self) -> Option<DateTime<Utc>> {
        // One in ten unknown: the null date travels as the unknown-date convention.
        if self.rng.random_ratio(1, 10) {
            return None;
        }
        let day = NaiveDate::from_ymd_opt(1940, 1, 1).and_then(|d| {
            d.checked_add_days(chrono::Days::new(self.rng.random_range(0..25_000)))
        })?;
        Some(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?))
    }

    async fn write_one(&mut self) {
        self.sequence += 1;
        self.ledger.attempted += 1;
        let sequence = self.sequence;
        match self.choose() {
            Write::CreatePerson => {
                let body = person_api::PersonInput {
                    first_name: format!("{}-p{sequence}", self.tag),
                    last_name: format!("v{sequence}"),
                    date_of_birth: self.birth(),
                };
                let intended = PersonState::from_source(
                    body.first_name.clone(),
                    body.last_name.clone(),
                    body.date_of_birth,
                );
                match self.persons.create_person(&body).await {
                    Ok(person_api::CreatePersonResponse::Created(p)) => {
                        self.acknowledged();
                        let state =
                            PersonState::from_source(p.first_name, p.last_name, p.date_of_birth);
                        self.ledger.persons.insert(p.id, Tracked::created(state));
                    }
                    Err(_) => {
                        self.ledger.unknown += 1;
                        self.ledger
                            .doubtful_person_creates
                            .push((body.first_name, intended));
                    }
                }
            }
            Write::ReplacePerson(id) => {
                let first_name = self
                    .person_state(id)
                    .map(|s| s.first_name)
                    .unwrap_or_default();
                let body = person_api::PersonInput {
                    first_name,
                    last_name: format!("v{sequence}"),
                    date_of_birth: self.birth(),
                };
                let intended = PersonState::from_source(
                    body.first_name.clone(),
                    body.last_name.clone(),
                    body.date_of_birth,
                );
                let result = self.persons.replace_person(id, &body).await.map(
                    |person_api::ReplacePersonResponse::Ok(p)| {
                        PersonState::from_source(p.first_name, p.last_name, p.date_of_birth)
                    },
                );
                self.upserted_person(id, intended, result.ok());
            }
            Write::RenamePerson(id) => {
                let Some(mut intended) = self.person_state(id) else {
                    return;
                };
                intended.last_name = format!("v{sequence}");
                let body = person_api::PersonPatch {
                    last_name: Some(intended.last_name.clone()),
                    ..Default::default()
                };
                let result = self.persons.update_person(id, &body).await.map(
                    |person_api::UpdatePersonResponse::Ok(p)| {
                        PersonState::from_source(p.first_name, p.last_name, p.date_of_birth)
                    },
                );
                self.upserted_person(id, intended, result.ok());
            }
            Write::DeletePerson(id) => {
                let acknowledged = self.persons.delete_person(id).await.is_ok();
                Self::deleted(&mut self.ledger.persons, id, acknowledged);
                self.count(acknowledged);
            }
            Write::CreateSheet(person_id) => {
                // The assets are the create's marker: unique, so an in-doubt create is found.
                let assets = self
                    .rng
                    .random_range(1_000_000_000_000..9_000_000_000_000_i64);
                let body = accounting_api::BalanceSheetInput {
                    person_id,
                    date_calculated: Some(self.date_calculated()),
                    assets,
                    liabilities: self.rng.random_range(0..assets),
                };
                let intended = SheetState::from_source(
                    person_id,
                    body.date_calculated.unwrap_or_default(),
                    body.assets,
                    body.liabilities,
                );
                match self.accounting.create_balance_sheet(&body).await {
                    Ok(accounting_api::CreateBalanceSheetResponse::Created(s)) => {
                        self.acknowledged();
                        let state = SheetState::from_source(
                            s.person_id,
                            s.date_calculated,
                            s.assets,
                            s.liabilities,
                        );
                        self.ledger.sheets.insert(s.id, Tracked::created(state));
                    }
                    Err(_) => {
                        self.ledger.unknown += 1;
                        self.ledger.doubtful_sheet_creates.push((assets, intended));
                    }
                }
            }
            Write::ReplaceSheet(id) => {
                let Some(current) = self.ledger.sheets.get(&id).and_then(|t| t.state.clone())
                else {
                    return;
                };
                // A liabilities value no earlier write of this sheet had.
                let liabilities = i64::try_from(sequence).unwrap_or(i64::MAX);
                let body = accounting_api::BalanceSheetInput {
                    person_id: current.person_id,
                    date_calculated: Utc
                        .timestamp_millis_opt(current.date_calculated_ms)
                        .single(),
                    assets: current.assets,
                    liabilities,
                };
                let intended = SheetState {
                    liabilities,
                    ..current
                };
                let result = self.accounting.replace_balance_sheet(id, &body).await.map(
                    |accounting_api::ReplaceBalanceSheetResponse::Ok(s)| {
                        SheetState::from_source(
                            s.person_id,
                            s.date_calculated,
                            s.assets,
                            s.liabilities,
                        )
                    },
                );
                let acknowledged = result.is_ok();
                let tracked = self.ledger.sheets.get_mut(&id);
                if let Some(tracked) = tracked {
                    match result {
                        Ok(state) => {
                            tracked.upserts += 1;
                            tracked.state = Some(state);
                        }
                        Err(_) => tracked.doubt = Some(Doubt::Upsert(intended)),
                    }
                }
                self.count(acknowledged);
            }
            Write::DeleteSheet(id) => {
                let acknowledged = self.accounting.delete_balance_sheet(id).await.is_ok();
                Self::deleted(&mut self.ledger.sheets, id, acknowledged);
                self.count(acknowledged);
            }
        }
    }

    /// A time in the last year with millisecond precision (the event's).
    fn date_calculated(&mut self) -> DateTime<Utc> {
        let millis = Utc::now().timestamp_millis() - self.rng.random_range(0..31_536_000_000_i64);
        Utc.timestamp_millis_opt(millis)
            .single()
            .unwrap_or_else(Utc::now)
    }

    fn person_state(&self, id: Uuid) -> Option<PersonState> {
        self.ledger.persons.get(&id).and_then(|t| t.state.clone())
    }

    fn upserted_person(&mut self, id: Uuid, intended: PersonState, stored: Option<PersonState>) {
        let acknowledged = stored.is_some();
        if let Some(tracked) = self.ledger.persons.get_mut(&id) {
            match stored {
                Some(state) => {
                    tracked.upserts += 1;
                    tracked.state = Some(state);
                }
                None => tracked.doubt = Some(Doubt::Upsert(intended)),
            }
        }
        self.count(acknowledged);
    }

    fn deleted<T>(entities: &mut BTreeMap<Uuid, Tracked<T>>, id: Uuid, acknowledged: bool) {
        if let Some(tracked) = entities.get_mut(&id) {
            if acknowledged {
                tracked.state = None;
            } else {
                tracked.doubt = Some(Doubt::Delete);
            }
        }
    }

    fn acknowledged(&mut self) {
        self.ledger.acknowledged += 1;
    }

    fn count(&mut self, acknowledged: bool) {
        if acknowledged {
            self.ledger.acknowledged += 1;
        } else {
            self.ledger.unknown += 1;
        }
    }
}

/// Entities of a ledger whose planning row is behind (lost) or ahead (duplicated).
#[derive(Debug, Default)]
pub struct Comparison {
    pub lost: Vec<String>,
    pub duplicated: Vec<String>,
}

impl Comparison {
    pub fn clean(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty()
    }
}

/// Compares one entity: planning's row (state and applied-event count) against the ledger.
///
/// `republished` is how many events a repair may have published for the entity beyond its
/// writes (a resync's full state, a connector's fresh snapshot): then the count may exceed
/// the writes by that much, and may fall short of them — the repair replaces the events lost
/// before it with one full state — but the state must match.
pub fn judge<T: PartialEq + std::fmt::Debug>(
    what: &str,
    tracked: &Tracked<T>,
    planning: Option<&(T, i64)>,
    republished: u64,
    comparison: &mut Comparison,
) {
    let expected_count = i64::try_from(tracked.upserts).unwrap_or(i64::MAX);
    let most = i64::try_from(tracked.upserts.saturating_add(republished)).unwrap_or(i64::MAX);
    let least = if republished > 0 { 1 } else { expected_count };
    match (&tracked.state, planning) {
        (None, None) => {}
        (None, Some(_)) => comparison
            .lost
            .push(format!("{what}: deleted in the source, present in planning")),
        (Some(_), None) => comparison.lost.push(format!("{what}: missing in planning")),
        (Some(_), Some((_, applied))) if *applied > most => comparison.duplicated.push(format!(
            "{what}: {applied} events applied, {expected_count} published{}",
            if republished > 0 {
                format!(" and up to {republished} republished")
            } else {
                String::new()
            }
        )),
        (Some(want), Some((have, applied))) if want != have || *applied < least => {
            comparison.lost.push(format!(
                "{what}: planning has {have:?} after {applied} events, the source {want:?} after {expected_count}"
            ))
        }
        (Some(_), Some(_)) => {}
    }
}

/// Compares every entity of `ledger` with planning's read model.
/// `republished`: per person and per balance sheet, what a repair may have published beyond
/// the writes (see [`judge`]).
pub async fn compare(
    ledger: &Ledger,
    planning: &PgPool,
    (republished_persons, republished_sheets): (u64, u64),
) -> Result<Comparison> {
    let person_ids: Vec<Uuid> = ledger.persons.keys().copied().collect();
    let persons: Vec<(Uuid, String, String, Option<NaiveDate>, i64)> = sqlx::query_as(
        "SELECT id, first_name, last_name, date_of_birth, applied_events FROM person WHERE id = ANY($1)",
    )
    .bind(&person_ids)
    .fetch_all(planning)
    .await
    .context("reading planning's persons")?;
    let persons: BTreeMap<Uuid, (PersonState, i64)> = persons
        .into_iter()
        .map(|(id, first_name, last_name, date_of_birth, applied)| {
            (
                id,
                (
                    PersonState {
                        first_name,
                        last_name,
                        date_of_birth,
                    },
                    applied,
                ),
            )
        })
        .collect();
    let sheet_ids: Vec<Uuid> = ledger.sheets.keys().copied().collect();
    let sheets: Vec<(Uuid, Uuid, DateTime<Utc>, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, person_id, date_calculated, assets, liabilities, applied_events FROM balance_sheet WHERE id = ANY($1)",
    )
    .bind(&sheet_ids)
    .fetch_all(planning)
    .await
    .context("reading planning's balance sheets")?;
    let sheets: BTreeMap<Uuid, (SheetState, i64)> = sheets
        .into_iter()
        .map(|(id, person, date, assets, liabilities, applied)| {
            (
                id,
                (
                    SheetState::from_source(person, date, assets, liabilities),
                    applied,
                ),
            )
        })
        .collect();
    let mut comparison = Comparison::default();
    for (id, tracked) in &ledger.persons {
        judge(
            &format!("person {id}"),
            tracked,
            persons.get(id),
            republished_persons,
            &mut comparison,
        );
    }
    for (id, tracked) in &ledger.sheets {
        judge(
            &format!("balance sheet {id}"),
            tracked,
            sheets.get(id),
            republished_sheets,
            &mut comparison,
        );
    }
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(upserts: u64, state: Option<&str>, doubt: Option<Doubt<String>>) -> Tracked<String> {
        Tracked {
            upserts,
            state: state.map(str::to_string),
            doubt,
        }
    }

    #[test]
    fn an_in_doubt_write_is_decided_by_the_source_state() {
        let update = tracked(2, Some("v2"), Some(Doubt::Upsert("v3".into())));
        assert_eq!(
            resolve(&update, Some(&"v3".to_string())),
            Resolution::Happened
        );
        assert_eq!(
            resolve(&update, Some(&"v2".to_string())),
            Resolution::DidNotHappen
        );
        assert_eq!(
            resolve(&update, Some(&"v9".to_string())),
            Resolution::Unexplained
        );
        let delete = tracked(1, Some("v1"), Some(Doubt::Delete));
        assert_eq!(resolve(&delete, None), Resolution::Happened);
        assert_eq!(
            resolve(&delete, Some(&"v1".to_string())),
            Resolution::DidNotHappen
        );

        let mut settled = update.clone();
        settled.settle(Resolution::Happened);
        assert_eq!((settled.upserts, settled.state.as_deref()), (3, Some("v3")));
        assert!(settled.doubt.is_none());
        let mut settled = update;
        settled.settle(Resolution::DidNotHappen);
        assert_eq!((settled.upserts, settled.state.as_deref()), (2, Some("v2")));
    }

    #[test]
    fn lost_and_duplicated_effects_are_counted_from_state_and_applied_events() {
        let live = tracked(3, Some("v3"), None);
        let gone = tracked(2, None, None);
        let mut c = Comparison::default();
        judge("ok", &live, Some(&("v3".to_string(), 3)), 0, &mut c);
        judge("ok-deleted", &gone, None, 0, &mut c);
        assert!(c.clean());
        judge("behind", &live, Some(&("v2".to_string(), 2)), 0, &mut c);
        judge("missing", &live, None, 0, &mut c);
        judge(
            "tombstone lost",
            &gone,
            Some(&("v2".to_string(), 2)),
            0,
            &mut c,
        );
        // Right final state, but an earlier event never applied: still a loss.
        judge("skipped", &live, Some(&("v3".to_string(), 2)), 0, &mut c);
        assert_eq!(c.lost.len(), 4);
        judge("twice", &live, Some(&("v3".to_string(), 4)), 0, &mut c);
        assert_eq!(c.duplicated.len(), 1);
    }

    #[test]
    fn a_repair_may_republish_but_not_apply_more_nor_leave_a_wrong_state() {
        let live = tracked(3, Some("v3"), None);
        let gone = tracked(2, None, None);
        // (planning's row, events the repair may have republished, lost, duplicated)
        let cases = [
            (Some(("v3", 3)), 1, 0, 0),
            (Some(("v3", 4)), 1, 0, 0),
            (Some(("v3", 5)), 2, 0, 0),
            // Two writes lost in the gap, the resync's full state applied: repaired.
            (Some(("v3", 1)), 1, 0, 0),
            (Some(("v3", 5)), 1, 0, 1),
            (Some(("v2", 3)), 1, 1, 0),
            (None, 1, 1, 0),
        ];
        for (row, republished, lost, duplicated) in cases {
            let mut c = Comparison::default();
            let row = row.map(|(state, applied)| (state.to_string(), applied));
            judge("e", &live, row.as_ref(), republished, &mut c);
            assert_eq!(
                (c.lost.len(), c.duplicated.len()),
                (lost, duplicated),
                "{row:?} with {republished} republished"
            );
        }
        let mut c = Comparison::default();
        judge("deleted", &gone, Some(&("v2".to_string(), 3)), 1, &mut c);
        assert_eq!(c.lost.len(), 1);
    }
}
