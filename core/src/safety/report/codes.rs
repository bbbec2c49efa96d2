//! Issue codes and check names, each declared once with its recommendation.
//!
//! The recommendation table is data: adding a code is adding a line. Lock
//! issues (`POTENTIAL_LOCK`) get one recommendation per lock rule instead,
//! built from that rule's [`RuleDoc`](crate::safety::RuleDoc).

use super::{CheckResult, Recommendation};
use crate::safety::{rule_doc, RuleDoc, Severity};

pub const DATA_INTEGRITY_CHECK: &str = "DataIntegrityCheck";
pub const PERFORMANCE_IMPACT_CHECK: &str = "PerformanceImpactCheck";
pub const DEPENDENCY_VALIDATION: &str = "DependencyValidation";
pub const ROLLBACK_CAPABILITY_CHECK: &str = "RollbackCapabilityCheck";

/// A recommendation template: (type, priority, message, action).
type Rec = Option<(&'static str, Severity, &'static str, &'static str)>;

macro_rules! issue_codes {
    ($( $(#[doc = $doc:literal])* $name:ident => $rec:expr; )+) => {
        $( $(#[doc = $doc])* pub const $name: &str = stringify!($name); )+
        /// Every code with its recommendation template.
        const TABLE: &[(&str, Rec)] = &[ $( ($name, $rec) ),+ ];
    };
}

const RERUN: Rec = Some((
    "INVESTIGATE",
    Severity::High,
    "A safety check could not run: fix the cause and run the checks again",
    "RERUN_SAFETY_CHECKS",
));

issue_codes! {
    /// A row of `check_data_consistency`.
    DATA_INCONSISTENCY => Some(("FIX_REQUIRED", Severity::High, "Fix data inconsistencies before proceeding with migration", "RUN_DATA_CLEANUP"));
    /// A relation whose source or target entity does not exist.
    ORPHANED_REFERENCE => Some(("FIX_REQUIRED", Severity::High, "Remove or repair orphaned references before proceeding with migration", "RUN_ORPHAN_CLEANUP"));
    /// Entities that are the same thing under several ids.
    DUPLICATE_ENTITIES => Some(("FIX_RECOMMENDED", Severity::Medium, "Merge duplicate entities so they are not migrated twice", "MERGE_DUPLICATES"));
    INTEGRITY_CHECK_FAILURE => RERUN;
    /// Estimated duration above one hour.
    LONG_MIGRATION_TIME => Some(("SCHEDULE_MAINTENANCE", Severity::Medium, "Schedule migration during maintenance window", "PLAN_DOWNTIME"));
    /// Estimated memory above 1 GiB.
    HIGH_MEMORY_USAGE => Some(("TUNE", Severity::Medium, "Reduce the batch size so each batch fits comfortably in memory", "REDUCE_BATCH_SIZE"));
    /// A lock rule finding; recommended per rule.
    POTENTIAL_LOCK => None;
    /// The rows touched and the time estimated from this server's measured rate.
    PERFORMANCE_ESTIMATE => None;
    /// A forward step that does not parse; the trial run reports how it fails.
    INVALID_FORWARD_SCRIPT => None;
    PERFORMANCE_ASSESSMENT_FAILURE => RERUN;
    /// A migration this one depends on has not completed.
    DEPENDENCY_NOT_COMPLETED => Some(("FIX_REQUIRED", Severity::Critical, "Complete the migrations this one depends on before running it", "COMPLETE_DEPENDENCIES"));
    /// The dependencies form a cycle: no order can satisfy them.
    DEPENDENCY_CYCLE => Some(("FIX_REQUIRED", Severity::Critical, "Break the dependency cycle between the migrations", "BREAK_DEPENDENCY_CYCLE"));
    /// Sessions holding locks the migration needs.
    BLOCKING_SESSIONS => Some(("WAIT_OR_TERMINATE", Severity::High, "Wait for the blocking sessions to finish or end them with pg_terminate_backend, then retry with a lock_timeout", "WAIT_FOR_BLOCKING_SESSIONS"));
    NO_ROLLBACK_SCRIPT => Some(("IMPLEMENT_REQUIRED", Severity::Critical, "Implement rollback script before migration", "CREATE_ROLLBACK_SCRIPT"));
    INVALID_ROLLBACK_SCRIPT => Some(("FIX_REQUIRED", Severity::Critical, "Fix the rollback script so that it parses and runs", "FIX_ROLLBACK_SCRIPT"));
    /// The rollback drops data the migration added, filled or kept.
    ROLLBACK_DATA_LOSS_RISK => Some(("PRECAUTION", Severity::High, "Back up what the rollback drops, or change the rollback to keep it", "BACKUP_BEFORE_ROLLBACK"));
    /// A step condition, VALIDATE script or validation rule that is not one expression:
    /// SQL smuggled past its parentheses (the engine refuses to run it).
    HIDDEN_STATEMENT => Some(("FIX_REQUIRED", Severity::Critical, "Make every condition and validation one SQL expression; put statements in SQL steps", "FIX_EXPRESSION"));
    /// A check raised an error instead of answering.
    SAFETY_CHECK_FAILURE => RERUN;
    /// The forward steps, run and rolled back, raised an error (its SQLSTATE in the details).
    TRIAL_RUN_FAILED => None;
    /// What one statement did in the trial run: locks, rewrites, rows read, duration.
    TRIAL_TRACE => None;
    /// The trial saw a rewrite, or a stronger lock, that the static analysis did not
    /// predict (CRITICAL), or no rewrite where it predicted one (LOW).
    STATIC_VERDICT_CONTRADICTED => Some(("INVESTIGATE", Severity::High, "The trial run contradicted the static analysis: plan the statement by what the trial saw, and report the rule that was wrong", "TRUST_THE_TRIAL"));
}

// Codes of the engine's refusals and endings, answered instead of running (not issues
// of a safety check: they have no recommendation).
/// run_migration was refused by the safety gate.
pub const SAFETY_CHECK_FAILED: &str = "SAFETY_CHECK_FAILED";
/// Another session runs the migration (its advisory lock is taken, or it is RUNNING in
/// a live backend).
pub const ALREADY_RUNNING: &str = "ALREADY_RUNNING";
/// resume_migration of a COMPLETED or ROLLED_BACK migration.
pub const NOTHING_TO_RESUME: &str = "NOTHING_TO_RESUME";
/// The reason an abort_canary records.
pub const CANARY_ABORTED: &str = "CANARY_ABORTED";

/// Every known issue code.
pub fn all() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(code, _)| *code)
}

/// The seed's mapping from issues to recommendations, plus one per lock rule
/// found. Deduplicated (same action and message: highest priority kept),
/// ordered by priority, then by first appearance.
pub fn recommendations(results: &[CheckResult]) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = Vec::new();
    for issue in results.iter().flat_map(|r| &r.issues) {
        let rec = if issue.code == POTENTIAL_LOCK {
            let rule = issue.details.get("code").and_then(|c| c.as_str());
            Some(lock_recommendation(rule, issue.severity))
        } else {
            TABLE
                .iter()
                .find(|(code, _)| *code == issue.code)
                .and_then(|(_, rec)| *rec)
                .map(|(kind, priority, message, action)| Recommendation {
                    r#type: kind.into(),
                    priority,
                    message: message.into(),
                    action: action.into(),
                })
        };
        let Some(rec) = rec else { continue };
        match out
            .iter_mut()
            .find(|r| r.action == rec.action && r.message == rec.message)
        {
            Some(seen) => seen.priority = seen.priority.max(rec.priority),
            None => out.push(rec),
        }
    }
    // Stable: equal priorities keep the order in which they were found.
    out.sort_by_key(|r| std::cmp::Reverse(r.priority));
    out
}

/// `{rule}: {fix}`; CRITICAL findings must be fixed, others have a safer way.
fn lock_recommendation(rule: Option<&str>, severity: Severity) -> Recommendation {
    let doc: Option<&RuleDoc> = rule.and_then(rule_doc);
    let (message, action) = match doc {
        Some(d) => (format!("{}: {}", d.code, d.fix), d.action),
        None => (
            "Review the lock impact of the migration's statements".to_string(),
            "REVIEW_LOCK_IMPACT",
        ),
    };
    let kind = if severity == Severity::Critical {
        "FIX_REQUIRED"
    } else {
        "SAFER_ALTERNATIVE"
    };
    Recommendation {
        r#type: kind.into(),
        priority: severity,
        message,
        action: action.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::report::Issue;
    use serde_json::json;

    fn result(issues: Vec<Issue>) -> Vec<CheckResult> {
        vec![CheckResult::new(PERFORMANCE_IMPACT_CHECK, issues)]
    }

    #[test]
    fn seed_mapping_is_kept() {
        let recs = recommendations(&result(vec![
            Issue::new(Severity::High, LONG_MIGRATION_TIME, "x"),
            Issue::new(Severity::High, DATA_INCONSISTENCY, "y"),
            Issue::new(Severity::Low, DATA_INCONSISTENCY, "z"),
            Issue::new(Severity::Low, "SOMETHING_ELSE", "w"),
        ]));
        let actions: Vec<_> = recs.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["RUN_DATA_CLEANUP", "PLAN_DOWNTIME"]);
        assert_eq!(
            recs[0].message,
            "Fix data inconsistencies before proceeding with migration"
        );
    }

    #[test]
    fn one_recommendation_per_lock_rule() {
        let lock = |code: &str, sev| {
            Issue::new(sev, POTENTIAL_LOCK, "l").with_details(json!({"code": code}))
        };
        let recs = recommendations(&result(vec![
            lock("CREATE_INDEX_NOT_CONCURRENTLY", Severity::High),
            lock("CREATE_INDEX_NOT_CONCURRENTLY", Severity::High),
            lock("CONCURRENTLY_IN_TRANSACTION", Severity::Critical),
            lock("NO_SUCH_RULE", Severity::Low),
        ]));
        let actions: Vec<_> = recs.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "MOVE_TO_NON_TRANSACTIONAL_STEP",
                "USE_CREATE_INDEX_CONCURRENTLY",
                "REVIEW_LOCK_IMPACT"
            ]
        );
        assert_eq!(recs[0].r#type, "FIX_REQUIRED");
        assert!(recs[1]
            .message
            .starts_with("CREATE_INDEX_NOT_CONCURRENTLY: "));
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = all().collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
    }
}
