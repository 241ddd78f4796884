//! Where the stack lives on disk and which loopback ports it uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::Component;
use super::env_file;
use crate::services::Service;
use crate::topology::Topology;

/// What the manifest says about one of the services xtask runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFacts {
    pub database: String,
    pub port: u16,
}

/// Shifts every default port (the stack's and the services' manifest ports) by this much, so
/// two checkouts can run their stacks side by side; a `STACK_*_PORT` variable still wins.
pub const PORT_OFFSET_SETTING: &str = "STACK_PORT_OFFSET";

/// Default ports; each can be overridden by the environment variable next to it.
const PORT_SETTINGS: &[(&str, u16)] = &[
    ("STACK_PG_PORT", 5432),
    ("STACK_KAFKA_PORT", 9092),
    ("STACK_KAFKA_CONTROLLER_PORT", 9093),
    ("STACK_CONNECT_PORT", 8083),
    ("STACK_REGISTRY_PORT", 8081),
    // Quarkus always opens a separate management interface (health, metrics); it defaults
    // to 9000, which is too generic to claim silently.
    ("STACK_REGISTRY_MANAGEMENT_PORT", 9081),
    // Jaeger (`stack up --observability`): OTLP/HTTP's registered port, and the query
    // service's 16686 and 16685 less 10000, so that every offset that fits the others fits.
    ("STACK_JAEGER_OTLP_PORT", 4318),
    ("STACK_JAEGER_UI_PORT", 6686),
    ("STACK_JAEGER_GRPC_PORT", 6685),
];

/// Every server binds to this address only.
pub const LOOPBACK: &str = "127.0.0.1";

/// The loopback ports of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    pub postgres: u16,
    pub kafka: u16,
    pub kafka_controller: u16,
    pub connect: u16,
    pub registry: u16,
    pub registry_management: u16,
    /// Jaeger's OTLP/HTTP receiver.
    pub jaeger_otlp: u16,
    /// Jaeger's query service: the trace viewer and the JSON API.
    pub jaeger_ui: u16,
    /// Jaeger's query service over gRPC (always opened by the query extension).
    pub jaeger_grpc: u16,
}

impl Ports {
    /// The ports a component listens on (the first one is its client port).
    pub fn of(&self, component: Component) -> Vec<u16> {
        match component {
            Component::Postgres => vec![self.postgres],
            Component::Kafka => vec![self.kafka, self.kafka_controller],
            Component::Connect => vec![self.connect],
            Component::Registry => vec![self.registry, self.registry_management],
            Component::Jaeger => vec![self.jaeger_ui, self.jaeger_otlp, self.jaeger_grpc],
        }
    }
}

/// Configuration of one local stack: its state directory and ports.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The workspace root.
    pub project_root: PathBuf,
    /// `<root>/.stack`: everything the stack writes (gitignored).
    pub state_dir: PathBuf,
    pub ports: Ports,
    /// [`PORT_OFFSET_SETTING`]: added to every default port, the services' included.
    pub port_offset: u16,
    /// Compatibility level set on the registry at bootstrap (the seed's default is FORWARD).
    pub registry_compatibility: String,
    /// The system manifest of the checkout (`contracts/`).
    pub topology: Arc<Topology>,
    /// Per [`Service`] (in [`Service::ALL`] order), its database and port.
    services: Vec<ServiceFacts>,
}

/// The port offset from the environment, else as recorded in `.stack/env` by `up`, else 0.
pub fn port_offset(recorded: &BTreeMap<String, String>) -> Result<u16> {
    let raw = std::env::var(PORT_OFFSET_SETTING)
        .ok()
        .or_else(|| recorded.get(PORT_OFFSET_SETTING).cloned());
    match raw {
        None => Ok(0),
        Some(raw) => raw.trim().parse::<u16>().with_context(|| {
            format!("{PORT_OFFSET_SETTING}={raw:?} is not a port offset (0-65535)")
        }),
    }
}

fn shifted(port: u16, offset: u16) -> Result<u16> {
    port.checked_add(offset)
        .with_context(|| format!("port {port} + {PORT_OFFSET_SETTING} {offset} exceeds 65535"))
}

impl StackConfig {
    /// The configuration for the stack of the workspace at `project_root`.
    ///
    /// A port comes from its `STACK_*_PORT` environment variable; else from `.stack/env` when
    /// a stack is up (so `status`, `connectors` and `restart` find the ports `up` chose);
    /// else from the defaults (Postgres 5432, Kafka 9092/9093, Connect 8083, registry 8081).
    pub fn from_env(project_root: &Path) -> Result<Self> {
        let state_dir = project_root.join(".stack");
        let recorded = env_file::read(&state_dir.join("env")).unwrap_or_default();
        let offset = port_offset(&recorded)?;
        let port = |name: &str, default: u16| -> Result<u16> {
            let raw = std::env::var(name)
                .ok()
                .or_else(|| recorded.get(name).cloned());
            match raw {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .with_context(|| format!("{name}={raw:?} is not a TCP port (1-65535)")),
            }
        };
        let value = |name: &str| -> Result<u16> {
            let default = PORT_SETTINGS
                .iter()
                .find(|(setting, _)| *setting == name)
                .map(|(_, default)| *default)
                .with_context(|| format!("no default for {name}"))?;
            port(name, shifted(default, offset)?)
        };
        let ports = Ports {
            postgres: value("STACK_PG_PORT")?,
            kafka: value("STACK_KAFKA_PORT")?,
            kafka_controller: value("STACK_KAFKA_CONTROLLER_PORT")?,
            connect: value("STACK_CONNECT_PORT")?,
            registry: value("STACK_REGISTRY_PORT")?,
            registry_management: value("STACK_REGISTRY_MANAGEMENT_PORT")?,
            jaeger_otlp: value("STACK_JAEGER_OTLP_PORT")?,
            jaeger_ui: value("STACK_JAEGER_UI_PORT")?,
            jaeger_grpc: value("STACK_JAEGER_GRPC_PORT")?,
        };
        let mut seen = BTreeMap::new();
        for (name, port) in [
            ("postgres", ports.postgres),
            ("kafka", ports.kafka),
            ("kafka controller", ports.kafka_controller),
            ("connect", ports.connect),
            ("registry", ports.registry),
            ("registry management", ports.registry_management),
            ("jaeger otlp", ports.jaeger_otlp),
            ("jaeger ui", ports.jaeger_ui),
            ("jaeger grpc", ports.jaeger_grpc),
        ] {
            if let Some(other) = seen.insert(port, name) {
                bail!("port {port} is configured for both {other} and {name}");
            }
        }
        let registry_compatibility =
            std::env::var("STACK_REGISTRY_COMPATIBILITY").unwrap_or_else(|_| "FORWARD".to_owned());
        let topology = Arc::new(Topology::load(&project_root.join("contracts"))?);
        let services = Service::ALL
            .iter()
            .map(|service| {
                let facts = topology.service(service.name())?;
                Ok(ServiceFacts {
                    database: facts.database.clone(),
                    port: shifted(facts.port, offset)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            project_root: project_root.to_path_buf(),
            state_dir,
            ports,
            port_offset: offset,
            registry_compatibility,
            topology,
            services,
        })
    }

    /// A service's database and port, from the manifest.
    pub fn service(&self, service: Service) -> &ServiceFacts {
        // `from_env` resolved every `Service::ALL` entry, in that order.
        &self.services[service as usize]
    }

    /// The environment variables that select the ports, with their values.
    pub fn port_settings(&self) -> Vec<(&'static str, u16)> {
        let p = &self.ports;
        vec![
            (PORT_OFFSET_SETTING, self.port_offset),
            ("STACK_PG_PORT", p.postgres),
            ("STACK_KAFKA_PORT", p.kafka),
            ("STACK_KAFKA_CONTROLLER_PORT", p.kafka_controller),
            ("STACK_CONNECT_PORT", p.connect),
            ("STACK_REGISTRY_PORT", p.registry),
            ("STACK_REGISTRY_MANAGEMENT_PORT", p.registry_management),
            ("STACK_JAEGER_OTLP_PORT", p.jaeger_otlp),
            ("STACK_JAEGER_UI_PORT", p.jaeger_ui),
            ("STACK_JAEGER_GRPC_PORT", p.jaeger_grpc),
        ]
    }

    /// Installed, version-stamped software (unpacked archives, jars). Survives `up --clean`.
    pub fn dist_dir(&self) -> PathBuf {
        self.state_dir.join("dist")
    }

    /// Databases, Kafka logs. Wiped by `up --clean`.
    pub fn data_dir(&self) -> PathBuf {
        self.state_dir.join("data")
    }

    /// Generated configuration files. Rewritten on every start.
    pub fn conf_dir(&self) -> PathBuf {
        self.state_dir.join("conf")
    }

    /// One log file per component.
    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    /// Pid files of the processes the stack started.
    pub fn run_dir(&self) -> PathBuf {
        self.state_dir.join("run")
    }

    pub fn log_file(&self, component: Component) -> PathBuf {
        self.log_dir().join(format!("{}.log", component.name()))
    }

    pub fn pid_file(&self, component: Component) -> PathBuf {
        self.run_dir().join(format!("{}.pid", component.name()))
    }

    pub fn env_file(&self) -> PathBuf {
        self.state_dir.join("env")
    }

    /// `ksqldb/`: the connector declarations and the tables they capture.
    pub fn ksqldb_dir(&self) -> PathBuf {
        self.project_root.join("ksqldb")
    }
}
