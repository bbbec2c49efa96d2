//! Safety checks before a migration runs: lock analysis of its SQL, the
//! performance estimate, the rollback data-loss heuristic, and the report.
//!
//! All pure. The shell parses each step's SQL with PostgreSQL's own
//! `raw_parser`, fills [`StatementFacts`] from the parse tree (plus the few
//! catalog facts a rule needs, such as a column's current type), and hands
//! them here. Nothing in this module guesses from SQL text: a regex cannot
//! tell `CREATE INDEX` in a comment from a real one, the parser can.
//!
//! Adding a lock rule = adding a file under `rules/` named after its code and
//! one line in `rules::RULES`.

mod estimate;
pub mod hash_groups;
mod lock;
mod report;
mod rollback_loss;
mod rules;
mod script;
mod statement;
mod text;
mod trace;
mod types;

#[cfg(test)]
mod proptests;

pub use estimate::{
    estimate, performance_issues, Estimate, EstimateError, TableEstimate, TableWork,
};
pub use lock::{Blocks, Category, LockFinding, LockMode};
pub use report::{
    codes, recommendations, to_json, to_markdown, CheckResult, Issue, Recommendation, SafetyReport,
};
pub use rollback_loss::{rollback_data_loss, rollback_data_loss_issue, LostData};
pub use rules::{
    analyze, analyze_with, rule_doc, rule_docs, LockRule, RuleDoc, ScriptRule, RULES, SCRIPT_RULES,
};
pub use script::{read_script, LintOptions, Scripted};
pub use statement::{
    known_volatile_function, AlterCommand, ConstraintKind, StatementFacts, StatementKind,
    TransactionOp,
};
pub use trace::{contradictions, ObservedLock, StatementTrace};
pub use types::{classify_type_change, classify_type_change_with, TypeChange};

use serde::{Deserialize, Serialize};

/// How bad an issue is. Ordered `Low < Medium < High < Critical`.
///
/// CRITICAL is kept for what will certainly fail or silently destroy data the
/// author did not name: any CRITICAL issue makes the whole report unsafe, so it
/// must not fire on intended, reviewed operations (a planned `DROP TABLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Case-insensitive; for severities that come from SQL functions' rows.
    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
