//! Canary settings as users pass them (camelCase JSON), checked once up front so a
//! rollout cannot fail an hour in because `successThreshold` was 80 instead of 0.8.

use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct CanaryConfig {
    pub migration_name: String,
    /// Share of traffic on the new version at the first step (1..=100).
    pub canary_percentage: u8,
    pub validation_metrics: Vec<String>,
    /// Minimum health score (0..=1) to keep going.
    pub success_threshold: f64,
    pub max_duration_minutes: u32,
    pub rollback_on_failure: bool,
    /// Percentage points added at each successful step (1..=100).
    pub step_percentage: u8,
    /// Wait after each change before measuring, so metrics reflect the new split.
    pub stabilization_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanaryConfigError {
    NotAnObject,
    /// A key the config does not take (the message lists the known ones).
    UnknownKey(String),
    Missing {
        key: &'static str,
    },
    WrongType {
        key: &'static str,
        expected: &'static str,
    },
    OutOfRange {
        key: &'static str,
        allowed: &'static str,
    },
}

impl CanaryConfigError {
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::NotAnObject | Self::UnknownKey(_) => None,
            Self::Missing { key } | Self::WrongType { key, .. } | Self::OutOfRange { key, .. } => {
                Some(key)
            }
        }
    }
}

impl fmt::Display for CanaryConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => f.write_str("canary config must be a JSON object"),
            Self::UnknownKey(message) => write!(f, "canary config: {message}"),
            Self::Missing { key } => write!(f, "canary config needs {key:?}"),
            Self::WrongType { key, expected } => {
                write!(f, "canary config {key:?} must be {expected}")
            }
            Self::OutOfRange { key, allowed } => {
                write!(f, "canary config {key:?} must be {allowed}")
            }
        }
    }
}

impl std::error::Error for CanaryConfigError {}

type R<T> = Result<T, CanaryConfigError>;

/// Field reader: `null` counts as absent, so defaults apply.
struct Fields<'a>(&'a serde_json::Map<String, Value>);

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn int(
        &self,
        key: &'static str,
        default: u32,
        min: u32,
        max: u32,
        allowed: &'static str,
    ) -> R<u32> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let n = v.as_i64().ok_or(CanaryConfigError::WrongType {
            key,
            expected: "an integer",
        })?;
        if n < i64::from(min) || n > i64::from(max) {
            return Err(CanaryConfigError::OutOfRange { key, allowed });
        }
        Ok(n as u32)
    }

    fn percent(&self, key: &'static str, default: u8) -> R<u8> {
        Ok(self.int(key, default.into(), 1, 100, "an integer from 1 to 100")? as u8)
    }
}

/// The keys a canary config takes (`targetSchema` and `options` are read by the shell).
pub const CANARY_CONFIG_KEYS: &[&str] = &[
    "migrationName",
    "canaryPercentage",
    "validationMetrics",
    "successThreshold",
    "maxDuration",
    "rollbackOnFailure",
    "stepPercentage",
    "stabilizationSeconds",
    "targetSchema",
    "options",
];

impl CanaryConfig {
    pub fn parse(v: &Value) -> R<Self> {
        let map = v.as_object().ok_or(CanaryConfigError::NotAnObject)?;
        if let Some(key) = crate::keys::first_unknown(map, CANARY_CONFIG_KEYS) {
            return Err(CanaryConfigError::UnknownKey(
                crate::keys::unknown_key_message(key, CANARY_CONFIG_KEYS),
            ));
        }
        let f = Fields(map);
        let migration_name = match f.get("migrationName") {
            None => {
                return Err(CanaryConfigError::Missing {
                    key: "migrationName",
                })
            }
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(_) => {
                return Err(CanaryConfigError::WrongType {
                    key: "migrationName",
                    expected: "a non-empty string",
                })
            }
        };
        let validation_metrics = match f.get("validationMetrics") {
            None => vec!["error_rate".to_string(), "response_time".to_string()],
            Some(Value::Array(items)) => {
                let wrong = CanaryConfigError::WrongType {
                    key: "validationMetrics",
                    expected: "an array of metric names (plain identifiers such as error_rate: only those can be recorded)",
                };
                let names = items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .filter(|s| crate::ident::is_plain_identifier(s))
                            .map(str::to_string)
                            .ok_or(wrong.clone())
                    })
                    .collect::<R<Vec<_>>>()?;
                if names.is_empty() {
                    // No metric means a score of 0: the canary could never pass.
                    return Err(CanaryConfigError::OutOfRange {
                        key: "validationMetrics",
                        allowed: "a non-empty array",
                    });
                }
                names
            }
            Some(_) => {
                return Err(CanaryConfigError::WrongType {
                    key: "validationMetrics",
                    expected: "an array of metric names",
                })
            }
        };
        let success_threshold = match f.get("successThreshold") {
            None => 0.8,
            Some(v) => {
                let t = v.as_f64().ok_or(CanaryConfigError::WrongType {
                    key: "successThreshold",
                    expected: "a number",
                })?;
                if !(0.0..=1.0).contains(&t) {
                    return Err(CanaryConfigError::OutOfRange {
                        key: "successThreshold",
                        allowed: "between 0 and 1 (a score, not a percentage)",
                    });
                }
                t
            }
        };
        let rollback_on_failure = match f.get("rollbackOnFailure") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(CanaryConfigError::WrongType {
                    key: "rollbackOnFailure",
                    expected: "a boolean",
                })
            }
        };
        Ok(Self {
            migration_name,
            canary_percentage: f.percent("canaryPercentage", 10)?,
            validation_metrics,
            success_threshold,
            max_duration_minutes: f.int(
                "maxDuration",
                60,
                1,
                525_600,
                "a number of minutes from 1 to 525600 (a year)",
            )?,
            rollback_on_failure,
            step_percentage: f.percent("stepPercentage", 10)?,
            stabilization_seconds: f.int(
                "stabilizationSeconds",
                30,
                0,
                86_400,
                "a number of seconds from 0 to 86400",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults() {
        let c = CanaryConfig::parse(&json!({"migrationName": "m", "maxDuration": null})).unwrap();
        assert_eq!(
            c,
            CanaryConfig {
                migration_name: "m".into(),
                canary_percentage: 10,
                validation_metrics: vec!["error_rate".into(), "response_time".into()],
                success_threshold: 0.8,
                max_duration_minutes: 60,
                rollback_on_failure: true,
                step_percentage: 10,
                stabilization_seconds: 30,
            }
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_the_likely_typo() {
        let e =
            CanaryConfig::parse(&json!({"migrationName": "m", "canaryPercent": 5})).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("\"canaryPercent\"") && m.contains("did you mean \"canaryPercentage\""),
            "{m}"
        );
        assert!(CanaryConfig::parse(
            &json!({"migrationName": "m", "targetSchema": "c", "options": {}})
        )
        .is_ok());
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (json!({}), Some("migrationName")),
            (json!([]), None),
            (json!({"migrationName": ""}), Some("migrationName")),
            (
                json!({"migrationName": "m", "canaryPercentage": 0}),
                Some("canaryPercentage"),
            ),
            (
                json!({"migrationName": "m", "canaryPercentage": 10.5}),
                Some("canaryPercentage"),
            ),
            (
                json!({"migrationName": "m", "successThreshold": 80}),
                Some("successThreshold"),
            ),
            (
                json!({"migrationName": "m", "successThreshold": "high"}),
                Some("successThreshold"),
            ),
            (
                json!({"migrationName": "m", "validationMetrics": []}),
                Some("validationMetrics"),
            ),
            (
                json!({"migrationName": "m", "validationMetrics": ["a", 1]}),
                Some("validationMetrics"),
            ),
            (
                json!({"migrationName": "m", "maxDuration": 0}),
                Some("maxDuration"),
            ),
            (
                json!({"migrationName": "m", "rollbackOnFailure": "yes"}),
                Some("rollbackOnFailure"),
            ),
            (
                json!({"migrationName": "m", "stepPercentage": 101}),
                Some("stepPercentage"),
            ),
            (
                json!({"migrationName": "m", "stabilizationSeconds": -1}),
                Some("stabilizationSeconds"),
            ),
            (
                json!({"migrationName": "m", "validationMetrics": ["error rate"]}),
                Some("validationMetrics"),
            ),
            (
                json!({"migrationName": "m", "validationMetrics": ["x;y"]}),
                Some("validationMetrics"),
            ),
            (json!({"migrationName": "m", "canaryPercent": 5}), None),
        ];
        for (input, key) in cases {
            let e = CanaryConfig::parse(&input).unwrap_err();
            assert_eq!(e.key(), key, "{input}");
            if let Some(k) = key {
                assert!(e.to_string().contains(k));
            }
        }
    }
}
