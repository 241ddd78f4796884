//! `.stack/env`: the connection facts of a running stack, as `KEY=value` lines.
//!
//! The format is the common subset of dotenv files and POSIX shell assignments (no quoting:
//! no value contains spaces or shell metacharacters), so `set -a; . .stack/env` works, and so
//! does any dotenv reader.

use std::collections::BTreeMap;
use std::fs;
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

/// Writes `entries` (in order) with a header comment.
pub fn write(path: &Path, entries: &[(String, String)]) -> Result<()> {
    let mut text = String::from(
        "# Connection facts of the local stack, written by `cargo xtask stack up`.\n\
         # Removed by `cargo xtask stack down`. Load with: set -a; . .stack/env; set +a\n",
    );
    for (key, value) in entries {
        text.push_str(&format!("{key}={value}\n"));
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_assignments_comments_and_exports() {
        let parsed = parse("# comment\n\nA=1\nexport B=x=y\n  C = z \nnot a pair\n");
        assert_eq!(parsed.get("A").map(String::as_str), Some("1"));
        assert_eq!(parsed.get("B").map(String::as_str), Some("x=y"));
        assert_eq!(parsed.get("C").map(String::as_str), Some("z"));
        assert_eq!(parsed.len(), 3);
    }
}
