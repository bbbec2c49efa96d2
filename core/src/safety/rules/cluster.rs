//! Why: CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE, like
//! VACUUM FULL, and the order decays with later writes anyway. pg_repack
//! `--order-by` reorders online.

use super::{LockRule, RuleDoc};
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::{StatementFacts, StatementKind};

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
}

impl LockRule for Cluster {
    fn doc(&self) -> &'static RuleDoc {
        &Self::DOC
    }

    fn check(&self, s: &StatementFacts) -> Vec<LockFinding> {
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
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn flags_bad() {
        let bad = stmt(
            "CLUSTER orders",
            StatementKind::Cluster {
                table: Some("orders".into()),
            },
        );
        assert!(Cluster.check(&bad)[0].recipe.contains("--table orders"));
    }

    #[test]
    fn passes_good() {
        let good = stmt(
            "ANALYZE orders",
            Other {
                tag: "ANALYZE".into(),
            },
        );
        assert!(Cluster.check(&good).is_empty());
    }
}
