//! Kafka Connect as a distributed worker (REST on loopback), with the Debezium PostgreSQL
//! connector plugin under its `plugin.path`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::Component;
use super::config::{LOOPBACK, StackConfig};
use super::kafka;
use super::maven::Dist;
use super::process;
use super::system;

pub fn url(config: &StackConfig) -> String {
    format!("http://{LOOPBACK}:{}", config.ports.connect)
}

fn conf_dir(config: &StackConfig) -> PathBuf {
    config.conf_dir().join("connect")
}

/// Writes the worker configuration.
pub fn prepare(config: &StackConfig, dist: &Dist) -> Result<()> {
    let conf = conf_dir(config);
    fs::create_dir_all(&conf).with_context(|| format!("creating {}", conf.display()))?;
    let properties = format!(
        "# Written by `cargo xtask stack up` on every start; edit xtask/src/stack/connect.rs.\n\
         bootstrap.servers={bootstrap}\n\
         group.id=stack-connect\n\
         listeners=http://{LOOPBACK}:{port}\n\
         rest.advertised.host.name={LOOPBACK}\n\
         rest.advertised.port={port}\n\
         # Defaults for connectors that set none; ours set their converters explicitly.\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable=false\n\
         # Internal topics: compacted, one replica on a single broker, few partitions.\n\
         config.storage.topic=_connect_configs\n\
         config.storage.replication.factor=1\n\
         offset.storage.topic=_connect_offsets\n\
         offset.storage.replication.factor=1\n\
         offset.storage.partitions=5\n\
         status.storage.topic=_connect_status\n\
         status.storage.replication.factor=1\n\
         status.storage.partitions=1\n\
         # Commit source offsets (the replication slot's confirmed LSN) every second, so a\n\
         # killed worker replays little.\n\
         offset.flush.interval.ms=1000\n\
         # A restarted worker is a new group member; without this the tasks of the \"lost\"\n\
         # one stay unassigned for up to 5 minutes (incremental cooperative rebalancing).\n\
         scheduled.rebalance.max.delay.ms=0\n\
         plugin.path={plugins}\n\
         # ServiceLoader manifests instead of classpath scanning: much faster start.\n\
         plugin.discovery=service_load\n",
        bootstrap = kafka::bootstrap_servers(config),
        port = config.ports.connect,
        plugins = dist.connect_plugins.display(),
    );
    fs::write(conf.join("connect-distributed.properties"), properties)
        .context("writing connect-distributed.properties")?;
    fs::write(
        conf.join("log4j2.properties"),
        kafka::log4j2_properties("connect"),
    )
    .context("writing Connect's log4j2.properties")?;
    Ok(())
}

/// Starts the worker in the background; returns its pid.
pub fn start(config: &StackConfig, dist: &Dist) -> Result<u32> {
    let conf = conf_dir(config);
    let mut command = Command::new(system::java());
    command
        .args([
            // Sized from use: 28 MiB live after a full GC following the bench's ladder (three
            // connectors); the rest is room for batches in flight.
            "-Xms64m",
            "-Xmx256m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
        ])
        .arg("-Djava.awt.headless=true")
        .args(kafka::jvm_logging_args(&conf))
        .arg("-cp")
        .arg(dist.kafka_classpath())
        .arg("org.apache.kafka.connect.cli.ConnectDistributed")
        .arg(conf.join("connect-distributed.properties"));
    let pid = process::spawn_logged(command, &config.log_file(Component::Connect))?;
    process::write_pid_file(&config.pid_file(Component::Connect), pid)?;
    Ok(pid)
}

/// Ready when the REST API lists connectors (it answers 503 while the worker joins).
pub fn is_ready(config: &StackConfig) -> bool {
    super::http::answers_ok(
        &format!("{}/connectors", url(config)),
        Duration::from_secs(2),
    )
}
