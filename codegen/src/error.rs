//! Diagnostics: why a contract could not be turned into code ([`CodegenError`]), and what was
//! accepted with a caveat ([`Warning`]). Generation collects every problem of every contract in
//! one run, so callers receive a `Vec<CodegenError>` ([`Errors`] when displayed together).

use std::fmt;
use std::path::PathBuf;

/// The result of one generation step.
pub type Result<T, E = CodegenError> = std::result::Result<T, E>;

/// Why the contracts could not be turned into code. Every variant names the contract file and,
/// where it applies, the JSON pointer of the offending construct and a hint how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// A contract file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A contract file is not valid YAML/JSON/TOML, or not a valid document of its kind.
    #[error("{file}: cannot parse: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A valid construct the generator does not turn into code.
    #[error("{file}#{pointer}: unsupported: {what}{}", hint(fix))]
    Unsupported {
        /// The contract file.
        file: PathBuf,
        /// JSON pointer of the construct inside the file (`""` for the whole document).
        pointer: String,
        /// What is not supported.
        what: String,
        /// How to change the contract so that it generates, where one is known.
        fix: Option<String>,
    },
    /// A construct that is wrong in itself (or contradicts another contract).
    #[error("{file}#{pointer}: invalid contract: {what}{}", hint(fix))]
    Invalid {
        /// The contract file.
        file: PathBuf,
        /// JSON pointer of the construct inside the file (`""` for the whole document).
        pointer: String,
        /// What is wrong.
        what: String,
        /// How to correct it, where one is known.
        fix: Option<String>,
    },
    /// rustfmt rejected or could not format a generated file.
    #[error("rustfmt failed on {file}: {message}")]
    Rustfmt {
        /// The generated file's path.
        file: String,
        /// rustfmt's complaint.
        message: String,
    },
}

fn hint(fix: &Option<String>) -> String {
    fix.as_ref()
        .map(|fix| format!(" (fix: {fix})"))
        .unwrap_or_default()
}

impl CodegenError {
    /// An [`Unsupported`](Self::Unsupported) construct without a fix hint; add one with
    /// [`with_fix`](Self::with_fix).
    pub fn unsupported(
        file: impl Into<PathBuf>,
        pointer: impl Into<String>,
        what: impl Into<String>,
    ) -> Self {
        Self::Unsupported {
            file: file.into(),
            pointer: pointer.into(),
            what: what.into(),
            fix: None,
        }
    }

    /// An [`Invalid`](Self::Invalid) construct without a fix hint; add one with
    /// [`with_fix`](Self::with_fix).
    pub fn invalid(
        file: impl Into<PathBuf>,
        pointer: impl Into<String>,
        what: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            file: file.into(),
            pointer: pointer.into(),
            what: what.into(),
            fix: None,
        }
    }

    /// A file that could not be read.
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            file: file.into(),
            source,
        }
    }

    /// A file that could not be parsed.
    pub fn parse(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Parse {
            file: file.into(),
            message: message.into(),
        }
    }

    /// Adds the fix hint to an `Unsupported` or `Invalid` error; other variants are returned
    /// unchanged.
    #[must_use]
    pub fn with_fix(mut self, hint: impl Into<String>) -> Self {
        if let Self::Unsupported { fix, .. } | Self::Invalid { fix, .. } = &mut self {
            *fix = Some(hint.into());
        }
        self
    }

    /// The fix hint, if the error has one.
    pub fn fix(&self) -> Option<&str> {
        match self {
            Self::Unsupported { fix, .. } | Self::Invalid { fix, .. } => fix.as_deref(),
            _ => None,
        }
    }

    /// The contract file the error is about (`None` for rustfmt failures).
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Self::Io { file, .. }
            | Self::Parse { file, .. }
            | Self::Unsupported { file, .. }
            | Self::Invalid { file, .. } => Some(file),
            Self::Rustfmt { .. } => None,
        }
    }

    /// The JSON pointer inside [`file`](Self::file), for `Unsupported` and `Invalid`.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Self::Unsupported { pointer, .. } | Self::Invalid { pointer, .. } => Some(pointer),
            _ => None,
        }
    }
}

/// Something generated, but not exactly as written: e.g. an unknown OpenAPI `format` treated as
/// its base type, as the OpenAPI specification says. Reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The contract file.
    pub file: PathBuf,
    /// JSON pointer of the construct inside the file.
    pub pointer: String,
    /// What was done instead.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}#{}: warning: {}",
            self.file.display(),
            self.pointer,
            self.message
        )
    }
}

/// Every problem of one generation run, one per line, followed by a count.
#[derive(Debug)]
pub struct Errors(pub Vec<CodegenError>);

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.0 {
            writeln!(f, "{error}")?;
        }
        let files: std::collections::BTreeSet<_> =
            self.0.iter().filter_map(CodegenError::file).collect();
        write!(
            f,
            "{} problem{} in {} file{}",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
        )
    }
}

impl std::error::Error for Errors {}

impl From<CodegenError> for Errors {
    fn from(error: CodegenError) -> Self {
        Self(vec![error])
    }
}

impl From<Vec<CodegenError>> for Errors {
    fn from(errors: Vec<CodegenError>) -> Self {
        Self(errors)
    }
}
