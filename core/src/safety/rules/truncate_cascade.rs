//! Why: TRUNCATE ... CASCADE also empties every table with a foreign key to
//! the named ones, recursively: tables the statement never names lose all
//! their rows, irrecoverably. CRITICAL: that loss is almost never what the
//! author reviewed.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    TruncateCascade {
        code: "TRUNCATE_CASCADE",
        severity: Critical,
        category: DataLoss,
        summary: "TRUNCATE ... CASCADE silently empties every table that references the named ones.",
        fix: "Truncate or delete from each table explicitly, naming every table that loses rows.",
        action: "NAME_TRUNCATED_TABLES",
        bad: "TRUNCATE customers CASCADE;",
        good: "-- every table that loses rows is named and reviewed\nTRUNCATE orders, customers;",
    }
    check(s) {
        let StatementKind::Truncate {
            tables,
            cascade: true,
        } = &s.kind
        else {
            return vec![];
        };
        let names = tables.join(", ");
        let message = format!(
            "TRUNCATE {names} CASCADE also deletes all rows of every table referencing {names}"
        );
        let recipe = format!(
            "List the referencing tables (SELECT conrelid::regclass FROM pg_constraint WHERE contype = 'f' \
             AND confrelid = '<table>'::regclass), back them up, and TRUNCATE them explicitly with {names}"
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)]
    }
    examples {
        flags: truncate(true) => |f| f[0].severity == Severity::Critical,
        passes: truncate(false),
    }
    tests {
        use crate::safety::Severity;

        fn truncate(cascade: bool) -> StatementFacts {
            stmt(
                "TRUNCATE t CASCADE",
                Truncate {
                    tables: vec!["t".into()],
                    cascade,
                },
            )
        }
    }
}
