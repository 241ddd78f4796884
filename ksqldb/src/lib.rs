//! The Debezium connectors declared in `ksqldb/migrations/`, and Kafka Connect's REST API.
//!
//! The declarations keep the seed's form, ksqlDB migration statements
//! (`CREATE SOURCE CONNECTOR name WITH ('key' = 'value', ...);`), so they read the same as the
//! seed's and could still be run by a ksqlDB server. [`load_declarations`] parses them and
//! substitutes `${env:NAME}` placeholders; [`Connect`] sends each config to
//! `PUT /connectors/<name>/config` (create or update, idempotent), reads connector states, and
//! recovers a connector whose replication slot was lost ([`Connect::restart_from_fresh_offsets`]).
//! `cargo xtask stack connectors` (local stack) and `ops connectors` (any deployment, e.g. the
//! compose file's one-shot service) both call this code.

mod connect;

pub use connect::{Applied, Connect, ConnectorStatus, TaskStatus, apply_all};

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// One `CREATE SOURCE CONNECTOR` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorDeclaration {
    pub name: String,
    pub config: BTreeMap<String, String>,
    /// The file it was declared in.
    pub source: PathBuf,
}

impl ConnectorDeclaration {
    /// A setting of the declaration (`slot.name`, `database.dbname`, ...).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }
}

/// The `*.sql` files of `dir`, in file-name order.
pub fn declaration_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    Ok(files)
}

/// The connector declarations in `dir` (`ksqldb/migrations`), in file-name order, with
/// `${env:NAME}` placeholders substituted through `lookup`. Fails when there are none.
pub fn load_declarations(
    dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<ConnectorDeclaration>> {
    let mut declarations = Vec::new();
    for file in declaration_files(dir)? {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for (name, raw) in
            parse_statements(&text).with_context(|| format!("parsing {}", file.display()))?
        {
            let mut config = BTreeMap::new();
            for (key, value) in raw {
                let value = substitute_env(&value, lookup).with_context(|| {
                    format!("connector {name} in {}: setting {key}", file.display())
                })?;
                config.insert(key, value);
            }
            declarations.push(ConnectorDeclaration {
                name,
                config,
                source: file.clone(),
            });
        }
    }
    if declarations.is_empty() {
        bail!(
            "no CREATE SOURCE CONNECTOR statements under {}",
            dir.display()
        );
    }
    Ok(declarations)
}

/// Replaces every `${env:NAME}` in `value`; other `${...}` (e.g. the EventRouter's
/// `${routedByValue}`) are left for Connect.
pub fn substitute_env(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    const OPEN: &str = "${env:";
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find('}')
            .with_context(|| format!("unterminated ${{env:...}} in {value:?}"))?;
        let name = &after[..end];
        let replacement = lookup(name).with_context(|| {
            format!("{name} is not set (in the environment, or .stack/env for the local stack)")
        })?;
        out.push_str(&replacement);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

type RawStatement = (String, Vec<(String, String)>);

/// Parses `CREATE SOURCE CONNECTOR [IF NOT EXISTS] name WITH ('k' = 'v', ...);` statements.
/// Comments (`-- ...`, `/* ... */`) are skipped; strings are single-quoted with `''` for a
/// quote, as in ksqlDB (no backslash escapes).
pub fn parse_statements(text: &str) -> Result<Vec<RawStatement>> {
    let mut lexer = Lexer::new(text);
    let mut statements = Vec::new();
    loop {
        lexer.skip_trivia()?;
        if lexer.at_end() {
            return Ok(statements);
        }
        let line = lexer.line();
        let statement = parse_statement(&mut lexer)
            .with_context(|| format!("in the statement starting on line {line}"))?;
        statements.push(statement);
    }
}

fn parse_statement(lexer: &mut Lexer<'_>) -> Result<RawStatement> {
    for keyword in ["CREATE", "SOURCE", "CONNECTOR"] {
        lexer.expect_keyword(keyword)?;
    }
    if lexer.peek_keyword("IF") {
        for keyword in ["IF", "NOT", "EXISTS"] {
            lexer.expect_keyword(keyword)?;
        }
    }
    let name = lexer.identifier()?;
    lexer.expect_keyword("WITH")?;
    lexer.expect_char('(')?;
    let mut properties = Vec::new();
    loop {
        let key = lexer.string()?;
        lexer.expect_char('=')?;
        let value = lexer.string()?;
        if properties
            .iter()
            .any(|(existing, _): &(String, String)| *existing == key)
        {
            bail!("property {key:?} is set twice in connector {name}");
        }
        properties.push((key, value));
        lexer.skip_trivia()?;
        match lexer.next_char() {
            Some(',') => continue,
            Some(')') => break,
            other => bail!("expected ',' or ')' after a property, found {other:?}"),
        }
    }
    lexer.expect_char(';')?;
    Ok((name, properties))
}

struct Lexer<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, position: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    fn line(&self) -> usize {
        self.text[..self.position].matches('\n').count() + 1
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.rest().chars().next()?;
        self.position += c.len_utf8();
        Some(c)
    }

    fn skip_trivia(&mut self) -> Result<()> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.position += rest.len() - trimmed.len();
            if trimmed.starts_with("--") {
                self.position += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                let end = trimmed
                    .find("*/")
                    .with_context(|| format!("unterminated /* comment on line {}", self.line()))?;
                self.position += end + 2;
            } else {
                return Ok(());
            }
        }
    }

    fn word(&mut self) -> Result<&'a str> {
        self.skip_trivia()?;
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            bail!("expected a word on line {}", self.line());
        }
        self.position += len;
        Ok(&rest[..len])
    }

    fn peek_keyword(&mut self, keyword: &str) -> bool {
        let saved = self.position;
        let found = self
            .word()
            .is_ok_and(|word| word.eq_ignore_ascii_case(keyword));
        self.position = saved;
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<()> {
        let line = self.line();
        let word = self.word().with_context(|| format!("expected {keyword}"))?;
        if !word.eq_ignore_ascii_case(keyword) {
            bail!("expected {keyword}, found {word:?} on line {line}");
        }
        Ok(())
    }

    /// A plain identifier, or one quoted with backticks or double quotes.
    fn identifier(&mut self) -> Result<String> {
        self.skip_trivia()?;
        match self.rest().chars().next() {
            Some(quote @ ('`' | '"')) => {
                self.position += 1;
                let rest = self.rest();
                let end = rest
                    .find(quote)
                    .with_context(|| format!("unterminated quoted name on line {}", self.line()))?;
                self.position += end + 1;
                Ok(rest[..end].to_owned())
            }
            _ => Ok(self.word()?.to_owned()),
        }
    }

    fn expect_char(&mut self, expected: char) -> Result<()> {
        self.skip_trivia()?;
        let line = self.line();
        match self.next_char() {
            Some(c) if c == expected => Ok(()),
            other => bail!("expected {expected:?} on line {line}, found {other:?}"),
        }
    }

    /// A single-quoted string; `''` stands for one quote.
    fn string(&mut self) -> Result<String> {
        self.expect_char('\'')?;
        let start_line = self.line();
        let mut value = String::new();
        loop {
            match self.next_char() {
                None => bail!("unterminated string starting on line {start_line}"),
                Some('\'') => {
                    if self.rest().starts_with('\'') {
                        self.position += 1;
                        value.push('\'');
                    } else {
                        return Ok(value);
                    }
                }
                Some(c) => value.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_form() -> Result<()> {
        let text = "-- comment\n/* block */\nCREATE SOURCE CONNECTOR IF NOT EXISTS `a_b` WITH (\n  \
                    'connector.class' = 'X', -- trailing\n  'q' = 'it''s ${routedByValue}'\n);\n\
                    create source connector c with ('k'='v');";
        let statements = parse_statements(text)?;
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].0, "a_b");
        assert_eq!(
            statements[0].1,
            vec![
                ("connector.class".to_owned(), "X".to_owned()),
                ("q".to_owned(), "it's ${routedByValue}".to_owned()),
            ]
        );
        assert_eq!(statements[1].0, "c");
        Ok(())
    }

    #[test]
    fn rejects_malformed_statements() {
        assert!(parse_statements("CREATE SOURCE CONNECTOR x WITH ('a' = 'b'").is_err());
        assert!(parse_statements("CREATE SINK CONNECTOR x WITH ('a' = 'b');").is_err());
        assert!(
            parse_statements("CREATE SOURCE CONNECTOR x WITH ('a' = 'b', 'a' = 'c');").is_err()
        );
        assert!(parse_statements("CREATE SOURCE CONNECTOR x WITH ('a' = 'b);").is_err());
    }

    #[test]
    fn substitutes_only_env_placeholders() -> Result<()> {
        let lookup = |name: &str| (name == "PORT").then(|| "5432".to_owned());
        assert_eq!(
            substitute_env("${env:PORT}/${routedByValue}", &lookup)?,
            "5432/${routedByValue}"
        );
        assert!(substitute_env("${env:MISSING}", &lookup).is_err());
        assert!(substitute_env("${env:PORT", &lookup).is_err());
        Ok(())
    }
}
