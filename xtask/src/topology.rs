//! The system's topology as xtask needs it, read from the manifests in `contracts/`
//! (`system.toml` and `events.toml`, through the codegen library's parser): service ports and
//! databases, the topics the stack creates, the connectors' slots. Nothing here restates a
//! port, a database, a topic or a group.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use codegen::Manifest;
use codegen::topology::System;

/// The parsed manifests.
#[derive(Debug, Clone)]
pub struct Topology {
    pub system: System,
    pub events: Manifest,
}

/// A topic the stack creates before any connector produces into it, with the settings the
/// manifests declare (`[[topic]]` in events.toml, `[[private_topic]]` in system.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTopic {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u16,
    pub cleanup_policy: String,
}

impl Topology {
    /// Reads and validates `contracts/system.toml` and `contracts/events.toml`.
    pub fn load(contracts: &Path) -> Result<Self> {
        let events = Manifest::load(contracts)
            .map_err(|error| anyhow!("{error}"))
            .with_context(|| format!("reading {}/events.toml", contracts.display()))?;
        let system = System::load(contracts)
            .map_err(|error| anyhow!("{error}"))
            .with_context(|| format!("reading {}/system.toml", contracts.display()))?;
        Ok(Self { system, events })
    }

    /// The service named `name`.
    pub fn service(&self, name: &str) -> Result<&codegen::topology::Service> {
        self.system
            .service(name)
            .with_context(|| format!("contracts/system.toml declares no service {name:?}"))
    }

    /// Every service's database.
    pub fn databases(&self) -> Vec<&str> {
        self.system
            .services
            .iter()
            .map(|service| service.database.as_str())
            .collect()
    }

    /// The databases some connector captures.
    pub fn captured_databases(&self) -> Result<Vec<&str>> {
        let mut databases = Vec::new();
        for connector in &self.system.connectors {
            let database = self.service(&connector.service)?.database.as_str();
            if !databases.contains(&database) {
                databases.push(database);
            }
        }
        Ok(databases)
    }

    /// The public topics and the private topics, each once, with their declared settings
    /// (the system manifest's loader has checked that every event's topic has them).
    pub fn stack_topics(&self) -> Vec<StackTopic> {
        let public = self.system.public_topics.iter().map(|topic| StackTopic {
            name: topic.name.clone(),
            partitions: topic.partitions,
            replication_factor: topic.replication_factor,
            cleanup_policy: topic.cleanup_policy.clone(),
        });
        let private = self.system.private_topics.iter().map(|topic| StackTopic {
            name: topic.name.clone(),
            partitions: topic.partitions,
            replication_factor: topic.replication_factor,
            cleanup_policy: topic.cleanup_policy.clone(),
        });
        public.chain(private).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn this_repository() -> Result<Topology> {
        Topology::load(&crate::project_root().join("contracts"))
    }

    #[test]
    fn the_stack_topics_are_the_event_topics_and_the_private_ones_as_declared() -> Result<()> {
        let topology = this_repository()?;
        let topics = topology.stack_topics();
        for event in &topology.events.events {
            let declared = topology
                .events
                .topic(&event.topic)
                .with_context(|| format!("events.toml declares no [[topic]] {}", event.topic))?;
            assert!(
                topics.contains(&StackTopic {
                    name: declared.name.clone(),
                    partitions: declared.partitions,
                    replication_factor: declared.replication_factor,
                    cleanup_policy: declared.cleanup_policy.clone(),
                }),
                "{} missing from {topics:?}",
                event.topic
            );
            // Entity-state topics keep the latest state per id: compacted.
            assert_eq!(declared.cleanup_policy, "compact", "{}", event.topic);
        }
        for private in &topology.system.private_topics {
            assert!(topics.contains(&StackTopic {
                name: private.name.clone(),
                partitions: private.partitions,
                replication_factor: private.replication_factor,
                cleanup_policy: private.cleanup_policy.clone(),
            }));
        }
        let names: std::collections::BTreeSet<&str> =
            topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), topics.len(), "a topic is listed twice");
        Ok(())
    }

    #[test]
    fn every_connector_captures_a_service_database() -> Result<()> {
        let topology = this_repository()?;
        let captured = topology.captured_databases()?;
        assert!(!captured.is_empty());
        for database in captured {
            assert!(topology.databases().contains(&database));
        }
        Ok(())
    }
}
