//! Why: CREATE INDEX, DROP INDEX and REINDEX ... CONCURRENTLY refuse to run in
//! a transaction block ("cannot run inside a transaction block"), so the step
//! will certainly fail. CRITICAL. Reported even on a table created in the same
//! migration, since it fails there too.

use super::trim_sql;
use crate::safety::lock::LockFinding;
use crate::safety::statement::StatementKind;

lock_rule! {
    ConcurrentlyInTransaction {
        code: "CONCURRENTLY_IN_TRANSACTION",
        severity: Critical,
        category: Failure,
        summary: "A CONCURRENTLY statement in a step that runs in a transaction fails.",
        fix: "Move the statement to its own step with \"transaction\": false.",
        action: "MOVE_TO_NON_TRANSACTIONAL_STEP",
        bad: "-- step with \"transaction\": true (the default)\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
        good: "-- its own step with \"transaction\": false\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
    }
    check(s) {
        let concurrent = matches!(
            s.kind,
            StatementKind::CreateIndex {
                concurrently: true,
                ..
            } | StatementKind::DropIndex { concurrently: true }
                | StatementKind::Reindex {
                    concurrently: true,
                    ..
                }
        ) || s.alter_commands().is_some_and(|(_, commands)| {
            commands.iter().any(|c| {
                matches!(
                    c,
                    crate::safety::statement::AlterCommand::DetachPartition {
                        concurrently: true,
                        ..
                    }
                )
            })
        });
        if !(concurrent && s.in_transaction) {
            return vec![];
        }
        let message = format!(
            "Step {} runs in a transaction, where {} fails: CONCURRENTLY cannot run inside a transaction block",
            s.step,
            trim_sql(&s.sql)
        );
        let recipe = format!(
            "Move `{}` to its own step with \"transaction\": false",
            trim_sql(&s.sql)
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe)]
    }
    harmless_on_new_table: false,
    examples {
        flags: drop_concurrently()
            => |f| (f[0].lock_mode, f[0].blocks) == (None, Blocks::Nothing)
                && f[0].recipe.starts_with("Move `DROP INDEX CONCURRENTLY i`"),
        passes: drop_concurrently().outside_transaction(),
    }
    tests {
        use crate::safety::lock::Blocks;

        fn drop_concurrently() -> StatementFacts {
            stmt(
                "DROP INDEX CONCURRENTLY i;",
                DropIndex { concurrently: true },
            )
        }
    }
}
