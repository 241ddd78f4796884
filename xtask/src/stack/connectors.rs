//! `cargo xtask stack connectors`: the Debezium connectors declared in `ksqldb/`, applied
//! through Kafka Connect's REST API by the `connectors` crate (the same code `ops connectors
//! apply` runs against any deployment), after creating the tables they capture.

use std::path::PathBuf;
use std::time::Duration;

use ::connectors::{Connect, ConnectorDeclaration};
use anyhow::{Context, Result, bail};
use codegen::topology::ConnectorRole;

use super::config::StackConfig;
use super::{connect, env_file, postgres, process};

/// How long a connector may take to run after being applied.
const RUNNING_TIMEOUT: Duration = Duration::from_secs(90);

/// The connector declarations under `ksqldb/migrations/`, with `${env:NAME}` placeholders
/// substituted from the environment, then `.stack/env`.
pub fn load_declarations(config: &StackConfig) -> Result<Vec<ConnectorDeclaration>> {
    let recorded = env_file::read(&config.env_file()).unwrap_or_default();
    let lookup = |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| recorded.get(name).cloned())
    };
    ::connectors::load_declarations(&config.ksqldb_dir().join("migrations"), &lookup)
}

/// The migrations that create the tables the connectors capture, per database: the kit's
/// outbox migration for an outbox connector, the owning service's own migrations for a CDC
/// connector. One DDL per table: the files the services migrate with (all idempotent:
/// `CREATE ... IF NOT EXISTS` or `CREATE OR REPLACE`, so the service's own migration run
/// later changes nothing).
pub fn captured_table_migrations(config: &StackConfig) -> Result<Vec<(String, PathBuf)>> {
    let root = &config.project_root;
    let mut migrations: Vec<(String, PathBuf)> = Vec::new();
    for connector in &config.topology.system.connectors {
        let database = config
            .topology
            .service(&connector.service)?
            .database
            .clone();
        let dir = match connector.role {
            ConnectorRole::Outbox => root.join("services/kit/migrations/outbox"),
            ConnectorRole::Cdc => root
                .join("services")
                .join(&connector.service)
                .join("migrations"),
        };
        for file in ::connectors::declaration_files(&dir)? {
            if !migrations
                .iter()
                .any(|(db, known)| *db == database && *known == file)
            {
                migrations.push((database.clone(), file));
            }
        }
    }
    Ok(migrations)
}

/// Creates the tables the connectors capture, when absent, connected as the database's
/// owning service role (so the service keeps owning them): a `filtered` publication can only
/// be created for an existing table, and the connectors may be applied before the services
/// first ran their migrations.
pub fn ensure_captured_tables(config: &StackConfig) -> Result<()> {
    let binaries = postgres::ensure_binaries()?;
    for (database, file) in captured_table_migrations(config)? {
        let mut command = postgres::psql(&binaries, &postgres::service_url(config, &database));
        command
            .args(["-c", "SET client_min_messages = warning", "-f"])
            .arg(&file);
        process::run_checked(&mut command, &format!("applying {}", file.display()))?;
    }
    Ok(())
}

/// Applies every declared connector and waits until it and its tasks run.
pub fn apply_all(config: &StackConfig) -> Result<Vec<String>> {
    check_agreement(config)?;
    ensure_captured_tables(config)?;
    let declarations = load_declarations(config)?;
    ::connectors::apply_all(
        &Connect::new(&connect::url(config)),
        &declarations,
        RUNNING_TIMEOUT,
    )?;
    Ok(declarations.into_iter().map(|d| d.name).collect())
}

/// Where the declarations and the manifest disagree on a connector's facts (name, slot,
/// publication, database, captured table).
pub fn disagreements(config: &StackConfig) -> Result<Vec<String>> {
    // Placeholders stay as they are: only literal settings are compared.
    let keep = |name: &str| Some(format!("${{env:{name}}}"));
    let declarations =
        ::connectors::load_declarations(&config.ksqldb_dir().join("migrations"), &keep)?;
    let mut problems = Vec::new();
    for connector in &config.topology.system.connectors {
        let Some(declaration) = declarations.iter().find(|d| d.name == connector.name) else {
            problems.push(format!(
                "connector {} of contracts/system.toml is declared nowhere under ksqldb/migrations",
                connector.name
            ));
            continue;
        };
        let file = config.project_root.join(&connector.declaration);
        if declaration.source != file {
            problems.push(format!(
                "connector {} is declared in {}, the manifest says {}",
                connector.name,
                declaration.source.display(),
                file.display()
            ));
        }
        let database = &config.topology.service(&connector.service)?.database;
        for (key, expected) in [
            ("slot.name", &connector.slot),
            ("publication.name", &connector.publication),
            ("database.dbname", database),
            ("table.include.list", &connector.table),
        ] {
            if declaration.setting(key) != Some(expected.as_str()) {
                problems.push(format!(
                    "connector {}: {key} is {:?} in {}, the manifest says {expected:?}",
                    connector.name,
                    declaration.setting(key),
                    declaration.source.display()
                ));
            }
        }
    }
    for declaration in &declarations {
        if config
            .topology
            .system
            .connector(&declaration.name)
            .is_none()
        {
            problems.push(format!(
                "connector {} ({}) is not in contracts/system.toml",
                declaration.name,
                declaration.source.display()
            ));
        }
    }
    Ok(problems)
}

/// Checks [`disagreements`]; the error lists every one.
pub fn check_agreement(config: &StackConfig) -> Result<()> {
    let problems = disagreements(config).context("comparing ksqldb/ with the manifest")?;
    if !problems.is_empty() {
        bail!(
            "ksqldb/ and contracts/system.toml disagree:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Result<StackConfig> {
        StackConfig::from_env(&crate::project_root())
    }

    #[test]
    fn the_declarations_agree_with_the_manifest() -> Result<()> {
        check_agreement(&config()?)
    }

    #[test]
    fn captured_tables_come_from_the_migrations_the_services_run() -> Result<()> {
        let config = config()?;
        let migrations = captured_table_migrations(&config)?;
        for connector in &config.topology.system.connectors {
            let table = connector.table.trim_start_matches("public.");
            let database = &config.topology.service(&connector.service)?.database;
            let creates = migrations.iter().any(|(db, file)| {
                db == database
                    && std::fs::read_to_string(file).is_ok_and(|sql| {
                        sql.contains(&format!("CREATE TABLE IF NOT EXISTS {table} "))
                    })
            });
            assert!(
                creates,
                "no migration creates {table} in {database}: {migrations:?}"
            );
        }
        // Applied before the services' own migration run: every statement must be idempotent.
        for (_, file) in &migrations {
            let sql = std::fs::read_to_string(file)?;
            for statement in sql.split(';').map(str::trim) {
                let code: String = statement
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let code = code.trim().to_ascii_uppercase();
                if code.starts_with("CREATE") {
                    assert!(
                        code.contains("IF NOT EXISTS") || code.starts_with("CREATE OR REPLACE"),
                        "{}: {code}",
                        file.display()
                    );
                }
            }
        }
        Ok(())
    }
}
