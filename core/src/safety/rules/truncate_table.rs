//! Why: TRUNCATE removes every row at commit, past any backup-free recovery,
//! under ACCESS EXCLUSIVE. Rarely what a schema migration means to do; HIGH
//! because the statement at least names the tables (see TRUNCATE_CASCADE).

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    TruncateTable {
        code: "TRUNCATE_TABLE",
        severity: High,
        category: DataLoss,
        summary: "TRUNCATE deletes every row of the named tables under ACCESS EXCLUSIVE.",
        fix: "Delete only the rows you mean to, in batches, after a backup.",
        action: "DELETE_IN_BATCHES",
        bad: "TRUNCATE staging_imports;",
        good: "DELETE FROM staging_imports WHERE id IN (SELECT id FROM staging_imports WHERE imported_at < now() - interval '30 days' LIMIT 10000);",
    }
    check(s) {
        let StatementKind::Truncate {
            tables,
            cascade: false,
        } = &s.kind
        else {
            return vec![];
        };
        let names = tables.join(", ");
        let message = format!("TRUNCATE deletes every row of {names} under ACCESS EXCLUSIVE");
        let recipe = format!("Back up {names}, then DELETE the rows you mean to in batches");
        vec![LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)]
    }
    examples {
        flags: truncate(false) => |f| f.len() == 1,
        // CASCADE is TRUNCATE_CASCADE's finding, not reported twice.
        passes: truncate(true),
    }
    tests {
        fn truncate(cascade: bool) -> StatementFacts {
            stmt(
                "TRUNCATE t",
                Truncate {
                    tables: vec!["t".into()],
                    cascade,
                },
            )
        }
    }
}
