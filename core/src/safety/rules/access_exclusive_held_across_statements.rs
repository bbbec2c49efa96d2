//! Why: a lock is held until its transaction ends. Once a statement has taken
//! ACCESS EXCLUSIVE on a table in use, every later statement of the same
//! transaction runs while all reads and writes of that table queue behind it
//! (and behind them, everything else that waits on the queue): a fast ALTER
//! followed by a slow UPDATE is a slow outage. Eugene's E4.

use super::trim_sql;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::{StatementKind, TransactionOp};

lock_rule! {
    AccessExclusiveHeldAcrossStatements {
        code: "ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS",
        severity: Medium,
        summary: "Statements after an ACCESS EXCLUSIVE lock in the same transaction run while every query on the table waits.",
        fix: "Put the statement that takes ACCESS EXCLUSIVE last in its transaction, or in a step of its own.",
        action: "ISOLATE_ACCESS_EXCLUSIVE",
        bad: "ALTER TABLE users ADD COLUMN plan text;\nUPDATE orders SET status = 'new' WHERE id = 1; -- users stays locked meanwhile",
        good: "UPDATE orders SET status = 'new' WHERE id = 1;\n-- next step\nALTER TABLE users ADD COLUMN plan text;",
    }
    check_script(script, _) {
        let mut out = Vec::new();
        // (transaction, tables, statement) of the lock taken, until reported
        let mut held: Option<(usize, String, String)> = None;
        for st in script {
            let Some(tx) = st.transaction else {
                held = None;
                continue;
            };
            if let Some((held_tx, tables, by)) = &held {
                let ends = matches!(
                    st.facts.kind,
                    StatementKind::TransactionControl {
                        op: TransactionOp::End
                    }
                );
                if *held_tx == tx && !ends {
                    let message = format!(
                        "`{}` runs while {tables} is locked ACCESS EXCLUSIVE by `{by}` earlier in the same transaction: every query on {tables} waits until commit",
                        trim_sql(&st.facts.sql)
                    );
                    let recipe = format!(
                        "Make `{by}` the last statement of its step (or a step of its own)"
                    );
                    out.push(
                        LockFinding::new(&Self::DOC, &st.facts, message, recipe)
                            .lock(LockMode::AccessExclusive),
                    );
                    held = None;
                    continue;
                }
                if *held_tx != tx {
                    held = None;
                }
            }
            if held.is_none()
                && !st.on_new_table
                && st.facts.table_lock() == Some(LockMode::AccessExclusive)
            {
                let tables = st.facts.target_tables().join(", ");
                if !tables.is_empty() {
                    held = Some((tx, tables, trim_sql(&st.facts.sql).to_string()));
                }
            }
        }
        out
    }
    examples {
        flags: script() => |f| f.len() == 1
            && f[0].message.starts_with("`UPDATE u SET x = 1` runs while t is locked"),
        passes: {
            let mut reversed = script();
            reversed.reverse();
            reversed
        },
        {
            let mut split = script();
            split[1].step = "s2".into();
            split
        },
    }
    tests {
        fn script() -> Vec<StatementFacts> {
            let lock = alter(
                "ALTER TABLE t ADD COLUMN a int",
                vec![add_column("a", |_| ())],
            );
            let update = stmt(
                "UPDATE u SET x = 1",
                Update {
                    table: "u".into(),
                    columns: vec!["x".into()],
                },
            );
            vec![lock, update]
        }
    }
}
