//! `docker-compose.yml` and the `Dockerfile` agree with the manifests (`contracts/system.toml`,
//! `events.toml`) and with the connector declarations (`ksqldb/migrations/`).
//!
//! There is no Docker engine on the project's machines, so the compose path is checked
//! statically: the YAML is parsed and compared, never run. What is compared: each service's
//! container (binary, published port, HTTP address, database URL, health check), the roles
//! and databases PostgreSQL is initialised with, the topics created before the connectors
//! (names, cleanup policies, partitions), and the one-shot `connectors` service (it runs
//! `ops connectors apply` on the declarations the image carries, with every variable they
//! name, after the services whose tables they capture are healthy).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_yaml::Value;
use xtask::topology::Topology;

/// The compose file's one-shot service that applies the connectors.
const CONNECTORS_SERVICE: &str = "connectors";

struct Compose {
    file: Value,
}

impl Compose {
    fn load(root: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(root.join("docker-compose.yml"))?;
        Ok(Self {
            file: serde_yaml::from_str(&text).context("docker-compose.yml is not YAML")?,
        })
    }

    fn services(&self) -> Result<&serde_yaml::Mapping> {
        self.file
            .get("services")
            .and_then(Value::as_mapping)
            .context("docker-compose.yml has no `services`")
    }

    fn service(&self, name: &str) -> Result<&Value> {
        self.services()?
            .get(name)
            .with_context(|| format!("docker-compose.yml has no service `{name}`"))
    }

    /// A service's environment, with the YAML anchors merged (`<<: *service-env`).
    fn environment(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let mut env = BTreeMap::new();
        let Some(mapping) = self
            .service(name)?
            .get("environment")
            .and_then(Value::as_mapping)
        else {
            return Ok(env);
        };
        for (key, value) in mapping {
            let key = scalar(key)?;
            if key == "<<" {
                let merged = value
                    .as_mapping()
                    .with_context(|| format!("{name}: `<<` merges no mapping"))?;
                for (key, value) in merged {
                    env.entry(scalar(key)?).or_insert(scalar(value)?);
                }
            } else {
                env.insert(key, scalar(value)?);
            }
        }
        Ok(env)
    }

    /// A service's `command` as a list of words.
    fn command(&self, name: &str) -> Result<Vec<String>> {
        self.service(name)?
            .get("command")
            .and_then(Value::as_sequence)
            .with_context(|| format!("{name}: no `command` list"))?
            .iter()
            .map(scalar)
            .collect()
    }

    fn strings(&self, name: &str, key: &str) -> Result<Vec<String>> {
        match self.service(name)?.get(key) {
            None => Ok(Vec::new()),
            Some(value) => value
                .as_sequence()
                .with_context(|| format!("{name}: `{key}` is not a list"))?
                .iter()
                .map(scalar)
                .collect(),
        }
    }

    /// The services `name` waits for, each with its condition.
    fn depends_on(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        match self.service(name)?.get("depends_on") {
            None => {}
            Some(Value::Sequence(names)) => {
                for dependency in names {
                    out.insert(scalar(dependency)?, "service_started".to_owned());
                }
            }
            Some(Value::Mapping(conditions)) => {
                for (dependency, settings) in conditions {
                    let condition = settings
                        .get("condition")
                        .map(scalar)
                        .transpose()?
                        .unwrap_or_else(|| "service_started".to_owned());
                    out.insert(scalar(dependency)?, condition);
                }
            }
            Some(_) => bail!("{name}: `depends_on` is neither a list nor a mapping"),
        }
        Ok(out)
    }

    /// The inline content of a top-level config.
    fn config(&self, name: &str) -> Result<&str> {
        self.file
            .get("configs")
            .and_then(|configs| configs.get(name))
            .and_then(|config| config.get("content"))
            .and_then(Value::as_str)
            .with_context(|| format!("docker-compose.yml has no config `{name}` with content"))
    }
}

fn scalar(value: &Value) -> Result<String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(anyhow!("not a scalar: {other:?}")),
    }
}

fn this_repository() -> Result<(std::path::PathBuf, Topology, Compose)> {
    let root = xtask::project_root();
    let topology = Topology::load(&root.join("contracts"))?;
    let compose = Compose::load(&root)?;
    Ok((root, topology, compose))
}

/// The manifest's services that have a container: every compose service built from this
/// repository and running a `*-service` binary.
#[test]
fn every_service_of_the_manifest_has_its_container_and_no_other() -> Result<()> {
    let (_, topology, compose) = this_repository()?;
    let mut containers = BTreeSet::new();
    for (name, service) in compose.services()? {
        let name = scalar(name)?;
        if service.get("build").is_some()
            && compose
                .command(&name)?
                .first()
                .is_some_and(|binary| binary.ends_with("-service"))
        {
            containers.insert(name);
        }
    }
    let declared: BTreeSet<String> = topology
        .system
        .services
        .iter()
        .map(|service| service.name.clone())
        .collect();
    assert_eq!(
        containers, declared,
        "docker-compose.yml's service containers and contracts/system.toml's services differ"
    );

    for service in &topology.system.services {
        let name = service.name.as_str();
        let port = service.port;
        assert_eq!(
            compose.command(name)?,
            [format!("{name}-service")],
            "{name}"
        );
        assert_eq!(
            compose.strings(name, "ports")?,
            [format!("127.0.0.1:{port}:{port}")],
            "{name}: the manifest's port, on the host's loopback"
        );
        let env = compose.environment(name)?;
        assert_eq!(
            env.get("HTTP_ADDR").map(String::as_str),
            Some(format!("0.0.0.0:{port}").as_str()),
            "{name}"
        );
        let database = &service.database;
        assert_eq!(
            env.get("DATABASE_URL").map(String::as_str),
            Some(format!("postgres://{database}:{database}@postgres:5432/{database}").as_str()),
            "{name}: its own database, as its own role"
        );
        for variable in ["KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL"] {
            ensure!(env.contains_key(variable), "{name}: {variable} is not set");
        }
        let health = compose
            .service(name)?
            .get("healthcheck")
            .and_then(|check| check.get("test"))
            .and_then(Value::as_sequence)
            .with_context(|| format!("{name}: no health check"))?;
        let health: Vec<String> = health.iter().map(scalar).collect::<Result<_>>()?;
        ensure!(
            health.contains(&format!("http://127.0.0.1:{port}/health/")),
            "{name}: the health check should call its /health/ on {port}: {health:?}"
        );
    }
    Ok(())
}

#[test]
fn postgres_is_initialised_with_every_service_database_and_role() -> Result<()> {
    let (_, topology, compose) = this_repository()?;
    let init = compose.config("postgres-init")?;
    let created = |prefix: &str| -> BTreeSet<String> {
        init.lines()
            .filter_map(|line| line.trim().strip_prefix(prefix))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(|name| name.trim_end_matches(';').to_owned())
            .collect()
    };
    let databases = created("CREATE DATABASE ");
    let roles = created("CREATE ROLE ");
    for database in topology.databases() {
        ensure!(
            init.contains(&format!("CREATE DATABASE {database} OWNER {database};")),
            "postgres-init does not create database {database} owned by its role: {databases:?}"
        );
        ensure!(
            roles.contains(database),
            "postgres-init does not create role {database}: {roles:?}"
        );
    }
    // Debezium owns the captured tables through membership in their owners' roles.
    let grant = format!(
        "GRANT {} TO debezium;",
        topology.captured_databases()?.join(", ")
    );
    ensure!(init.contains(&grant), "postgres-init should say `{grant}`");
    // Besides the services' databases, only the registry's.
    let services: BTreeSet<String> = topology.databases().iter().map(|d| d.to_string()).collect();
    let others: Vec<&String> = databases.difference(&services).collect();
    assert_eq!(others, ["registry"], "databases no service declares");
    Ok(())
}

#[test]
fn the_topics_are_created_as_the_manifests_declare_them() -> Result<()> {
    let (_, topology, compose) = this_repository()?;
    let env = compose.environment("kafka-init")?;
    let listed = env.get("TOPICS").context("kafka-init: no TOPICS")?;
    let mut topics = BTreeMap::new();
    for entry in listed.split_whitespace() {
        let (name, cleanup) = entry
            .split_once(':')
            .with_context(|| format!("kafka-init: `{entry}` is not name:cleanup.policy"))?;
        ensure!(
            topics.insert(name.to_owned(), cleanup.to_owned()).is_none(),
            "kafka-init lists {name} twice"
        );
    }
    let expected: BTreeMap<String, String> = topology
        .stack_topics()
        .into_iter()
        .map(|topic| (topic.name, topic.cleanup_policy))
        .collect();
    assert_eq!(
        topics, expected,
        "kafka-init's TOPICS and the manifests' topics differ"
    );
    assert_eq!(
        env.get("PARTITIONS").map(String::as_str),
        Some(xtask::stack::TOPIC_PARTITIONS.to_string().as_str()),
        "kafka-init's partitions and the local stack's"
    );
    // The script creates what the variables say.
    let script = compose.command("kafka-init")?.join("\n");
    for needle in [
        "$$TOPICS",
        "--partitions \"$$PARTITIONS\"",
        "cleanup.policy=",
    ] {
        ensure!(
            script.contains(needle),
            "kafka-init's script does not use {needle}"
        );
    }
    Ok(())
}

#[test]
fn the_connectors_service_applies_the_declared_connectors_from_the_image() -> Result<()> {
    let (root, topology, compose) = this_repository()?;
    assert_eq!(
        compose.command(CONNECTORS_SERVICE)?,
        ["ops", "connectors", "apply"]
    );
    let env = compose.environment(CONNECTORS_SERVICE)?;
    let connect_url = env
        .get("KAFKA_CONNECT_URL")
        .context("connectors: no KAFKA_CONNECT_URL")?;
    ensure!(
        connect_url.starts_with("http://connect:"),
        "connectors: KAFKA_CONNECT_URL should name the connect container: {connect_url}"
    );
    let in_image = env
        .get("CONNECTOR_DECLARATIONS")
        .context("connectors: no CONNECTOR_DECLARATIONS")?;
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile"))?;
    ensure!(
        dockerfile
            .lines()
            .any(|line| line.trim() == format!("COPY ksqldb/migrations {in_image}")),
        "the Dockerfile should `COPY ksqldb/migrations {in_image}`"
    );
    ensure!(
        dockerfile.contains("/src/target/release/ops"),
        "the Dockerfile should ship the ops binary"
    );

    // Every ${env:...} placeholder of the declarations is set (load_declarations fails,
    // naming it, otherwise), and the declarations are the manifest's connectors.
    let lookup = |name: &str| env.get(name).cloned();
    let declared = connectors::load_declarations(&root.join("ksqldb/migrations"), &lookup)?;
    let names: BTreeSet<&str> = declared.iter().map(|d| d.name.as_str()).collect();
    let manifest: BTreeSet<&str> = topology
        .system
        .connectors
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names, manifest,
        "ksqldb/migrations and system.toml's connectors"
    );
    for declaration in &declared {
        assert_eq!(
            declaration.setting("database.hostname"),
            Some("postgres"),
            "{}: Connect reaches PostgreSQL by its container name",
            declaration.name
        );
    }

    // Applied once Connect runs and the services have created the tables they capture.
    let waits = compose.depends_on(CONNECTORS_SERVICE)?;
    let mut needed: BTreeSet<&str> = topology
        .system
        .connectors
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    needed.insert("connect");
    for service in needed {
        assert_eq!(
            waits.get(service).map(String::as_str),
            Some("service_healthy"),
            "connectors should wait for {service} to be healthy: {waits:?}"
        );
    }
    assert_eq!(
        compose
            .service(CONNECTORS_SERVICE)?
            .get("restart")
            .map(scalar)
            .transpose()?
            .as_deref(),
        Some("no"),
        "connectors is a one-shot service"
    );
    Ok(())
}
