//! The safety report, as values: issues grouped by check, the overall verdict
//! and recommendations. Same shape as the seed's `SafetyReport`, in snake_case.
//!
//! The shell runs the checks that need the database (data consistency,
//! orphans, dependencies, blocking sessions) and turns their rows into
//! [`Issue`]s; the pure checks (locks, estimate, rollback) build theirs here.

pub mod codes;
mod markdown;

pub use codes::recommendations;
pub use markdown::to_markdown;

use super::lock::LockFinding;
use super::Severity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub severity: Severity,
    pub message: String,
    /// Stable code, one of [`codes`].
    pub code: String,
    /// Free-form facts for the reader and for recommendations; `null` if none.
    #[serde(default)]
    pub details: Value,
}

impl Issue {
    pub fn new(severity: Severity, code: &str, message: impl Into<String>) -> Self {
        Issue {
            severity,
            message: message.into(),
            code: code.to_string(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// A lock finding as a `POTENTIAL_LOCK` issue; `details` is the whole
    /// finding, so `details.code` names the lock rule and `details.recipe`
    /// the safe way.
    pub fn from_lock(f: &LockFinding) -> Self {
        use super::lock::Category;
        let lead = match f.category {
            Category::Compatibility => "Compatibility risk",
            Category::Style => "Better form",
            Category::Lock | Category::Failure | Category::DataLoss => "Potential database lock",
        };
        Issue::new(
            f.severity,
            codes::POTENTIAL_LOCK,
            format!("{lead}: {}", f.message),
        )
        .with_details(serde_json::to_value(f).unwrap_or(Value::Null))
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check_name: String,
    /// No CRITICAL issue.
    pub passed: bool,
    pub issues: Vec<Issue>,
}

impl CheckResult {
    pub fn new(check_name: &str, issues: Vec<Issue>) -> Self {
        CheckResult {
            check_name: check_name.to_string(),
            passed: !issues.iter().any(|i| i.severity == Severity::Critical),
            issues,
        }
    }

    /// A check that could not run counts as a CRITICAL failure (as in the
    /// seed): an unverified migration is not a safe one.
    pub fn failed(check_name: &str, error: &str) -> Self {
        let issue = Issue::new(
            Severity::Critical,
            codes::SAFETY_CHECK_FAILURE,
            format!("Safety check failed: {error}"),
        );
        CheckResult::new(check_name, vec![issue])
    }
}

/// What to do about the issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// FIX_REQUIRED, IMPLEMENT_REQUIRED, SCHEDULE_MAINTENANCE, ...
    pub r#type: String,
    pub priority: Severity,
    pub message: String,
    /// Stable action code, e.g. "USE_CREATE_INDEX_CONCURRENTLY".
    pub action: String,
}

/// The whole report for one migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetyReport {
    /// Migration name, for titles.
    #[serde(default)]
    pub migration: String,
    /// False when any check has a CRITICAL issue.
    pub overall_safety: bool,
    pub critical_issues: Vec<Issue>,
    pub all_results: Vec<CheckResult>,
    pub recommendations: Vec<Recommendation>,
}

impl SafetyReport {
    pub fn new(migration: &str, results: Vec<CheckResult>) -> Self {
        let critical_issues: Vec<Issue> = results
            .iter()
            .flat_map(|r| &r.issues)
            .filter(|i| i.severity == Severity::Critical)
            .cloned()
            .collect();
        SafetyReport {
            migration: migration.to_string(),
            overall_safety: critical_issues.is_empty(),
            critical_issues,
            recommendations: recommendations(&results),
            all_results: results,
        }
    }

    /// Read back a report stored as JSON (e.g. to render it as Markdown).
    pub fn from_json(v: &Value) -> Result<Self, serde_json::Error> {
        SafetyReport::deserialize(v)
    }
}

/// `{migration, overall_safety, critical_issues, all_results, recommendations}`.
pub fn to_json(report: &SafetyReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_critical_issue_makes_the_report_unsafe() {
        let results = vec![
            CheckResult::new(
                "DataIntegrityCheck",
                vec![Issue::new(
                    Severity::High,
                    codes::ORPHANED_REFERENCE,
                    "a -> b",
                )],
            ),
            CheckResult::new(
                "RollbackCapabilityCheck",
                vec![Issue::new(
                    Severity::Critical,
                    codes::NO_ROLLBACK_SCRIPT,
                    "No rollback script provided for migration",
                )],
            ),
        ];
        let v = to_json(&SafetyReport::new("m1", results));
        assert_eq!(v["overall_safety"], false);
        assert_eq!(v["critical_issues"][0]["code"], "NO_ROLLBACK_SCRIPT");
        assert_eq!(v["all_results"][0]["passed"], true);
        assert_eq!(v["all_results"][1]["passed"], false);
        assert_eq!(
            v["all_results"][0]["issues"][0],
            json!({"severity": "HIGH", "message": "a -> b", "code": "ORPHANED_REFERENCE", "details": null})
        );
        assert_eq!(
            v["recommendations"][0],
            json!({"type": "IMPLEMENT_REQUIRED", "priority": "CRITICAL",
                   "message": "Implement rollback script before migration",
                   "action": "CREATE_ROLLBACK_SCRIPT"})
        );
        assert_eq!(SafetyReport::from_json(&v).unwrap().migration, "m1");
    }

    #[test]
    fn a_failed_check_is_critical() {
        let r = CheckResult::failed("DependencyValidation", "timeout");
        assert!(!r.passed);
        assert_eq!(r.issues[0].message, "Safety check failed: timeout");
        assert!(SafetyReport::new("m", vec![]).overall_safety);
    }
}
