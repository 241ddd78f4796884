//! The event catalog: `cargo xtask catalog` writes a static site (plain HTML, CSS and an
//! inline SVG: no script, no server, it works from `file://`) that answers which events exist,
//! what is in them, who produces and consumes each, and what changed between versions.
//!
//! Everything comes from the contracts, read by the same code as the rest of the toolkit:
//! `events.toml` and `system.toml` through `codegen`, every published version through
//! [`History`], field listings and version diffs through [`diff`], the gate's verdict for each
//! version through [`avro::check_subject`], the REST operations from each service's OpenAPI
//! spec. Pages are askama templates (`compat/templates/catalog/`).

mod svg;

use std::path::{Path, PathBuf};

use askama::Template;
use codegen::Manifest;
use codegen::topology::{ConnectorRole, System};
use serde_json::Value as Json;

use crate::avro::{self, SchemaVersion};
use crate::diff::{self, FieldChange, FieldRow, RecordShape};
use crate::history::{ContractKind, History};
use crate::{CompatError, Level, WORKING_TREE, openapi};

/// Everything the site shows, gathered from the contracts.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub events: Vec<EventEntry>,
    pub services: Vec<ServiceEntry>,
    pub private_topics: Vec<PrivateTopicEntry>,
    pub connectors: Vec<ConnectorEntry>,
}

/// One canonical event.
#[derive(Debug, Clone)]
pub struct EventEntry {
    pub event_type: String,
    pub topic: String,
    pub subject: String,
    pub level: Level,
    pub producer: String,
    /// CloudEvents `ce_source`.
    pub source: String,
    /// The fields the message key is made of (none: a null key).
    pub key_fields: Vec<String>,
    /// How the key is made, in words: `` `id`: string (uuid), as UTF-8 text ``.
    pub key: String,
    /// The working tree's schema file, relative to the root.
    pub schema_file: PathBuf,
    /// The working tree's record.
    pub record: RecordShape,
    /// The outbox connector that relays it.
    pub relay: Option<String>,
    pub consumers: Vec<ConsumerEntry>,
    /// Every published version, oldest first, then the working tree if it differs from the
    /// latest.
    pub versions: Vec<VersionEntry>,
}

/// A consumer group of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerEntry {
    pub service: String,
    pub group: String,
    pub topic: String,
    /// `entity`, `cdc`.
    pub kind: String,
    /// The event read, if the topic is an event's.
    pub event: Option<String>,
}

/// One version of an event's schema.
#[derive(Debug, Clone)]
pub struct VersionEntry {
    /// `published v2`, `working tree`.
    pub label: String,
    /// The anchor of its section on the event page: `v2`, `working-tree`.
    pub anchor: String,
    pub file: PathBuf,
    pub fields: Vec<FieldRow>,
    /// The label of the version before it, if any.
    pub previous: Option<String>,
    /// What changed from the previous version.
    pub changes: Vec<FieldChange>,
    /// The gate's findings for this version against those before it (empty: compatible).
    pub incompatibilities: Vec<String>,
}

impl VersionEntry {
    /// Whether the gate accepts this version after the ones before it.
    pub fn compatible(&self) -> bool {
        self.incompatibilities.is_empty()
    }
}

/// One service.
#[derive(Debug, Clone)]
pub struct ServiceEntry {
    pub name: String,
    pub port: u16,
    pub database: String,
    pub api_file: Option<PathBuf>,
    /// The API's title and version, from its spec.
    pub api_title: Option<String>,
    pub operations: Vec<OperationEntry>,
    /// Event types it produces.
    pub publishes: Vec<String>,
    pub consumes: Vec<ConsumerEntry>,
    pub connectors: Vec<String>,
}

/// One REST operation of a service's OpenAPI spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationEntry {
    /// `GET`.
    pub method: String,
    pub path: String,
    pub operation_id: String,
    pub summary: String,
    /// The request body's schema name, if it has one.
    pub request: Option<String>,
    /// Response status codes, in the spec's order.
    pub responses: Vec<String>,
}

/// A private topic (not a contract).
#[derive(Debug, Clone)]
pub struct PrivateTopicEntry {
    pub name: String,
    pub owner: String,
    pub connector: String,
    pub format: String,
    pub cleanup_policy: String,
}

/// A Debezium connector.
#[derive(Debug, Clone)]
pub struct ConnectorEntry {
    pub name: String,
    /// `outbox`, `cdc`.
    pub role: String,
    pub service: String,
    pub table: String,
    /// The topics it writes.
    pub topics: Vec<String>,
}

/// Gathers the catalog from the contracts under `root/contracts` and their published
/// versions.
pub fn build_catalog(root: &Path) -> Result<Catalog, CompatError> {
    let contracts = root.join("contracts");
    let manifest = Manifest::load(&contracts)?;
    let system = System::load(&contracts)?;
    let history = History::new(root);

    let consumer = |s: &codegen::topology::Subscription| ConsumerEntry {
        service: s.service.clone(),
        group: s.group.clone(),
        topic: s.topic.clone(),
        kind: s.kind.as_str().to_owned(),
        event: s.event.clone(),
    };

    let mut events = Vec::new();
    for event in &manifest.events {
        let subject = event.subject();
        let schema_file = Path::new("contracts").join(&event.schema);
        let text = crate::read(root, &schema_file)?;
        let current = SchemaVersion::parse(WORKING_TREE, &text)?;
        let record = diff::record_shape(&current.schema);
        let type_of = |field: &str| {
            record
                .fields
                .iter()
                .find(|f| f.path == field)
                .map(|f| f.type_text.clone())
                .unwrap_or_else(|| "not a field of the record".into())
        };
        let (key_fields, key) = match event.key_kind() {
            codegen::Key::Field(field) => {
                let key = format!("`{field}`: {}, as UTF-8 text", type_of(&field));
                (vec![field], key)
            }
            codegen::Key::Fields(fields, separator) => {
                let key = format!(
                    "{} as UTF-8 text, joined by `{separator}`",
                    fields
                        .iter()
                        .map(|f| format!("`{f}` ({})", type_of(f)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                (fields, key)
            }
            codegen::Key::None => (Vec::new(), "none: published with a null key".to_owned()),
        };

        let published = history.versions(ContractKind::Event, &subject)?;
        let mut texts: Vec<(String, String, PathBuf, String)> = published
            .iter()
            .map(|v| {
                (
                    v.label(),
                    format!("v{}", v.number),
                    v.path.clone(),
                    v.text.clone(),
                )
            })
            .collect();
        let differs = published
            .last()
            .is_none_or(|latest| !ContractKind::Event.same_contract(&latest.text, &text));
        if differs {
            texts.push((
                WORKING_TREE.to_owned(),
                "working-tree".to_owned(),
                schema_file.clone(),
                text.clone(),
            ));
        }
        let mut parsed: Vec<SchemaVersion> = Vec::new();
        let mut versions = Vec::new();
        for (label, anchor, file, version_text) in texts {
            let version = SchemaVersion::parse(label.clone(), &version_text)?;
            let (previous, changes) = match parsed.last() {
                Some(before) => (
                    Some(before.label.clone()),
                    diff::diff(&before.schema, &version.schema),
                ),
                None => (None, Vec::new()),
            };
            let incompatibilities =
                avro::check_subject(&subject, event.compatibility, &parsed, &version)?
                    .iter()
                    .map(ToString::to_string)
                    .collect();
            versions.push(VersionEntry {
                label,
                anchor,
                file,
                fields: diff::record_shape(&version.schema).fields,
                previous,
                changes,
                incompatibilities,
            });
            parsed.push(version);
        }

        events.push(EventEntry {
            event_type: event.event_type.clone(),
            topic: event.topic.clone(),
            subject,
            level: event.compatibility,
            producer: event.producer.clone(),
            source: event.source.clone(),
            key_fields,
            key,
            schema_file,
            record,
            relay: system
                .connectors
                .iter()
                .find(|c| c.role == ConnectorRole::Outbox && c.events.contains(&event.event_type))
                .map(|c| c.name.clone()),
            consumers: system
                .subscriptions
                .iter()
                .filter(|s| s.event.as_deref() == Some(event.event_type.as_str()))
                .map(consumer)
                .collect(),
            versions,
        });
    }

    let mut services = Vec::new();
    for service in &system.services {
        let (api_title, operations) = match &service.api {
            Some(api) => {
                let file = Path::new("contracts").join(api);
                let spec =
                    openapi::parse_spec(&file.display().to_string(), &crate::read(root, &file)?)?;
                (api_title(&spec), operations(&spec))
            }
            None => (None, Vec::new()),
        };
        services.push(ServiceEntry {
            name: service.name.clone(),
            port: service.port,
            database: service.database.clone(),
            api_file: service
                .api
                .as_ref()
                .map(|api| Path::new("contracts").join(api)),
            api_title,
            operations,
            publishes: manifest
                .events
                .iter()
                .filter(|e| e.producer == service.name)
                .map(|e| e.event_type.clone())
                .collect(),
            consumes: system
                .subscriptions_of(&service.name)
                .map(consumer)
                .collect(),
            connectors: system
                .connectors
                .iter()
                .filter(|c| c.service == service.name)
                .map(|c| c.name.clone())
                .collect(),
        });
    }

    let connectors = system
        .connectors
        .iter()
        .map(|c| ConnectorEntry {
            name: c.name.clone(),
            role: c.role.as_str().to_owned(),
            service: c.service.clone(),
            table: c.table.clone(),
            topics: match c.role {
                ConnectorRole::Outbox => manifest
                    .events
                    .iter()
                    .filter(|e| c.events.contains(&e.event_type))
                    .map(|e| e.topic.clone())
                    .collect(),
                ConnectorRole::Cdc => c.topics.clone(),
            },
        })
        .collect();
    let private_topics = system
        .private_topics
        .iter()
        .map(|t| PrivateTopicEntry {
            name: t.name.clone(),
            owner: t.owner.clone(),
            connector: t.connector.clone(),
            format: t.format.clone(),
            cleanup_policy: t.cleanup_policy.clone(),
        })
        .collect();

    Ok(Catalog {
        events,
        services,
        private_topics,
        connectors,
    })
}

fn api_title(spec: &Json) -> Option<String> {
    let info = spec.get("info")?;
    let title = info.get("title")?.as_str()?;
    Some(match info.get("version").and_then(Json::as_str) {
        Some(version) => format!("{title} {version}"),
        None => title.to_owned(),
    })
}

/// Every operation of a spec, in path order then method order.
fn operations(spec: &Json) -> Vec<OperationEntry> {
    let mut found = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Json::as_object) else {
        return found;
    };
    for (path, item) in paths {
        for method in openapi::METHODS {
            let Some(operation) = item.get(*method) else {
                continue;
            };
            let text = |key: &str| {
                operation
                    .get(key)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let request = operation
                .pointer("/requestBody/content/application~1json/schema/$ref")
                .and_then(Json::as_str)
                .and_then(|reference| reference.rsplit('/').next())
                .map(str::to_owned);
            found.push(OperationEntry {
                method: method.to_uppercase(),
                path: path.clone(),
                operation_id: text("operationId"),
                summary: text("summary"),
                request,
                responses: operation
                    .get("responses")
                    .and_then(Json::as_object)
                    .map(|responses| responses.keys().cloned().collect())
                    .unwrap_or_default(),
            });
        }
    }
    found
}

/// One file of the site, relative to its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    pub path: PathBuf,
    pub contents: String,
}

/// The site's pages: `index.html` (topology picture, every event and service),
/// `events/<type>.html`, `services/<name>.html`, `style.css`.
pub fn render_site(catalog: &Catalog) -> Result<Vec<SiteFile>, CompatError> {
    let render = |what: &str, template: &dyn DynRender| {
        template.render_page().map_err(|e| CompatError::Render {
            what: what.to_owned(),
            message: e.to_string(),
        })
    };
    let mut files = vec![
        SiteFile {
            path: "style.css".into(),
            contents: STYLE.to_owned(),
        },
        SiteFile {
            path: "index.html".into(),
            contents: render(
                "index.html",
                &IndexPage {
                    catalog,
                    topology: svg::topology(catalog),
                    root: "",
                },
            )?,
        },
    ];
    for event in &catalog.events {
        let path = format!("events/{}.html", event.event_type);
        let contents = render(
            &path,
            &EventPage {
                catalog,
                event,
                root: "../",
            },
        )?;
        files.push(SiteFile {
            path: path.into(),
            contents,
        });
    }
    for service in &catalog.services {
        let path = format!("services/{}.html", service.name);
        let contents = render(
            &path,
            &ServicePage {
                catalog,
                service,
                root: "../",
            },
        )?;
        files.push(SiteFile {
            path: path.into(),
            contents,
        });
    }
    Ok(files)
}

/// Builds and writes the site into `out` (created if missing; files the site no longer has
/// are left alone); returns the files written.
pub fn write_site(root: &Path, out: &Path) -> Result<Vec<PathBuf>, CompatError> {
    let catalog = build_catalog(root)?;
    let mut written = Vec::new();
    for file in render_site(&catalog)? {
        let path = out.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| CompatError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, &file.contents).map_err(|source| CompatError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

const STYLE: &str = include_str!("../../templates/catalog/style.css");

/// Object-safe rendering, so one closure renders every page type.
trait DynRender {
    fn render_page(&self) -> askama::Result<String>;
}

impl<T: Template> DynRender for T {
    fn render_page(&self) -> askama::Result<String> {
        self.render()
    }
}

#[derive(Template)]
#[template(path = "catalog/index.html")]
struct IndexPage<'a> {
    catalog: &'a Catalog,
    topology: String,
    root: &'a str,
}

#[derive(Template)]
#[template(path = "catalog/event.html")]
struct EventPage<'a> {
    catalog: &'a Catalog,
    event: &'a EventEntry,
    root: &'a str,
}

#[derive(Template)]
#[template(path = "catalog/service.html")]
struct ServicePage<'a> {
    catalog: &'a Catalog,
    service: &'a ServiceEntry,
    root: &'a str,
}

impl EventEntry {
    /// Whether `field` is (part of) the message key.
    pub fn is_key(&self, field: &str) -> bool {
        self.key_fields.iter().any(|k| k == field)
    }
}

impl Catalog {
    /// The event of a type.
    pub fn event(&self, event_type: &str) -> Option<&EventEntry> {
        self.events.iter().find(|e| e.event_type == event_type)
    }

    /// The event a topic carries, if it is an event's topic.
    pub fn event_on(&self, topic: &str) -> Option<&EventEntry> {
        self.events.iter().find(|e| e.topic == topic)
    }
}
