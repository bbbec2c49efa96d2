//! Why: VACUUM (plain or FULL) cannot run inside a transaction block, so a
//! transactional step holding it will certainly fail. CRITICAL.

use super::trim_sql;
use crate::safety::lock::LockFinding;
use crate::safety::statement::StatementKind;

lock_rule! {
    VacuumInTransaction {
        code: "VACUUM_IN_TRANSACTION",
        severity: Critical,
        category: Failure,
        summary: "VACUUM in a step that runs in a transaction fails.",
        fix: "Move VACUUM to its own step with \"transaction\": false (or leave it to autovacuum).",
        action: "MOVE_TO_NON_TRANSACTIONAL_STEP",
        bad: "-- step with \"transaction\": true (the default)\nVACUUM (ANALYZE) orders;",
        good: "-- its own step with \"transaction\": false\nVACUUM (ANALYZE) orders;",
    }
    check(s) {
        if !(matches!(s.kind, StatementKind::Vacuum { .. }) && s.in_transaction) {
            return vec![];
        }
        let sql = trim_sql(&s.sql);
        let message = format!(
            "Step {} runs in a transaction, where {sql} fails: VACUUM cannot run inside a transaction block",
            s.step
        );
        let recipe = format!("Move `{sql}` to its own step with \"transaction\": false");
        vec![LockFinding::new(&Self::DOC, s, message, recipe)]
    }
    harmless_on_new_table: false,
    examples {
        flags: vacuum() => |f| f.len() == 1,
        passes: vacuum().outside_transaction(),
    }
    tests {
        fn vacuum() -> StatementFacts {
            stmt(
                "VACUUM t",
                Vacuum {
                    full: false,
                    table: Some("t".into()),
                },
            )
        }
    }
}
