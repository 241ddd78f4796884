//! `cargo xtask chaos`: prove robust eventual consistency by killing real processes.
//!
//! Planning and accounting run split into a web process and a consumer process, so their
//! consumers can be killed while their REST APIs keep taking load. Then, one phase per fault:
//!
//! 1. a third of the phase's writes (persons and balance sheets created, updated, deleted
//!    through the REST APIs, at a fixed rate);
//! 2. the fault: `kill -9` of the component (or poison produced onto the public topics),
//!    held for `--hold` seconds while writes continue, then the component is restarted and
//!    the system checked whole (stack healthy, connectors running, consumer groups joined);
//! 3. the rest of the writes; writes whose outcome is unknown are decided from the source
//!    databases;
//! 4. wait until planning's read model matches every entity of the phase — state and the
//!    count of applied events — and measure how long that took after recovery;
//! 5. the dead-letter topics must hold exactly this phase's poison (none in other phases);
//! 6. reconcile the whole read model with the sources.
//!
//! The report (terminal, `chaos/results/<mode>.{md,json}`) gives per fault the events sent,
//! lost, duplicated and dead-lettered, and the times. Any loss, duplicate, stray dead letter
//! or drift makes the command fail.

mod faults;
mod load;
mod poison;
mod report;
mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use tokio::sync::watch;

use crate::reconcile::{self, Databases};
use crate::services::{self, Role, Service};
use crate::stack::{self, StackConfig, StackInfo};
pub use faults::Fault;
use load::LoadGenerator;
use report::{ChaosReport, FaultReport};

/// The topics whose dead-letter topics are watched: every subscription's.
fn watched_topics() -> Vec<&'static str> {
    contracts::topology::SYSTEM
        .subscriptions
        .iter()
        .map(|subscription| subscription.topic)
        .collect()
}

#[derive(Args)]
pub struct ChaosArgs {
    /// CI mode: 440 writes at 15/s, every fault once, freezes of 15 s, about five minutes in all.
    #[arg(long)]
    short: bool,
    /// Writes in total, split evenly across the faults (default 4400; 440 with --short). A
    /// phase stops writing during its fault once the component is back, so fewer may go out.
    #[arg(long)]
    events: Option<u64>,
    /// Writes per second (default 20; 15 with --short).
    #[arg(long)]
    rate: Option<f64>,
    /// Seed of the load's random choices and of the poison (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Seconds each fault is held before the component is restarted (default 10; 5 with
    /// --short). Above the consumers' 10 s session timeout, groups lose their members.
    #[arg(long)]
    hold: Option<u64>,
    /// Seconds a freeze lasts between SIGSTOP and SIGCONT (default 30; 15 with --short, still
    /// above the consumers' 10 s session timeout, to keep CI's run short).
    #[arg(long)]
    freeze: Option<u64>,
    /// Only these faults, comma-separated (default: all, in the documented order).
    #[arg(long, value_enum, value_delimiter = ',')]
    faults: Vec<Fault>,
    /// How long planning may take to converge after a fault's recovery.
    #[arg(long, default_value_t = 180)]
    converge_timeout: u64,
}

struct Run {
    config: StackConfig,
    info: StackInfo,
    rate: f64,
    hold: Duration,
    freeze: Duration,
    converge_timeout: Duration,
    tag: String,
}

pub fn run(args: ChaosArgs) -> Result<()> {
    let started = Instant::now();
    let config = StackConfig::from_env(&crate::project_root())?;
    let mode = if args.short { "short" } else { "long" };
    let events = args.events.unwrap_or(if args.short { 440 } else { 4400 });
    let rate = args.rate.unwrap_or(if args.short { 15.0 } else { 20.0 });
    let hold = args.hold.unwrap_or(if args.short { 5 } else { 10 });
    let freeze = args.freeze.unwrap_or(if args.short { 15 } else { 30 });
    let seed = args.seed.unwrap_or_else(|| {
        u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or_default()
    });
    let faults = if args.faults.is_empty() {
        Fault::ALL.to_vec()
    } else {
        args.faults.clone()
    };
    let mut report = ChaosReport {
        mode: mode.to_string(),
        seed,
        events_requested: events,
        rate_per_second: rate,
        down_seconds: hold as f64,
        freeze_seconds: freeze as f64,
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ..Default::default()
    };
    println!(
        "chaos: {mode} run, seed {seed}, {events} writes at {rate}/s over {} fault(s)",
        faults.len()
    );

    let mut injected = Vec::new();
    match prepare(&config) {
        Err(error) => report.errors.push(format!("setup: {error:#}")),
        Ok(()) => {
            let run = Run {
                info: stack::info(&config),
                config: config.clone(),
                rate,
                hold: Duration::from_secs(hold),
                freeze: Duration::from_secs(freeze),
                converge_timeout: Duration::from_secs(args.converge_timeout),
                tag: format!("chaos{:06x}", seed & 0xff_ffff),
            };
            let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
            let per_fault = events / faults.len() as u64;
            let result = runtime.block_on(async {
                let databases = Databases::connect(&crate::endpoints(&run.info)).await?;
                // Drift that exists before the run (say, events a foreign producer wrote
                // straight onto a topic) is reported, not blamed on the faults.
                let baseline = reconcile::reconcile_with(
                    &databases,
                    Duration::from_secs(10),
                    &reconcile::Report::default(),
                )
                .await?;
                if !baseline.agrees() {
                    let note = format!(
                        "drift before the run, excluded from each phase's reconcile: {}",
                        baseline.summary()
                    );
                    println!("chaos: {note}");
                    report.preexisting.push(note);
                }
                let mut generator =
                    LoadGenerator::new(seed, crate::demo::USERNAME, crate::demo::PASSWORD)?;
                for (index, fault) in faults.iter().enumerate() {
                    let outcome = run_phase(
                        &run,
                        &databases,
                        &baseline,
                        &mut generator,
                        (*fault, index, per_fault),
                        &mut injected,
                    )
                    .await;
                    let fault_report = outcome.unwrap_or_else(|error| {
                        println!("chaos: {} failed: {error:#}", fault.name());
                        FaultReport {
                            fault: fault.name().to_string(),
                            description: fault.description().to_string(),
                            notes: vec![format!("the phase failed: {error:#}")],
                            ..Default::default()
                        }
                    });
                    println!(
                        "chaos: {} {}",
                        fault_report.fault,
                        if fault_report.passed() {
                            "passed"
                        } else {
                            "FAILED"
                        }
                    );
                    report.faults.push(fault_report);
                }
                anyhow::Ok(())
            });
            if let Err(error) = result {
                report.errors.push(format!("{error:#}"));
            }
            if !injected.is_empty()
                && let Err(error) = runtime.block_on(poison::tombstone(&run.info, &injected))
            {
                report
                    .errors
                    .push(format!("tombstoning the poison: {error:#}"));
            }
        }
    }
    if let Err(error) = restore(&config) {
        report
            .errors
            .push(format!("restoring the services: {error:#}"));
    }
    report.duration_seconds = started.elapsed().as_secs_f64();

    let markdown = report.markdown();
    println!("\n{markdown}");
    let written = write_report(&report, &markdown)?;
    println!("chaos: report written to {}", written.display());
    if !report.passed() {
        bail!("chaos: robustness violated (see the report)");
    }
    Ok(())
}

/// Stack up with connectors; planning and accounting split into web and consumer processes.
fn prepare(config: &StackConfig) -> Result<()> {
    stack::up(config)?;
    stack::apply_connectors(config)?;
    services::build()?;
    let info = stack::info(config);
    services::start(config, &info, Service::Person)?;
    services::wait_healthy(config, Service::Person, Duration::from_secs(90))?;
    for service in [Service::Planning, Service::Accounting] {
        services::stop(config, service)?;
        services::start_role(config, &info, service, Role::Web)?;
        services::start_role(config, &info, service, Role::Consumer)?;
        wait_answers(service, Duration::from_secs(60))?;
    }
    faults::ensure_whole(config, &info, Duration::from_secs(120))
}

/// Waits until the service's HTTP port answers `/health/` at all (a web-only process reports
/// its dependencies, not its consumers).
fn wait_answers(service: Service, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let url = format!("{}/health/", crate::base_url(service));
    while stack::http::get(&url, Duration::from_secs(2)).is_err() {
        if Instant::now() > deadline {
            bail!("{} does not answer on {url}", service.name());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// Back to the default: the stack whole, each service one healthy process.
fn restore(config: &StackConfig) -> Result<()> {
    stack::up(config)?;
    stack::apply_connectors(config)?;
    for service in [Service::Planning, Service::Accounting] {
        services::stop(config, service)?;
    }
    services::start_all(config)
}

fn dead_letter_ends(info: &StackInfo) -> Result<BTreeMap<String, BTreeMap<i32, i64>>> {
    watched_topics()
        .into_iter()
        .map(|topic| {
            let dlq = crate::dlq::dlq_topic_of(topic);
            Ok((
                topic.to_string(),
                crate::kafka_groups::end_offsets(&info.kafka_bootstrap_servers, &dlq)?,
            ))
        })
        .collect()
}

fn dead_letters_since(
    info: &StackInfo,
    since: &BTreeMap<String, BTreeMap<i32, i64>>,
) -> Result<Vec<crate::dlq::DeadLetter>> {
    let mut letters = Vec::new();
    for (topic, from) in since {
        letters.extend(crate::dlq::read_letters(
            &crate::endpoints(info),
            topic,
            from,
        )?);
    }
    Ok(letters)
}

/// Runs blocking harness code (process control, Kafka admin calls) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("a harness task panicked")?
}

async fn run_phase(
    run: &Run,
    databases: &Databases,
    baseline: &reconcile::Report,
    generator: &mut LoadGenerator,
    (fault, index, writes): (Fault, usize, u64),
    injected: &mut Vec<poison::Poison>,
) -> Result<FaultReport> {
    println!("\nchaos: ── {} ({})", fault.name(), fault.description());
    let info = run.info.clone();
    let dlq_start = blocking(move || dead_letter_ends(&info)).await?;
    generator.begin_phase(format!("{}-{index}", run.tag));

    // A quarter before the fault, half while it lasts (spread over the hold, so writes keep
    // arriving while the component is dead), the rest once planning caught up.
    let before = writes / 4;
    let during = writes / 2;
    let after = writes - before - during;
    let hold = if fault.is_freeze() {
        run.freeze
    } else {
        run.hold
    };
    let during_rate = run.rate.min(during as f64 / hold.as_secs_f64().max(1.0));
    generator.run(before, run.rate, None).await;

    let killed_at = Instant::now();
    let mut phase_poison = Vec::new();
    if fault == Fault::Poison {
        phase_poison = poison::inject(&run.info, generator.rng()).await?;
        println!("chaos: {} poison messages produced", phase_poison.len());
        injected.extend(phase_poison.iter().cloned());
        generator.run(during, run.rate, None).await;
    } else {
        let (config, info) = (run.config.clone(), run.info.clone());
        blocking(move || fault.kill(&config, &info)).await?;
        println!(
            "chaos: {} injected; holding {hold:?} under load",
            fault.name()
        );
        let (recovered_tx, mut recovered_rx) = watch::channel(false);
        let (config, info) = (run.config.clone(), run.info.clone());
        let recovery = tokio::task::spawn_blocking(move || {
            std::thread::sleep(hold);
            let result = fault.recover(&config, &info);
            let _ = recovered_tx.send(true);
            result
        });
        generator
            .run(during, during_rate, Some(&mut recovered_rx))
            .await;
        recovery.await.context("the recovery task panicked")??;
    }
    let recovered_at = Instant::now();
    // Poison kills nothing: nothing to recover, and the catch-up counts from the end of the
    // writes that followed it.
    let recovery_seconds = if fault == Fault::Poison {
        0.0
    } else {
        (recovered_at - killed_at).as_secs_f64()
    };
    println!(
        "chaos: {} recovered after {recovery_seconds:.1} s",
        fault.name()
    );

    // Catching up with what accumulated during the fault, without new load.
    settle_doubts(&mut generator.ledger, databases).await?;
    let republications = fault.republications();
    let (_, converged_at) = wait_converged(
        &generator.ledger,
        databases,
        republications,
        recovered_at + run.converge_timeout,
    )
    .await;
    let converge_seconds = converged_at.map(|at| (at - recovered_at).as_secs_f64());
    let restarted_at = if fault == Fault::Poison {
        recovered_at
    } else {
        killed_at + hold
    };
    let restart_to_converged = converged_at.map(|at| (at - restarted_at).as_secs_f64());

    // Then more load on the recovered system, and everything checked once more.
    generator.run(after, run.rate, None).await;
    settle_doubts(&mut generator.ledger, databases).await?;
    let (comparison, settled_at) = wait_converged(
        &generator.ledger,
        databases,
        republications,
        Instant::now() + run.converge_timeout,
    )
    .await;
    let converge_seconds = converge_seconds.filter(|_| settled_at.is_some());
    let restart_to_converged = restart_to_converged.filter(|_| settled_at.is_some());
    let ledger = generator.begin_phase(String::new());
    println!(
        "chaos: {} writes, {} acknowledged, {} unknown ({} happened), {} entities",
        ledger.attempted,
        ledger.acknowledged,
        ledger.unknown,
        ledger.unknown_happened,
        ledger.entities()
    );

    match converge_seconds {
        Some(s) => println!(
            "chaos: planning caught up {:.1} s after the restart, {s:.1} s after the system was ready",
            restart_to_converged.unwrap_or_default()
        ),
        None => println!(
            "chaos: planning did NOT converge: {} lost, {} duplicated",
            comparison.lost.len(),
            comparison.duplicated.len()
        ),
    }

    // Poison takes a few attempts with backoff before it is dead-lettered.
    let letters_deadline = Instant::now() + Duration::from_secs(60);
    let verdict = loop {
        let info = run.info.clone();
        let since = dlq_start.clone();
        let letters = blocking(move || dead_letters_since(&info, &since)).await?;
        let verdict = poison::verify(&phase_poison, &letters);
        if verdict.missing.is_empty() || Instant::now() > letters_deadline {
            break verdict;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };

    let reconciled =
        reconcile::reconcile_with(databases, Duration::from_secs(60), baseline).await?;
    println!("{}", reconciled.render(5).trim_end());

    let mut notes: Vec<String> = Vec::new();
    if !phase_poison.is_empty() {
        let kinds: Vec<&str> = phase_poison.iter().map(|p| p.kind).collect();
        notes.push(format!(
            "poison injected ({}): {}",
            phase_poison.len(),
            kinds.join(", ")
        ));
    }
    notes.extend(comparison.lost.iter().take(5).map(|l| format!("lost: {l}")));
    notes.extend(
        comparison
            .duplicated
            .iter()
            .take(5)
            .map(|d| format!("duplicated: {d}")),
    );
    notes.extend(
        ledger
            .unexplained
            .iter()
            .take(5)
            .map(|u| format!("unexplained: {u}")),
    );
    notes.extend(
        verdict
            .unexpected
            .iter()
            .take(5)
            .map(|u| format!("dead letter: {u}")),
    );
    notes.extend(
        verdict
            .missing
            .iter()
            .map(|m| format!("poison not dead-lettered: {m}")),
    );
    Ok(FaultReport {
        fault: fault.name().to_string(),
        description: fault.description().to_string(),
        attempted: ledger.attempted,
        acknowledged: ledger.acknowledged,
        unknown: ledger.unknown,
        unknown_happened: ledger.unknown_happened,
        entities: ledger.entities(),
        lost: comparison.lost.len(),
        duplicated: comparison.duplicated.len(),
        unexplained: ledger.unexplained.len(),
        poison_injected: phase_poison.len(),
        poison_dead_lettered: verdict.dead_lettered,
        unexpected_dead_letters: verdict.unexpected.len(),
        recovery_seconds,
        converge_seconds,
        restart_to_converged_seconds: restart_to_converged,
        reconcile_clean: reconciled.agrees(),
        reconcile_summary: reconciled.summary(),
        notes,
    })
}

/// Decides the in-doubt writes from the sources (retrying while a database is coming back).
async fn settle_doubts(ledger: &mut load::Ledger, databases: &Databases) -> Result<()> {
    let mut attempts = 0;
    while let Err(error) = ledger.resolve_doubts(databases).await {
        attempts += 1;
        if attempts >= 10 {
            return Err(error.context("cannot decide the in-doubt writes"));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}

/// Polls planning until it matches every entity of `ledger` or `deadline` passes; returns
/// the last comparison and when it matched.
async fn wait_converged(
    ledger: &load::Ledger,
    databases: &Databases,
    republications: (u64, u64),
    deadline: Instant,
) -> (load::Comparison, Option<Instant>) {
    loop {
        match load::compare(ledger, &databases.planning, republications).await {
            Ok(comparison) if comparison.clean() => return (comparison, Some(Instant::now())),
            Ok(comparison) if Instant::now() > deadline => return (comparison, None),
            Ok(_) => {}
            Err(error) => println!("chaos: reading planning: {error:#}"),
        }
        if Instant::now() > deadline {
            return (load::Comparison::default(), None);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn write_report(report: &ChaosReport, markdown: &str) -> Result<PathBuf> {
    let dir = crate::project_root().join("chaos").join("results");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).context("serializing the report")?;
    let json_path = dir.join(format!("{}.json", report.mode));
    std::fs::write(&json_path, json + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md_path = dir.join(format!("{}.md", report.mode));
    std::fs::write(&md_path, markdown).with_context(|| format!("writing {}", md_path.display()))?;
    Ok(md_path)
}
