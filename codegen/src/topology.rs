//! `contracts/system.toml`: the system's topology — which services run (name, API spec,
//! database, default port), what each consumer group reads, the private topics and the
//! Debezium connectors that feed the topics.
//!
//! [`System::load`] parses the manifest and checks it against `events.toml` (every event
//! named exists, every producer is a declared service and relayed by exactly one outbox
//! connector, groups, ports, databases, slots and publications unique, each connector's
//! declaration agrees with its slot, publication, table and database). Every problem is
//! reported, each with the file and the key path (`system.toml#/subscription/1/event`).
//!
//! [`generate`] turns a loaded [`System`] into `generated/src/topology.rs` (typed constants
//! and the topology as a `&'static` table) and, per subscribing service, the consumer trait
//! and its wiring (`generated/src/consumers.rs`, behind the `consumers` feature).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::manifest::{CLEANUP_POLICIES, TopicSpec};
use crate::{CodegenError, EventSpec, Manifest, Result};

pub const SYSTEM_FILE: &str = "system.toml";

/// The parsed and validated system manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    pub services: Vec<Service>,
    pub subscriptions: Vec<Subscription>,
    /// The events' topics with their settings (`[[topic]]` of events.toml, one per topic).
    pub public_topics: Vec<TopicSpec>,
    pub private_topics: Vec<PrivateTopic>,
    pub connectors: Vec<Connector>,
}

/// One service: a process (or a web and a consumer process) with its own database.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// snake_case name, e.g. `person`; also the name of its generated API module's stem.
    pub name: String,
    /// OpenAPI spec of its REST API, relative to `contracts/`; none for a consumer-only
    /// service.
    pub api: Option<PathBuf>,
    /// Its own PostgreSQL database (and the role that owns it).
    pub database: String,
    /// Default port of its HTTP server (REST API and `/health/`).
    pub port: u16,
}

/// One consumer group of one service and what it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub service: String,
    pub group: String,
    /// The event type read (from `events.toml`), for `entity` subscriptions.
    pub event: Option<String>,
    /// The topic read: the event's topic, or the private topic named in the manifest.
    pub topic: String,
    pub kind: SubscriptionKind,
}

/// What a subscription does with each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionKind {
    /// Full entity state keyed by id: an upsert per value, a delete per tombstone.
    Entity,
    /// A Debezium change-data-capture envelope of a table.
    Cdc,
}

impl SubscriptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entity => "entity",
            Self::Cdc => "cdc",
        }
    }

    fn variant(self) -> &'static str {
        match self {
            Self::Entity => "Entity",
            Self::Cdc => "Cdc",
        }
    }
}

/// A topic that is not a contract: written by a connector, read only by its owner.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateTopic {
    pub name: String,
    /// The only service that reads it.
    pub owner: String,
    /// The connector that writes it.
    pub connector: String,
    /// Message format, e.g. `debezium-json`.
    pub format: String,
    /// Number of partitions it is created with.
    pub partitions: u32,
    /// Copies of each partition the brokers keep.
    pub replication_factor: u16,
    /// Kafka `cleanup.policy` (`delete` or `compact`).
    pub cleanup_policy: String,
}

/// A Debezium connector of one service's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    pub name: String,
    pub role: ConnectorRole,
    pub service: String,
    /// Its declaration (ksqlDB `CREATE SOURCE CONNECTOR`), relative to the repository root.
    pub declaration: PathBuf,
    /// Replication slot and publication it owns in the service's database.
    pub slot: String,
    pub publication: String,
    /// The captured table, e.g. `public.outbox`.
    pub table: String,
    /// Outbox role: the event types it relays.
    pub events: Vec<String>,
    /// CDC role: the private topics it writes.
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectorRole {
    /// Relays the service's outbox table onto the events' topics (Debezium's EventRouter).
    Outbox,
    /// Captures a table onto a private topic.
    Cdc,
}

impl ConnectorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::Cdc => "cdc",
        }
    }

    fn variant(self) -> &'static str {
        match self {
            Self::Outbox => "Outbox",
            Self::Cdc => "Cdc",
        }
    }
}

// The TOML as written; converted into the public types once validated.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    #[serde(default, rename = "service")]
    services: Vec<Service>,
    #[serde(default, rename = "subscription")]
    subscriptions: Vec<RawSubscription>,
    #[serde(default, rename = "private_topic")]
    private_topics: Vec<PrivateTopic>,
    #[serde(default, rename = "connector")]
    connectors: Vec<RawConnector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscription {
    service: String,
    group: String,
    event: Option<String>,
    topic: Option<String>,
    kind: SubscriptionKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    name: String,
    role: ConnectorRole,
    service: String,
    declaration: PathBuf,
    slot: String,
    publication: String,
    table: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    topics: Vec<String>,
}

impl System {
    /// Reads `contracts/system.toml` and checks it against `contracts/events.toml`; the error
    /// is the first problem found (see [`System::load_all`] for every one).
    pub fn load(contracts: &Path) -> Result<Self> {
        let manifest = Manifest::load(contracts)?;
        Self::load_all(contracts, &manifest).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Reads `contracts/system.toml` and checks it against `manifest`; every problem found.
    pub fn load_all(
        contracts: &Path,
        manifest: &Manifest,
    ) -> std::result::Result<Self, Vec<CodegenError>> {
        let file = contracts.join(SYSTEM_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| vec![CodegenError::io(&file, e)])?;
        Self::parse(&text, &file, contracts, manifest)
    }

    /// Parses the manifest text of `file`; files it names are resolved from `contracts`
    /// (API specs) and its parent, the repository root (connector declarations).
    pub fn parse(
        text: &str,
        file: &Path,
        contracts: &Path,
        manifest: &Manifest,
    ) -> std::result::Result<Self, Vec<CodegenError>> {
        let raw: RawSystem = toml::from_str(text).map_err(|e| {
            vec![CodegenError::Parse {
                file: file.to_path_buf(),
                message: e.to_string(),
            }]
        })?;
        let mut check = Checker {
            file,
            errors: Vec::new(),
        };
        let root = contracts.parent().unwrap_or(Path::new("."));
        let system = check.system(raw, contracts, root, manifest);
        if check.errors.is_empty() {
            Ok(system)
        } else {
            Err(check.errors)
        }
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The subscriptions of `service`, in manifest order.
    pub fn subscriptions_of<'a>(
        &'a self,
        service: &'a str,
    ) -> impl Iterator<Item = &'a Subscription> + 'a {
        self.subscriptions
            .iter()
            .filter(move |s| s.service == service)
    }

    pub fn connector(&self, name: &str) -> Option<&Connector> {
        self.connectors.iter().find(|c| c.name == name)
    }
}

struct Checker<'a> {
    file: &'a Path,
    errors: Vec<CodegenError>,
}

fn is_snake_case(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Kafka topic and group names: letters, digits, `.`, `_`, `-`.
fn is_kafka_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 249
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Checker<'_> {
    fn error(&mut self, pointer: String, what: impl Into<String>) {
        self.errors
            .push(CodegenError::invalid(self.file, pointer, what));
    }

    /// Records a duplicate of `value` seen first at `first`.
    fn unique<'v>(
        &mut self,
        seen: &mut BTreeMap<&'v str, String>,
        value: &'v str,
        pointer: String,
        what: &str,
    ) {
        if let Some(first) = seen.get(value) {
            self.error(
                pointer,
                format!("{what} `{value}` already declared at {first}"),
            );
        } else {
            seen.insert(value, pointer);
        }
    }

    fn system(
        &mut self,
        raw: RawSystem,
        contracts: &Path,
        root: &Path,
        manifest: &Manifest,
    ) -> System {
        let events: BTreeMap<&str, &EventSpec> = manifest
            .events
            .iter()
            .map(|e| (e.event_type.as_str(), e))
            .collect();

        // Services.
        let (mut names, mut ports, mut databases) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let port_texts: Vec<String> = raw.services.iter().map(|s| s.port.to_string()).collect();
        for (i, service) in raw.services.iter().enumerate() {
            let at = format!("/service/{i}");
            if !is_snake_case(&service.name) {
                self.error(format!("{at}/name"), "service name must be snake_case");
            }
            self.unique(&mut names, &service.name, format!("{at}/name"), "service");
            self.unique(&mut ports, &port_texts[i], format!("{at}/port"), "port");
            self.unique(
                &mut databases,
                &service.database,
                format!("{at}/database"),
                "database",
            );
            if service.port == 0 {
                self.error(format!("{at}/port"), "port 0 is not a default port");
            }
            if !is_snake_case(&service.database) {
                self.error(
                    format!("{at}/database"),
                    "database name must be snake_case (it is also a PostgreSQL role)",
                );
            }
            if let Some(api) = &service.api
                && !contracts.join(api).is_file()
            {
                self.error(
                    format!("{at}/api"),
                    format!("no such spec: contracts/{}", api.display()),
                );
            }
        }
        let services: BTreeSet<&str> = raw.services.iter().map(|s| s.name.as_str()).collect();
        for (i, event) in manifest.events.iter().enumerate() {
            if !services.contains(event.producer.as_str()) {
                self.errors.push(CodegenError::invalid(
                    contracts.join(crate::manifest::MANIFEST_FILE),
                    format!("/event/{i}/producer"),
                    format!(
                        "producer `{}` is not a service of {SYSTEM_FILE}",
                        event.producer
                    ),
                ));
            }
        }

        // Public topics: the system creates every event's topic, so each has its settings.
        let mut public_topics: Vec<TopicSpec> = Vec::new();
        for (i, event) in manifest.events.iter().enumerate() {
            if public_topics.iter().any(|t| t.name == event.topic) {
                continue;
            }
            match manifest.topic(&event.topic) {
                Some(topic) => public_topics.push(topic.clone()),
                None => self.errors.push(
                    CodegenError::invalid(
                        contracts.join(crate::manifest::MANIFEST_FILE),
                        format!("/event/{i}/topic"),
                        format!("topic `{}` has no `[[topic]]` settings", event.topic),
                    )
                    .with_fix(format!(
                        "add `[[topic]]` with `name = \"{}\"`, `partitions`, `replication_factor` and `cleanup_policy`",
                        event.topic
                    )),
                ),
            }
        }

        // Private topics.
        let mut private_names = BTreeMap::new();
        let event_topics: BTreeSet<&str> =
            manifest.events.iter().map(|e| e.topic.as_str()).collect();
        let connector_names: BTreeMap<&str, &RawConnector> = raw
            .connectors
            .iter()
            .map(|c| (c.name.as_str(), c))
            .collect();
        for (i, topic) in raw.private_topics.iter().enumerate() {
            let at = format!("/private_topic/{i}");
            self.unique(
                &mut private_names,
                &topic.name,
                format!("{at}/name"),
                "private topic",
            );
            if !is_kafka_name(&topic.name) {
                self.error(format!("{at}/name"), "not a Kafka topic name");
            }
            if event_topics.contains(topic.name.as_str()) {
                self.error(
                    format!("{at}/name"),
                    format!("`{}` is the topic of an event in events.toml", topic.name),
                );
            }
            if !services.contains(topic.owner.as_str()) {
                self.error(
                    format!("{at}/owner"),
                    format!("unknown service `{}`", topic.owner),
                );
            }
            match connector_names.get(topic.connector.as_str()) {
                None => self.error(
                    format!("{at}/connector"),
                    format!("unknown connector `{}`", topic.connector),
                ),
                Some(c) if !c.topics.contains(&topic.name) => self.error(
                    format!("{at}/connector"),
                    format!(
                        "connector `{}` does not list `{}` in its `topics`",
                        c.name, topic.name
                    ),
                ),
                Some(_) => {}
            }
            if topic.partitions == 0 {
                self.error(
                    format!("{at}/partitions"),
                    "a topic needs at least one partition",
                );
            }
            if topic.replication_factor == 0 {
                self.error(
                    format!("{at}/replication_factor"),
                    "a topic needs at least one replica",
                );
            }
            if !CLEANUP_POLICIES.contains(&topic.cleanup_policy.as_str()) {
                self.error(
                    format!("{at}/cleanup_policy"),
                    "cleanup_policy must be `delete` or `compact`",
                );
            }
            if topic.format != "debezium-json" {
                self.error(
                    format!("{at}/format"),
                    format!(
                        "unsupported format `{}` (supported: debezium-json)",
                        topic.format
                    ),
                );
            }
        }
        let private: BTreeMap<&str, &PrivateTopic> = raw
            .private_topics
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();

        // Subscriptions.
        let mut groups = BTreeMap::new();
        let mut reads = BTreeMap::new();
        let mut subscriptions = Vec::new();
        for (i, sub) in raw.subscriptions.iter().enumerate() {
            let at = format!("/subscription/{i}");
            if !services.contains(sub.service.as_str()) {
                self.error(
                    format!("{at}/service"),
                    format!("unknown service `{}`", sub.service),
                );
            }
            if !is_kafka_name(&sub.group) {
                self.error(format!("{at}/group"), "not a Kafka consumer group id");
            }
            self.unique(
                &mut groups,
                &sub.group,
                format!("{at}/group"),
                "consumer group",
            );
            let topic = match (&sub.event, &sub.topic, sub.kind) {
                (Some(_), Some(_), _) | (None, None, _) => {
                    self.error(at.clone(), "give exactly one of `event` and `topic`");
                    None
                }
                (Some(event), None, SubscriptionKind::Entity) => match events.get(event.as_str()) {
                    Some(spec) => Some(spec.topic.clone()),
                    None => {
                        self.error(
                            format!("{at}/event"),
                            format!("unknown event `{event}` (not in events.toml)"),
                        );
                        None
                    }
                },
                (Some(_), None, SubscriptionKind::Cdc) => {
                    self.error(
                        format!("{at}/kind"),
                        "a `cdc` subscription reads a private `topic`, not an `event`",
                    );
                    None
                }
                (None, Some(topic), SubscriptionKind::Cdc) => match private.get(topic.as_str()) {
                    Some(t) if t.owner != sub.service => {
                        self.error(
                            format!("{at}/topic"),
                            format!(
                                "private topic `{topic}` belongs to `{}`, not `{}`",
                                t.owner, sub.service
                            ),
                        );
                        None
                    }
                    Some(_) => Some(topic.clone()),
                    None => {
                        self.error(
                            format!("{at}/topic"),
                            format!("unknown private topic `{topic}`"),
                        );
                        None
                    }
                },
                (None, Some(_), SubscriptionKind::Entity) => {
                    self.error(
                        format!("{at}/kind"),
                        "an `entity` subscription names the `event` it reads",
                    );
                    None
                }
            };
            let Some(topic) = topic else { continue };
            let read = format!("{}/{topic}", sub.service);
            if let Some(first) = reads.get(&read) {
                self.error(
                    at.clone(),
                    format!(
                        "`{}` already reads `{topic}` at {first}; one group per topic and service",
                        sub.service
                    ),
                );
            } else {
                reads.insert(read, at.clone());
            }
            subscriptions.push(Subscription {
                service: sub.service.clone(),
                group: sub.group.clone(),
                event: sub.event.clone(),
                topic,
                kind: sub.kind,
            });
        }

        // Connectors.
        let databases: BTreeMap<&str, &str> = raw
            .services
            .iter()
            .map(|s| (s.name.as_str(), s.database.as_str()))
            .collect();
        let (mut connector_seen, mut slots, mut publications) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut relayed: BTreeMap<&str, String> = BTreeMap::new();
        let mut connectors = Vec::new();
        for (i, c) in raw.connectors.iter().enumerate() {
            let at = format!("/connector/{i}");
            self.unique(
                &mut connector_seen,
                &c.name,
                format!("{at}/name"),
                "connector",
            );
            self.unique(
                &mut slots,
                &c.slot,
                format!("{at}/slot"),
                "replication slot",
            );
            self.unique(
                &mut publications,
                &c.publication,
                format!("{at}/publication"),
                "publication",
            );
            if !is_snake_case(&c.slot) {
                self.error(
                    format!("{at}/slot"),
                    "slot names are lower-case letters, digits and `_` (PostgreSQL's rule)",
                );
            }
            let database = databases.get(c.service.as_str()).copied();
            if database.is_none() {
                self.error(
                    format!("{at}/service"),
                    format!("unknown service `{}`", c.service),
                );
            }
            match c.role {
                ConnectorRole::Outbox => {
                    if c.events.is_empty() {
                        self.error(format!("{at}/events"), "an outbox connector relays events");
                    }
                    if !c.topics.is_empty() {
                        self.error(
                            format!("{at}/topics"),
                            "an outbox connector writes the `events`' topics, not private topics",
                        );
                    }
                    for (j, event) in c.events.iter().enumerate() {
                        let pointer = format!("{at}/events/{j}");
                        match events.get(event.as_str()) {
                            None => self.error(
                                pointer,
                                format!("unknown event `{event}` (not in events.toml)"),
                            ),
                            Some(spec) if spec.producer != c.service => self.error(
                                pointer,
                                format!(
                                    "`{event}` is produced by `{}`, not `{}`",
                                    spec.producer, c.service
                                ),
                            ),
                            Some(_) => {
                                if let Some(first) = relayed.get(event.as_str()) {
                                    self.error(
                                        pointer,
                                        format!("`{event}` is already relayed by {first}"),
                                    );
                                } else {
                                    relayed.insert(event, pointer);
                                }
                            }
                        }
                    }
                }
                ConnectorRole::Cdc => {
                    if c.topics.is_empty() {
                        self.error(
                            format!("{at}/topics"),
                            "a cdc connector writes private topics",
                        );
                    }
                    if !c.events.is_empty() {
                        self.error(
                            format!("{at}/events"),
                            "a cdc connector writes private topics, not events",
                        );
                    }
                    for (j, topic) in c.topics.iter().enumerate() {
                        match private.get(topic.as_str()) {
                            None => self.error(
                                format!("{at}/topics/{j}"),
                                format!("unknown private topic `{topic}`"),
                            ),
                            Some(t) if t.connector != c.name => self.error(
                                format!("{at}/topics/{j}"),
                                format!(
                                    "private topic `{topic}` names connector `{}`",
                                    t.connector
                                ),
                            ),
                            Some(_) => {}
                        }
                    }
                }
            }
            if let Some(database) = database {
                self.declaration(c, &at, root, database);
            }
            connectors.push(Connector {
                name: c.name.clone(),
                role: c.role,
                service: c.service.clone(),
                declaration: c.declaration.clone(),
                slot: c.slot.clone(),
                publication: c.publication.clone(),
                table: c.table.clone(),
                events: c.events.clone(),
                topics: c.topics.clone(),
            });
        }
        for (i, event) in manifest.events.iter().enumerate() {
            if !relayed.contains_key(event.event_type.as_str()) {
                self.errors.push(CodegenError::invalid(
                    self.file,
                    "/connector",
                    format!(
                        "no outbox connector relays `{}` (events.toml#/event/{i})",
                        event.event_type
                    ),
                ));
            }
        }

        System {
            services: raw.services,
            subscriptions,
            public_topics,
            private_topics: raw.private_topics,
            connectors,
        }
    }

    /// The declaration restates the connector's name, slot, publication, table and
    /// database for Kafka Connect: they must agree with the manifest.
    fn declaration(&mut self, c: &RawConnector, at: &str, root: &Path, database: &str) {
        let path = root.join(&c.declaration);
        let Ok(text) = std::fs::read_to_string(&path) else {
            self.error(
                format!("{at}/declaration"),
                format!("cannot read {}", c.declaration.display()),
            );
            return;
        };
        let statement = format!("CREATE SOURCE CONNECTOR IF NOT EXISTS {} WITH", c.name);
        if !text.contains(&statement) {
            self.error(
                format!("{at}/declaration"),
                format!(
                    "{} does not declare `{statement} (...)`",
                    c.declaration.display()
                ),
            );
        }
        for (key, field, expected) in [
            ("slot.name", "slot", c.slot.as_str()),
            ("publication.name", "publication", c.publication.as_str()),
            ("table.include.list", "table", c.table.as_str()),
            ("database.dbname", "service", database),
        ] {
            let setting = format!("'{key}' = '{expected}'");
            if !text.contains(&setting) {
                self.error(
                    format!("{at}/{field}"),
                    format!("{} does not set {setting}", c.declaration.display()),
                );
            }
        }
    }
}

/// Rust identifier of a name: `planning-consumer-1` → `planning_consumer_1`.
pub fn ident(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn upper(name: &str) -> String {
    ident(name).to_ascii_uppercase()
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn opt_lit(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), |s| format!("Some({s:?})"))
}

fn list_lit(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| lit(s)).collect();
    format!("&[{}]", inner.join(", "))
}

/// The const name of a subscription inside its service's module: the event type, or the
/// private topic.
pub fn subscription_const(sub: &Subscription) -> String {
    upper(sub.event.as_deref().unwrap_or(&sub.topic))
}

/// `generated/src/topology.rs`: typed constants and the topology as data.
pub fn generate(system: &System) -> String {
    let mut out = String::new();
    out.push_str(
        "//! The system's topology, from `contracts/system.toml`: services (name, database,\n\
         //! default port), consumer groups and the topics they read, private topics and the\n\
         //! Debezium connectors. Services, e2e and the operator CLI name a group, a topic or\n\
         //! a port only through these constants; [`SYSTEM`] is the whole topology as data.\n\n",
    );
    out.push_str(TYPES);

    for service in &system.services {
        let module = ident(&service.name);
        let _ = writeln!(
            out,
            "\n/// The `{}` service and what it consumes.\npub mod {module} {{\n    use super::*;\n",
            service.name
        );
        let _ = writeln!(
            out,
            "    pub const SERVICE: Service = Service {{ name: {}, api: {}, database: {}, port: {} }};\n",
            lit(&service.name),
            opt_lit(
                service
                    .api
                    .as_ref()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .as_deref()
            ),
            lit(&service.database),
            service.port
        );
        let _ = writeln!(
            out,
            "    pub const NAME: &str = SERVICE.name;\n    pub const DATABASE: &str = SERVICE.database;\n    pub const PORT: u16 = SERVICE.port;\n"
        );
        let subs: Vec<&Subscription> = system.subscriptions_of(&service.name).collect();
        if !subs.is_empty() {
            out.push_str("    /// Its consumer groups, one per topic it reads.\n    pub mod subscriptions {\n        use super::super::*;\n\n");
            for sub in &subs {
                let _ = writeln!(
                    out,
                    "        /// Group `{}` reads `{}` ({}).\n        pub const {}: Subscription = {};\n",
                    sub.group,
                    sub.topic,
                    sub.kind.as_str(),
                    subscription_const(sub),
                    subscription_lit(sub)
                );
            }
            out.push_str("    }\n\n");
        }
        let _ = writeln!(
            out,
            "    /// Every subscription of the service.\n    pub const SUBSCRIPTIONS: &[Subscription] = &[{}];\n",
            subs.iter()
                .map(|s| format!("subscriptions::{}", subscription_const(s)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        out.push_str("}\n");
    }

    out.push_str("\n/// The topics canonical events are published to, with their settings (`[[topic]]` of\n/// events.toml).\npub mod public_topics {\n    use super::*;\n\n");
    for topic in &system.public_topics {
        let _ = writeln!(
            out,
            "    pub const {}: PublicTopic = PublicTopic {{ name: {}, partitions: {}, replication_factor: {}, cleanup_policy: {} }};\n",
            upper(&topic.name),
            lit(&topic.name),
            topic.partitions,
            topic.replication_factor,
            lit(&topic.cleanup_policy)
        );
    }
    out.push_str("}\n");

    out.push_str("\n/// Topics that are not contracts, each read only by its owner.\npub mod private_topics {\n    use super::*;\n\n");
    for topic in &system.private_topics {
        let _ = writeln!(
            out,
            "    pub const {}: PrivateTopic = PrivateTopic {{ name: {}, owner: {}, connector: {}, format: {}, partitions: {}, replication_factor: {}, cleanup_policy: {} }};\n",
            upper(&topic.name),
            lit(&topic.name),
            lit(&topic.owner),
            lit(&topic.connector),
            lit(&topic.format),
            topic.partitions,
            topic.replication_factor,
            lit(&topic.cleanup_policy)
        );
    }
    out.push_str("}\n");

    out.push_str("\n/// The Debezium connectors, declared under `ksqldb/`.\npub mod connectors {\n    use super::*;\n\n");
    for c in &system.connectors {
        let _ = writeln!(
            out,
            "    pub const {}: Connector = Connector {{ name: {}, role: ConnectorRole::{}, service: {}, declaration: {}, slot: {}, publication: {}, table: {}, events: {}, topics: {} }};\n",
            upper(&c.name),
            lit(&c.name),
            c.role.variant(),
            lit(&c.service),
            lit(&c.declaration.to_string_lossy().replace('\\', "/")),
            lit(&c.slot),
            lit(&c.publication),
            lit(&c.table),
            list_lit(&c.events),
            list_lit(&c.topics)
        );
    }
    out.push_str("}\n");

    let services: Vec<String> = system
        .services
        .iter()
        .map(|s| format!("{}::SERVICE", ident(&s.name)))
        .collect();
    let subscriptions: Vec<String> = system
        .subscriptions
        .iter()
        .map(|s| {
            format!(
                "{}::subscriptions::{}",
                ident(&s.service),
                subscription_const(s)
            )
        })
        .collect();
    let public_topics: Vec<String> = system
        .public_topics
        .iter()
        .map(|t| format!("public_topics::{}", upper(&t.name)))
        .collect();
    let topics: Vec<String> = system
        .private_topics
        .iter()
        .map(|t| format!("private_topics::{}", upper(&t.name)))
        .collect();
    let connectors: Vec<String> = system
        .connectors
        .iter()
        .map(|c| format!("connectors::{}", upper(&c.name)))
        .collect();
    let _ = writeln!(
        out,
        "\n/// The whole topology, in manifest order.\npub const SYSTEM: System = System {{\n    services: &[{}],\n    subscriptions: &[{}],\n    public_topics: &[{}],\n    private_topics: &[{}],\n    connectors: &[{}],\n}};",
        services.join(", "),
        subscriptions.join(", "),
        public_topics.join(", "),
        topics.join(", "),
        connectors.join(", ")
    );
    out
}

fn subscription_lit(sub: &Subscription) -> String {
    format!(
        "Subscription {{ service: {}, group: {}, event: {}, topic: {}, kind: SubscriptionKind::{} }}",
        lit(&sub.service),
        lit(&sub.group),
        opt_lit(sub.event.as_deref()),
        lit(&sub.topic),
        sub.kind.variant()
    )
}

/// `generated/src/consumers.rs` (feature `consumers`): per subscribing service, a trait
/// with one method per thing it consumes, and `spawn`, which runs one consumer group per
/// subscription with the kit's runtime. The service implements the trait and never names a
/// group or a topic; a new subscription adds methods the compiler asks for.
/// `event_types` are the Rust types of the manifest's events, in order.
pub fn generate_consumers(system: &System, manifest: &Manifest, event_types: &[String]) -> String {
    let mut out = String::from(
        "//! The consumer side of `contracts/system.toml`: per subscribing service, the trait it\n\
         //! implements (one method per consumed event: `upsert_*` for a state, `delete_*` for a\n\
         //! tombstone; for a private CDC topic, the handler of its own format) and `spawn`, which\n\
         //! runs one consumer group per subscription with the kit's consumer runtime (inbox\n\
         //! de-duplication, retries, dead letters). Every method runs inside the transaction\n\
         //! that records the message in the inbox.\n\
         //!\n\
         //! The runtime applies what a partition has ready as one batch, in one transaction:\n\
         //! `apply_*_batch` gets the batch's changes of one entity topic in partition order. By\n\
         //! default it calls `upsert_*` and `delete_*` for each change in turn; a service\n\
         //! overrides it with set operations (multi-row upserts and deletes), usually over\n\
         //! [`collapse`](service_kit::consumer::entity::collapse), which gives each entity's\n\
         //! net effect. `upsert_*` and `delete_*` stay: a batch that fails for good (a poison\n\
         //! message) is applied again one message at a time through them.\n\n\
         use std::future::Future;\nuse std::sync::Arc;\n\n\
         use service_kit::codec::EventCodec;\n\
         use service_kit::consumer::entity::{decode_entity, EntityChange};\n\
         use service_kit::consumer::{BatchItem, HandleError, Handler, RawEvent};\n\
         use service_kit::parts::ServiceParts;\n\
         use sqlx::PgConnection;\nuse uuid::Uuid;\n",
    );
    for service in &system.services {
        let subs: Vec<&Subscription> = system.subscriptions_of(&service.name).collect();
        if subs.is_empty() {
            continue;
        }
        let module = ident(&service.name);
        let trait_name = format!("{}Consumer", camel(&service.name));
        let mut methods = String::new();
        let mut spawns = String::new();
        let mut handlers = String::new();
        for sub in &subs {
            let constant = format!(
                "crate::topology::{module}::subscriptions::{}",
                subscription_const(sub)
            );
            let handler = camel(sub.event.as_deref().unwrap_or(&sub.topic));
            match (sub.kind, &sub.event) {
                (SubscriptionKind::Entity, Some(event)) => {
                    let Some(record) = manifest
                        .events
                        .iter()
                        .position(|e| &e.event_type == event)
                        .and_then(|i| event_types.get(i))
                    else {
                        continue;
                    };
                    let entity = snake(record);
                    let _ = write!(
                        methods,
                        "    /// `{event}` (topic `{topic}`, group `{group}`):\n    \
                         /// the full state of a {noun}, applied as an upsert.\n    \
                         fn upsert_{entity}(&self, tx: &mut PgConnection, {entity}: &crate::events::{record}) -> impl Future<Output = Result<(), HandleError>> + Send;\n\n    \
                         /// A tombstone on `{topic}`: the {noun} `id` was deleted.\n    \
                         fn delete_{entity}(&self, tx: &mut PgConnection, id: Uuid) -> impl Future<Output = Result<(), HandleError>> + Send;\n\n    \
                         /// A batch of changes on `{topic}`, in partition order, in one transaction: by\n    \
                         /// default each through `upsert_{entity}` or `delete_{entity}` in turn. Override it\n    \
                         /// with set operations that leave the same state (the last change of an id wins).\n    \
                         fn apply_{entity}_batch(&self, tx: &mut PgConnection, changes: &[&EntityChange<crate::events::{record}>]) -> impl Future<Output = Result<(), HandleError>> + Send {{\n        \
                         async move {{\n            \
                         for change in changes {{\n                \
                         match change {{\n                    \
                         EntityChange::Upsert({entity}) => self.upsert_{entity}(tx, {entity}).await?,\n                    \
                         EntityChange::Deleted(id) => self.delete_{entity}(tx, *id).await?,\n                \
                         }}\n            }}\n            Ok(())\n        }}\n    }}\n\n",
                        topic = sub.topic,
                        group = sub.group,
                        noun = entity.replace('_', " "),
                    );
                    let _ = write!(
                        handlers,
                        "/// Reads `{event}` for [`{trait_name}`].\nstruct {handler}<C> {{\n    consumer: Arc<C>,\n    codec: Arc<EventCodec>,\n}}\n\n\
                         impl<C: {trait_name}> Handler for {handler}<C> {{\n    type Event = EntityChange<crate::events::{record}>;\n\n    \
                         async fn decode(&self, raw: &RawEvent) -> Result<Self::Event, HandleError> {{\n        decode_entity(&self.codec, raw).await\n    }}\n\n    \
                         async fn apply(&self, tx: &mut PgConnection, change: &Self::Event, _raw: &RawEvent) -> Result<(), HandleError> {{\n        \
                         match change {{\n            EntityChange::Upsert({entity}) => self.consumer.upsert_{entity}(tx, {entity}).await,\n            \
                         EntityChange::Deleted(id) => self.consumer.delete_{entity}(tx, *id).await,\n        }}\n    }}\n\n    \
                         async fn apply_batch(&self, tx: &mut PgConnection, batch: &[BatchItem<'_, Self::Event>]) -> Result<(), HandleError> {{\n        \
                         let changes: Vec<&Self::Event> = batch.iter().map(|item| &item.event).collect();\n        \
                         self.consumer.apply_{entity}_batch(tx, &changes).await\n    }}\n}}\n\n"
                    );
                    let _ = writeln!(
                        spawns,
                        "    parts.spawn_subscription({constant}.group, {constant}.topic, {handler} {{ consumer: consumer.clone(), codec: codec.clone() }});"
                    );
                }
                _ => {
                    let method = ident(&sub.topic);
                    let _ = write!(
                        methods,
                        "    /// The handler of `{topic}` (group `{group}`, {kind}):\n    \
                         /// a private topic, whose format the service reads itself.\n    \
                         type {handler}: Handler;\n\n    \
                         /// The handler that reads `{topic}`.\n    \
                         fn {method}(&self) -> Self::{handler};\n\n",
                        topic = sub.topic,
                        group = sub.group,
                        kind = sub.kind.as_str(),
                    );
                    let _ = writeln!(
                        spawns,
                        "    parts.spawn_subscription({constant}.group, {constant}.topic, consumer.{method}());"
                    );
                }
            }
        }
        let _ = write!(
            out,
            "\n/// The consumers of the `{name}` service.\npub mod {module} {{\n    use super::*;\n\n\
             /// What the `{name}` service does with each message it consumes.\n\
             pub trait {trait_name}: Send + Sync + 'static {{\n{methods}}}\n\n\
             /// Runs one consumer group per subscription of `{name}` on `parts`; `codec` decodes\n\
             /// the canonical events.\n\
             #[allow(unused_variables)]\n\
             pub fn spawn<C: {trait_name}>(parts: &mut ServiceParts, consumer: Arc<C>, codec: Arc<EventCodec>) {{\n{spawns}}}\n\n{handlers}}}\n",
            name = service.name,
        );
    }
    out
}

/// `BalanceSheet` → `balance_sheet`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel(name: &str) -> String {
    ident(name)
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The types of the generated topology (the same shape as the manifest).
const TYPES: &str = r#"/// One service of the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    /// Its OpenAPI spec, relative to `contracts/`.
    pub api: Option<&'static str>,
    /// Its own PostgreSQL database (and the role owning it).
    pub database: &'static str,
    /// Default port of its HTTP server.
    pub port: u16,
}

/// One consumer group of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    pub service: &'static str,
    pub group: &'static str,
    /// The event type read, for entity subscriptions.
    pub event: Option<&'static str>,
    pub topic: &'static str,
    pub kind: SubscriptionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// Full entity state keyed by id: upsert per value, delete per tombstone.
    Entity,
    /// Debezium change-data-capture envelopes of a table.
    Cdc,
}

/// A topic canonical events are published to, and the settings it is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicTopic {
    pub name: &'static str,
    pub partitions: u32,
    pub replication_factor: u16,
    /// Kafka `cleanup.policy` (`compact` or `delete`).
    pub cleanup_policy: &'static str,
}

/// A topic that is not a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateTopic {
    pub name: &'static str,
    pub owner: &'static str,
    pub connector: &'static str,
    pub format: &'static str,
    pub partitions: u32,
    pub replication_factor: u16,
    pub cleanup_policy: &'static str,
}

/// A Debezium connector of one service's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connector {
    pub name: &'static str,
    pub role: ConnectorRole,
    pub service: &'static str,
    /// Its `CREATE SOURCE CONNECTOR` declaration, relative to the repository root.
    pub declaration: &'static str,
    pub slot: &'static str,
    pub publication: &'static str,
    pub table: &'static str,
    /// Outbox role: the event types relayed.
    pub events: &'static [&'static str],
    /// CDC role: the private topics written.
    pub topics: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorRole {
    Outbox,
    Cdc,
}

/// The whole topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct System {
    pub services: &'static [Service],
    pub subscriptions: &'static [Subscription],
    pub public_topics: &'static [PublicTopic],
    pub private_topics: &'static [PrivateTopic],
    pub connectors: &'static [Connector],
}

impl System {
    pub fn service(&self, name: &str) -> Option<&'static Service> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn subscription(&self, group: &str) -> Option<&'static Subscription> {
        self.subscriptions.iter().find(|s| s.group == group)
    }

    pub fn connector(&self, name: &str) -> Option<&'static Connector> {
        self.connectors.iter().find(|c| c.name == name)
    }

    /// The subscriptions of one service.
    pub fn subscriptions_of(&self, service: &'static str) -> impl Iterator<Item = &'static Subscription> {
        self.subscriptions.iter().filter(move |s| s.service == service)
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn contracts() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts")
    }

    fn parse(text: &str) -> std::result::Result<System, Vec<String>> {
        let contracts = contracts();
        let manifest = Manifest::load(&contracts).expect("events.toml loads");
        System::parse(text, Path::new("system.toml"), &contracts, &manifest)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    fn real() -> String {
        std::fs::read_to_string(contracts().join(SYSTEM_FILE)).expect("system.toml")
    }

    #[test]
    fn the_repository_manifest_loads() {
        let system = System::load(&contracts()).expect("valid");
        assert_eq!(system.services.len(), 3);
        let planning: Vec<_> = system.subscriptions_of("planning").collect();
        assert_eq!(planning.len(), 2);
        assert_eq!(planning[0].topic, "public_person_entity_events");
        assert_eq!(
            system.subscriptions_of("accounting").next().map(|s| s.kind),
            Some(SubscriptionKind::Cdc)
        );
    }

    #[test]
    fn every_topic_has_its_settings_from_the_manifests() {
        let system = System::load(&contracts()).expect("valid");
        let public: Vec<(&str, u32, u16, &str)> = system
            .public_topics
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.partitions,
                    t.replication_factor,
                    t.cleanup_policy.as_str(),
                )
            })
            .collect();
        assert_eq!(
            public,
            [
                ("public_person_entity_events", 3, 1, "compact"),
                ("public_balance_sheet_entity_events", 3, 1, "compact"),
            ]
        );
        let private = &system.private_topics[0];
        assert_eq!(
            (
                private.partitions,
                private.replication_factor,
                private.cleanup_policy.as_str()
            ),
            (3, 1, "delete")
        );
        let text = real().replace(
            "partitions = 3\nreplication_factor = 1\ncleanup_policy = \"delete\"",
            "partitions = 0\nreplication_factor = 0\ncleanup_policy = \"forever\"",
        );
        let errors = parse(&text).expect_err("invalid");
        assert_eq!(
            errors,
            vec![
                "system.toml#/private_topic/0/partitions: invalid contract: a topic needs at least one partition",
                "system.toml#/private_topic/0/replication_factor: invalid contract: a topic needs at least one replica",
                "system.toml#/private_topic/0/cleanup_policy: invalid contract: cleanup_policy must be `delete` or `compact`",
            ]
        );
    }

    #[test]
    fn an_event_topic_without_settings_is_refused_naming_the_fix() {
        let contracts = contracts();
        let text = std::fs::read_to_string(contracts.join(crate::manifest::MANIFEST_FILE))
            .expect("events.toml");
        let without = text.replace(
            "[[topic]]\nname = \"public_balance_sheet_entity_events\"",
            "[[unused]]\nname = \"public_balance_sheet_entity_events\"",
        );
        let cut = without.find("[[unused]]").expect("the second [[topic]]");
        let manifest = Manifest::parse(&without[..cut], Path::new("events.toml")).expect("valid");
        let errors = System::parse(&real(), Path::new("system.toml"), &contracts, &manifest)
            .expect_err("refused");
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert!(
            messages[0].contains("events.toml#/event/1/topic")
                && messages[0]
                    .contains("`public_balance_sheet_entity_events` has no `[[topic]]` settings")
                && messages[0].contains("add `[[topic]]`"),
            "{messages:#?}"
        );
    }

    #[test]
    fn an_unknown_event_is_named_with_its_key_path() {
        let text = real().replace(
            "event = \"balance_sheet_created\"\nkind",
            "event = \"balance_sheet_updated\"\nkind",
        );
        let errors = parse(&text).expect_err("invalid");
        assert_eq!(
            errors,
            vec![
                "system.toml#/subscription/1/event: invalid contract: unknown event \
                 `balance_sheet_updated` (not in events.toml)"
            ]
        );
    }

    #[test]
    fn duplicate_groups_ports_and_unknown_services_are_all_reported() {
        let text = real()
            .replace("port = 8002", "port = 8001")
            .replace(
                "group = \"planning-consumer-2\"",
                "group = \"planning-consumer-1\"",
            )
            .replace(
                "service = \"accounting\"\ngroup",
                "service = \"accountng\"\ngroup",
            );
        let errors = parse(&text).expect_err("invalid");
        assert!(
            errors.contains(
                &"system.toml#/service/1/port: invalid contract: port `8001` already declared \
                  at /service/0/port"
                    .to_string()
            ),
            "{errors:#?}"
        );
        assert!(
            errors.contains(
                &"system.toml#/subscription/1/group: invalid contract: consumer group \
                  `planning-consumer-1` already declared at /subscription/0/group"
                    .to_string()
            ),
            "{errors:#?}"
        );
        assert!(
            errors.contains(
                &"system.toml#/subscription/2/service: invalid contract: unknown service \
                  `accountng`"
                    .to_string()
            ),
            "{errors:#?}"
        );
    }

    #[test]
    fn a_declaration_that_disagrees_is_reported() {
        let text = real().replace(
            "slot = \"person_outbox_slot\"",
            "slot = \"person_outbox_slot2\"",
        );
        let errors = parse(&text).expect_err("invalid");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("system.toml#/connector/0/slot:"),
            "{errors:#?}"
        );
    }

    #[test]
    fn an_event_without_relay_and_a_subscription_with_both_sources_are_reported() {
        let text = real()
            .replace("events = [\"person_entity_state\"]", "events = []")
            .replace(
                "topic = \"private_accounting_bal_sheet_cdc\"\nkind = \"cdc\"",
                "topic = \"private_accounting_bal_sheet_cdc\"\nevent = \"person_entity_state\"\nkind = \"cdc\"",
            );
        let errors = parse(&text).expect_err("invalid");
        assert!(
            errors.iter().any(|e| e.contains("#/connector/0/events:")),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("no outbox connector relays `person_entity_state`")),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("#/subscription/2: invalid contract: give exactly one")),
            "{errors:#?}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = format!(
            "{}\n[[service]]\nname = \"x\"\ndatabase = \"x\"\nport = 1\nhost = \"h\"\n",
            real()
        );
        let errors = parse(&text).expect_err("invalid");
        assert!(errors[0].contains("unknown field `host`"), "{errors:#?}");
    }

    #[test]
    fn the_generated_module_names_every_fact_once() {
        let system = System::load(&contracts()).expect("valid");
        let source = generate(&system);
        for fact in ["\"planning-consumer-1\"", "\"person_outbox_slot\"", "8003"] {
            assert_eq!(
                source.matches(fact).count(),
                1,
                "{fact} appears once:\n{source}"
            );
        }
        assert!(source.contains("pub const PERSON_ENTITY_STATE: Subscription"));
    }
}
