//! Settings shared by every service, read from the environment (or flags).
//!
//! Defaults match what `cargo xtask stack up` starts, so a service runs with no configuration
//! on a developer machine; production sets the variables.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use clap::Args;

use crate::auth::{self, AuthConfigError, ConfiguredPassword, ConfiguredUser, ThrottlePolicy};
use crate::health::HealthSettings;
use crate::http::ServeSettings;

/// Connection settings for the service's database, Kafka and the schema registry.
///
/// `Debug` hides the database password (the URL's password and any `password=` parameter),
/// so logging the configuration does not log a secret.
#[derive(Clone, Args)]
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

    /// Kafka Connect's REST API: readiness and `/metrics` report the state of the connectors
    /// that relay this service's events.
    #[arg(
        long,
        env = "KAFKA_CONNECT_URL",
        default_value = "http://127.0.0.1:8083"
    )]
    pub kafka_connect_url: String,

    /// Milliseconds one health check (database, broker, registry, a connector, the slots) may
    /// take before it counts as not ready.
    #[arg(long, env = "HEALTH_CHECK_TIMEOUT_MS", default_value_t = 2000)]
    pub health_check_timeout_ms: u64,

    /// Milliseconds a health answer is reused: a flood of probes costs one check per period.
    #[arg(long, env = "HEALTH_CACHE_MS", default_value_t = 1000)]
    pub health_cache_ms: u64,

    /// Size of the database connection pool. 10 fits a 2-core machine running the whole
    /// stack: person creates at 64 HTTP connections ran no faster with 4, 6 or 16 (measured
    /// under load; one statement per write holds a connection for one round trip).
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 10)]
    pub database_pool_size: u32,

    /// Address a process without a REST API (`SERVICE_ROLE=consumer`) serves `/health/` and
    /// `/metrics` on; default `127.0.0.1:<service port + 100>`.
    #[arg(long, env = "OPERATIONS_ADDR")]
    pub operations_addr: Option<SocketAddr>,
}

/// How far a consumer-only process's default operations port is from its service's port.
pub const OPERATIONS_PORT_OFFSET: u16 = 100;

impl CommonConfig {
    /// What the health checks reach and how long they may take.
    pub fn health_settings(&self) -> HealthSettings {
        HealthSettings {
            bootstrap_servers: self.kafka_bootstrap_servers.clone(),
            registry_url: self.schema_registry_url.clone(),
            connect_url: self.kafka_connect_url.clone(),
            check_timeout: Duration::from_millis(self.health_check_timeout_ms),
            cache_for: Duration::from_millis(self.health_cache_ms),
        }
    }

    /// Where a consumer-only process of the service on `service_port` serves `/health/` and
    /// `/metrics`.
    pub fn operations_addr(&self, service_port: u16) -> SocketAddr {
        self.operations_addr.unwrap_or_else(|| {
            SocketAddr::from((
                [127, 0, 0, 1],
                service_port.saturating_add(OPERATIONS_PORT_OFFSET),
            ))
        })
    }
}

impl std::fmt::Debug for CommonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonConfig")
            .field("database_url", &redacted_url(&self.database_url))
            .field("kafka_bootstrap_servers", &self.kafka_bootstrap_servers)
            .field(
                "schema_registry_url",
                &redacted_url(&self.schema_registry_url),
            )
            .field("kafka_connect_url", &redacted_url(&self.kafka_connect_url))
            .field("health_check_timeout_ms", &self.health_check_timeout_ms)
            .field("health_cache_ms", &self.health_cache_ms)
            .field("database_pool_size", &self.database_pool_size)
            .field("operations_addr", &self.operations_addr)
            .finish()
    }
}

/// `url` with its password (user-info or a `password` query parameter) replaced by `***`;
/// text that is not a URL is hidden whole, since it may be a key/value DSN with a password.
pub fn redacted_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<not a URL, hidden>".to_string();
    };
    if parsed.password().is_some() {
        // Only URLs that cannot have a password reject this, and this one has one.
        let _ = parsed.set_password(Some("***"));
    }
    let query: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let hidden =
                k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword");
            (
                k.into_owned(),
                if hidden { "***".into() } else { v.into_owned() },
            )
        })
        .collect();
    if !query.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(query);
    }
    parsed.to_string()
}

/// HTTP settings of a service with a REST API.
///
/// The password is required (plaintext in `API_PASSWORD`, or better a PHC hash in
/// `API_PASSWORD_HASH`): a service refuses to start without one rather than fall back to
/// known credentials. `cargo xtask services up` passes the seed's demo credentials explicitly.
#[derive(Clone, Args)]
pub struct HttpConfig {
    /// Address the REST API listens on.
    #[arg(long, env = "HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// User name of HTTP basic authentication.
    #[arg(long, env = "API_USERNAME", default_value = "root", value_parser = non_empty)]
    pub api_username: String,

    /// Password of HTTP basic authentication (plaintext; prefer `API_PASSWORD_HASH`).
    #[arg(
        long,
        env = "API_PASSWORD",
        hide_env_values = true,
        required_unless_present = "api_password_hash",
        conflicts_with = "api_password_hash",
        value_parser = non_empty
    )]
    pub api_password: Option<String>,

    /// The password as a PHC string of argon2 (`$argon2id$v=19$m=...`), e.g. from Debian's
    /// `argon2` tool: `printf %s "$PASSWORD" | argon2 "$(openssl rand -base64 16)" -id -e`.
    #[arg(
        long,
        env = "API_PASSWORD_HASH",
        hide_env_values = true,
        value_parser = password_hash
    )]
    pub api_password_hash: Option<String>,

    /// Failed authentications a client address may make at once before `429`.
    #[arg(long, env = "AUTH_FAILURE_BURST", default_value = "10")]
    pub auth_failure_burst: NonZeroU32,

    /// Failed authentications a client address regains per minute.
    #[arg(long, env = "AUTH_FAILURES_PER_MINUTE", default_value = "30")]
    pub auth_failures_per_minute: NonZeroU32,

    /// Seconds a client may take to send a request's headers before the connection closes.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub http_header_timeout_secs: u64,

    /// Seconds a request may take, its body included, before it is answered `408`.
    #[arg(long, env = "HTTP_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub http_request_timeout_secs: u64,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("http_addr", &self.http_addr)
            .field("api_username", &self.api_username)
            .field(
                "api_password",
                &self.api_password.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "api_password_hash",
                &self.api_password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("auth_failure_burst", &self.auth_failure_burst)
            .field("auth_failures_per_minute", &self.auth_failures_per_minute)
            .field("http_header_timeout_secs", &self.http_header_timeout_secs)
            .field("http_request_timeout_secs", &self.http_request_timeout_secs)
            .finish()
    }
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("must not be empty".to_string())
    } else {
        Ok(text.to_string())
    }
}

fn password_hash(text: &str) -> Result<String, String> {
    auth::parse_password_hash(text).map_err(|e| e.to_string())
}

impl HttpConfig {
    /// Settings for a service run by the tests or the demo: the seed's credentials.
    pub fn demo(http_addr: Option<SocketAddr>) -> Self {
        Self {
            http_addr,
            api_username: auth::SEED_USERNAME.to_string(),
            api_password: Some(auth::SEED_PASSWORD.to_string()),
            api_password_hash: None,
            auth_failure_burst: ThrottlePolicy::default().burst,
            auth_failures_per_minute: ThrottlePolicy::default().per_minute,
            http_header_timeout_secs: ServeSettings::default().header_read_timeout.as_secs(),
            http_request_timeout_secs: ServeSettings::default().request_timeout.as_secs(),
        }
    }

    /// The listen address, or `127.0.0.1:<default_port>`.
    pub fn addr(&self, default_port: u16) -> SocketAddr {
        self.http_addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)))
    }

    /// The configured user; warns (once) when it has the seed's published credentials.
    pub fn authenticator(&self) -> Result<ConfiguredUser, AuthConfigError> {
        let password = match (&self.api_password_hash, &self.api_password) {
            (Some(hash), _) => ConfiguredPassword::Hash(hash.clone()),
            (None, Some(plain)) => ConfiguredPassword::Plain(plain.clone()),
            (None, None) => return Err(AuthConfigError::EmptyPassword),
        };
        let user = ConfiguredUser::new(&self.api_username, password)?;
        user.warn_if_seed_credentials();
        Ok(user)
    }

    /// Timeouts and the throttle of failed authentications, for [`crate::http::serve_with`].
    pub fn serve_settings(&self) -> ServeSettings {
        ServeSettings {
            header_read_timeout: Duration::from_secs(self.http_header_timeout_secs),
            request_timeout: Duration::from_secs(self.http_request_timeout_secs),
            auth_throttle: ThrottlePolicy {
                burst: self.auth_failure_burst,
                per_minute: self.auth_failures_per_minute,
            },
        }
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        http: HttpConfig,
    }

    /// Flags stand for the variables here (clap reads both the same way): the environment is
    /// switched off, so what the test process inherits does not count.
    fn parse(args: &[&str]) -> Result<HttpConfig, String> {
        use clap::{CommandFactory, FromArgMatches};
        let command = Cli::command().mut_args(|arg| arg.env(None::<&str>));
        let matches = command
            .try_get_matches_from(std::iter::once("service").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Cli::from_arg_matches(&matches)
            .map(|cli| cli.http)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_password_is_required_and_not_empty() {
        let missing = parse(&[]).expect_err("refused");
        assert!(missing.contains("--api-password"), "{missing}");
        let empty = parse(&["--api-password", ""]).expect_err("refused");
        assert!(empty.contains("must not be empty"), "{empty}");
        let empty_user =
            parse(&["--api-username", "", "--api-password", "x"]).expect_err("refused");
        assert!(empty_user.contains("must not be empty"), "{empty_user}");
        let both = parse(&[
            "--api-password",
            "x",
            "--api-password-hash",
            "$argon2id$v=19$m=8,t=1,p=1$c2l4dGVlbiBieXRlIHNhbHQ$3XcWg4T/Uc1RZ0G4KN4x9Q",
        ]);
        assert!(both.is_err());
        let bad_hash = parse(&["--api-password-hash", "P@ssw0rd1"]).expect_err("refused");
        assert!(bad_hash.contains("PHC"), "{bad_hash}");
    }

    #[test]
    fn the_configured_user_authenticates() {
        let config = parse(&["--api-username", "alice", "--api-password", "s3cret"]).expect("ok");
        let user = config.authenticator().expect("user");
        use contract_runtime::auth::{Authenticator, BasicCredentials};
        assert!(user.authenticate(&BasicCredentials::new("alice", "s3cret")));
        assert!(!user.authenticate(&BasicCredentials::new("alice", "")));
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(
            HttpConfig::demo(None)
                .authenticator()
                .expect("demo")
                .uses_seed_credentials()
        );
    }

    #[derive(Parser)]
    struct CommonCli {
        #[command(flatten)]
        common: CommonConfig,
    }

    #[test]
    fn debug_hides_the_database_password() {
        let cli = CommonCli::try_parse_from([
            "service",
            "--database-url",
            "postgres://person:s3cr%40t@127.0.0.1:5432/person?sslmode=disable&password=other",
        ])
        .expect("parses");
        let shown = format!("{:?}", cli.common);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(!shown.contains("other"), "{shown}");
        assert!(
            shown.contains(
                "postgres://person:***@127.0.0.1:5432/person?sslmode=disable&password=***"
            ),
            "{shown}"
        );
        assert_eq!(redacted_url("host=db password=x"), "<not a URL, hidden>");
        assert_eq!(
            redacted_url("http://127.0.0.1:8081/apis/ccompat/v7"),
            "http://127.0.0.1:8081/apis/ccompat/v7"
        );
    }
}
