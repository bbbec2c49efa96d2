//! Why: CREATE INDEX, DROP INDEX and REINDEX ... CONCURRENTLY refuse to run in
//! a transaction block ("cannot run inside a transaction block"), so the step
//! will certainly fail. CRITICAL. Reported even on a table created in the same
//! migration, since it fails there too.

use super::{trim_sql, LockRule, RuleDoc};
use crate::safety::lock::LockFinding;
use crate::safety::statement::{StatementFacts, StatementKind};

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
}

impl LockRule for ConcurrentlyInTransaction {
    fn doc(&self) -> &'static RuleDoc {
        &Self::DOC
    }

    fn check(&self, s: &StatementFacts) -> Vec<LockFinding> {
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

    fn harmless_on_new_table(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::safety::lock::Blocks;

    fn drop_concurrently() -> StatementFacts {
        stmt(
            "DROP INDEX CONCURRENTLY i;",
            DropIndex { concurrently: true },
        )
    }

    #[test]
    fn flags_bad() {
        let f = ConcurrentlyInTransaction.check(&drop_concurrently());
        assert_eq!((f[0].lock_mode, f[0].blocks), (None, Blocks::Nothing));
        assert!(f[0].recipe.starts_with("Move `DROP INDEX CONCURRENTLY i`"));
    }

    #[test]
    fn passes_good() {
        let good = drop_concurrently().outside_transaction();
        assert!(ConcurrentlyInTransaction.check(&good).is_empty());
    }
}
