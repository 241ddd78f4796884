//! Settings shared by every service, read from the environment (or flags).
//!
//! Defaults match what `cargo xtask stack up` starts, so a service runs with no configuration
//! on a developer machine; production sets the variables.

use std::net::SocketAddr;

use clap::Args;
use contract_runtime::auth::SingleUser;

/// Connection settings for the service's database, Kafka and the schema registry.
#[derive(Debug, Clone, Args)]
pub struct CommonConfig {
    /// PostgreSQL URL of this service's own database.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,

    /// Kafka bootstrap servers.
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    pub kafka_bootstrap_servers: String,

    /// Base URL of the Confluent-compatible schema registry API.
    #[arg(
        long,
        env = "SCHEMA_REGISTRY_URL",
        default_value = "http://127.0.0.1:8081/apis/ccompat/v7"
    )]
    pub schema_registry_url: String,

    /// Size of the database connection pool.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 10)]
    pub database_pool_size: u32,
}

/// HTTP settings of a service with a REST API.
#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Address the REST API listens on.
    #[arg(long, env = "HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// User name of HTTP basic authentication.
    #[arg(long, env = "API_USERNAME", default_value = "root")]
    pub api_username: String,

    /// Password of HTTP basic authentication.
    #[arg(
        long,
        env = "API_PASSWORD",
        default_value = "P@ssw0rd1",
        hide_env_values = true
    )]
    pub api_password: String,
}

impl HttpConfig {
    /// The listen address, or `127.0.0.1:<default_port>`.
    pub fn addr(&self, default_port: u16) -> SocketAddr {
        self.http_addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)))
    }

    pub fn authenticator(&self) -> SingleUser {
        SingleUser::new(&self.api_username, &self.api_password)
    }
}

/// Which parts of a service run in this process: like the seed, consumers can run inside the
/// web process or as separate processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// REST API and consumers in one process.
    All,
    /// REST API only.
    Web,
    /// Consumers only.
    Consumer,
}

impl Role {
    pub fn runs_web(self) -> bool {
        matches!(self, Self::All | Self::Web)
    }

    pub fn runs_consumers(self) -> bool {
        matches!(self, Self::All | Self::Consumer)
    }
}
