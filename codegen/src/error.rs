use std::path::PathBuf;

pub type Result<T, E = CodegenError> = std::result::Result<T, E>;

/// Why the contracts could not be turned into code. Every variant names the contract file and,
/// where it applies, the JSON pointer of the offending construct.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: cannot parse: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file}#{pointer}: unsupported: {what}")]
    Unsupported {
        file: PathBuf,
        pointer: String,
        what: String,
    },
    #[error("{file}#{pointer}: invalid contract: {what}")]
    Invalid {
        file: PathBuf,
        pointer: String,
        what: String,
    },
    #[error("rustfmt failed on {file}: {message}")]
    Rustfmt { file: String, message: String },
}

impl CodegenError {
    pub fn unsupported(
        file: impl Into<PathBuf>,
        pointer: impl Into<String>,
        what: impl Into<String>,
    ) -> Self {
        Self::Unsupported {
            file: file.into(),
            pointer: pointer.into(),
            what: what.into(),
        }
    }

    pub fn invalid(
        file: impl Into<PathBuf>,
        pointer: impl Into<String>,
        what: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            file: file.into(),
            pointer: pointer.into(),
            what: what.into(),
        }
    }

    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            file: file.into(),
            source,
        }
    }
}
