//! Why: DROP INDEX takes ACCESS EXCLUSIVE on the index's table. The drop
//! itself is quick, but the lock request waits behind every running query on
//! the table and every later query queues behind it, reads included. With
//! CONCURRENTLY it waits for those queries without blocking new ones.

use super::insert_after;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    DropIndexNotConcurrently {
        code: "DROP_INDEX_NOT_CONCURRENTLY",
        severity: Medium,
        summary: "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table: it queues behind running queries and blocks every query behind it.",
        fix: "Drop the index with DROP INDEX CONCURRENTLY in a step with \"transaction\": false.",
        action: "USE_DROP_INDEX_CONCURRENTLY",
        bad: "DROP INDEX orders_customer_idx;",
        good: "-- step with \"transaction\": false\nDROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;",
    }
    check(s) {
        if !matches!(
            s.kind,
            StatementKind::DropIndex {
                concurrently: false
            }
        ) {
            return vec![];
        }
        let safe = insert_after(&s.sql, &["INDEX"], "CONCURRENTLY")
            .unwrap_or_else(|| "DROP INDEX CONCURRENTLY ...".into());
        let recipe = format!("In a step with \"transaction\": false: {safe}");
        let message =
            "Dropping the index takes ACCESS EXCLUSIVE on its table: reads and writes queue behind it"
                .to_string();
        vec![LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)]
    }
    examples {
        flags: stmt("DROP INDEX idx", DropIndex { concurrently: false })
            => |f| f[0].lock_mode == Some(LockMode::AccessExclusive)
                && f[0].recipe.ends_with("DROP INDEX CONCURRENTLY idx"),
        passes: stmt("DROP INDEX CONCURRENTLY idx", DropIndex { concurrently: true })
            .outside_transaction(),
    }
}
