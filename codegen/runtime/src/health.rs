//! The body of every service's `/health/` response (`x-rust-type` of the `Health` schema).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Overall readiness and one entry per dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when every check the answer requires is ready.
    pub status: HealthStatus,
    /// The service answers, but a dependency it can work without is not ready (the failing
    /// checks name it). A flag beside `status` rather than a third status value, so that
    /// clients built for the first published API, whose `status` is `ok` or `unavailable`,
    /// keep reading the answer.
    #[serde(default)]
    pub degraded: bool,
    /// Each dependency by name.
    pub checks: BTreeMap<String, Check>,
}

/// Whether a health answer is a success (`200`) or not (`503`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Ready to serve (perhaps [`Health::degraded`]).
    Ok,
    /// Not ready: a dependency the answer requires is down.
    Unavailable,
}

/// The readiness of one dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Whether the dependency answers.
    pub ready: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Why not, when it does not.
    pub detail: Option<String>,
}

impl Check {
    /// A dependency that answers.
    pub fn ready() -> Self {
        Self {
            ready: true,
            detail: None,
        }
    }

    /// A dependency that does not, and why.
    pub fn not_ready(detail: impl Into<String>) -> Self {
        Self {
            ready: false,
            detail: Some(detail.into()),
        }
    }
}

impl Health {
    /// `ok` exactly when every check is ready.
    pub fn from_checks(checks: BTreeMap<String, Check>) -> Self {
        let status = if checks.values().all(|check| check.ready) {
            HealthStatus::Ok
        } else {
            HealthStatus::Unavailable
        };
        Self {
            status,
            degraded: false,
            checks,
        }
    }

    /// Whether the answer is a success (`ok`, perhaps degraded).
    pub fn is_ok(&self) -> bool {
        self.status == HealthStatus::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_contract() {
        let health = Health::from_checks(BTreeMap::from([
            ("database".to_string(), Check::ready()),
            ("kafka".to_string(), Check::not_ready("no broker")),
        ]));
        assert!(!health.is_ok());
        assert_eq!(
            serde_json::to_value(&health).expect("json"),
            serde_json::json!({
                "status": "unavailable",
                "degraded": false,
                "checks": {
                    "database": {"ready": true},
                    "kafka": {"ready": false, "detail": "no broker"},
                },
            })
        );
    }
}
