//! The system's topology as xtask needs it, read from the manifests in `contracts/`
//! (`system.toml` and `events.toml`, through the codegen library's parser): service ports and
//! databases, the topics the stack creates, the connectors' slots. Nothing here restates a
//! port, a database, a topic or a group.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use codegen::Manifest;
use codegen::topology::System;

/// `cleanup.policy` of the public entity topics: they carry the latest full state per entity
/// id (the architecture's invariant), so they are compacted.
pub const ENTITY_TOPIC_CLEANUP: &str = "compact";

/// The parsed manifests.
#[derive(Debug, Clone)]
pub struct Topology {
    pub system: System,
    pub events: Manifest,
}

/// A topic the stack creates before any connector produces into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTopic {
    pub name: String,
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

    /// The public entity topics (compacted) and the private topics (with their declared
    /// cleanup policy), each once.
    pub fn stack_topics(&self) -> Vec<StackTopic> {
        let mut topics: Vec<StackTopic> = Vec::new();
        let public = self.events.events.iter().map(|event| StackTopic {
            name: event.topic.clone(),
            cleanup_policy: ENTITY_TOPIC_CLEANUP.to_owned(),
        });
        let private = self.system.private_topics.iter().map(|topic| StackTopic {
            name: topic.name.clone(),
            cleanup_policy: topic.cleanup_policy.clone(),
        });
        for topic in public.chain(private) {
            if !topics.iter().any(|known| known.name == topic.name) {
                topics.push(topic);
            }
        }
        topics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn this_repository() -> Result<Topology> {
        Topology::load(&crate::project_root().join("contracts"))
    }

    #[test]
    fn the_stack_topics_are_the_event_topics_compacted_and_the_private_ones() -> Result<()> {
        let topology = this_repository()?;
        let topics = topology.stack_topics();
        for event in &topology.events.events {
            assert!(
                topics
                    .iter()
                    .any(|t| t.name == event.topic && t.cleanup_policy == "compact"),
                "{} missing from {topics:?}",
                event.topic
            );
        }
        for private in &topology.system.private_topics {
            assert!(topics.contains(&StackTopic {
                name: private.name.clone(),
                cleanup_policy: private.cleanup_policy.clone(),
            }));
        }
        assert_eq!(
            topics.len(),
            topology.events.events.len() + topology.system.private_topics.len()
        );
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
