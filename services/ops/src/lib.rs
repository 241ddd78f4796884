//! The operator's tools for a running system, as a library (the `ops` binary, and the chaos
//! and bench drivers of `xtask-drive`, call it): dead letters ([`dlq`]), the comparison of
//! planning's read model with the sources of truth ([`reconcile`]), rebuilding the read model
//! from the topics ([`rebuild`]), the connectors ([`connectors`]: apply, status, recover),
//! republishing the sources' state after a loss ([`resync`]), and the consumer-group facts
//! they share ([`kafka_groups`]).
//!
//! Configured only by [`config::Endpoints`] (environment variables or flags), never by a
//! checkout or a `.stack/env` file: it runs where the services run.

pub mod config;
pub mod connectors;
pub mod dlq;
pub mod kafka_groups;
pub mod rebuild;
pub mod reconcile;
pub mod resync;
