//! Why handling a message failed: transient (retry, never skip) or permanent with a typed
//! [`ErrorClass`] (dead-letter after the policy's attempts), and how database errors are
//! classified by their SQLSTATE class.

use crate::codec::CodecError;

/// Why a message can never be handled; its [`ErrorClass::as_str`] is the `dlq_error_class`
/// header of the dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Not a Confluent-framed value.
    NotConfluentFrame,
    /// The frame names a schema id the registry does not know.
    UnknownSchemaId,
    /// The body does not decode with the writer's schema.
    UndecodableAvro,
    /// The message decodes but breaks the contract: wrong record, wrong key, foreign or
    /// missing CloudEvents attributes, values outside the contract's limits.
    ContractViolation,
    /// An event of our own does not encode (the output side of a translator).
    Encode,
    /// The database refused a value (SQLSTATE class 22: NUL in text, out of range, …).
    DataException,
    /// The database refused the change (SQLSTATE class 23: a constraint).
    IntegrityViolation,
    /// The database refused the statement for this message for another reason that retrying
    /// cannot change (see [`sqlstate_class_is_permanent`]).
    DatabaseRejected,
}

impl ErrorClass {
    /// A short stable name, for dead-letter headers and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConfluentFrame => "not_confluent_frame",
            Self::UnknownSchemaId => "unknown_schema_id",
            Self::UndecodableAvro => "undecodable_avro",
            Self::ContractViolation => "contract_violation",
            Self::Encode => "encode",
            Self::DataException => "data_exception",
            Self::IntegrityViolation => "integrity_violation",
            Self::DatabaseRejected => "database_rejected",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why handling a message failed, which decides what the runtime does next.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A dependency is unavailable: retry the same message later, never skip it.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// The message can never be handled: dead-letter it after the policy's attempts.
    #[error("permanent ({class}): {error:#}")]
    Permanent {
        class: ErrorClass,
        error: anyhow::Error,
    },
}

impl HandleError {
    pub fn permanent(class: ErrorClass, error: impl Into<anyhow::Error>) -> Self {
        Self::Permanent {
            class,
            error: error.into(),
        }
    }

    pub fn transient(error: impl Into<anyhow::Error>) -> Self {
        Self::Transient(error.into())
    }

    /// A contract violation described by `message`.
    pub fn contract_violation(message: impl std::fmt::Display) -> Self {
        Self::permanent(ErrorClass::ContractViolation, anyhow::anyhow!("{message}"))
    }

    /// The class of a permanent failure; `None` for a transient one.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::Transient(_) => None,
            Self::Permanent { class, .. } => Some(*class),
        }
    }
}

/// What each SQLSTATE class (the code's first two characters, PostgreSQL Appendix A) means
/// for the message being applied: `Some(class)` when the error follows from the message's
/// values, so retrying it can never succeed (dead-letter it); `None` when the environment is
/// at fault — a connection, resources, an operator, a missing migration or a bug in a deploy
/// — which retrying outlives, so the message waits (and the partition reports itself stuck)
/// instead of being dead-lettered. Unknown classes wait too: a message is never dropped on an
/// error nobody classified.
///
/// | class | name | treatment |
/// |---|---|---|
/// | 08 | connection exception | transient |
/// | 09 | triggered action exception | permanent (`database_rejected`) |
/// | 0A | feature not supported | transient (a deploy's bug) |
/// | 20 | case not found | permanent (`database_rejected`) |
/// | 21 | cardinality violation | permanent (`database_rejected`) |
/// | 22 | data exception (NUL in text, out of range, bad format) | permanent (`data_exception`) |
/// | 23 | integrity constraint violation | permanent (`integrity_violation`) |
/// | 25 | invalid transaction state (read-only during a failover) | transient |
/// | 27 | triggered data change violation | permanent (`database_rejected`) |
/// | 28 | invalid authorization specification | transient |
/// | 3D, 3F | invalid catalog / schema name | transient |
/// | 40 | transaction rollback (serialization failure, deadlock) | transient |
/// | 42 | syntax error or access rule violation (missing table, privilege) | transient (a deploy's bug) |
/// | 44 | WITH CHECK OPTION violation | permanent (`database_rejected`) |
/// | 53 | insufficient resources (disk full, out of memory, too many connections) | transient |
/// | 54 | program limit exceeded (index row too large, too many columns) | permanent (`database_rejected`) |
/// | 55 | object not in prerequisite state (lock not available) | transient |
/// | 57 | operator intervention (shutdown, cancel, cannot connect now) | transient |
/// | 58 | system error (I/O) | transient |
/// | 72 | snapshot too old | transient |
/// | F0, HV, XX | configuration file, foreign data wrapper, internal error | transient |
/// | P0 | PL/pgSQL raise/assert | permanent (`database_rejected`) |
/// | any other | — | transient |
pub fn sqlstate_class_is_permanent(sqlstate: &str) -> Option<ErrorClass> {
    match sqlstate.get(..2)? {
        "22" => Some(ErrorClass::DataException),
        "23" => Some(ErrorClass::IntegrityViolation),
        "09" | "20" | "21" | "27" | "44" | "54" | "P0" => Some(ErrorClass::DatabaseRejected),
        _ => None,
    }
}

impl From<sqlx::Error> for HandleError {
    fn from(error: sqlx::Error) -> Self {
        let sqlstate = match &error {
            sqlx::Error::Database(e) => e.code().map(|c| c.into_owned()),
            _ => None,
        };
        let permanent = match (&error, &sqlstate) {
            (_, Some(code)) => sqlstate_class_is_permanent(code),
            // A bound value the driver cannot send follows from the message's data.
            (sqlx::Error::Encode(_), None) => Some(ErrorClass::DataException),
            // Connections, the pool, TLS, the protocol, and rows that do not match the code
            // (a deploy's bug): the message is not at fault.
            _ => None,
        };
        // The SQLSTATE goes with the message (dead letters, logs, health): the text alone
        // does not say which rule refused it.
        let error = match sqlstate {
            Some(code) => anyhow::Error::new(error).context(format!("SQLSTATE {code}")),
            None => anyhow::Error::new(error),
        };
        match permanent {
            Some(class) => Self::Permanent { class, error },
            None => Self::Transient(error),
        }
    }
}

impl From<CodecError> for HandleError {
    fn from(error: CodecError) -> Self {
        match error.class() {
            Some(class) => Self::permanent(class, error),
            None => Self::Transient(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sqlstate_class_has_its_treatment() {
        use ErrorClass::{DataException, DatabaseRejected, IntegrityViolation};
        let table: &[(&str, Option<ErrorClass>)] = &[
            ("08006", None),                     // connection failure
            ("08P01", None),                     // protocol violation
            ("09000", Some(DatabaseRejected)),   // triggered action exception
            ("0A000", None),                     // feature not supported
            ("20000", Some(DatabaseRejected)),   // case not found
            ("21000", Some(DatabaseRejected)),   // cardinality violation
            ("22021", Some(DataException)),      // character not in repertoire (NUL)
            ("22003", Some(DataException)),      // numeric value out of range
            ("22001", Some(DataException)),      // string data right truncation
            ("22P02", Some(DataException)),      // invalid text representation
            ("23505", Some(IntegrityViolation)), // unique violation
            ("23503", Some(IntegrityViolation)), // foreign key violation
            ("23514", Some(IntegrityViolation)), // check violation
            ("25006", None),                     // read-only SQL transaction
            ("27000", Some(DatabaseRejected)),   // triggered data change violation
            ("28P01", None),                     // invalid password
            ("3D000", None),                     // invalid catalog name
            ("3F000", None),                     // invalid schema name
            ("40001", None),                     // serialization failure
            ("40P01", None),                     // deadlock detected
            ("42P01", None),                     // undefined table
            ("42501", None),                     // insufficient privilege
            ("44000", Some(DatabaseRejected)),   // with check option violation
            ("53100", None),                     // disk full
            ("53300", None),                     // too many connections
            ("54000", Some(DatabaseRejected)),   // program limit exceeded
            ("55P03", None),                     // lock not available
            ("57014", None),                     // query canceled
            ("57P01", None),                     // admin shutdown
            ("57P03", None),                     // cannot connect now
            ("58030", None),                     // I/O error
            ("72000", None),                     // snapshot too old
            ("F0000", None),                     // config file error
            ("HV000", None),                     // FDW error
            ("P0001", Some(DatabaseRejected)),   // raise exception
            ("XX000", None),                     // internal error
            ("XX001", None),                     // data corrupted
            ("ZZ999", None),                     // unknown class
            ("2", None),                         // not a SQLSTATE
            ("", None),
        ];
        for (code, expected) in table {
            assert_eq!(
                sqlstate_class_is_permanent(code),
                *expected,
                "SQLSTATE {code}"
            );
        }
    }

    #[test]
    fn driver_errors_without_a_sqlstate_are_transient_except_unencodable_values() {
        assert!(matches!(
            HandleError::from(sqlx::Error::PoolTimedOut),
            HandleError::Transient(_)
        ));
        assert!(matches!(
            HandleError::from(sqlx::Error::RowNotFound),
            HandleError::Transient(_)
        ));
        let encode = sqlx::Error::Encode("value too large".into());
        assert_eq!(
            HandleError::from(encode).class(),
            Some(ErrorClass::DataException)
        );
    }

    #[test]
    fn codec_errors_keep_their_class() {
        let transient = HandleError::from(CodecError::RegistryUnavailable("down".into()));
        assert_eq!(transient.class(), None);
        let frame = HandleError::from(CodecError::NotConfluentFrame("x".into()));
        assert_eq!(frame.class(), Some(ErrorClass::NotConfluentFrame));
        assert_eq!(
            ErrorClass::NotConfluentFrame.as_str(),
            "not_confluent_frame"
        );
    }
}
