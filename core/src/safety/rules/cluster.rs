//! Why: CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE, like
//! VACUUM FULL, and the order decays with later writes anyway. pg_repack
//! `--order-by` reorders online.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    Cluster {
        code: "CLUSTER",
        severity: High,
        summary: "CLUSTER rewrites the table under ACCESS EXCLUSIVE, blocking reads and writes.",
        fix: "Reorder online with pg_repack --order-by outside the migration, or schedule a maintenance window.",
        action: "USE_PG_REPACK",
        bad: "CLUSTER orders USING orders_created_idx;",
        good: "-- outside the migration: pg_repack --table orders --order-by created_at",
    }
    check(s) {
        let StatementKind::Cluster { table } = &s.kind else {
            return vec![];
        };
        let what = table
            .as_deref()
            .unwrap_or("every previously clustered table");
        let message = format!("CLUSTER rewrites {what} under ACCESS EXCLUSIVE");
        let recipe = format!(
            "pg_repack --table {} --order-by <columns> outside the migration, or a maintenance window",
            table.as_deref().unwrap_or("<table>")
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe)
            .lock(LockMode::AccessExclusive)
            .rewrites()]
    }
    examples {
        flags: stmt("CLUSTER orders", StatementKind::Cluster { table: Some("orders".into()) })
            => |f| f[0].recipe.contains("--table orders"),
        passes: stmt("ANALYZE orders", Other { tag: "ANALYZE".into() }),
    }
}
