//! A single-node Kafka 4.x broker in KRaft mode (broker and controller in one JVM).

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::Component;
use super::config::{LOOPBACK, StackConfig};
use super::kafka_protocol::{self, NewTopic, TopicOutcome};
use super::maven::Dist;
use super::process;
use super::system;

/// Partitions of topics the broker creates on its own (a test's scratch topic, say); the
/// system's topics are created with the partitions their manifests declare.
pub const TOPIC_PARTITIONS: i32 = 3;

pub fn bootstrap_servers(config: &StackConfig) -> String {
    format!("{LOOPBACK}:{}", config.ports.kafka)
}

fn address(config: &StackConfig) -> Result<SocketAddr> {
    bootstrap_servers(config)
        .parse()
        .context("building the broker address")
}

fn conf_dir(config: &StackConfig) -> PathBuf {
    config.conf_dir().join("kafka")
}

fn data_dir(config: &StackConfig) -> PathBuf {
    config.data_dir().join("kafka")
}

/// Writes the broker configuration and formats the storage on first start.
pub fn prepare(config: &StackConfig, dist: &Dist) -> Result<()> {
    let conf = conf_dir(config);
    fs::create_dir_all(&conf).with_context(|| format!("creating {}", conf.display()))?;
    let data = data_dir(config);
    fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let ports = &config.ports;
    let properties = format!(
        "# Written by `cargo xtask stack up` on every start; edit xtask/src/stack/kafka.rs.\n\
         process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.bootstrap.servers={LOOPBACK}:{controller}\n\
         listeners=PLAINTEXT://{LOOPBACK}:{kafka},CONTROLLER://{LOOPBACK}:{controller}\n\
         advertised.listeners=PLAINTEXT://{LOOPBACK}:{kafka}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         log.dirs={data}\n\
         # One broker: every internal topic has one replica and an ISR of one.\n\
         default.replication.factor=1\n\
         min.insync.replicas=1\n\
         offsets.topic.replication.factor=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         # Fewer internal partitions: faster first consumer-group and transaction use.\n\
         offsets.topic.num.partitions=10\n\
         transaction.state.log.num.partitions=10\n\
         num.partitions={partitions}\n\
         # Topics are created deliberately (`stack up`, Connect's topic.creation, tests), so a\n\
         # typo in a consumer or producer cannot silently create a non-compacted topic.\n\
         auto.create.topics.enable=false\n\
         # Consumer groups in tests and demos get their partitions at once.\n\
         group.initial.rebalance.delay.ms=0\n\
         num.network.threads=2\n\
         num.io.threads=4\n\
         # The log cleaner (compacted entity topics) keeps its key map on the heap: 128 MiB by\n\
         # default, most of the broker's live heap here. 16 MiB maps about 700,000 keys per\n\
         # cleaning pass, far more than a local stack holds.\n\
         log.cleaner.dedupe.buffer.size=16777216\n",
        controller = ports.kafka_controller,
        kafka = ports.kafka,
        data = data.display(),
        partitions = TOPIC_PARTITIONS,
    );
    fs::write(conf.join("server.properties"), properties).context("writing server.properties")?;
    fs::write(conf.join("log4j2.properties"), log4j2_properties("kafka"))
        .context("writing Kafka's log4j2.properties")?;

    if !data.join("meta.properties").is_file() {
        let cluster_id = new_cluster_id()?;
        process::run_checked(
            Command::new(system::java())
                .args(jvm_logging_args(&conf))
                .args(["-Xmx256m", "-cp"])
                .arg(dist.kafka_classpath())
                .args(["kafka.tools.StorageTool", "format", "--standalone", "-t"])
                .arg(&cluster_id)
                .arg("-c")
                .arg(conf.join("server.properties"))
                .arg("--ignore-formatted"),
            "formatting Kafka's KRaft storage",
        )?;
    }
    Ok(())
}

/// A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 characters).
fn new_cluster_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    use std::io::Read;
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(22);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((buffer >> bits) & 0x3f) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[((buffer << (6 - bits)) & 0x3f) as usize],
        ));
    }
    Ok(out)
}

/// The Log4j 2 configuration of a Kafka-side JVM: everything to stdout (our log file).
pub fn log4j2_properties(name: &str) -> String {
    format!(
        "# Written by `cargo xtask stack up`. A properties file avoids the YAML default,\n\
         # which needs an extra jar.\n\
         name = {name}\n\
         status = warn\n\
         appender.out.type = Console\n\
         appender.out.name = STDOUT\n\
         appender.out.layout.type = PatternLayout\n\
         appender.out.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = INFO\n\
         rootLogger.appenderRef.out.ref = STDOUT\n\
         logger.request.name = kafka.request.logger\n\
         logger.request.level = WARN\n\
         logger.reflections.name = org.reflections\n\
         logger.reflections.level = ERROR\n"
    )
}

/// Points Log4j 2 at the generated configuration in `conf`.
pub fn jvm_logging_args(conf: &std::path::Path) -> Vec<String> {
    vec![format!(
        "-Dlog4j2.configurationFile={}",
        conf.join("log4j2.properties").display()
    )]
}

/// Starts the broker in the background; returns its pid.
pub fn start(config: &StackConfig, dist: &Dist) -> Result<u32> {
    let conf = conf_dir(config);
    let mut command = Command::new(system::java());
    command
        .args([
            // Sized from use: after the bench's ladder and replay the live heap after a full GC
            // was 182 MiB, 159 MiB of it the cleaner's dedupe buffer, now 16 MiB (above).
            "-Xms128m",
            "-Xmx384m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
        ])
        .arg("-Djava.awt.headless=true")
        .args(jvm_logging_args(&conf))
        .arg("-cp")
        .arg(dist.kafka_classpath())
        .arg("kafka.Kafka")
        .arg(conf.join("server.properties"));
    let pid = process::spawn_logged(command, &config.log_file(Component::Kafka))?;
    process::write_pid_file(&config.pid_file(Component::Kafka), pid)?;
    Ok(pid)
}

/// Ready when the broker answers a Metadata request listing itself.
pub fn is_ready(config: &StackConfig) -> bool {
    let Ok(address) = address(config) else {
        return false;
    };
    // The broker only serves clients once it has caught up with the metadata log and is
    // unfenced; it must list itself (node 1 on our port).
    kafka_protocol::metadata(address, Duration::from_secs(2)).is_ok_and(|metadata| {
        metadata
            .brokers
            .iter()
            .any(|broker| broker.node_id == 1 && broker.port == i32::from(config.ports.kafka))
    })
}

/// Creates the stack's topics with the settings the manifests declare (partitions,
/// replication factor, cleanup policy: `[[topic]]` in events.toml, `[[private_topic]]` in
/// system.toml) before any connector produces into them.
pub fn create_topics(config: &StackConfig) -> Result<Vec<(String, TopicOutcome)>> {
    let declared = config.topology.stack_topics();
    let configs: Vec<[(&str, &str); 1]> = declared
        .iter()
        .map(|topic| [("cleanup.policy", topic.cleanup_policy.as_str())])
        .collect();
    let mut topics: Vec<NewTopic<'_>> = Vec::with_capacity(declared.len());
    for (topic, configs) in declared.iter().zip(&configs) {
        topics.push(NewTopic {
            name: &topic.name,
            partitions: i32::try_from(topic.partitions)
                .with_context(|| format!("topic {}: too many partitions", topic.name))?,
            replication_factor: i16::try_from(topic.replication_factor)
                .with_context(|| format!("topic {}: replication factor too large", topic.name))?,
            configs,
        });
    }
    kafka_protocol::create_topics(address(config)?, Duration::from_secs(15), &topics)
        .context("creating the stack's topics")
}
