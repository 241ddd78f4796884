//! What every service of the system needs, written once.
//!
//! - [`bootstrap`]: a service's start (telemetry, migrations, registration retried in the
//!   background, health, parts) and the [`bootstrap::App`] tests spawn in-process.
//! - [`config`]: settings from the environment, with defaults matching `cargo xtask stack`.
//! - [`telemetry`]: logs, OpenTelemetry traces (when an OTLP endpoint is set) and metrics.
//! - [`trace`]: W3C trace context across HTTP, the outbox, CDC rows and Kafka; the HTTP span.
//! - [`metrics`]: the Prometheus metrics and `/metrics`.
//! - [`codec`]: canonical events ⇄ Confluent-framed Avro through the schema registry.
//! - [`cloudevents`]: CloudEvents 1.0 binary-mode Kafka headers.
//! - [`outbox`]: the transactional outbox writer (rows shaped for Debezium's EventRouter).
//! - [`consumer`]: the consumer runtime: per-partition ordering, inbox de-duplication in the
//!   effect's transaction, retries with backoff, dead letters, graceful shutdown.
//! - [`auth`]: the API user (plaintext or argon2 hash, constant-time), throttled failures.
//! - [`health`]: `/health/`, `/health/live`, `/health/ready`: database, broker, registry
//!   (optional), consumers, start-up steps and the relays (connectors, replication slots).
//! - [`parts`]: a process's consumers and web server, run side by side until shutdown.
//! - [`db`], [`shutdown`]: connection pool with migrations, and signal handling.
//! - [`testing`]: a fresh database per in-process test on the stack's PostgreSQL.
//!
//! The services themselves contain domain logic only.

pub mod auth;
pub mod bootstrap;
pub mod cloudevents;
pub mod codec;
pub mod config;
pub mod consumer;
pub mod conventions;
pub mod db;
pub mod health;
pub mod http;
pub mod metrics;
pub mod outbox;
pub mod pagination;
pub mod parts;
pub mod shutdown;
pub mod telemetry;
pub mod testing;
pub mod trace;
