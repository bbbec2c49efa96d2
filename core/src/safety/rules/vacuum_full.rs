//! Why: VACUUM FULL writes a complete new copy of the table and its indexes
//! while holding ACCESS EXCLUSIVE: nothing reads or writes it until the copy
//! is done, and it needs disk for both copies. Plain VACUUM reclaims space for
//! reuse without blocking; pg_repack compacts online.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    VacuumFull {
        code: "VACUUM_FULL",
        severity: High,
        summary: "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE, blocking reads and writes.",
        fix: "Use plain VACUUM (ANALYZE), or pg_repack to compact the table online.",
        action: "USE_PLAIN_VACUUM_OR_PG_REPACK",
        bad: "VACUUM FULL orders;",
        good: "-- step with \"transaction\": false\nVACUUM (ANALYZE) orders;",
    }
    check(s) {
        let StatementKind::Vacuum { full: true, table } = &s.kind else {
            return vec![];
        };
        let what = table.as_deref().unwrap_or("every table of the database");
        let message = format!("VACUUM FULL rewrites {what} under ACCESS EXCLUSIVE");
        let target = table.as_deref().unwrap_or("<table>");
        let recipe = format!(
            "VACUUM (ANALYZE) {target} in a step with \"transaction\": false, or pg_repack --table {target} outside the migration"
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe)
            .lock(LockMode::AccessExclusive)
            .rewrites()]
    }
    examples {
        flags: vacuum(true) => |f| f[0].rewrites_table,
        passes: vacuum(false),
    }
    tests {
        fn vacuum(full: bool) -> StatementFacts {
            let table = Some("orders".to_string());
            stmt("VACUUM orders", Vacuum { full, table }).outside_transaction()
        }
    }
}
