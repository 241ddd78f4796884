//! `cargo xtask services up | down | status`: the three services as local processes, wired to
//! the running stack (the same pid-file discipline as the stack's own processes).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::stack::{self, StackConfig, StackInfo, process};

/// The seed's demo credentials, which the local services are started with (and the demo,
/// bench and chaos clients use).
pub const USERNAME: &str = "root";
pub const PASSWORD: &str = "P@ssw0rd1";

/// One of our services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    Person,
    Accounting,
    Planning,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Person, Service::Accounting, Service::Planning];

    pub fn name(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Accounting => "accounting",
            Self::Planning => "planning",
        }
    }

    pub fn binary(self) -> String {
        format!("{}-service", self.name())
    }

    /// Its port, from the manifest.
    pub fn port(self, config: &StackConfig) -> u16 {
        config.service(self).port
    }

    pub fn base_url(self, config: &StackConfig) -> String {
        format!("http://127.0.0.1:{}", self.port(config))
    }

    fn database_url(self, info: &StackInfo) -> &str {
        match self {
            Self::Person => &info.database_url_person,
            Self::Accounting => &info.database_url_accounting,
            Self::Planning => &info.database_url_planning,
        }
    }

    pub fn log_file(self, config: &StackConfig) -> PathBuf {
        self.role_log_file(config, Role::All)
    }

    /// `<binary>` for the default single process, `<binary>-web` / `<binary>-consumer` for
    /// the processes of a split service.
    fn process_name(self, role: Role) -> String {
        match role {
            Role::All => self.binary(),
            Role::Web => format!("{}-web", self.binary()),
            Role::Consumer => format!("{}-consumer", self.binary()),
            Role::SecondConsumer => format!("{}-consumer-2", self.binary()),
        }
    }

    fn role_pid_file(self, config: &StackConfig, role: Role) -> PathBuf {
        config
            .run_dir()
            .join(format!("{}.pid", self.process_name(role)))
    }

    pub fn role_log_file(self, config: &StackConfig, role: Role) -> PathBuf {
        config
            .log_dir()
            .join(format!("{}.log", self.process_name(role)))
    }
}

/// Which parts of a service one process runs (the services' `SERVICE_ROLE`). By default a
/// service is one process (`All`); chaos runs planning and accounting as a web process and a
/// consumer process, so their consumers can be killed while their REST APIs keep answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    All,
    Web,
    Consumer,
    /// Another consumer process in the same groups: partitions are shared and move between
    /// the two on every join and leave (chaos's rebalance fault).
    SecondConsumer,
}

impl Role {
    fn env_value(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Web => "web",
            Self::Consumer | Self::SecondConsumer => "consumer",
        }
    }

    fn serves_http(self) -> bool {
        matches!(self, Self::All | Self::Web)
    }
}

#[derive(Args)]
pub struct ServicesArgs {
    #[command(subcommand)]
    command: ServicesCommand,
}

#[derive(Subcommand)]
enum ServicesCommand {
    /// Build and start the services against the running stack; wait until healthy.
    Up,
    /// Stop the services (SIGTERM: they finish in-flight work and leave their groups).
    Down,
    /// Print each service's pid and health.
    Status,
}

pub fn run(args: ServicesArgs) -> Result<()> {
    let config = StackConfig::from_env(&crate::project_root())?;
    match args.command {
        ServicesCommand::Up => {
            build()?;
            start_all(&config)?;
        }
        ServicesCommand::Down => stop_all(&config)?,
        ServicesCommand::Status => {
            for service in Service::ALL {
                let pid = running_pid(&config, service);
                let healthy = is_healthy(&config, service);
                println!(
                    "{:<12} port {}  pid {:<8} {}",
                    service.name(),
                    service.port(&config),
                    pid.map_or("-".to_string(), |p| p.to_string()),
                    if healthy { "healthy" } else { "not healthy" }
                );
            }
        }
    }
    Ok(())
}

/// `cargo build` of the three service binaries.
pub fn build() -> Result<()> {
    let started = Instant::now();
    println!("services: building");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(crate::project_root()).arg("build");
    for service in Service::ALL {
        command.args(["-p", &service.binary()]);
    }
    let status = command.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the services failed");
    }
    println!("services: built in {:.1?}", started.elapsed());
    Ok(())
}

fn binary_path(service: Service) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::project_root().join("target"));
    target.join("debug").join(service.binary())
}

pub fn running_pid(config: &StackConfig, service: Service) -> Option<u32> {
    role_pid(config, service, Role::All)
}

/// The live pid of one process of a service, if it runs.
pub fn role_pid(config: &StackConfig, service: Service, role: Role) -> Option<u32> {
    process::read_pid_file(&service.role_pid_file(config, role))
        .filter(|pid| process::is_ours_and_alive(*pid, &service.binary()))
}

/// Starts every service not running yet, then waits until all answer `/health/` with 200.
pub fn start_all(config: &StackConfig) -> Result<()> {
    let info = stack::info(config);
    for service in Service::ALL {
        start(config, &info, service)?;
    }
    for service in Service::ALL {
        wait_healthy(config, service, Duration::from_secs(90))?;
    }
    Ok(())
}

/// Starts one service (no-op when it runs).
pub fn start(config: &StackConfig, info: &StackInfo, service: Service) -> Result<()> {
    start_role(config, info, service, Role::All)
}

/// Starts one process of a service (no-op when it runs). A consumer process opens no port.
pub fn start_role(
    config: &StackConfig,
    info: &StackInfo,
    service: Service,
    role: Role,
) -> Result<()> {
    let name = service.process_name(role);
    if let Some(pid) = role_pid(config, service, role) {
        println!("services: {name} already running (pid {pid})");
        return Ok(());
    }
    if role.serves_http() && process::port_in_use(service.port(config)) {
        bail!(
            "port {} for the {} service is taken by another process",
            service.port(config),
            service.name()
        );
    }
    let mut command = Command::new(binary_path(service));
    command
        .env("DATABASE_URL", service.database_url(info))
        .env("KAFKA_BOOTSTRAP_SERVERS", &info.kafka_bootstrap_servers)
        .env("SCHEMA_REGISTRY_URL", &info.schema_registry_url)
        .env("KAFKA_CONNECT_URL", &info.kafka_connect_url)
        .env("HTTP_ADDR", format!("127.0.0.1:{}", service.port(config)))
        // The seed's demo credentials, explicitly: a service refuses to start without a
        // password (and warns when it is this one).
        .env("API_USERNAME", USERNAME)
        .env("API_PASSWORD", PASSWORD)
        .env("SERVICE_ROLE", role.env_value());
    let export = backend_export(
        |name| std::env::var_os(name).is_some(),
        stack::tracing_endpoint(config),
    );
    if let Some(endpoint) = &export {
        command.env(OTLP_ENDPOINT, endpoint);
    }
    if role == Role::SecondConsumer {
        // A consumer process serves /health/ and /metrics on its service's port + 100; the
        // second one of the same service needs a port of its own.
        command.env(
            "OPERATIONS_ADDR",
            format!("127.0.0.1:{}", service.port(config) + 200),
        );
    }
    let pid = process::spawn_logged(command, &service.role_log_file(config, role))?;
    process::write_pid_file(&service.role_pid_file(config, role), pid)?;
    match export {
        Some(endpoint) => {
            println!("services: {name} started (pid {pid}), exporting traces to {endpoint}")
        }
        None => println!("services: {name} started (pid {pid})"),
    }
    Ok(())
}

const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The trace export endpoint to give a service: the stack's backend when it runs (`stack up
/// --observability`), unless whoever runs `services up` decided already: an endpoint of its
/// own (the e2e test's receiver) or `OTEL_SDK_DISABLED` (the bench's runs without export).
/// The services inherit those variables as they are.
fn backend_export(is_set: impl Fn(&str) -> bool, backend: Option<String>) -> Option<String> {
    let decided = [
        OTLP_ENDPOINT,
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SDK_DISABLED",
    ]
    .iter()
    .any(|name| is_set(name));
    if decided { None } else { backend }
}

pub fn is_healthy(config: &StackConfig, service: Service) -> bool {
    stack::http::answers_ok(
        &format!("{}/health/", service.base_url(config)),
        Duration::from_secs(3),
    )
}

pub fn wait_healthy(config: &StackConfig, service: Service, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        if is_healthy(config, service) {
            println!(
                "services: {} healthy after {:.1?}",
                service.name(),
                started.elapsed()
            );
            return Ok(());
        }
        // Liveness by pid alone: right after the spawn the child may not have exec'd the
        // service binary yet, so its command line does not name it.
        let alive = process::read_pid_file(&service.role_pid_file(config, Role::All))
            .is_some_and(process::is_alive);
        if !alive {
            bail!(
                "the {} service died while starting; last lines of {}:\n{}",
                service.name(),
                service.log_file(config).display(),
                process::tail(&service.log_file(config), 30)
            );
        }
        if started.elapsed() > timeout {
            bail!(
                "the {} service is not healthy after {timeout:?}; last lines of its log:\n{}",
                service.name(),
                process::tail(&service.log_file(config), 30)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Stops one service cleanly (SIGTERM, SIGKILL after a grace period), whether it runs as
/// one process or split.
pub fn stop(config: &StackConfig, service: Service) -> Result<()> {
    for role in [Role::All, Role::Web, Role::Consumer, Role::SecondConsumer] {
        stop_role(config, service, role)?;
    }
    Ok(())
}

/// Stops one process of a service cleanly.
pub fn stop_role(config: &StackConfig, service: Service, role: Role) -> Result<()> {
    if let Some(pid) = role_pid(config, service, role) {
        process::stop(pid, "TERM", Duration::from_secs(20))?;
        println!("services: {} stopped", service.process_name(role));
    }
    let _ = std::fs::remove_file(service.role_pid_file(config, role));
    Ok(())
}

/// SIGKILLs one process of a service (chaos testing): no clean shutdown, no commit, no
/// leaving the consumer group.
pub fn kill(config: &StackConfig, service: Service, role: Role) -> Result<()> {
    let name = service.process_name(role);
    let Some(pid) = role_pid(config, service, role) else {
        bail!("{name} is not running");
    };
    process::signal(pid, "KILL")?;
    if !process::wait_for_exit(pid, Duration::from_secs(10)) {
        bail!("{name} (pid {pid}) survived SIGKILL for 10 s");
    }
    let _ = std::fs::remove_file(service.role_pid_file(config, role));
    println!("services: {name} killed (pid {pid})");
    Ok(())
}

pub fn stop_all(config: &StackConfig) -> Result<()> {
    for service in Service::ALL {
        stop(config, service)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_export_to_the_running_backend_unless_the_caller_decided() {
        let backend = || Some("http://127.0.0.1:4318".to_owned());
        let cases: [(&[&str], Option<String>, Option<&str>); 5] = [
            (&[], backend(), Some("http://127.0.0.1:4318")),
            (&[], None, None),
            (&["OTEL_EXPORTER_OTLP_ENDPOINT"], backend(), None),
            (&["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], backend(), None),
            (&["OTEL_SDK_DISABLED"], backend(), None),
        ];
        for (set, backend, expected) in cases {
            let chosen = backend_export(|name| set.contains(&name), backend.clone());
            assert_eq!(
                chosen.as_deref(),
                expected,
                "set {set:?}, backend {backend:?}"
            );
        }
    }
}
