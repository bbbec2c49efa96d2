//! Why: a plain CREATE INDEX holds a SHARE lock on the table for the whole
//! build, and the build reads every row. Reads go on; every INSERT, UPDATE and
//! DELETE waits until the index is done, minutes on a large table.
//! CONCURRENTLY builds with SHARE UPDATE EXCLUSIVE (writes go on) at the price
//! of two scans, and cannot run in a transaction block, hence its own step.

use super::{insert_after, trim_sql};
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    CreateIndexNotConcurrently {
        code: "CREATE_INDEX_NOT_CONCURRENTLY",
        severity: High,
        summary: "CREATE INDEX without CONCURRENTLY blocks all writes to the table while the index builds.",
        fix: "Build the index with CREATE INDEX CONCURRENTLY in a step with \"transaction\": false.",
        action: "USE_CREATE_INDEX_CONCURRENTLY",
        bad: "CREATE INDEX orders_customer_idx ON orders (customer_id);",
        good: "-- step with \"transaction\": false\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
    }
    check(s) {
        let StatementKind::CreateIndex {
            table,
            concurrently: false,
            partitioned,
            only,
            ..
        } = &s.kind
        else {
            return vec![];
        };
        if *partitioned && *only {
            // builds nothing: the partitions' indexes are built (CONCURRENTLY) and attached later
            return vec![];
        }
        // PostgreSQL 15 cannot build a partitioned table's index CONCURRENTLY: the
        // recipe must not name a statement that fails.
        let recipe = if *partitioned {
            let only = insert_after(&s.sql, &["ON"], "ONLY")
                .unwrap_or_else(|| format!("CREATE INDEX ... ON ONLY {table} (...)"));
            format!(
                "{only} (an invalid parent index, instant); then for each partition, in a step with \"transaction\": false: \
                 CREATE INDEX CONCURRENTLY ... ON <partition> (...); ALTER INDEX <parent index> ATTACH PARTITION <partition index> \
                 (the parent index becomes valid when every partition's is attached)"
            )
        } else {
            let safe = insert_after(&s.sql, &["INDEX"], "CONCURRENTLY")
                .unwrap_or_else(|| format!("CREATE INDEX CONCURRENTLY ... ON {table} (...)"));
            format!(
                "In a step with \"transaction\": false: {safe}; if it fails, DROP INDEX CONCURRENTLY the INVALID index it leaves and retry"
            )
        };
        let message = format!(
            "Building the index on {table} holds a SHARE lock: writes to {table} wait for the whole build ({})",
            trim_sql(&s.sql)
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe)
            .lock(LockMode::Share)
            .scans()]
    }
    examples {
        flags: index(false)
            => |f| f.len() == 1
                && f[0].lock_mode == Some(LockMode::Share)
                && f[0].blocks == Blocks::Writes
                && f[0].scans_table
                && !f[0].rewrites_table
                && f[0]
                    .recipe
                    .contains("CREATE UNIQUE INDEX CONCURRENTLY orders_idx ON orders (customer_id)"),
        passes: index(true).outside_transaction(),
    }
    tests {
        use crate::safety::lock::Blocks;
        use crate::safety::rules::LockRule;

        fn index(concurrently: bool) -> StatementFacts {
            stmt(
                "CREATE UNIQUE INDEX orders_idx ON orders (customer_id);",
                CreateIndex {
                    table: "orders".into(),
                    concurrently,
                    unique: true,
                    columns: vec!["customer_id".into()],
                    partitioned: false,
                    only: false,
                },
            )
        }

        #[test]
        fn never_recommends_concurrently_on_a_partitioned_table() {
            let mut s = index(false);
            if let CreateIndex { partitioned, .. } = &mut s.kind {
                *partitioned = true;
            }
            let recipe = &CreateIndexNotConcurrently.check(&s)[0].recipe;
            assert!(
                recipe.starts_with("CREATE UNIQUE INDEX orders_idx ON ONLY orders"),
                "{recipe}"
            );
            assert!(!recipe.contains("CONCURRENTLY orders_idx ON orders"));
        }
    }
}
