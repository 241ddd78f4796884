//! The project's own PostgreSQL cluster: `.stack/data/postgres`, its own port, logical WAL.
//!
//! Uses the machine's PostgreSQL server binaries (Debian's `postgresql` package, installed
//! when absent). PostgreSQL refuses to run as root, so when xtask runs as root every server
//! command runs as the `postgres` OS user (created when absent) and the data directory is
//! owned by it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::config::{LOOPBACK, StackConfig};
use super::process;
use super::system;
use super::versions;

/// The OS user that owns and runs the cluster when xtask runs as root.
const OS_USER: &str = "postgres";

/// Database roles. Passwords are fixed: the cluster listens on loopback only and holds
/// throwaway development data.
pub const SUPERUSER: &str = "postgres";
pub const SUPERUSER_PASSWORD: &str = "postgres";
/// Debezium's role: REPLICATION for the slots, member of the owners of the captured
/// databases so it may snapshot their tables and create per-table (`filtered`) publications.
pub const DEBEZIUM_USER: &str = "debezium";
pub const DEBEZIUM_PASSWORD: &str = "debezium";
/// Apicurio Registry's storage.
pub const REGISTRY_DATABASE: &str = "registry";

/// The server binaries of one installed PostgreSQL version.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub bin_dir: PathBuf,
    pub version: String,
}

impl Binaries {
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// Finds the server binaries (`STACK_PG_BIN_DIR`, else the newest preferred Debian
/// `/usr/lib/postgresql/<major>/bin`), installing Debian's package when there are none.
pub fn ensure_binaries() -> Result<Binaries> {
    if let Some(found) = find_binaries()? {
        return Ok(found);
    }
    // Without this, installing the package creates and starts a `main` cluster on 5432,
    // which would then take the port our own cluster wants.
    if system::is_root() {
        let dir = Path::new("/etc/postgresql-common/createcluster.d");
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::write(
            dir.join("50-xtask-stack-no-main-cluster.conf"),
            "# Written by `cargo xtask stack`: the project runs its own cluster.\n\
             create_main_cluster = false\n",
        )
        .context("disabling the Debian main cluster")?;
    }
    system::apt_install(
        &["postgresql"],
        "PostgreSQL server binaries are not installed",
    )?;
    find_binaries()?.context("installed Debian's postgresql package but found no server binaries")
}

pub fn find_binaries() -> Result<Option<Binaries>> {
    let bin_dir = if let Some(dir) = std::env::var_os("STACK_PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.join("postgres").is_file() {
            bail!(
                "STACK_PG_BIN_DIR={} holds no `postgres` binary",
                dir.display()
            );
        }
        dir
    } else {
        let mut majors: Vec<u32> = fs::read_dir("/usr/lib/postgresql")
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        // Prefer the pinned major, else the newest.
        majors.sort_by_key(|major| (*major == versions::POSTGRES_PREFERRED_MAJOR, *major));
        let Some(dir) = majors
            .iter()
            .rev()
            .map(|major| PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")))
            .find(|dir| dir.join("postgres").is_file() && dir.join("initdb").is_file())
        else {
            return Ok(None);
        };
        dir
    };
    let output = process::run_checked(
        Command::new(bin_dir.join("postgres")).arg("--version"),
        "postgres --version",
    )?;
    // `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`: the word after the product.
    let version = output
        .split_whitespace()
        .skip_while(|word| *word != "(PostgreSQL)")
        .nth(1)
        .unwrap_or("unknown")
        .to_owned();
    Ok(Some(Binaries { bin_dir, version }))
}

pub fn data_dir(config: &StackConfig) -> PathBuf {
    config.data_dir().join("postgres")
}

/// A `postgres://` URL on the stack's cluster.
pub fn url(config: &StackConfig, user: &str, password: &str, database: &str) -> String {
    format!(
        "postgres://{user}:{password}@{LOOPBACK}:{}/{database}",
        config.ports.postgres
    )
}

/// The superuser URL (database `postgres`).
pub fn superuser_url(config: &StackConfig) -> String {
    url(config, SUPERUSER, SUPERUSER_PASSWORD, "postgres")
}

/// The URL a service uses for its own database.
pub fn service_url(config: &StackConfig, database: &str) -> String {
    url(config, database, database, database)
}

/// The pid of the running postmaster of our cluster, from its own `postmaster.pid`.
pub fn running_pid(config: &StackConfig) -> Option<u32> {
    let lock = fs::read_to_string(data_dir(config).join("postmaster.pid")).ok()?;
    let pid: u32 = lock.lines().next()?.trim().parse().ok()?;
    let marker = data_dir(config).display().to_string();
    process::is_ours_and_alive(pid, &marker).then_some(pid)
}

/// Runs `command` as the cluster's OS user when we are root.
fn as_cluster_user(program: &Path) -> Command {
    if system::is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", OS_USER, "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Creates the OS user, the data directory and the cluster on first use, and (re)writes the
/// stack's settings, which are included from `postgresql.conf`.
pub fn ensure_cluster(config: &StackConfig, binaries: &Binaries) -> Result<()> {
    let data = data_dir(config);
    let owner = if system::is_root() {
        Some(ensure_os_user()?)
    } else {
        None
    };
    if !data.join("PG_VERSION").is_file() {
        fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))
                .with_context(|| format!("handing {} to the {OS_USER} user", data.display()))?;
        }
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", data.display()))?;
        check_traversable(&data)?;
        // The password travels in a file the cluster user can read, removed right after.
        let password_file = config.run_dir().join("initdb-password");
        fs::create_dir_all(config.run_dir()).context("creating the run directory")?;
        fs::write(&password_file, format!("{SUPERUSER_PASSWORD}\n"))
            .context("writing the initdb password file")?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&password_file, Some(uid), Some(gid))
                .context("handing the initdb password file to the cluster user")?;
        }
        let result = process::run_checked(
            as_cluster_user(&binaries.tool("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", SUPERUSER, "-E", "UTF8", "--no-locale"])
                .arg(format!("--pwfile={}", password_file.display()))
                // Host connections (the only ones: unix sockets are off) need a password.
                .args(["--auth-host=scram-sha-256", "--auth-local=peer"]),
            "initdb",
        );
        let _ = fs::remove_file(&password_file);
        result?;
        let conf = data.join("postgresql.conf");
        let mut text =
            fs::read_to_string(&conf).with_context(|| format!("reading {}", conf.display()))?;
        text.push_str("\n# Added by `cargo xtask stack`: settings live in stack.conf.\ninclude_if_exists = 'stack.conf'\n");
        fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))?;
    }
    let settings = format!(
        "# Written by `cargo xtask stack up` on every start; edit xtask/src/stack/postgres.rs.\n\
         port = {port}\n\
         listen_addresses = '{LOOPBACK}'\n\
         # No unix socket: nothing to create under /var/run, and every client uses TCP.\n\
         unix_socket_directories = ''\n\
         # Debezium decodes the WAL through logical replication slots (pgoutput).\n\
         wal_level = logical\n\
         max_wal_senders = 16\n\
         max_replication_slots = 16\n\
         # Bound the WAL a forgotten slot can pin (connectors also send heartbeats).\n\
         max_slot_wal_keep_size = 4GB\n\
         # Commit times per transaction (pg_xact_commit_timestamp): the bench's per-hop budget\n\
         # starts at the source's commit and ends at planning's.\n\
         track_commit_timestamp = on\n\
         max_connections = 200\n\
         shared_buffers = 128MB\n\
         # fsync only protects against an OS crash; a killed postgres (chaos tests) still\n\
         # recovers every committed transaction from the WAL in the page cache.\n\
         fsync = off\n\
         full_page_writes = off\n\
         log_min_messages = warning\n\
         log_line_prefix = '%m [%p] %q%u@%d '\n",
        port = config.ports.postgres
    );
    let stack_conf = data.join("stack.conf");
    fs::write(&stack_conf, settings)
        .with_context(|| format!("writing {}", stack_conf.display()))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&stack_conf, Some(uid), Some(gid))
            .with_context(|| format!("handing {} to {OS_USER}", stack_conf.display()))?;
    }
    Ok(())
}

/// Creates the `postgres` OS user when absent (Debian's package normally does).
fn ensure_os_user() -> Result<(u32, u32)> {
    if let Some(ids) = system::user_ids(OS_USER) {
        return Ok(ids);
    }
    println!("postgres   creating the `{OS_USER}` OS user (postgres refuses to run as root)");
    process::run_checked(
        Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home"])
            .args(["--home-dir", "/var/lib/postgresql", "--shell", "/bin/sh"])
            .arg(OS_USER),
        "useradd postgres",
    )?;
    system::user_ids(OS_USER).context("useradd succeeded but the postgres user is missing")
}

/// The cluster user must be able to reach the data directory through its ancestors.
fn check_traversable(data: &Path) -> Result<()> {
    if !system::is_root() {
        return Ok(());
    }
    let status = Command::new("runuser")
        .args(["-u", OS_USER, "--", "test", "-w"])
        .arg(data)
        .status()
        .context("running runuser")?;
    if !status.success() {
        bail!(
            "the `{OS_USER}` OS user cannot reach {} (a parent directory is not searchable \
             by others, e.g. /root with mode 700); move the checkout or `chmod o+x` its parents",
            data.display()
        );
    }
    Ok(())
}

/// Starts the cluster in the background; returns the postmaster pid once it wrote its lock.
pub fn start(config: &StackConfig, binaries: &Binaries) -> Result<u32> {
    let data = data_dir(config);
    let log = config.log_file(super::Component::Postgres);
    fs::create_dir_all(config.log_dir()).context("creating the log directory")?;
    // pg_ctl opens the log as the cluster user.
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("creating {}", log.display()))?;
    if system::is_root()
        && let Some((uid, gid)) = system::user_ids(OS_USER)
    {
        std::os::unix::fs::chown(&log, Some(uid), Some(gid))
            .with_context(|| format!("handing {} to {OS_USER}", log.display()))?;
    }
    remove_stale_lock(&data)?;
    process::run_checked(
        as_cluster_user(&binaries.tool("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            // -W: do not wait; readiness is checked by `is_ready` like every component.
            .args(["-W", "start"]),
        "pg_ctl start",
    )?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(pid) = running_pid(config) {
            process::write_pid_file(&config.pid_file(super::Component::Postgres), pid)?;
            return Ok(pid);
        }
        if Instant::now() >= deadline {
            bail!(
                "postgres did not start (no live postmaster.pid after 15 s); log tail:\n{}",
                process::tail(&log, 30)
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// After a SIGKILL the postmaster can linger as a zombie until init reaps it, and postgres
/// refuses to start while the pid in `postmaster.pid` "exists". Its backends exit on their
/// own once the postmaster is gone; wait for that, then drop the stale lock.
fn remove_stale_lock(data: &Path) -> Result<()> {
    let lock = data.join("postmaster.pid");
    let Some(pid) = fs::read_to_string(&lock)
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
    else {
        return Ok(());
    };
    if process::is_alive(pid) {
        return Ok(()); // A live postmaster: let pg_ctl report it.
    }
    let marker = data.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(15);
    while backends_of(&marker) > 0 {
        if Instant::now() >= deadline {
            bail!("backends of the killed postmaster {pid} are still running after 15 s");
        }
        thread::sleep(Duration::from_millis(100));
    }
    fs::remove_file(&lock).with_context(|| format!("removing stale {}", lock.display()))
}

/// How many live processes of our cluster remain. Backends rewrite their command line
/// (`postgres: ...`), so they are recognised by their working directory: the data directory.
fn backends_of(marker: &str) -> usize {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process::is_alive(*pid))
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd.display().to_string() == marker)
        })
        .count()
}

/// A `psql` command on the stack's cluster, connected through `url`.
pub fn psql(binaries: &Binaries, url: &str) -> Command {
    let mut command = Command::new(binaries.tool("psql"));
    command
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-d"])
        .arg(url)
        .env("PGCONNECT_TIMEOUT", "3");
    command
}

/// Ready when the server answers a query (not only accepts TCP).
pub fn is_ready(config: &StackConfig, binaries: &Binaries) -> bool {
    psql(binaries, &superuser_url(config))
        .args(["-t", "-A", "-c", "SELECT 1"])
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "1")
}

/// One replication slot as `pg_replication_slots` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    pub active: bool,
    /// WAL the slot keeps: bytes from its restart position to the current WAL position.
    pub retained_wal_bytes: Option<i64>,
}

/// Every replication slot of the cluster.
pub fn replication_slots(config: &StackConfig, binaries: &Binaries) -> Result<Vec<Slot>> {
    let output = psql(binaries, &superuser_url(config))
        .args([
            "-t",
            "-A",
            "-F",
            ",",
            "-c",
            "SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint \
             FROM pg_replication_slots ORDER BY slot_name",
        ])
        .output()
        .context("running psql")?;
    if !output.status.success() {
        bail!(
            "reading pg_replication_slots: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_slots(&String::from_utf8_lossy(&output.stdout)))
}

/// `name,t|f,bytes` lines (psql's unaligned output).
fn parse_slots(text: &str) -> Vec<Slot> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split(',');
            let name = fields.next().filter(|name| !name.is_empty())?;
            let active = fields.next()? == "t";
            let retained_wal_bytes = fields.next().and_then(|bytes| bytes.parse().ok());
            Some(Slot {
                name: name.to_owned(),
                active,
                retained_wal_bytes,
            })
        })
        .collect()
}

/// Creates the roles and databases; idempotent, so it runs on every `up`.
pub fn bootstrap(config: &StackConfig, binaries: &Binaries) -> Result<()> {
    let mut sql = String::new();
    let mut role = |name: &str, password: &str, attributes: &str| {
        sql.push_str(&format!(
            "SELECT format('CREATE ROLE %I', '{name}') WHERE NOT EXISTS \
             (SELECT FROM pg_roles WHERE rolname = '{name}') \\gexec\n\
             ALTER ROLE {name} WITH LOGIN {attributes} PASSWORD '{password}';\n"
        ));
    };
    // One database per service (the manifest's), each owned by a login role of the same
    // name (password = name).
    let service_databases = config.topology.databases();
    for database in &service_databases {
        role(database, database, "");
    }
    role(REGISTRY_DATABASE, REGISTRY_DATABASE, "");
    role(DEBEZIUM_USER, DEBEZIUM_PASSWORD, "REPLICATION");
    for database in service_databases.iter().chain([&REGISTRY_DATABASE]) {
        sql.push_str(&format!(
            "SELECT format('CREATE DATABASE %I OWNER %I', '{database}', '{database}') \
             WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}') \\gexec\n"
        ));
    }
    for database in config.topology.captured_databases()? {
        // Membership makes Debezium count as the owner of the service's tables: it may
        // SELECT them for snapshots and CREATE PUBLICATION ... FOR TABLE them.
        sql.push_str(&format!("GRANT {database} TO {DEBEZIUM_USER};\n"));
    }
    let mut command = psql(binaries, &superuser_url(config));
    command.args(["-c", "SET client_min_messages = warning"]);
    let script = config.run_dir().join("bootstrap.sql");
    fs::create_dir_all(config.run_dir()).context("creating the run directory")?;
    fs::write(&script, sql).context("writing the bootstrap script")?;
    command.arg("-f").arg(&script);
    process::run_checked(&mut command, "creating the stack's roles and databases")?;
    Ok(())
}

#[cfg(test)]
mod slot_tests {
    use super::*;

    #[test]
    fn slot_lines_parse() {
        let slots = parse_slots("a_slot,t,4096\nb_slot,f,\n\n");
        assert_eq!(
            slots,
            vec![
                Slot {
                    name: "a_slot".into(),
                    active: true,
                    retained_wal_bytes: Some(4096)
                },
                Slot {
                    name: "b_slot".into(),
                    active: false,
                    retained_wal_bytes: None
                },
            ]
        );
    }
}
