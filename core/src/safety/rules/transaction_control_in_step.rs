//! Why: the engine owns transaction boundaries: it wraps a transactional step
//! in its own (sub)transaction so a failure leaves the database as it was, and
//! records progress between steps. BEGIN/COMMIT/ROLLBACK/SAVEPOINT in a step's
//! SQL cannot run through SPI (the step fails), and even where accepted would
//! commit half a step behind the engine's back. CRITICAL.

use super::trim_sql;
use crate::safety::lock::LockFinding;
use crate::safety::statement::StatementKind;

lock_rule! {
    TransactionControlInStep {
        code: "TRANSACTION_CONTROL_IN_STEP",
        severity: Critical,
        category: Failure,
        summary: "BEGIN/COMMIT/ROLLBACK/SAVEPOINT inside a step fails and would break the step's atomicity.",
        fix: "Remove the transaction statements; split the work into steps where separate commits are needed.",
        action: "REMOVE_TRANSACTION_CONTROL",
        bad: "BEGIN;\nALTER TABLE users ADD COLUMN email text;\nCOMMIT;",
        good: "-- the step is transactional by default\nALTER TABLE users ADD COLUMN email text;",
    }
    check(s) {
        if !matches!(s.kind, StatementKind::TransactionControl { .. }) {
            return vec![];
        }
        let sql = trim_sql(&s.sql);
        let message = format!(
            "Step {} contains `{sql}`: the engine manages transactions, the step would fail",
            s.step
        );
        let recipe = format!(
            "Remove `{sql}`; each step already runs in one transaction unless it says \"transaction\": false, \
             and separate commits are separate steps"
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe)]
    }
    harmless_on_new_table: false,
    engine_only: true,
    examples {
        flags: stmt(
            "COMMIT;",
            TransactionControl {
                op: crate::safety::TransactionOp::End,
            },
        ) => |f| f[0].message.contains("`COMMIT`"),
        passes: stmt("SET LOCAL lock_timeout = '5s'", Other { tag: "SET".into() }),
    }
}
