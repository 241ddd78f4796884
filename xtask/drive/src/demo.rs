//! The typed-client part of `cargo xtask demo` (which brings up the stack, the services and
//! the connectors first): through the generated clients, creates Bart Simpson, creates his
//! balance sheet, and polls planning until the ratio reflects both events, printing every
//! request and response and how long consistency took.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{TimeZone, Utc};
use clap::Args;
use contract_runtime::client::HttpClient;
use contracts::{accounting_api, person_api, planning_api};

use xtask::services::Service;

pub use xtask::services::{PASSWORD, USERNAME};

#[derive(Args)]
pub struct DemoArgs {
    /// How long to wait for planning to become consistent.
    #[arg(long, default_value = "60s", value_parser = humantime_secs)]
    timeout: Duration,
}

fn humantime_secs(text: &str) -> Result<Duration, String> {
    let digits = text.trim_end_matches('s');
    digits
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("`{text}` is not a number of seconds like `60s`"))
}

/// The seed's three steps against the running services.
pub fn run(args: DemoArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    runtime.block_on(seed_demo(args.timeout))
}

fn client(service: Service, print_exchanges: bool) -> HttpClient {
    let client = HttpClient::new(crate::base_url(service)).with_credentials(USERNAME, PASSWORD);
    if print_exchanges {
        client.with_observer(|exchange| println!("\n{exchange}"))
    } else {
        client
    }
}

async fn seed_demo(timeout: Duration) -> Result<()> {
    println!("\n=== 4/4 the seed's demo");
    let persons = person_api::Client::new(client(Service::Person, true));
    let accounting = accounting_api::Client::new(client(Service::Accounting, true));

    println!("\n# create a person:");
    let person_api::CreatePersonResponse::Created(bart) = persons
        .create_person(&person_api::PersonInput {
            first_name: "Bart".into(),
            last_name: "Simpson".into(),
            date_of_birth: Some(
                Utc.with_ymd_and_hms(1980, 2, 23, 0, 0, 0)
                    .single()
                    .context("date")?,
            ),
        })
        .await?;
    let written = Instant::now();

    println!("\n# create a balance sheet:");
    let accounting_api::CreateBalanceSheetResponse::Created(_) = accounting
        .create_balance_sheet(&accounting_api::BalanceSheetInput {
            person_id: bart.id,
            date_calculated: None,
            assets: 3_340_000,
            liabilities: 537_300,
        })
        .await?;

    println!("\n# wait for eventual consistency (polling planning, no fixed sleep)...");
    let quiet = planning_api::Client::new(client(Service::Planning, false));
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(planning_api::GetRatiosResponse::Ok(ratios)) = quiet.get_ratios(bart.id).await
            && ratios.iter().all(|r| r.result.ratio.is_some())
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("planning did not become consistent within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let consistency = written.elapsed();
    println!("consistent {consistency:.2?} after the person was created");

    println!("\n# get financial planning data");
    let planning = planning_api::Client::new(client(Service::Planning, true));
    let planning_api::GetRatiosResponse::Ok(ratios) = planning.get_ratios(bart.id).await?;
    for ratio in &ratios {
        println!(
            "\n{}: ratio {:?}, benchmark {:?}, status {}",
            ratio.name,
            ratio.result.ratio,
            ratio.result.benchmark,
            ratio.result.status.as_str()
        );
    }
    Ok(())
}
