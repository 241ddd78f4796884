//! `cargo xtask bench`: how fast the system is, against the running stack.
//!
//! Scenarios, in order (each bounded in time, each printing its progress):
//! 1. `rest`: `POST /api/persons/` and `POST /api/balance-sheets/` at 1, 16 and 64
//!    connections: closed-loop capacity, then open-loop latency at 80% of it ([`rest`]);
//! 2. `e2e`: open-loop writes at 100, 500 and 1000 writes/s followed into planning's read
//!    model: end-to-end consistency latency and its hops ([`e2e`]);
//! 3. `ladder`: the offered rate steps up until the pipeline no longer keeps up: the highest
//!    sustained end-to-end rate;
//! 4. `replay`: planning stopped, its read model emptied and its groups reset, restarted:
//!    consumer-only throughput.
//!
//! During each, the CPU seconds and peak RSS of every process ([`procs`]) and the consumer
//! groups' lag every 250 ms ([`lag`]). Results go to `bench/results/runs/<time>-<label>/`
//! (JSON, markdown, SVG plots); a full run also becomes `bench/results/latest.*`.
//!
//! By default the services are restarted from an optimized build for the run (what
//! `services up` starts is the debug build, which measures the compiler's debug code more
//! than ours) and restarted as they were afterwards. `--smoke` (CI) runs everything for a
//! few seconds at small rates on the services as they run and checks that the numbers are
//! sane, never how fast they are.

mod e2e;
mod lag;
mod load;
mod plot;
mod procs;
mod report;
mod rest;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use contract_runtime::client::HttpClient;
use contracts::{accounting_api, person_api};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::demo::{PASSWORD, USERNAME};
use crate::services::{self, Service};
use crate::stack::{self, StackConfig, StackInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Rest,
    E2e,
    Ladder,
    Replay,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::Rest,
        Scenario::E2e,
        Scenario::Ladder,
        Scenario::Replay,
    ];
}

#[derive(Args)]
pub struct BenchArgs {
    /// A few seconds per scenario at small rates, on the services as they run; checks that
    /// the harness works and the numbers are sane (CI). Results go to target/bench-smoke.
    #[arg(long)]
    smoke: bool,
    /// Which scenarios to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// The run's name in the results, e.g. `baseline` or `poll-10ms`.
    #[arg(long, default_value = "run")]
    label: String,
    /// Where results go.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measure the services as they run instead of restarting them from an optimized build.
    #[arg(long)]
    as_running: bool,
    /// Environment of the services for this run, e.g. `DATABASE_POOL_SIZE=20` (repeatable;
    /// restarts the services).
    #[arg(long = "service-env", value_parser = key_value)]
    service_env: Vec<(String, String)>,
    /// Export the services' traces for the run, over OTLP/HTTP to the stack's Jaeger (`cargo
    /// xtask stack up --observability`). Without it a run that restarts the services starts
    /// them with `OTEL_SDK_DISABLED=true`: no export, whether or not Jaeger runs.
    #[arg(long)]
    tracing: bool,
    /// Leave the services running from the bench's build and environment afterwards.
    #[arg(long)]
    keep_services: bool,
    /// Run even while `cargo xtask chaos` runs (the numbers would be meaningless).
    #[arg(long)]
    force: bool,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

/// How long and how hard each scenario runs.
pub struct Plan {
    pub rest_concurrency: Vec<usize>,
    pub rest_probe: Duration,
    pub rest_measure: Duration,
    pub e2e_rates: Vec<f64>,
    pub e2e_duration: Duration,
    pub ladder_rates: Vec<f64>,
    pub ladder_step: Duration,
    /// The longest wait for planning to catch up after a scenario.
    pub drain_timeout: Duration,
    pub replay_limit: Duration,
}

impl Plan {
    fn full() -> Self {
        Self {
            rest_concurrency: vec![1, 16, 64],
            // Short: every request becomes events that must drain before the next row.
            rest_probe: Duration::from_secs(2),
            rest_measure: Duration::from_secs(4),
            e2e_rates: vec![100.0, 500.0, 1000.0],
            e2e_duration: Duration::from_secs(10),
            ladder_rates: vec![250.0, 500.0, 750.0, 1000.0, 1400.0, 2000.0, 2800.0],
            ladder_step: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(90),
            replay_limit: Duration::from_secs(60),
        }
    }

    fn smoke() -> Self {
        Self {
            rest_concurrency: vec![1, 4],
            rest_probe: Duration::from_secs(1),
            rest_measure: Duration::from_secs(1),
            e2e_rates: vec![20.0],
            e2e_duration: Duration::from_secs(3),
            ladder_rates: vec![20.0, 40.0],
            ladder_step: Duration::from_secs(3),
            drain_timeout: Duration::from_secs(60),
            replay_limit: Duration::from_secs(30),
        }
    }
}

/// What every scenario needs: clients, databases, the stack's facts.
pub struct Bench {
    pub plan: Plan,
    pub config: StackConfig,
    pub info: StackInfo,
    pub persons: person_api::Client,
    pub accounting: accounting_api::Client,
    pub person_db: PgPool,
    pub accounting_db: PgPool,
    pub planning_db: PgPool,
    /// Persons that balance sheets of the REST scenario belong to.
    pub owners: Vec<uuid::Uuid>,
    /// How to start a service again (the replay restarts planning).
    pub launch: ServicesLaunch,
}

impl Bench {
    async fn connect(
        plan: Plan,
        config: StackConfig,
        info: StackInfo,
        launch: ServicesLaunch,
    ) -> Result<Self> {
        // One pooled HTTP client per service; up to 256 connections (the open loop's cap).
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        let client = |service: Service| {
            HttpClient::new(crate::base_url(service))
                .with_credentials(USERNAME, PASSWORD)
                .with_reqwest(http.clone())
        };
        let pool = |url: String| async move {
            PgPoolOptions::new()
                .max_connections(4)
                .connect(&url)
                .await
                .with_context(|| format!("cannot connect to {url}"))
        };
        Ok(Self {
            persons: person_api::Client::new(client(Service::Person)),
            accounting: accounting_api::Client::new(client(Service::Accounting)),
            person_db: pool(info.database_url_person.clone()).await?,
            accounting_db: pool(info.database_url_accounting.clone()).await?,
            planning_db: pool(info.database_url_planning.clone()).await?,
            owners: Vec::new(),
            launch,
            plan,
            config,
            info,
        })
    }

    /// Every process of the system, the load generator included.
    pub fn watched(&self) -> Vec<procs::Watched> {
        let mut watched: Vec<procs::Watched> = stack::status(&self.config)
            .into_iter()
            .filter_map(|status| {
                Some(procs::Watched {
                    name: match status.component {
                        stack::Component::Postgres => "postgres (all backends)".into(),
                        stack::Component::Jaeger => "jaeger (Go)".into(),
                        other => format!("{} (JVM)", other.name()),
                    },
                    pid: status.pid?,
                    tree: status.component == stack::Component::Postgres,
                    started_in_scenario: false,
                })
            })
            .collect();
        for service in Service::ALL {
            if let Some(pid) = services::running_pid(&self.config, service) {
                watched.push(procs::Watched {
                    name: service.binary(),
                    pid,
                    tree: false,
                    started_in_scenario: false,
                });
            }
        }
        watched.push(procs::Watched {
            name: "xtask bench (load generator)".into(),
            pid: std::process::id(),
            tree: false,
            started_in_scenario: false,
        });
        watched
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    if !args.force
        && let Some(chaos) = running_chaos()
    {
        bail!(
            "`xtask chaos` is running ({chaos}): it kills the components under test, so the \
             numbers would be meaningless; wait for it or pass --force"
        );
    }
    let config = StackConfig::from_env(&crate::project_root())?;
    let unhealthy: Vec<String> = stack::status(&config)
        .into_iter()
        .filter(|status| !status.healthy)
        .map(|status| status.component.name().to_string())
        .collect();
    if !unhealthy.is_empty() {
        bail!(
            "the stack is not healthy ({}): run `cargo xtask stack up` first",
            unhealthy.join(", ")
        );
    }
    let info = stack::info(&config);
    println!("bench: applying the connectors (their settings are part of what is measured)");
    stack::apply_connectors(&config)?;

    let smoke = args.smoke;
    let optimized = !args.as_running && !smoke;
    let services_before: Vec<Service> = Service::ALL
        .into_iter()
        .filter(|s| services::running_pid(&config, *s).is_some())
        .collect();
    let restart = optimized || !args.service_env.is_empty() || args.tracing;
    let export = trace_export(
        stack::tracing_endpoint(&config),
        args.tracing,
        restart,
        &args.service_env,
    )?;
    let launch = if restart {
        let mut service_env = args.service_env.clone();
        service_env.extend(export.env.iter().cloned());
        ServicesLaunch::new(optimized, &service_env)
    } else {
        ServicesLaunch::default()
    };
    if restart {
        // Build before stopping anything, so the services are down for a second, not for a
        // build (others working in this tree restart services they find stopped).
        launch.build()?;
        services::stop_all(&config)?;
        launch.up()?;
        launch.check_running(&config)?;
    } else if services_before.len() < Service::ALL.len() {
        bail!("the services are not all running: run `cargo xtask services up` first");
    }

    let scenarios = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    let plan = if smoke { Plan::smoke() } else { Plan::full() };
    let mut settings = vec![(
        "services".to_string(),
        if optimized {
            "optimized build (opt-level 3, no debug assertions), restarted for the run".to_string()
        } else {
            "as running (`cargo xtask services up`: the debug build)".to_string()
        },
    )];
    settings.push(("trace export".to_string(), export.description.clone()));
    for (key, value) in &args.service_env {
        settings.push((format!("service env {key}"), value.clone()));
    }
    settings.extend(connector_settings());

    let result = (|| -> Result<report::Results> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start tokio")?;
        runtime.block_on(async {
            let mut bench =
                Bench::connect(plan, config.clone(), info.clone(), launch.clone()).await?;
            let started_at = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
            let mut results = report::Results {
                label: args.label.clone(),
                smoke,
                started_at,
                machine: procs::machine_description(),
                load_average_at_start: procs::load_average(),
                git_commit: git_commit(),
                settings,
                rest: Vec::new(),
                consistency: Vec::new(),
                ladder: Vec::new(),
                max_sustained_rps: None,
                replay: None,
                resources: Vec::new(),
            };
            println!(
                "bench: {} (load average {:.2})",
                results.machine, results.load_average_at_start
            );
            for scenario in &scenarios {
                let name = format!("{scenario:?}").to_lowercase();
                println!("\n=== bench: {name}");
                let started = Instant::now();
                let sampler = procs::Sampler::start(bench.watched());
                let usage = match scenario {
                    Scenario::Rest => {
                        results.rest = rest::run(&mut bench).await?;
                        sampler.finish()
                    }
                    Scenario::E2e => {
                        results.consistency = e2e::consistency(&mut bench).await?;
                        sampler.finish()
                    }
                    Scenario::Ladder => {
                        let (steps, max) = e2e::ladder(&mut bench).await?;
                        results.ladder = steps;
                        results.max_sustained_rps = max;
                        sampler.finish()
                    }
                    Scenario::Replay => {
                        // Planning restarts with a new pid: the replay samples from then on.
                        drop(sampler.finish());
                        let (replay, usage) = e2e::replay(&bench).await?;
                        results.replay = Some(replay);
                        usage
                    }
                };
                results.resources.push(report::ScenarioUsage {
                    scenario: name.clone(),
                    wall_s: started.elapsed().as_secs_f64(),
                    usage,
                });
                println!("=== bench: {name} done in {:.0?}", started.elapsed());
            }
            Ok(results)
        })
    })();

    // A scenario that failed half way may have left a service stopped (the replay stops
    // planning): start it again, whatever else happened.
    if Service::ALL
        .iter()
        .any(|s| services::running_pid(&config, *s).is_none())
        && let Err(error) = launch.up()
    {
        eprintln!("bench: cannot start the services again: {error:#}");
    }
    if restart && !args.keep_services {
        println!("\nbench: restarting the services as they were");
        restore_services(&config, &services_before)?;
    }
    let results = result?;
    let out = args.out.clone().unwrap_or_else(|| {
        crate::project_root().join(if smoke {
            "target/bench-smoke"
        } else {
            "bench/results"
        })
    });
    let complete = scenarios.len() == Scenario::ALL.len() && !smoke;
    let directory = write_results(&results, &out, complete)?;
    println!("\n{}", results.markdown());
    println!("bench: results in {}", directory.display());
    if smoke {
        results
            .check_sane()
            .context("the smoke run's numbers are not sane")?;
        println!(
            "bench: smoke checks passed (samples present, percentiles ordered, latencies positive)"
        );
    }
    Ok(())
}

/// Whether the services export traces during a run, and the environment that says so.
struct TraceExport {
    env: Vec<(String, String)>,
    description: String,
}

const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";

/// `--tracing` exports to the stack's Jaeger (`backend`, which must run); a restart without it disables
/// the SDK explicitly, so a Jaeger left running does not turn export on behind the run's back
/// (`services up` would point the services at it). `--service-env` OTEL settings win.
fn trace_export(
    backend: Option<String>,
    tracing: bool,
    restart: bool,
    service_env: &[(String, String)],
) -> Result<TraceExport> {
    let chosen_by_hand = service_env
        .iter()
        .any(|(key, _)| key == OTLP_ENDPOINT || key == SDK_DISABLED);
    if chosen_by_hand {
        if tracing {
            bail!("--tracing and --service-env {OTLP_ENDPOINT}/{SDK_DISABLED} contradict");
        }
        return Ok(TraceExport {
            env: Vec::new(),
            description: "as set by --service-env".into(),
        });
    }
    if tracing {
        let endpoint = backend.context(
            "--tracing exports to the stack's Jaeger, which is not running: run `cargo xtask \
             stack up --observability` first",
        )?;
        return Ok(TraceExport {
            description: format!("on: every span, OTLP/HTTP to Jaeger at {endpoint}"),
            env: vec![(OTLP_ENDPOINT.into(), endpoint)],
        });
    }
    if restart {
        return Ok(TraceExport {
            env: vec![(SDK_DISABLED.into(), "true".into())],
            description: format!("off ({SDK_DISABLED}=true)"),
        });
    }
    Ok(TraceExport {
        env: Vec::new(),
        description: "as running".into(),
    })
}

/// `pid command` of a running `xtask chaos` of this checkout (another checkout's chaos run
/// works on its own stack), if any.
fn running_chaos() -> Option<String> {
    let own = std::process::id();
    let root = crate::project_root();
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        if pid == own {
            return None;
        }
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let words: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        let is_xtask = words.iter().any(|w| w.ends_with("xtask") || w == "xtask");
        let here =
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&root));
        (is_xtask && here && words.iter().any(|w| w == "chaos"))
            .then(|| format!("pid {pid}: {}", words.join(" ")))
    })
}

/// The target directory of the optimized service build. `services` starts binaries from
/// `$CARGO_TARGET_DIR/debug/`, so the optimized build is the `dev` profile with release
/// settings, in a target directory of its own.
fn optimized_target_dir() -> PathBuf {
    crate::project_root().join("target/bench")
}

const OPTIMIZED_DEV_PROFILE: [(&str, &str); 5] = [
    ("CARGO_PROFILE_DEV_OPT_LEVEL", "3"),
    ("CARGO_PROFILE_DEV_DEBUG_ASSERTIONS", "false"),
    ("CARGO_PROFILE_DEV_OVERFLOW_CHECKS", "false"),
    ("CARGO_PROFILE_DEV_INCREMENTAL", "false"),
    ("CARGO_PROFILE_DEV_DEBUG", "false"),
];

/// How the bench starts services: `cargo xtask services up` as a child with extra
/// environment (the services inherit it; the workspace forbids the `unsafe` that changing
/// this process's own environment needs). `services up` builds first, so with the optimized
/// profile variables it builds the optimized binaries, and it starts only what is not
/// running, so it also restarts a single stopped service.
#[derive(Debug, Clone, Default)]
pub struct ServicesLaunch {
    env: Vec<(String, String)>,
}

impl ServicesLaunch {
    fn new(optimized: bool, service_env: &[(String, String)]) -> Self {
        let mut env: Vec<(String, String)> = Vec::new();
        if optimized {
            env.push((
                "CARGO_TARGET_DIR".into(),
                optimized_target_dir().display().to_string(),
            ));
            env.extend(OPTIMIZED_DEV_PROFILE.map(|(k, v)| (k.to_string(), v.to_string())));
        }
        env.extend(service_env.iter().cloned());
        Self { env }
    }

    /// Builds the services as [`ServicesLaunch::up`] will start them.
    fn build(&self) -> Result<()> {
        let started = Instant::now();
        println!(
            "bench: building the services (optimized builds go to target/bench; the first takes minutes)"
        );
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .current_dir(crate::project_root())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("build");
        for service in Service::ALL {
            command.args(["-p", &service.binary()]);
        }
        if !command
            .status()
            .context("cannot run cargo build")?
            .success()
        {
            bail!("building the services failed");
        }
        println!("bench: built in {:.1?}", started.elapsed());
        Ok(())
    }

    /// Fails when a running service is not the binary this launch starts (someone else
    /// restarted it meanwhile): the numbers would describe another build.
    fn check_running(&self, config: &StackConfig) -> Result<()> {
        let Some((_, target)) = self.env.iter().find(|(k, _)| k == "CARGO_TARGET_DIR") else {
            return Ok(());
        };
        for service in Service::ALL {
            let pid = services::running_pid(config, service)
                .with_context(|| format!("{} is not running", service.name()))?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            if !exe.starts_with(target) {
                bail!(
                    "{} runs {} (pid {pid}), not the bench's build in {target}: someone \
                     restarted it meanwhile; run again",
                    service.name(),
                    exe.display()
                );
            }
        }
        Ok(())
    }

    /// Starts whichever services are not running, and waits until they are healthy.
    pub fn up(&self) -> Result<()> {
        self.services_up()
    }

    fn services_up(&self) -> Result<()> {
        let status = Command::new(xtask_binary()?)
            .args(["services", "up"])
            .current_dir(crate::project_root())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .status()
            .context("cannot run `xtask services up`")?;
        if !status.success() {
            bail!("`xtask services up` failed");
        }
        Ok(())
    }
}

/// The xtask binary that started this driver (it passes its path in `XTASK_BIN`). When cargo
/// rebuilt it while this process runs (others work in the same tree), `/proc/<pid>/exe` names
/// the replaced file `... (deleted)`: use the new one.
fn xtask_binary() -> Result<PathBuf> {
    let exe = std::env::var_os("XTASK_BIN")
        .map(PathBuf::from)
        .context("XTASK_BIN is not set: run this through `cargo xtask bench`")?;
    if exe.exists() {
        return Ok(exe);
    }
    let text = exe.display().to_string();
    let rebuilt = PathBuf::from(text.trim_end_matches(" (deleted)"));
    if rebuilt.exists() {
        Ok(rebuilt)
    } else {
        bail!("the xtask binary {text} is gone")
    }
}

fn restore_services(config: &StackConfig, running_before: &[Service]) -> Result<()> {
    services::stop_all(config)?;
    let info = stack::info(config);
    for service in running_before {
        services::start(config, &info, *service)?;
    }
    for service in running_before {
        services::wait_healthy(config, *service, Duration::from_secs(90))?;
    }
    Ok(())
}

/// The connector settings that tuning changes, as declared in ksqldb/migrations.
fn connector_settings() -> Vec<(String, String)> {
    let directory = crate::project_root().join("ksqldb/migrations");
    let mut settings = Vec::new();
    let Ok(entries) = std::fs::read_dir(&directory) else {
        return settings;
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let connector = file
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.split_once("__"))
            .map_or("?", |(_, name)| name.trim_end_matches("_connector"))
            .to_string();
        for line in text.lines().map(str::trim) {
            for key in [
                "poll.interval.ms",
                "max.batch.size",
                "max.queue.size",
                "producer.override.",
            ] {
                if line.starts_with(&format!("'{key}")) {
                    settings.push((
                        format!("{connector} {}", line.trim_end_matches(',')),
                        String::new(),
                    ));
                }
            }
        }
    }
    settings
        .into_iter()
        .map(|(line, _)| {
            let (name, value) = line.split_once(" = ").unwrap_or((&line, ""));
            (
                name.replace('\'', "`"),
                value.trim_matches('\'').to_string(),
            )
        })
        .collect()
}

fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(crate::project_root())
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Writes `results.json`, `results.md` and the plots into a directory of this run; a complete
/// run is also copied to `latest.*` next to it.
fn write_results(results: &report::Results, out: &Path, complete: bool) -> Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let directory = out.join("runs").join(format!("{stamp}-{}", results.label));
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("cannot create {}", directory.display()))?;
    let files = [
        ("results.json", serde_json::to_string_pretty(results)?),
        ("results.md", results.markdown()),
        ("latency-cdf.svg", plot::render(&e2e::cdf_charts(results))),
        ("lag.svg", plot::render(&e2e::lag_charts(results))),
    ];
    for (name, content) in &files {
        std::fs::write(directory.join(name), content)
            .with_context(|| format!("cannot write {name}"))?;
        if complete {
            std::fs::write(out.join(format!("latest-{name}")), content)
                .with_context(|| format!("cannot write latest-{name}"))?;
        }
    }
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (backend, --tracing, restart, --service-env) and the services' OTEL environment.
    type Case = (
        Option<String>,
        bool,
        bool,
        Vec<(String, String)>,
        Vec<(&'static str, &'static str)>,
    );

    #[test]
    fn trace_export_is_on_only_when_asked_and_off_explicitly_on_a_restart() {
        let jaeger = || Some("http://127.0.0.1:4318".to_owned());
        let by_hand = vec![(SDK_DISABLED.to_owned(), "true".to_owned())];
        let cases: Vec<Case> = vec![
            (
                jaeger(),
                true,
                true,
                vec![],
                vec![(OTLP_ENDPOINT, "http://127.0.0.1:4318")],
            ),
            (jaeger(), false, true, vec![], vec![(SDK_DISABLED, "true")]),
            (None, false, true, vec![], vec![(SDK_DISABLED, "true")]),
            (jaeger(), false, false, vec![], vec![]),
            (jaeger(), false, true, by_hand.clone(), vec![]),
        ];
        for (backend, tracing, restart, service_env, expected) in cases {
            let export = trace_export(backend.clone(), tracing, restart, &service_env)
                .expect("a consistent choice");
            let env: Vec<(&str, &str)> = export
                .env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                env, expected,
                "backend {backend:?}, tracing {tracing}, restart {restart}"
            );
        }
        assert!(
            trace_export(None, true, true, &[]).is_err(),
            "--tracing needs Jaeger"
        );
        assert!(
            trace_export(jaeger(), true, true, &by_hand).is_err(),
            "--tracing contradicts OTEL_SDK_DISABLED"
        );
    }
}
