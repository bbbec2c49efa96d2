//! What a trial run saw, statement by statement, and where it contradicts the
//! static analysis.
//!
//! The shell runs each statement of the forward steps in a subtransaction that is
//! rolled back, and records what PostgreSQL did: the locks it took (`pg_locks`),
//! the tables whose storage was replaced (`pg_class.relfilenode` before and after),
//! the rows it read (`pg_stat_xact_user_tables`) and how long it took. This module
//! compares that with what the rules predicted from the parse tree. A rewrite the
//! rules did not predict, or a lock stronger than the one they named, is a bug in
//! the rules: it is reported as CRITICAL so that it cannot go unnoticed.

use super::lock::{LockFinding, LockMode};
use super::report::codes::{STATIC_VERDICT_CONTRADICTED, TRIAL_TRACE};
use super::statement::{StatementFacts, StatementKind};
use super::{Issue, Severity};
use serde::Serialize;
use serde_json::json;

/// One relation lock a statement took (not held before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedLock {
    /// `regclass` text: schema-qualified when the schema is not on the search path.
    pub table: String,
    pub mode: String,
}

/// What the trial saw one statement do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementTrace {
    pub step: String,
    pub statement: String,
    /// False when the statement was not run (it must run outside a transaction
    /// block, or an earlier statement failed); `note` says why.
    pub traced: bool,
    pub locks: Vec<ObservedLock>,
    /// Tables that existed before the trial and got a new relfilenode.
    pub rewritten: Vec<String>,
    /// Rows read from each table (sequential scans' tuples plus index fetches), as
    /// the statistics collector counted them; tables it read nothing from are left out.
    pub rows_scanned: Vec<(String, i64)>,
    pub duration_ms: f64,
    pub error: Option<String>,
    pub note: Option<String>,
}

impl StatementTrace {
    pub fn untraced(step: &str, statement: &str, note: &str) -> Self {
        StatementTrace {
            step: step.to_owned(),
            statement: statement.to_owned(),
            traced: false,
            locks: Vec::new(),
            rewritten: Vec::new(),
            rows_scanned: Vec::new(),
            duration_ms: 0.0,
            error: None,
            note: Some(note.to_owned()),
        }
    }

    pub fn to_issue(&self) -> Issue {
        let what = if !self.traced {
            format!("not traced: {}", self.note.as_deref().unwrap_or(""))
        } else if let Some(e) = &self.error {
            format!("failed: {e}")
        } else {
            let locks: Vec<String> = self
                .locks
                .iter()
                .map(|l| format!("{} on {}", l.mode, l.table))
                .collect();
            let mut s = format!(
                "took {} in {:.1} ms",
                if locks.is_empty() {
                    "no new table lock".to_owned()
                } else {
                    locks.join(", ")
                },
                self.duration_ms
            );
            if !self.rewritten.is_empty() {
                s.push_str(&format!("; rewrote {}", self.rewritten.join(", ")));
            }
            s
        };
        Issue::new(
            Severity::Low,
            TRIAL_TRACE,
            format!("Trial of step {}: {} {what}", self.step, short(&self.statement)),
        )
        .with_details(json!({
            "step": self.step,
            "statement": self.statement,
            "traced": self.traced,
            "locks": self.locks,
            "rewritten": self.rewritten,
            "rows_scanned": self.rows_scanned.iter().map(|(t, n)| json!({"table": t, "rows": n})).collect::<Vec<_>>(),
            "duration_ms": self.duration_ms,
            "error": self.error,
            "note": self.note,
        }))
    }
}

fn short(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    } else {
        one_line
    }
}

/// The table name without schema or quotes, lower-cased as PostgreSQL folds an
/// unquoted identifier: the parse tree's `kg.items` and pg_locks' `items` meet.
fn bare(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.trim_matches('"').to_owned()
}

/// What the rules predict for one statement.
struct Prediction {
    lock: Option<LockMode>,
    /// The statement gives the table new storage: a rewrite a rule reported, or a
    /// statement whose nature is to (TRUNCATE, CLUSTER, VACUUM FULL, REINDEX of a
    /// table does not: it renews the indexes only).
    new_storage: Vec<String>,
    targets: Vec<String>,
}

fn predict(facts: &StatementFacts, findings: &[&LockFinding]) -> Prediction {
    let targets: Vec<String> = facts.target_tables().into_iter().map(bare).collect();
    let by_nature = matches!(
        facts.kind,
        StatementKind::Truncate { .. }
            | StatementKind::Cluster { .. }
            | StatementKind::Vacuum { full: true, .. }
    );
    let by_rule = findings.iter().any(|f| f.rewrites_table);
    Prediction {
        lock: facts.table_lock(),
        new_storage: if by_nature || by_rule {
            targets.clone()
        } else {
            Vec::new()
        },
        targets,
    }
}

/// Where the trace of `facts` contradicts the static verdict: `findings` are the rules'
/// findings for this statement, from an analysis of the whole script (so that what
/// earlier statements did counts, as it does for the lint). Tables created during the
/// trial are never compared (the rules ignore new tables on purpose: nobody reads them
/// yet), nor are statements that failed or did not run.
pub fn contradictions(
    facts: &StatementFacts,
    findings: &[&LockFinding],
    trace: &StatementTrace,
) -> Vec<Issue> {
    if !trace.traced || trace.error.is_some() {
        return Vec::new();
    }
    let predicted = predict(facts, findings);
    let statement = short(&facts.sql);
    let step = &facts.step;
    // one issue of the code, with what was predicted and what was seen in `details`
    let contradiction =
        |severity, table: &str, predicted: &str, observed: &str, message: String| {
            Issue::new(severity, STATIC_VERDICT_CONTRADICTED, message).with_details(json!({
                "step": facts.step, "statement": facts.sql, "table": table,
                "predicted": predicted, "observed": observed,
            }))
        };
    let mut out = Vec::new();
    for table in &trace.rewritten {
        if !predicted.new_storage.contains(&bare(table)) {
            out.push(contradiction(Severity::Critical, table, "no rewrite", "rewrite", format!(
                "The static analysis found no rewrite in {statement:?} (step {step}), but the trial saw {table} get new storage (relfilenode changed): treat it as a rewrite, and report this as a bug of migration_engine's rules"
            )));
        }
    }
    for table in &predicted.new_storage {
        if !trace.rewritten.iter().any(|t| bare(t) == *table) && was_there(trace, table) {
            out.push(contradiction(Severity::Low, table, "rewrite", "no rewrite", format!(
                "The static analysis expected {statement:?} (step {step}) to rewrite {table}, but the trial saw its storage kept: the rules are more cautious than PostgreSQL here"
            )));
        }
    }
    if let Some(expected) = predicted.lock {
        for lock in &trace.locks {
            let stronger = LockMode::parse(&lock.mode).is_some_and(|mode| mode > expected);
            if stronger && predicted.targets.contains(&bare(&lock.table)) {
                out.push(contradiction(Severity::Critical, &lock.table, expected.as_str(), &lock.mode, format!(
                    "The static analysis expected {statement:?} (step {step}) to take at most {} on {}, but the trial saw {}: report this as a bug of migration_engine's rules",
                    expected.as_str(), lock.table, lock.mode
                )));
            }
        }
    }
    out
}

/// A table the statement locked: it existed when the statement ran, so a rewrite
/// would have shown (the trace lists only tables that existed before the trial).
fn was_there(trace: &StatementTrace, table: &str) -> bool {
    trace.locks.iter().any(|l| bare(&l.table) == table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::analyze;
    use crate::safety::statement::AlterCommand;

    /// The contradictions of one statement analysed alone.
    fn check(facts: &StatementFacts, trace: &StatementTrace) -> Vec<Issue> {
        let findings = analyze(std::slice::from_ref(facts));
        contradictions(facts, &findings.iter().collect::<Vec<_>>(), trace)
    }

    /// varchar(20) -> text (binary coercible) or integer -> bigint (a rewrite).
    fn alter_type(binary_coercible: bool) -> StatementFacts {
        let (old, new) = if binary_coercible {
            ("character varying(20)", "text")
        } else {
            ("integer", "bigint")
        };
        StatementFacts::new(
            "s",
            "ALTER TABLE kg.items ALTER COLUMN name TYPE x",
            StatementKind::AlterTable {
                table: "kg.items".into(),
                commands: vec![AlterCommand::AlterColumnType {
                    column: "name".into(),
                    old_type: Some(old.into()),
                    new_type: new.into(),
                    has_using: false,
                    binary_coercible: Some(binary_coercible),
                    revalidates: vec![],
                    json: false,
                    domain_check: false,
                }],
            },
        )
    }

    fn traced(locks: &[(&str, &str)], rewritten: &[&str]) -> StatementTrace {
        StatementTrace {
            traced: true,
            note: None,
            locks: locks
                .iter()
                .map(|(t, m)| ObservedLock {
                    table: (*t).into(),
                    mode: (*m).into(),
                })
                .collect(),
            rewritten: rewritten.iter().map(|t| (*t).to_string()).collect(),
            ..StatementTrace::untraced("s", "x", "")
        }
    }

    #[test]
    fn a_rewrite_the_rules_did_not_predict_is_critical() {
        let facts = alter_type(true);
        let seen = traced(&[("items", "AccessExclusiveLock")], &["items"]);
        let issues = check(&facts, &seen);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].severity, Severity::Critical);
        assert_eq!(issues[0].details["observed"], "rewrite");
        let agreed = traced(&[("items", "AccessExclusiveLock")], &[]);
        assert!(check(&facts, &agreed).is_empty());
    }

    #[test]
    fn a_predicted_rewrite_that_did_not_happen_is_low() {
        let facts = alter_type(false);
        let seen = traced(&[("items", "AccessExclusiveLock")], &[]);
        let issues = check(&facts, &seen);
        assert_eq!(
            issues.iter().map(|i| i.severity).collect::<Vec<_>>(),
            [Severity::Low]
        );
        assert!(check(
            &facts,
            &traced(&[("items", "AccessExclusiveLock")], &["items"])
        )
        .is_empty());
    }

    #[test]
    fn a_stronger_lock_than_predicted_is_critical_only_on_named_tables() {
        let validate = StatementFacts::new(
            "s",
            "ALTER TABLE items VALIDATE CONSTRAINT c",
            StatementKind::AlterTable {
                table: "items".into(),
                commands: vec![AlterCommand::ValidateConstraint {
                    name: "c".into(),
                    proves_not_null: None,
                }],
            },
        );
        let ok = traced(
            &[
                ("items", "ShareUpdateExclusiveLock"),
                ("owners", "RowShareLock"),
            ],
            &[],
        );
        assert!(check(&validate, &ok).is_empty());
        let bad = traced(
            &[
                ("kg.items", "AccessExclusiveLock"),
                ("owners", "AccessExclusiveLock"),
            ],
            &[],
        );
        let issues = check(&validate, &bad);
        assert_eq!(issues.len(), 1, "owners is not named by the statement");
        assert_eq!(issues[0].details["observed"], "AccessExclusiveLock");
    }

    #[test]
    fn truncate_gets_new_storage_by_nature_and_untraced_statements_are_not_judged() {
        let truncate = StatementFacts::new(
            "s",
            "TRUNCATE items",
            StatementKind::Truncate {
                tables: vec!["items".into()],
                cascade: false,
            },
        );
        assert!(check(
            &truncate,
            &traced(&[("items", "AccessExclusiveLock")], &["items"])
        )
        .is_empty());
        let skipped = StatementTrace::untraced("s", "x", "runs outside a transaction");
        assert!(check(&alter_type(true), &skipped).is_empty());
        assert!(skipped.to_issue().message.contains("not traced"));
    }

    #[test]
    fn names_meet_across_schemas_and_quotes() {
        assert_eq!(bare("kg.items"), "items");
        assert_eq!(bare("\"Items\""), "Items");
        assert_eq!(bare("items"), "items");
    }
}
