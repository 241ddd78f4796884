//! Apicurio Registry 3.x as the Confluent-API schema registry, stored in our PostgreSQL.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Component;
use super::config::{LOOPBACK, StackConfig};
use super::http;
use super::maven::Dist;
use super::postgres;
use super::process;

/// The Confluent-compatible API base URL: what every Confluent-style client is given.
pub fn ccompat_url(config: &StackConfig) -> String {
    format!(
        "http://{LOOPBACK}:{}/apis/ccompat/v7",
        config.ports.registry
    )
}

/// Quarkus reads `config/application.properties` relative to its working directory.
fn work_dir(config: &StackConfig) -> PathBuf {
    config.conf_dir().join("registry")
}

/// Writes the registry configuration.
pub fn prepare(config: &StackConfig) -> Result<()> {
    let config_dir = work_dir(config).join("config");
    fs::create_dir_all(&config_dir)
        .with_context(|| format!("creating {}", config_dir.display()))?;
    let database = postgres::REGISTRY_DATABASE;
    let properties = format!(
        "# Written by `cargo xtask stack up` on every start; edit xtask/src/stack/registry.rs.\n\
         quarkus.http.host={LOOPBACK}\n\
         quarkus.http.port={port}\n\
         # Health and metrics live on a separate management port (Quarkus default 9000).\n\
         quarkus.management.host={LOOPBACK}\n\
         quarkus.management.port={management}\n\
         # Persistent storage in the stack's PostgreSQL, so schema ids survive a restart\n\
         # (the default is an in-memory H2 database).\n\
         apicurio.storage.kind=sql\n\
         apicurio.storage.sql.kind=postgresql\n\
         apicurio.datasource.url=jdbc:postgresql://{LOOPBACK}:{pg_port}/{database}\n\
         apicurio.datasource.username={database}\n\
         apicurio.datasource.password={database}\n\
         # The pools default to 20 (min) / 100 (max) connections: far too many here.\n\
         apicurio.datasource.jdbc.initial-size=2\n\
         apicurio.datasource.jdbc.min-size=2\n\
         apicurio.datasource.jdbc.max-size=10\n\
         # Subject deletion (tests clean up after themselves); off by default.\n\
         apicurio.rest.deletion.group.enabled=true\n\
         apicurio.rest.deletion.artifact.enabled=true\n\
         apicurio.rest.deletion.artifact-version.enabled=true\n\
         # One access-log line per request is noise next to readiness polling.\n\
         quarkus.http.access-log.enabled=false\n",
        port = config.ports.registry,
        management = config.ports.registry_management,
        pg_port = config.ports.postgres,
    );
    fs::write(config_dir.join("application.properties"), properties)
        .context("writing the registry's application.properties")?;
    Ok(())
}

/// Starts the registry in the background; returns its pid.
pub fn start(config: &StackConfig, dist: &Dist) -> Result<u32> {
    let mut command = Command::new(&dist.registry_java);
    command
        .current_dir(work_dir(config))
        // Sized from use: 23 MiB live after a full GC following the bench (it serves schema
        // lookups the services cache after their first).
        // The registry is off the hot path (the services cache schema ids after their first
        // lookup): the serial collector and the client compiler only, for less memory.
        .args([
            "-Xms32m",
            "-Xmx192m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
        ])
        .arg("-Djava.awt.headless=true")
        // Quarkus' JBoss LogManager, as its launcher scripts set it.
        .arg("-Djava.util.logging.manager=org.jboss.logmanager.LogManager")
        .arg("-jar")
        .arg(dist.registry_jar());
    let pid = process::spawn_logged(command, &config.log_file(Component::Registry))?;
    process::write_pid_file(&config.pid_file(Component::Registry), pid)?;
    Ok(pid)
}

/// Ready when the Confluent-compatible API lists subjects.
pub fn is_ready(config: &StackConfig) -> bool {
    http::answers_ok(
        &format!("{}/subjects", ccompat_url(config)),
        Duration::from_secs(2),
    )
}

/// Sets the global compatibility level. Apicurio enforces none until one is set, unlike
/// Confluent's registry (whose default, and the seed's, is FORWARD here).
pub fn set_compatibility(config: &StackConfig) -> Result<()> {
    let url = format!("{}/config", ccompat_url(config));
    let level = &config.registry_compatibility;
    let reply = http::put_json(
        &url,
        &serde_json::json!({ "compatibility": level }),
        Duration::from_secs(10),
    )?;
    if !reply.is_success() {
        bail!(
            "setting the registry's compatibility level to {level} failed: HTTP {} {}",
            reply.status,
            reply.body
        );
    }
    Ok(())
}
