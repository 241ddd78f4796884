//! `ops reconcile`: do planning's read model and the sources of truth agree?
//!
//! Both sides are whole values of the generated event types, built by the services' own
//! mappings: the sources' current state as the events they publish
//! (`person_service::source`, `accounting_service::source`), taken through the Avro schema as
//! a consumer reads it ([`as_carried`]: a `timestamptz` becomes the event's milliseconds) and
//! then through what planning keeps of an event (`planning_service::read_model::keep_*`);
//! planning's side is its tables read back as events (`planning_service::read_model`). A field
//! added to a schema and to those mappings is compared with nothing to add here. The exit
//! code is 0 only when they agree.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use contract_runtime::event::CanonicalEvent;
use contracts::events;
use planning_service::read_model;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
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

/// The read model's content, expected or actual, as events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadModel {
    pub persons: BTreeMap<Uuid, events::Person>,
    pub sheets: BTreeMap<Uuid, events::BalanceSheet>,
}

/// `event` as a consumer decodes it: through its Avro schema and back (a `timestamp-millis`
/// field loses what is finer than a millisecond, as on the topic).
pub fn as_carried<T: CanonicalEvent>(event: &T) -> Result<T> {
    let schema = T::schema();
    let value = apache_avro::to_value(event)
        .and_then(|value| value.resolve(schema))
        .with_context(|| format!("`{}` does not fit its schema", T::EVENT_TYPE))?;
    let datum = apache_avro::writer::datum::GenericDatumWriter::builder(schema)
        .build()
        .and_then(|writer| writer.write_value_to_vec(value))
        .with_context(|| format!("cannot encode `{}`", T::EVENT_TYPE))?;
    let decoded = apache_avro::reader::datum::GenericDatumReader::builder(schema)
        .build()
        .and_then(|reader| reader.read_value(&mut datum.as_slice()))
        .with_context(|| format!("cannot decode `{}`", T::EVENT_TYPE))?;
    apache_avro::from_value::<T>(&decoded)
        .with_context(|| format!("`{}` does not map back to its type", T::EVENT_TYPE))
}

/// What planning must hold for the sources' events, by id.
pub fn expected_of<T: CanonicalEvent>(
    events: Vec<T>,
    id: impl Fn(&T) -> Uuid,
    keep: impl Fn(&T) -> T,
) -> Result<BTreeMap<Uuid, T>> {
    events
        .iter()
        .map(|event| Ok((id(event), keep(&as_carried(event)?))))
        .collect()
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
        let persons = person_service::source::current(&self.person)
            .await
            .context("reading person.person")?;
        let sheets = accounting_service::source::current(&self.accounting)
            .await
            .context("reading accounting.balance_sheet")?;
        Ok(ReadModel {
            persons: expected_of(persons, |p| p.id, read_model::keep_person)?,
            sheets: expected_of(sheets, |s| s.id, read_model::keep_balance_sheet)?,
        })
    }

    /// What planning's read model is.
    pub async fn actual(&self) -> Result<ReadModel> {
        Ok(ReadModel {
            persons: read_model::persons(&self.planning)
                .await
                .context("reading planning.person")?,
            sheets: read_model::balance_sheets(&self.planning)
                .await
                .context("reading planning.balance_sheet")?,
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
    use chrono::{DateTime, NaiveDate, Utc};
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

    #[test]
    fn missing_extra_and_differing_rows_are_told_apart() {
        let (a, b, c, d) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        let expected = ReadModel {
            persons: BTreeMap::from([
                (a, person(a, "x")),
                (b, person(b, "y")),
                (c, person(c, "z")),
            ]),
            sheets: BTreeMap::new(),
        };
        let actual = ReadModel {
            persons: BTreeMap::from([
                (a, person(a, "x")),
                (c, person(c, "changed")),
                (d, person(d, "w")),
            ]),
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
    fn every_field_of_the_event_is_compared() {
        let id = Uuid::new_v4();
        let born = NaiveDate::from_ymd_opt(1980, 2, 23).expect("valid date");
        let base = events::BalanceSheet {
            id,
            person_id: Uuid::new_v4(),
            date_calculated: Utc::now(),
            assets: 10,
            liabilities: 5,
        };
        let changes: [fn(&mut events::BalanceSheet); 4] = [
            |s| s.person_id = Uuid::nil(),
            |s| s.date_calculated += chrono::Duration::seconds(1),
            |s| s.assets += 1,
            |s| s.liabilities += 1,
        ];
        for change in changes {
            let mut changed = base.clone();
            change(&mut changed);
            let expected = ReadModel {
                sheets: BTreeMap::from([(id, base.clone())]),
                ..Default::default()
            };
            let actual = ReadModel {
                sheets: BTreeMap::from([(id, changed)]),
                ..Default::default()
            };
            assert_eq!(
                Report::compare(&expected, &actual).sheets.differing.len(),
                1
            );
        }
        let mut dated = person(id, "x");
        dated.date_of_birth = born;
        let expected = ReadModel {
            persons: BTreeMap::from([(id, person(id, "x"))]),
            ..Default::default()
        };
        let actual = ReadModel {
            persons: BTreeMap::from([(id, dated)]),
            ..Default::default()
        };
        assert!(!Report::compare(&expected, &actual).agrees());
    }

    #[test]
    fn source_values_are_compared_as_the_events_carry_them() {
        let micros = DateTime::parse_from_rfc3339("2026-01-01T10:00:00.123456Z")
            .expect("valid")
            .with_timezone(&Utc);
        let sheet = events::BalanceSheet {
            id: Uuid::new_v4(),
            person_id: Uuid::new_v4(),
            date_calculated: micros,
            assets: i64::MAX,
            liabilities: 2,
        };
        let carried = as_carried(&sheet).expect("fits its schema");
        assert_eq!(
            carried.date_calculated.timestamp_micros() % 1_000_000,
            123_000
        );
        assert_eq!(carried.assets, i64::MAX);
        let expected = expected_of(
            vec![sheet.clone()],
            |s| s.id,
            read_model::keep_balance_sheet,
        )
        .expect("maps");
        assert_eq!(expected.get(&sheet.id), Some(&carried));
        let person = person(Uuid::new_v4(), "Simpson");
        assert_eq!(as_carried(&person).expect("fits"), person);
    }

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://planning:secret@127.0.0.1:5432/planning"),
            "postgres://planning:***@127.0.0.1:5432/planning"
        );
    }
}
