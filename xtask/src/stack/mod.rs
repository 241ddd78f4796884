//! `cargo xtask stack`: the real event-streaming stack as local processes.
//!
//! PostgreSQL (the machine's server binaries, a cluster of our own), a single-node Kafka 4.x
//! broker in KRaft mode, Kafka Connect with the Debezium PostgreSQL connector, and Apicurio
//! Registry serving the Confluent-compatible schema-registry API. No Docker: the JVM parts come
//! from Maven Central through `mvn`. Everything the stack writes lives in `.stack/`.
//!
//! Other xtask commands (ci, demo, chaos) use the functions re-exported here: [`up`],
//! [`down`], [`status`], [`kill_component`], [`restart_component`], [`apply_connectors`],
//! [`info`].

mod config;
mod connect;
mod connectors;
mod env_file;
pub mod http;
mod jaeger;
mod kafka;
mod kafka_protocol;
mod maven;
mod postgres;
pub mod process;
mod registry;
pub mod system;
pub mod versions;

use std::fmt;
use std::fs;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};

pub use config::{ServiceFacts, StackConfig};
// The compose check (xtask/tests/compose.rs) compares docker-compose.yml with it.
pub use kafka::TOPIC_PARTITIONS;

use crate::services::Service;

/// One process of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Component {
    Postgres,
    Kafka,
    Connect,
    Registry,
    /// The trace backend, started only by `stack up --observability`.
    Jaeger,
}

impl Component {
    /// In start order (a component only depends on earlier ones).
    pub const ALL: [Component; 4] = [
        Component::Postgres,
        Component::Kafka,
        Component::Registry,
        Component::Connect,
    ];

    /// Started only when asked for (`stack up --observability`); stopped by `down`.
    pub const OPTIONAL: [Component; 1] = [Component::Jaeger];

    pub fn name(self) -> &'static str {
        match self {
            Component::Postgres => "postgres",
            Component::Kafka => "kafka",
            Component::Connect => "connect",
            Component::Registry => "registry",
            Component::Jaeger => "jaeger",
        }
    }

    /// The signal that asks for a clean shutdown. For postgres that is SIGINT ("fast"
    /// shutdown): SIGTERM ("smart") would wait for every client to disconnect.
    fn stop_signal(self) -> &'static str {
        match self {
            Component::Postgres => "INT",
            _ => "TERM",
        }
    }

    /// How long a clean shutdown may take before SIGKILL.
    fn stop_grace(self) -> Duration {
        match self {
            Component::Postgres | Component::Kafka | Component::Connect => Duration::from_secs(30),
            Component::Registry | Component::Jaeger => Duration::from_secs(20),
        }
    }

    /// How long a start may take on a loaded 2-core machine before `up` gives up.
    fn start_timeout(self) -> Duration {
        match self {
            Component::Postgres => Duration::from_secs(60),
            Component::Kafka | Component::Connect | Component::Registry => Duration::from_secs(180),
            Component::Jaeger => Duration::from_secs(60),
        }
    }

    fn uses_jvm(self) -> bool {
        !matches!(self, Component::Postgres | Component::Jaeger)
    }

    fn port_variable(self) -> &'static str {
        match self {
            Component::Postgres => "STACK_PG_PORT",
            Component::Kafka => "STACK_KAFKA_PORT / STACK_KAFKA_CONTROLLER_PORT",
            Component::Connect => "STACK_CONNECT_PORT",
            Component::Registry => "STACK_REGISTRY_PORT / STACK_REGISTRY_MANAGEMENT_PORT",
            Component::Jaeger => {
                "STACK_JAEGER_UI_PORT / STACK_JAEGER_OTLP_PORT / STACK_JAEGER_GRPC_PORT"
            }
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The connection facts of the stack, as written to `.stack/env`.
#[derive(Debug, Clone)]
pub struct StackInfo {
    pub pg_superuser_url: String,
    pub database_url_person: String,
    pub database_url_accounting: String,
    pub database_url_planning: String,
    pub kafka_bootstrap_servers: String,
    /// The Confluent-compatible base URL (`.../apis/ccompat/v7`).
    pub schema_registry_url: String,
    pub kafka_connect_url: String,
    /// Every `.stack/env` entry, in file order (the fields above plus ports and Debezium's
    /// credentials, which the connector declarations reference as `${env:...}`).
    pub env: Vec<(String, String)>,
}

/// The health of one component, as `status` prints it.
#[derive(Debug, Clone)]
pub struct ComponentStatus {
    pub component: Component,
    pub version: String,
    pub port: u16,
    pub pid: Option<u32>,
    pub healthy: bool,
    pub rss_kib: Option<u64>,
}

/// The connection facts of `config`'s stack (whether or not it runs).
pub fn info(config: &StackConfig) -> StackInfo {
    let pg_bin_dir = postgres::find_binaries()
        .ok()
        .flatten()
        .map(|binaries| binaries.bin_dir.display().to_string());
    let database_url =
        |service: Service| postgres::service_url(config, &config.service(service).database);
    let info = StackInfo {
        pg_superuser_url: postgres::superuser_url(config),
        database_url_person: database_url(Service::Person),
        database_url_accounting: database_url(Service::Accounting),
        database_url_planning: database_url(Service::Planning),
        kafka_bootstrap_servers: kafka::bootstrap_servers(config),
        schema_registry_url: registry::ccompat_url(config),
        kafka_connect_url: connect::url(config),
        env: Vec::new(),
    };
    let mut env: Vec<(String, String)> = vec![
        (
            "DATABASE_URL_PERSON".into(),
            info.database_url_person.clone(),
        ),
        (
            "DATABASE_URL_ACCOUNTING".into(),
            info.database_url_accounting.clone(),
        ),
        (
            "DATABASE_URL_PLANNING".into(),
            info.database_url_planning.clone(),
        ),
        ("PG_SUPERUSER_URL".into(), info.pg_superuser_url.clone()),
        (
            "KAFKA_BOOTSTRAP_SERVERS".into(),
            info.kafka_bootstrap_servers.clone(),
        ),
        (
            "SCHEMA_REGISTRY_URL".into(),
            info.schema_registry_url.clone(),
        ),
        ("KAFKA_CONNECT_URL".into(), info.kafka_connect_url.clone()),
        ("DEBEZIUM_DB_USER".into(), postgres::DEBEZIUM_USER.into()),
        (
            "DEBEZIUM_DB_PASSWORD".into(),
            postgres::DEBEZIUM_PASSWORD.into(),
        ),
        ("STACK_PG_HOST".into(), config::LOOPBACK.into()),
    ];
    env.extend(
        config
            .port_settings()
            .into_iter()
            .map(|(name, port)| (name.to_owned(), port.to_string())),
    );
    if let Some(dir) = pg_bin_dir {
        env.push(("STACK_PG_BIN_DIR".into(), dir));
    }
    StackInfo { env, ..info }
}

/// Starts whatever part of the stack is not running yet and waits until every component
/// answers at protocol level. Idempotent: on a running stack it only re-checks health.
pub fn up(config: &StackConfig) -> Result<StackInfo> {
    up_with(config, Observability::Off)
}

/// Whether `up` also runs the trace backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observability {
    Off,
    /// Jaeger, built from the Go module proxy on first use; `services up` then points the
    /// services' trace export at it.
    Jaeger,
}

/// [`up`], and with [`Observability::Jaeger`] the trace backend too.
pub fn up_with(config: &StackConfig, observability: Observability) -> Result<StackInfo> {
    let started = Instant::now();
    for dir in [
        config.log_dir(),
        config.run_dir(),
        config.conf_dir(),
        config.data_dir(),
    ] {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let wanted: Vec<Component> = match observability {
        Observability::Off => Component::ALL.to_vec(),
        Observability::Jaeger => Component::ALL
            .into_iter()
            .chain(Component::OPTIONAL)
            .collect(),
    };
    let missing: Vec<Component> = wanted
        .into_iter()
        .filter(|component| running_pid(config, *component).is_none())
        .collect();
    check_ports_free(config, &missing)?;
    let binaries = postgres::ensure_binaries()?;
    let dist = if missing.iter().any(|component| component.uses_jvm()) {
        system::check_java()?;
        maven::ensure_installed(config)?
    } else {
        maven::Dist::of(config)
    };
    let jaeger = match observability {
        Observability::Off => None,
        Observability::Jaeger => Some(crate::tools::jaeger::ensure_installed()?),
    };
    let context = Prerequisites {
        binaries,
        dist,
        jaeger,
    };

    // The trace backend first: it needs nothing, and services started later find it.
    let tracing = match observability {
        Observability::Off => None,
        Observability::Jaeger => Some(ensure_started(config, &context, Component::Jaeger)?),
    };
    let postgres = ensure_started(config, &context, Component::Postgres)?;
    await_ready(config, &context, postgres)?;
    postgres::bootstrap(config, &context.binaries)?;

    // The broker and the registry only need postgres: start both JVMs before waiting.
    let kafka = ensure_started(config, &context, Component::Kafka)?;
    let registry = ensure_started(config, &context, Component::Registry)?;
    await_ready(config, &context, kafka)?;
    let created: Vec<String> = kafka::create_topics(config)?
        .into_iter()
        .filter(|(_, outcome)| *outcome == kafka_protocol::TopicOutcome::Created)
        .map(|(name, _)| name)
        .collect();
    if !created.is_empty() {
        println!("kafka      created topics {}", created.join(", "));
    }
    let connect = ensure_started(config, &context, Component::Connect)?;
    await_ready(config, &context, registry)?;
    registry::set_compatibility(config)?;
    await_ready(config, &context, connect)?;
    if let Some(jaeger) = tracing {
        await_ready(config, &context, jaeger)?;
        println!(
            "jaeger     traces at {} (`cargo xtask services up` exports to {})",
            jaeger::ui_url(config),
            jaeger::otlp_endpoint(config)
        );
    }

    let info = info(config);
    env_file::write(&config.env_file(), &info.env)?;
    println!(
        "stack      up in {:.1}s; connection facts in {}",
        started.elapsed().as_secs_f64(),
        config.env_file().display()
    );
    Ok(info)
}

/// Stops the stack, wipes its data (databases, Kafka logs, generated config, logs) and
/// keeps the installed software in `.stack/dist`.
pub fn clean(config: &StackConfig) -> Result<()> {
    down(config)?;
    for dir in [
        config.data_dir(),
        config.conf_dir(),
        config.log_dir(),
        config.run_dir(),
    ] {
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    println!("stack      data wiped");
    Ok(())
}

/// Stops every component the stack started (Connect first, postgres last) and removes
/// `.stack/env`.
pub fn down(config: &StackConfig) -> Result<()> {
    for component in Component::OPTIONAL {
        if config.pid_file(component).exists() {
            stop_component(config, component)?;
        }
    }
    for component in Component::ALL.into_iter().rev() {
        stop_component(config, component)?;
    }
    let env = config.env_file();
    if env.exists() {
        fs::remove_file(&env).with_context(|| format!("removing {}", env.display()))?;
    }
    Ok(())
}

/// The OTLP endpoint of the stack's trace backend, when it runs (`stack up --observability`).
pub fn tracing_endpoint(config: &StackConfig) -> Option<String> {
    running_pid(config, Component::Jaeger).map(|_| jaeger::otlp_endpoint(config))
}

/// Every component with its port, pid, health and resident memory (the optional ones only
/// when they run).
pub fn status(config: &StackConfig) -> Vec<ComponentStatus> {
    let binaries = postgres::find_binaries().ok().flatten();
    let running_optional = Component::OPTIONAL
        .into_iter()
        .filter(|component| running_pid(config, *component).is_some());
    Component::ALL
        .into_iter()
        .chain(running_optional)
        .map(|component| {
            let pid = running_pid(config, component);
            let version = match component {
                Component::Postgres => binaries
                    .as_ref()
                    .map_or_else(|| "not installed".to_owned(), |b| b.version.clone()),
                Component::Kafka => versions::KAFKA.to_owned(),
                Component::Connect => {
                    format!("{} + Debezium {}", versions::KAFKA, versions::DEBEZIUM)
                }
                Component::Registry => format!("Apicurio {}", versions::APICURIO),
                Component::Jaeger => {
                    format!(
                        "Jaeger (Go module {})",
                        crate::tools::jaeger::MODULE_VERSION
                    )
                }
            };
            ComponentStatus {
                component,
                version,
                port: config.ports.of(component)[0],
                pid,
                healthy: pid.is_some() && is_healthy(config, binaries.as_ref(), component),
                rss_kib: pid.and_then(process::rss_kib),
            }
        })
        .collect()
}

/// SIGKILLs a component (chaos testing); no clean shutdown, no waiting beyond its exit.
pub fn kill_component(config: &StackConfig, component: Component) -> Result<()> {
    let Some(pid) = running_pid(config, component) else {
        bail!("{component} is not running");
    };
    process::signal(pid, "KILL")?;
    if !process::wait_for_exit(pid, Duration::from_secs(10)) {
        bail!("{component} (pid {pid}) survived SIGKILL for 10 s");
    }
    println!("{:<10} killed (pid {pid})", component.name());
    Ok(())
}

/// Stops one component cleanly (SIGTERM, or SIGINT for postgres; SIGKILL after a timeout).
pub fn stop_component(config: &StackConfig, component: Component) -> Result<()> {
    let pid_file = config.pid_file(component);
    let Some(pid) = running_pid(config, component) else {
        if pid_file.exists() {
            fs::remove_file(&pid_file)
                .with_context(|| format!("removing stale {}", pid_file.display()))?;
        }
        println!("{:<10} not running", component.name());
        return Ok(());
    };
    let started = Instant::now();
    let killed = process::stop(pid, component.stop_signal(), component.stop_grace())
        .with_context(|| format!("stopping {component}"))?;
    if pid_file.exists() {
        fs::remove_file(&pid_file).with_context(|| format!("removing {}", pid_file.display()))?;
    }
    println!(
        "{:<10} stopped (pid {pid}) in {:.1}s{}",
        component.name(),
        started.elapsed().as_secs_f64(),
        if killed {
            " with SIGKILL after the grace period"
        } else {
            ""
        }
    );
    Ok(())
}

/// Starts one component (if not running) and waits until it is ready. The components it
/// depends on must be up.
pub fn start_component(config: &StackConfig, component: Component) -> Result<()> {
    if running_pid(config, component).is_none() {
        check_ports_free(config, &[component])?;
    }
    let binaries = postgres::ensure_binaries()?;
    let dist = if component.uses_jvm() {
        system::check_java()?;
        maven::ensure_installed(config)?
    } else {
        maven::Dist::of(config)
    };
    let jaeger = if component == Component::Jaeger {
        Some(crate::tools::jaeger::ensure_installed()?)
    } else {
        None
    };
    let context = Prerequisites {
        binaries,
        dist,
        jaeger,
    };
    let starting = ensure_started(config, &context, component)?;
    await_ready(config, &context, starting)
}

/// Stops (cleanly) and starts one component, waiting until it is ready again. After
/// [`kill_component`] this is the recovery step.
pub fn restart_component(config: &StackConfig, component: Component) -> Result<()> {
    stop_component(config, component)?;
    start_component(config, component)
}

/// Applies the connectors declared in `ksqldb/migrations/` (creating their tables first)
/// and waits until each connector and task is RUNNING. Returns the connector names.
pub fn apply_connectors(config: &StackConfig) -> Result<Vec<String>> {
    if running_pid(config, Component::Connect).is_none() || !connect::is_ready(config) {
        bail!("Kafka Connect is not running: run `cargo xtask stack up` first");
    }
    connectors::apply_all(config)
}

/// What starting components needs, resolved once.
struct Prerequisites {
    binaries: postgres::Binaries,
    dist: maven::Dist,
    /// The Jaeger binary, when Jaeger is to be started.
    jaeger: Option<std::path::PathBuf>,
}

/// A component that is starting or already running.
struct Starting {
    component: Component,
    pid: u32,
    since: Instant,
    already_running: bool,
}

/// The live pid of a component the stack started, if any.
fn running_pid(config: &StackConfig, component: Component) -> Option<u32> {
    if component == Component::Postgres {
        return postgres::running_pid(config);
    }
    let pid = process::read_pid_file(&config.pid_file(component))?;
    let marker = config.state_dir.display().to_string();
    process::is_ours_and_alive(pid, &marker).then_some(pid)
}

fn is_healthy(
    config: &StackConfig,
    binaries: Option<&postgres::Binaries>,
    component: Component,
) -> bool {
    match component {
        Component::Postgres => {
            binaries.is_some_and(|binaries| postgres::is_ready(config, binaries))
        }
        Component::Kafka => kafka::is_ready(config),
        Component::Connect => connect::is_ready(config),
        Component::Registry => registry::is_ready(config),
        Component::Jaeger => jaeger::is_ready(config),
    }
}

/// Fails early, naming the variable to change, when a port the stack wants is taken by a
/// process the stack did not start. (No silent fallback port: other code reads the ports
/// from `.stack/env`, but a moved port would still surprise whoever typed a URL by hand.)
fn check_ports_free(config: &StackConfig, components: &[Component]) -> Result<()> {
    let mut problems = Vec::new();
    for component in components {
        for port in config.ports.of(*component) {
            if process::port_in_use(port) {
                problems.push(format!(
                    "  {component}: 127.0.0.1:{port} is in use by a process this stack did not \
                     start (set {} to another port)",
                    component.port_variable()
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!("ports already in use:\n{}", problems.join("\n"));
    }
    Ok(())
}

fn ensure_started(
    config: &StackConfig,
    context: &Prerequisites,
    component: Component,
) -> Result<Starting> {
    if let Some(pid) = running_pid(config, component) {
        return Ok(Starting {
            component,
            pid,
            since: Instant::now(),
            already_running: true,
        });
    }
    println!("{:<10} starting", component.name());
    let since = Instant::now();
    let pid = match component {
        Component::Postgres => {
            postgres::ensure_cluster(config, &context.binaries)?;
            postgres::start(config, &context.binaries)?
        }
        Component::Kafka => {
            kafka::prepare(config, &context.dist)?;
            kafka::start(config, &context.dist)?
        }
        Component::Connect => {
            connect::prepare(config, &context.dist)?;
            connect::start(config, &context.dist)?
        }
        Component::Registry => {
            registry::prepare(config)?;
            registry::start(config, &context.dist)?
        }
        Component::Jaeger => {
            let binary = context
                .jaeger
                .as_deref()
                .context("the Jaeger binary was not resolved before starting it")?;
            jaeger::prepare(config)?;
            jaeger::start(config, binary)?
        }
    };
    Ok(Starting {
        component,
        pid,
        since,
        already_running: false,
    })
}

/// Polls the component's protocol-level health check until it passes; fails at once, with
/// the tail of its log, if the process dies meanwhile.
fn await_ready(config: &StackConfig, context: &Prerequisites, starting: Starting) -> Result<()> {
    let Starting {
        component,
        pid,
        since,
        already_running,
    } = starting;
    let deadline = since + component.start_timeout();
    let log = config.log_file(component);
    loop {
        if is_healthy(config, Some(&context.binaries), component) {
            break;
        }
        if !process::is_alive(pid) {
            bail!(
                "{component} (pid {pid}) died during start; last lines of {}:\n{}",
                log.display(),
                process::tail(&log, 40)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{component} (pid {pid}) is not ready after {:?}; last lines of {}:\n{}",
                component.start_timeout(),
                log.display(),
                process::tail(&log, 40)
            );
        }
        thread::sleep(Duration::from_millis(200));
    }
    let port = config.ports.of(component)[0];
    if already_running {
        println!(
            "{:<10} already running on 127.0.0.1:{port} (pid {pid}), healthy",
            component.name()
        );
    } else {
        println!(
            "{:<10} ready on 127.0.0.1:{port} (pid {pid}) in {:.1}s",
            component.name(),
            since.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Command line

#[derive(Args)]
pub struct StackArgs {
    #[command(subcommand)]
    command: StackCommand,
}

#[derive(Subcommand)]
enum StackCommand {
    /// Start the stack (idempotent) and write `.stack/env`.
    Up {
        /// Stop the stack and wipe its data first (keeps the installed software).
        #[arg(long)]
        clean: bool,
        /// Also run Jaeger (built from the Go module proxy on first use) as the trace
        /// backend; `services up` then exports the services' spans to it.
        #[arg(long)]
        observability: bool,
    },
    /// Stop every process the stack started (SIGTERM, then SIGKILL after a timeout).
    Down,
    /// Print each component's version, port, pid, health and memory.
    Status,
    /// Print the last lines of a component's log.
    Logs {
        component: Component,
        /// How many lines.
        #[arg(short = 'n', long, default_value_t = 100)]
        lines: usize,
        /// Keep printing as the log grows (runs `tail -f`).
        #[arg(short, long)]
        follow: bool,
    },
    /// Print the connection facts as `export` lines: `eval "$(cargo xtask stack env)"`.
    Env,
    /// Apply the connectors declared in `ksqldb/` and wait until they run.
    Connectors,
    /// Restart one component (clean stop, start, wait until ready).
    Restart { component: Component },
    /// Start one component (its dependencies must be up).
    Start { component: Component },
    /// Stop one component cleanly.
    Stop { component: Component },
    /// SIGKILL one component (chaos testing).
    Kill { component: Component },
    /// Wait until Jaeger holds a trace, print its viewer URL, optionally screenshot it.
    Trace {
        /// The trace id (32 hex digits, as in the traceparent you sent).
        trace_id: String,
        /// Write a PNG of the trace's page, taken with headless Chromium.
        #[arg(long)]
        screenshot: Option<std::path::PathBuf>,
        /// Wait until the trace has spans from at least this many services.
        #[arg(long, default_value_t = 1)]
        services: usize,
    },
    /// Bring the stack up, apply the connectors, run the e2e tests against it.
    Test {
        /// Extra arguments for the test binary (after `--`).
        #[arg(last = true)]
        test_args: Vec<String>,
    },
}

pub fn run(args: StackArgs) -> Result<()> {
    let config = StackConfig::from_env(&crate::project_root())?;
    match args.command {
        StackCommand::Up {
            clean: wipe,
            observability,
        } => {
            if wipe {
                clean(&config)?;
            }
            up_with(
                &StackConfig::from_env(&crate::project_root())?,
                if observability {
                    Observability::Jaeger
                } else {
                    Observability::Off
                },
            )?;
        }
        StackCommand::Down => down(&config)?,
        StackCommand::Status => print_status(&config),
        StackCommand::Logs {
            component,
            lines,
            follow,
        } => {
            let log = config.log_file(component);
            if follow {
                let status = Command::new("tail")
                    .args(["-n", &lines.to_string(), "-F"])
                    .arg(&log)
                    .status()
                    .context("running tail -F")?;
                if !status.success() {
                    bail!("tail -F {} failed", log.display());
                }
            } else {
                println!("{}", process::tail(&log, lines));
            }
        }
        StackCommand::Env => {
            if !config.env_file().exists() {
                eprintln!(
                    "# note: the stack is not up (no {})",
                    config.env_file().display()
                );
            }
            for (key, value) in info(&config).env {
                println!("export {key}={value}");
            }
        }
        StackCommand::Connectors => {
            apply_connectors(&config)?;
        }
        StackCommand::Restart { component } => restart_component(&config, component)?,
        StackCommand::Start { component } => start_component(&config, component)?,
        StackCommand::Stop { component } => stop_component(&config, component)?,
        StackCommand::Kill { component } => kill_component(&config, component)?,
        StackCommand::Trace {
            trace_id,
            screenshot,
            services,
        } => {
            if running_pid(&config, Component::Jaeger).is_none() {
                bail!("Jaeger is not running: run `cargo xtask stack up --observability` first");
            }
            jaeger::show_trace(&config, &trace_id, services, screenshot.as_deref())?;
        }
        StackCommand::Test { test_args } => {
            up(&config)?;
            apply_connectors(&config)?;
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(&config.project_root)
                .args(["test", "-p", "e2e", "--"])
                .args(&test_args)
                .status()
                .context("running cargo test -p e2e")?;
            if !status.success() {
                bail!("the e2e tests failed");
            }
        }
    }
    Ok(())
}

fn print_status(config: &StackConfig) {
    println!(
        "{:<10} {:<30} {:<6} {:<8} {:<9} {:>8}",
        "COMPONENT", "VERSION", "PORT", "PID", "HEALTH", "RSS"
    );
    for status in status(config) {
        let health = match (status.pid, status.healthy) {
            (None, _) => "stopped",
            (Some(_), true) => "healthy",
            (Some(_), false) => "unhealthy",
        };
        println!(
            "{:<10} {:<30} {:<6} {:<8} {:<9} {:>8}",
            status.component.name(),
            status.version,
            status.port,
            status
                .pid
                .map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
            health,
            status
                .rss_kib
                .map_or_else(|| "-".to_owned(), |kib| format!("{} MiB", kib / 1024)),
        );
    }
    print_pipeline_status(config);
    if config.env_file().exists() {
        println!("env file   {}", config.env_file().display());
    }
}

/// Each connector of the manifest with its state in Connect, and each one's replication slot:
/// present, active, and the WAL it retains (a missing slot means changes are not relayed).
fn print_pipeline_status(config: &StackConfig) {
    let connectors = &config.topology.system.connectors;
    if connectors.is_empty() {
        return;
    }
    let connect = ::connectors::Connect::new(&connect::url(config));
    let connect_up = connect::is_ready(config);
    for connector in connectors {
        let state = if !connect_up {
            "unknown (Connect is not running)".to_owned()
        } else {
            match connect.status(&connector.name) {
                Ok(Some(status)) => match status.failure() {
                    Some(_) => format!("{} — run `ops connectors recover`", status.summary()),
                    None => status.summary(),
                },
                Ok(None) => "not applied (`cargo xtask stack connectors`)".to_owned(),
                Err(error) => format!("unknown ({error:#})"),
            }
        };
        println!("connector  {:<28} {state}", connector.name);
    }
    let slots = postgres::find_binaries()
        .ok()
        .flatten()
        .filter(|binaries| postgres::is_ready(config, binaries))
        .map(|binaries| postgres::replication_slots(config, &binaries));
    for connector in connectors {
        let state = match &slots {
            None => "unknown (PostgreSQL is not running)".to_owned(),
            Some(Err(error)) => format!("unknown ({error:#})"),
            Some(Ok(slots)) => match slots.iter().find(|slot| slot.name == connector.slot) {
                None => "MISSING: changes are not relayed (`ops connectors recover`, then \
                         `ops resync`)"
                    .to_owned(),
                Some(slot) => format!(
                    "{}, retains {} of WAL",
                    if slot.active { "active" } else { "INACTIVE" },
                    slot.retained_wal_bytes
                        .map_or_else(|| "?".to_owned(), |bytes| format!("{} KiB", bytes / 1024))
                ),
            },
        };
        println!("slot       {:<28} {state}", connector.slot);
    }
}
