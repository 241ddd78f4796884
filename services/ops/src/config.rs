//! Where the system's parts are, from the environment or flags: the same variables the
//! services read (`KAFKA_BOOTSTRAP_SERVERS`, `SCHEMA_REGISTRY_URL`), plus one database URL per
//! service. No file, no checkout: what an operator sets in a container or a shell.

use anyhow::{Context, Result};
use clap::Args;

/// Connection facts. Each is optional here; a command fails, naming the variable, when it
/// needs one that is not set (no default that would silently point at the wrong system).
#[derive(Args, Debug, Clone, Default)]
pub struct Endpoints {
    /// Kafka bootstrap servers.
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", global = true)]
    pub kafka_bootstrap_servers: Option<String>,
    /// The schema registry's Confluent-compatible base URL.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", global = true)]
    pub schema_registry_url: Option<String>,
    /// The person service's database (the source of persons).
    #[arg(
        long,
        env = "DATABASE_URL_PERSON",
        global = true,
        hide_env_values = true
    )]
    pub database_url_person: Option<String>,
    /// The accounting service's database (the source of balance sheets).
    #[arg(
        long,
        env = "DATABASE_URL_ACCOUNTING",
        global = true,
        hide_env_values = true
    )]
    pub database_url_accounting: Option<String>,
    /// The planning service's database (its read model).
    #[arg(
        long,
        env = "DATABASE_URL_PLANNING",
        global = true,
        hide_env_values = true
    )]
    pub database_url_planning: Option<String>,
}

impl Endpoints {
    pub fn kafka(&self) -> Result<&str> {
        required(&self.kafka_bootstrap_servers, "KAFKA_BOOTSTRAP_SERVERS")
    }

    pub fn registry(&self) -> Result<&str> {
        required(&self.schema_registry_url, "SCHEMA_REGISTRY_URL")
    }

    pub fn person_database(&self) -> Result<&str> {
        required(&self.database_url_person, "DATABASE_URL_PERSON")
    }

    pub fn accounting_database(&self) -> Result<&str> {
        required(&self.database_url_accounting, "DATABASE_URL_ACCOUNTING")
    }

    pub fn planning_database(&self) -> Result<&str> {
        required(&self.database_url_planning, "DATABASE_URL_PLANNING")
    }
}

fn required<'a>(value: &'a Option<String>, variable: &str) -> Result<&'a str> {
    value
        .as_deref()
        .filter(|value| !value.trim().is_empty())
        .with_context(|| {
            format!(
                "{variable} is not set: this command needs it (set the variable or pass --{})",
                variable.to_ascii_lowercase().replace('_', "-")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_blank_endpoint_names_its_variable() {
        let endpoints = Endpoints {
            kafka_bootstrap_servers: Some("  ".into()),
            ..Default::default()
        };
        let error = endpoints.kafka().expect_err("blank").to_string();
        assert!(error.contains("KAFKA_BOOTSTRAP_SERVERS"), "{error}");
        assert!(error.contains("--kafka-bootstrap-servers"), "{error}");
        let error = endpoints
            .planning_database()
            .expect_err("unset")
            .to_string();
        assert!(error.contains("DATABASE_URL_PLANNING"), "{error}");
        let set = Endpoints {
            kafka_bootstrap_servers: Some("127.0.0.1:9092".into()),
            ..Default::default()
        };
        assert_eq!(set.kafka().ok(), Some("127.0.0.1:9092"));
    }
}
