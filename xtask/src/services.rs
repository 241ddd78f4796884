//! `cargo xtask services up | down | status`: the three services as local processes, wired to
//! the running stack (the same pid-file discipline as the stack's own processes).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::stack::{self, StackConfig, StackInfo, process};

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

    /// The seed's ports.
    pub fn port(self) -> u16 {
        match self {
            Self::Person => 8001,
            Self::Accounting => 8002,
            Self::Planning => 8003,
        }
    }

    pub fn base_url(self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    fn database_url(self, info: &StackInfo) -> &str {
        match self {
            Self::Person => &info.database_url_person,
            Self::Accounting => &info.database_url_accounting,
            Self::Planning => &info.database_url_planning,
        }
    }

    fn pid_file(self, config: &StackConfig) -> PathBuf {
        config.run_dir().join(format!("{}.pid", self.binary()))
    }

    pub fn log_file(self, config: &StackConfig) -> PathBuf {
        config.log_dir().join(format!("{}.log", self.binary()))
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
                let healthy = is_healthy(service);
                println!(
                    "{:<12} port {}  pid {:<8} {}",
                    service.name(),
                    service.port(),
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
    process::read_pid_file(&service.pid_file(config))
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
    if let Some(pid) = running_pid(config, service) {
        println!("services: {} already running (pid {pid})", service.name());
        return Ok(());
    }
    if process::port_in_use(service.port()) {
        bail!(
            "port {} for the {} service is taken by another process",
            service.port(),
            service.name()
        );
    }
    let mut command = Command::new(binary_path(service));
    command
        .env("DATABASE_URL", service.database_url(info))
        .env("KAFKA_BOOTSTRAP_SERVERS", &info.kafka_bootstrap_servers)
        .env("SCHEMA_REGISTRY_URL", &info.schema_registry_url)
        .env("HTTP_ADDR", format!("127.0.0.1:{}", service.port()));
    let pid = process::spawn_logged(command, &service.log_file(config))?;
    process::write_pid_file(&service.pid_file(config), pid)?;
    println!("services: {} started (pid {pid})", service.name());
    Ok(())
}

pub fn is_healthy(service: Service) -> bool {
    stack::http::answers_ok(
        &format!("{}/health/", service.base_url()),
        Duration::from_secs(3),
    )
}

fn wait_healthy(config: &StackConfig, service: Service, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        if is_healthy(service) {
            println!(
                "services: {} healthy after {:.1?}",
                service.name(),
                started.elapsed()
            );
            return Ok(());
        }
        if running_pid(config, service).is_none() {
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

/// Stops one service cleanly (SIGTERM, SIGKILL after a grace period).
pub fn stop(config: &StackConfig, service: Service) -> Result<()> {
    if let Some(pid) = running_pid(config, service) {
        process::stop(pid, "TERM", Duration::from_secs(20))?;
        println!("services: {} stopped", service.name());
    }
    let _ = std::fs::remove_file(service.pid_file(config));
    Ok(())
}

pub fn stop_all(config: &StackConfig) -> Result<()> {
    for service in Service::ALL {
        stop(config, service)?;
    }
    Ok(())
}
