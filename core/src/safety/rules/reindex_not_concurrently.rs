//! Why: REINDEX rebuilds under a SHARE lock on the table (writes wait) and an
//! ACCESS EXCLUSIVE lock on each index (queries planned to use it wait too).
//! REINDEX CONCURRENTLY (PostgreSQL 12+) builds a new copy beside the old one
//! and swaps them, blocking neither.

use super::insert_after;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    ReindexNotConcurrently {
        code: "REINDEX_NOT_CONCURRENTLY",
        severity: High,
        summary: "REINDEX without CONCURRENTLY blocks writes to the table, and reads that use the index, for the whole rebuild.",
        fix: "Use REINDEX ... CONCURRENTLY (PostgreSQL 12+) in a step with \"transaction\": false.",
        action: "USE_REINDEX_CONCURRENTLY",
        bad: "REINDEX TABLE orders;",
        good: "-- step with \"transaction\": false\nREINDEX TABLE CONCURRENTLY orders;",
    }
    check(s) {
        let StatementKind::Reindex {
            concurrently: false,
            table,
            target,
        } = &s.kind
        else {
            return vec![];
        };
        let what = table.as_deref().unwrap_or("the index's table");
        if target.eq_ignore_ascii_case("SYSTEM") {
            // System catalogs cannot be reindexed concurrently: there is no form to offer.
            let message = "REINDEX SYSTEM locks every system catalog it rebuilds: every session that plans a query waits".to_string();
            let recipe = "REINDEX SYSTEM has no CONCURRENTLY form: run it in a maintenance window, or REINDEX only the catalog indexes that need it".to_string();
            return vec![LockFinding::new(&Self::DOC, s, message, recipe)
                .lock(LockMode::AccessExclusive)
                .scans()];
        }
        let safe = insert_after(
            &s.sql,
            &["INDEX", "TABLE", "SCHEMA", "DATABASE"],
            "CONCURRENTLY",
        )
        .unwrap_or_else(|| "REINDEX ... CONCURRENTLY ...".into());
        let recipe = format!("In a step with \"transaction\": false: {safe}");
        let message = format!("REINDEX holds a SHARE lock on {what}: writes wait for the rebuild");
        vec![LockFinding::new(&Self::DOC, s, message, recipe)
            .lock(LockMode::Share)
            .scans()]
    }
    examples {
        flags: reindex(false)
            => |f| f[0].recipe.ends_with("REINDEX TABLE CONCURRENTLY orders")
                && f[0].lock_mode == Some(LockMode::Share),
        passes: reindex(true).outside_transaction(),
    }
    tests {
        use crate::safety::rules::LockRule;

        fn reindex(concurrently: bool) -> StatementFacts {
            let table = Some("orders".to_string());
            stmt(
                "REINDEX TABLE orders;",
                Reindex {
                    concurrently,
                    table,
                    target: "TABLE".into(),
                },
            )
        }

        #[test]
        fn offers_no_concurrently_form_for_system_catalogs() {
            let system = stmt(
                "REINDEX SYSTEM kg;",
                Reindex {
                    concurrently: false,
                    table: None,
                    target: "SYSTEM".into(),
                },
            );
            let f = ReindexNotConcurrently.check(&system);
            assert!(f[0]
                .recipe
                .starts_with("REINDEX SYSTEM has no CONCURRENTLY form"));
            assert!(!f[0].recipe.contains("SYSTEM CONCURRENTLY"));
        }
    }
}
