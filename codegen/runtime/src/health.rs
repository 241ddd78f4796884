//! The body of every service's `/health/` response (`x-rust-type` of the `Health` schema).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Overall readiness and one entry per dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when every check is ready.
    pub status: HealthStatus,
    /// Each dependency by name.
    pub checks: BTreeMap<String, Check>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
/// The overall readiness in a health document.
pub enum HealthStatus {
    /// Ready to serve.
    Ok,
    /// Everything the service needs is ready; an optional dependency is not.
    Degraded,
    /// Not ready: a dependency is down.
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
        Self { status, checks }
    }

    /// Whether every check is ready.
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
                "checks": {
                    "database": {"ready": true},
                    "kafka": {"ready": false, "detail": "no broker"},
                },
            })
        );
    }
}
