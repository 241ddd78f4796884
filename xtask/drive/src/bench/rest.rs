//! REST write latency and throughput: `POST /api/persons/` and `POST /api/balance-sheets/`
//! at each concurrency of the plan.
//!
//! Requests go through the generated typed clients over one pooled reqwest client. Their
//! overhead (serialising the input, parsing the 201 body) is a few microseconds against
//! responses of a millisecond or more, so the hot loop uses them rather than raw reqwest.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{TimeZone, Utc};
use contracts::{accounting_api, person_api};
use uuid::Uuid;

use super::Bench;
use super::e2e;
use super::load;
use super::report::{Percentiles, RestRow};

/// The open loop runs at this fraction of the measured capacity: close enough to see
/// queueing, far enough that the queue is stable.
const LOAD_FACTOR: f64 = 0.8;

pub async fn run(bench: &mut Bench) -> Result<Vec<RestRow>> {
    ensure_owners(bench).await?;
    let mut rows = Vec::new();
    for endpoint in [Endpoint::Persons, Endpoint::BalanceSheets] {
        for &concurrency in &bench.plan.rest_concurrency.clone() {
            let make = request_maker(bench, endpoint);
            let capacity =
                load::closed_loop_capacity(concurrency, bench.plan.rest_probe, make.clone()).await;
            let offered = (capacity.throughput * LOAD_FACTOR).max(1.0);
            let run = load::open_loop(
                offered,
                bench.plan.rest_measure,
                concurrency,
                Duration::from_secs(30),
                make,
            )
            .await;
            let latencies: Vec<f64> = run
                .successes()
                .map(|s| s.latency.as_secs_f64() * 1000.0)
                .collect();
            let latency = Percentiles::of(&latencies);
            println!(
                "bench: {} c={concurrency:<3} capacity {:>6.0} req/s; open loop {:>6.0} req/s offered, {:>6.0} achieved, p50 {:.1} ms p99 {:.1} ms, {} errors{}",
                endpoint.path(),
                capacity.throughput,
                offered,
                run.achieved_rate(),
                latency.as_ref().map_or(f64::NAN, |p| p.p50_ms),
                latency.as_ref().map_or(f64::NAN, |p| p.p99_ms),
                run.errors() + capacity.failed as usize,
                run.first_error()
                    .map_or(String::new(), |e| format!(" (first: {e})")),
            );
            let ids = capacity.returned.into_iter().chain(
                run.successes()
                    .filter_map(|s| s.outcome.as_ref().ok().copied()),
            );
            let (persons, sheets): (Vec<Uuid>, Vec<Uuid>) = match endpoint {
                Endpoint::Persons => (ids.collect(), Vec::new()),
                Endpoint::BalanceSheets => (Vec::new(), ids.collect()),
            };
            // What this row wrote flows on to planning; let it drain before the next row, so
            // the next one does not compete with this one's relay and consumers for the CPU.
            e2e::wait_visible(bench, &persons, &sheets).await?;
            rows.push(RestRow {
                endpoint: format!("POST {}", endpoint.path()),
                concurrency,
                capacity_rps: capacity.throughput,
                offered_rps: offered,
                achieved_rps: run.achieved_rate(),
                latency,
                errors: run.errors() + capacity.failed as usize,
            });
        }
    }
    Ok(rows)
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Persons,
    BalanceSheets,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Self::Persons => "/api/persons/",
            Self::BalanceSheets => "/api/balance-sheets/",
        }
    }
}

/// Persons to hang the benchmark's balance sheets on.
pub async fn ensure_owners(bench: &mut Bench) -> Result<()> {
    if bench.owners.is_empty() {
        for index in 0..16 {
            bench.owners.push(
                create_person(&bench.persons, index)
                    .await
                    .map_err(anyhow::Error::msg)?,
            );
        }
    }
    Ok(())
}

/// A cloneable `index → request` function for the load generator, returning the created id.
fn request_maker(
    bench: &Bench,
    endpoint: Endpoint,
) -> impl Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = Result<Uuid, String>> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let persons = bench.persons.clone();
    let accounting = bench.accounting.clone();
    let owners = Arc::new(bench.owners.clone());
    move |index| {
        let (persons, accounting, owners) = (persons.clone(), accounting.clone(), owners.clone());
        Box::pin(async move {
            match endpoint {
                Endpoint::Persons => create_person(&persons, index).await,
                Endpoint::BalanceSheets => {
                    let owner = owners[index as usize % owners.len().max(1)];
                    create_sheet(&accounting, owner, index).await
                }
            }
        })
    }
}

pub async fn create_person(persons: &person_api::Client, index: u64) -> Result<Uuid, String> {
    let input = person_api::PersonInput {
        first_name: "Bench".into(),
        last_name: format!("Load {index}"),
        date_of_birth: Utc.with_ymd_and_hms(1980, 2, 23, 0, 0, 0).single(),
    };
    match persons.create_person(&input).await {
        Ok(person_api::CreatePersonResponse::Created(person)) => Ok(person.id),
        Err(error) => Err(error.to_string()),
    }
}

pub async fn create_sheet(
    accounting: &accounting_api::Client,
    person_id: Uuid,
    index: u64,
) -> Result<Uuid, String> {
    let input = accounting_api::BalanceSheetInput {
        person_id,
        date_calculated: None,
        assets: 3_340_000 + index as i64,
        liabilities: 537_300,
    };
    match accounting.create_balance_sheet(&input).await {
        Ok(accounting_api::CreateBalanceSheetResponse::Created(sheet)) => Ok(sheet.id),
        Err(error) => Err(error.to_string()),
    }
}
