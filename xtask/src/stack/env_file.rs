//! `.stack/env`: the connection facts of a running stack, as `KEY=value` lines.
//!
//! The format is the common subset of dotenv files and POSIX shell assignments (no quoting:
//! no value contains spaces or shell metacharacters), so `set -a; . .stack/env` works, and so
//! does any dotenv reader.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};

/// Reads `KEY=value` lines, skipping blank lines and `#` comments.
pub fn read(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(parse(&text))
}

pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            Some((key.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// Writes `entries` (in order) with a header comment, readable by the owner only (mode 0600:
/// the file holds database passwords).
pub fn write(path: &Path, entries: &[(String, String)]) -> Result<()> {
    let mut text = String::from(
        "# Connection facts of the local stack, written by `cargo xtask stack up`.\n\
         # Removed by `cargo xtask stack down`. Load with: set -a; . .stack/env; set +a\n",
    );
    for (key, value) in entries {
        text.push_str(&format!("{key}={value}\n"));
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // `mode` applies only when the file is created: tighten one an older version wrote.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {} to its owner", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_readable_by_its_owner_only() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-env-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let path = dir.join("env");
        // An older file that anyone could read is tightened too.
        fs::write(&path, "OLD=1\n")?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        write(
            &path,
            &[("DATABASE_URL_X".into(), "postgres://x:secret@h/x".into())],
        )?;
        let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
        assert_eq!(
            read(&path)?.get("DATABASE_URL_X").map(String::as_str),
            Some("postgres://x:secret@h/x")
        );
        assert!(!read(&path)?.contains_key("OLD"));
        fs::remove_file(&path)?;
        write(&path, &[])?;
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn parses_assignments_comments_and_exports() {
        let parsed = parse("# comment\n\nA=1\nexport B=x=y\n  C = z \nnot a pair\n");
        assert_eq!(parsed.get("A").map(String::as_str), Some("1"));
        assert_eq!(parsed.get("B").map(String::as_str), Some("x=y"));
        assert_eq!(parsed.get("C").map(String::as_str), Some("z"));
        assert_eq!(parsed.len(), 3);
    }
}
