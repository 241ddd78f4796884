//! `ops reconcile`: do planning's read model and the sources of truth agree?
//!
//! The sources are the person database (`person`) and the accounting database
//! (`balance_sheet`); planning's read model is `planning.person` and
//! `planning.balance_sheet`. Each source row is mapped to what planning should hold for it,
//! with the same conversions the events apply on the way (a person's `timestamptz` date of
//! birth becomes its UTC date, 0001-01-01 and NULL mean unknown; a balance sheet's
//! `date_calculated` travels as Avro `timestamp-millis`), then the two sides are compared
//! row by row. The exit code is 0 only when they agree.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use sqlx::postgres::PgPoolOptions;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::config::Endpoints;

#[derive(Args)]
pub struct ReconcileArgs {
    /// Keep comparing for up to this many seconds while they differ (events in flight
    /// converge meanwhile); only differences that persist are reported.
    #[arg(long, default_value_t = 30)]
    settle: u64,
    /// How many rows of each kind of difference to print.
    #[arg(long, default_value_t = 10)]
    show: usize,
}

pub fn run(args: ReconcileArgs, endpoints: &Endpoints) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    let report = runtime.block_on(reconcile(endpoints, Duration::from_secs(args.settle)))?;
    print!("{}", report.render(args.show));
    if !report.agrees() {
        bail!("planning's read model differs from the sources of truth");
    }
    Ok(())
}

/// What planning holds (or should hold) for a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PersonState {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
}

impl PersonState {
    /// The state planning derives from a person as the person service stores it.
    pub fn from_source(
        first_name: String,
        last_name: String,
        date_of_birth: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            first_name,
            last_name,
            date_of_birth: date_of_birth
                .map(|d| d.date_naive())
                .and_then(service_kit::conventions::known_date_of_birth),
        }
    }
}

/// What planning holds (or should hold) for a balance sheet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SheetState {
    pub person_id: Uuid,
    /// Milliseconds since the epoch: the event's precision.
    pub date_calculated_ms: i64,
    pub assets: i64,
    pub liabilities: i64,
}

impl SheetState {
    pub fn from_source(
        person_id: Uuid,
        date_calculated: DateTime<Utc>,
        assets: i64,
        liabilities: i64,
    ) -> Self {
        Self {
            person_id,
            date_calculated_ms: date_calculated.timestamp_millis(),
            assets,
            liabilities,
        }
    }
}

/// The read model's content, expected or actual.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadModel {
    pub persons: BTreeMap<Uuid, PersonState>,
    pub sheets: BTreeMap<Uuid, SheetState>,
}

#[derive(FromRow)]
struct SourcePerson {
    id: Uuid,
    first_name: String,
    last_name: String,
    date_of_birth: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct PlanningPerson {
    id: Uuid,
    first_name: String,
    last_name: String,
    date_of_birth: Option<NaiveDate>,
}

#[derive(FromRow)]
struct SheetRow {
    id: Uuid,
    person_id: Uuid,
    date_calculated: DateTime<Utc>,
    assets: i64,
    liabilities: i64,
}

impl SheetRow {
    fn state(self) -> (Uuid, SheetState) {
        (
            self.id,
            SheetState::from_source(
                self.person_id,
                self.date_calculated,
                self.assets,
                self.liabilities,
            ),
        )
    }
}

pub async fn connect(url: &str) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))
}

/// `postgres://user:secret@host/db` without the secret, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// The three databases.
pub struct Databases {
    pub person: PgPool,
    pub accounting: PgPool,
    pub planning: PgPool,
}

impl Databases {
    pub async fn connect(endpoints: &Endpoints) -> Result<Self> {
        Ok(Self {
            person: connect(endpoints.person_database()?).await?,
            accounting: connect(endpoints.accounting_database()?).await?,
            planning: connect(endpoints.planning_database()?).await?,
        })
    }

    /// What the read model should be, from the sources of truth.
    pub async fn expected(&self) -> Result<ReadModel> {
        let persons: Vec<SourcePerson> =
            sqlx::query_as("SELECT id, first_name, last_name, date_of_birth FROM person")
                .fetch_all(&self.person)
                .await
                .context("reading person.person")?;
        let sheets: Vec<SheetRow> = sqlx::query_as(
            "SELECT id, person_id, date_calculated, assets, liabilities FROM balance_sheet",
        )
        .fetch_all(&self.accounting)
        .await
        .context("reading accounting.balance_sheet")?;
        Ok(ReadModel {
            persons: persons
                .into_iter()
                .map(|p| {
                    (
                        p.id,
                        PersonState::from_source(p.first_name, p.last_name, p.date_of_birth),
                    )
                })
                .collect(),
            sheets: sheets.into_iter().map(SheetRow::state).collect(),
        })
    }

    /// What planning's read model is.
    pub async fn actual(&self) -> Result<ReadModel> {
        let persons: Vec<PlanningPerson> =
            sqlx::query_as("SELECT id, first_name, last_name, date_of_birth FROM person")
                .fetch_all(&self.planning)
                .await
                .context("reading planning.person")?;
        let sheets: Vec<SheetRow> = sqlx::query_as(
            "SELECT id, person_id, date_calculated, assets, liabilities FROM balance_sheet",
        )
        .fetch_all(&self.planning)
        .await
        .context("reading planning.balance_sheet")?;
        Ok(ReadModel {
            persons: persons
                .into_iter()
                .map(|p| {
                    (
                        p.id,
                        PersonState {
                            first_name: p.first_name,
                            last_name: p.last_name,
                            date_of_birth: p.date_of_birth,
                        },
                    )
                })
                .collect(),
            sheets: sheets.into_iter().map(SheetRow::state).collect(),
        })
    }
}

/// Rows one side has and the other lacks, or holds differently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDifferences {
    /// In the sources, not in planning.
    pub missing: Vec<Uuid>,
    /// In planning, not in the sources.
    pub extra: Vec<Uuid>,
    /// In both, with different fields: (id, expected, actual).
    pub differing: Vec<(Uuid, String, String)>,
}

impl TableDifferences {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.differing.is_empty()
    }

    fn between<T: PartialEq + fmt::Debug>(
        expected: &BTreeMap<Uuid, T>,
        actual: &BTreeMap<Uuid, T>,
    ) -> Self {
        let mut differences = Self::default();
        for (id, want) in expected {
            match actual.get(id) {
                None => differences.missing.push(*id),
                Some(have) if have != want => {
                    differences
                        .differing
                        .push((*id, format!("{want:?}"), format!("{have:?}")))
                }
                Some(_) => {}
            }
        }
        differences.extra = actual
            .keys()
            .filter(|id| !expected.contains_key(id))
            .copied()
            .collect();
        differences
    }
}

/// The outcome of one comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub persons: TableDifferences,
    pub sheets: TableDifferences,
    pub persons_compared: usize,
    pub sheets_compared: usize,
}

impl Report {
    pub fn agrees(&self) -> bool {
        self.persons.is_empty() && self.sheets.is_empty()
    }

    pub fn compare(expected: &ReadModel, actual: &ReadModel) -> Self {
        Self {
            persons: TableDifferences::between(&expected.persons, &actual.persons),
            sheets: TableDifferences::between(&expected.sheets, &actual.sheets),
            persons_compared: expected.persons.len(),
            sheets_compared: expected.sheets.len(),
        }
    }

    /// The differences not already in `baseline` (drift that existed before, e.g. events a
    /// foreign producer wrote straight onto a topic, which no source database holds).
    pub fn excluding(&self, baseline: &Report) -> Report {
        let table = |now: &TableDifferences, before: &TableDifferences| TableDifferences {
            missing: now
                .missing
                .iter()
                .filter(|id| !before.missing.contains(id))
                .copied()
                .collect(),
            extra: now
                .extra
                .iter()
                .filter(|id| !before.extra.contains(id))
                .copied()
                .collect(),
            differing: now
                .differing
                .iter()
                .filter(|d| !before.differing.iter().any(|b| b.0 == d.0))
                .cloned()
                .collect(),
        };
        Report {
            persons: table(&self.persons, &baseline.persons),
            sheets: table(&self.sheets, &baseline.sheets),
            ..self.clone()
        }
    }

    /// One line of counts, for progress output.
    pub fn summary(&self) -> String {
        let counts = |d: &TableDifferences| {
            format!(
                "{} missing, {} extra, {} differing",
                d.missing.len(),
                d.extra.len(),
                d.differing.len()
            )
        };
        format!(
            "persons ({} in the source): {}; balance sheets ({} in the source): {}",
            self.persons_compared,
            counts(&self.persons),
            self.sheets_compared,
            counts(&self.sheets)
        )
    }

    /// Counts and the first `show` rows of each kind of difference.
    pub fn render(&self, show: usize) -> String {
        let mut out = String::new();
        for (name, table) in [("person", &self.persons), ("balance_sheet", &self.sheets)] {
            for (kind, ids) in [
                ("missing in planning", &table.missing),
                ("extra in planning", &table.extra),
            ] {
                if !ids.is_empty() {
                    out.push_str(&format!("{name}: {} {kind}\n", ids.len()));
                    for id in ids.iter().take(show) {
                        out.push_str(&format!("  {id}\n"));
                    }
                }
            }
            if !table.differing.is_empty() {
                out.push_str(&format!("{name}: {} differing\n", table.differing.len()));
                for (id, expected, actual) in table.differing.iter().take(show) {
                    out.push_str(&format!(
                        "  {id}\n    source:   {expected}\n    planning: {actual}\n"
                    ));
                }
            }
        }
        out.push_str(&format!(
            "reconcile: {} — {}\n",
            if self.agrees() { "clean" } else { "DRIFT" },
            self.summary()
        ));
        out
    }
}

/// Compares the sources with planning, again every 2 s for up to `settle` while they differ.
pub async fn reconcile(endpoints: &Endpoints, settle: Duration) -> Result<Report> {
    let databases = Databases::connect(endpoints).await?;
    reconcile_with(&databases, settle, &Report::default()).await
}

/// [`reconcile`] on open connections, ignoring the differences already in `baseline`.
pub async fn reconcile_with(
    databases: &Databases,
    settle: Duration,
    baseline: &Report,
) -> Result<Report> {
    let started = Instant::now();
    loop {
        // Planning is read after the sources: an event can only make planning newer.
        let expected = databases.expected().await?;
        let actual = databases.actual().await?;
        let report = Report::compare(&expected, &actual).excluding(baseline);
        if report.agrees() || started.elapsed() >= settle {
            return Ok(report);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(last: &str) -> PersonState {
        PersonState {
            first_name: "Bart".into(),
            last_name: last.into(),
            date_of_birth: None,
        }
    }

    #[test]
    fn missing_extra_and_differing_rows_are_told_apart() {
        let (a, b, c, d) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        let expected = ReadModel {
            persons: BTreeMap::from([(a, person("x")), (b, person("y")), (c, person("z"))]),
            sheets: BTreeMap::new(),
        };
        let actual = ReadModel {
            persons: BTreeMap::from([(a, person("x")), (c, person("changed")), (d, person("w"))]),
            sheets: BTreeMap::new(),
        };
        let report = Report::compare(&expected, &actual);
        assert_eq!(report.persons.missing, vec![b]);
        assert_eq!(report.persons.extra, vec![d]);
        assert_eq!(report.persons.differing.len(), 1);
        assert_eq!(report.persons.differing[0].0, c);
        assert!(!report.agrees());
        assert!(Report::compare(&expected, &expected).agrees());
        assert!(report.excluding(&report).agrees());
        let baseline = Report {
            persons: TableDifferences {
                extra: vec![d],
                ..Default::default()
            },
            ..Default::default()
        };
        let new = report.excluding(&baseline);
        assert!(new.persons.extra.is_empty());
        assert_eq!(
            (new.persons.missing.len(), new.persons.differing.len()),
            (1, 1)
        );
    }

    #[test]
    fn source_values_map_as_the_events_carry_them() {
        let midnight = DateTime::parse_from_rfc3339("1980-02-23T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let state = PersonState::from_source("B".into(), "S".into(), Some(midnight));
        assert_eq!(state.date_of_birth, NaiveDate::from_ymd_opt(1980, 2, 23));
        let unknown = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(
            PersonState::from_source("B".into(), "S".into(), Some(unknown)).date_of_birth,
            None
        );
        assert_eq!(
            PersonState::from_source("B".into(), "S".into(), None).date_of_birth,
            None
        );
        let micros = DateTime::parse_from_rfc3339("2026-01-01T10:00:00.123456Z")
            .expect("valid")
            .with_timezone(&Utc);
        let sheet = SheetState::from_source(Uuid::nil(), micros, 1, 2);
        assert_eq!(sheet.date_calculated_ms % 1000, 123);
    }

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://planning:secret@127.0.0.1:5432/planning"),
            "postgres://planning:***@127.0.0.1:5432/planning"
        );
    }
}
