//! Why: PostgreSQL indexes the referenced side of a foreign key, never the
//! referencing one. Without an index whose leading columns are the referencing
//! columns, every DELETE or key UPDATE on the referenced table scans the
//! referencing table (under its row locks), and so does the constraint's own
//! validation. strong_migrations and eugene don't check this; squawk's
//! "require-index-on-fk"-style linters do. The index may exist or be created
//! earlier in the same migration.

use super::per_command;
use crate::safety::lock::LockFinding;
use crate::safety::statement::{AlterCommand, ConstraintKind};

lock_rule! {
    ForeignKeyWithoutIndex {
        code: "FOREIGN_KEY_WITHOUT_INDEX",
        severity: Medium,
        summary: "A foreign key whose referencing columns have no index makes every delete on the referenced table scan this one.",
        fix: "CREATE INDEX CONCURRENTLY on the referencing columns (in a step before the foreign key).",
        action: "INDEX_FOREIGN_KEY_COLUMNS",
        bad: "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
        good: "-- step with \"transaction\": false\nCREATE INDEX CONCURRENTLY orders_customer_id ON orders (customer_id);\n-- next step\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::AddConstraint {
                    kind: ConstraintKind::ForeignKey,
                    columns,
                    columns_indexed: false,
                    ..
                } if !columns.is_empty() => Some(columns.join(", ")),
                _ => None,
            },
            |table, columns| {
                let message = format!(
                    "No index of {table} starts with ({columns}): each DELETE or key UPDATE on the referenced table scans {table}"
                );
                let recipe = format!(
                    "In an earlier step with \"transaction\": false: CREATE INDEX CONCURRENTLY ON {table} ({columns})"
                );
                LockFinding::new(&Self::DOC, s, message, recipe).scans()
            },
        )
    }
    examples {
        flags: fk(false) => |f| f[0].recipe.ends_with("ON t (u)"),
        passes: fk(true),
    }
    tests {
        fn fk(indexed: bool) -> StatementFacts {
            alter(
                "ALTER TABLE t ADD FOREIGN KEY (u) REFERENCES u (id) NOT VALID",
                vec![constraint(ConstraintKind::ForeignKey, |c| {
                    if let AlterCommand::AddConstraint {
                        columns,
                        columns_indexed,
                        not_valid,
                        ..
                    } = c
                    {
                        *columns = vec!["u".into()];
                        *columns_indexed = indexed;
                        *not_valid = true;
                    }
                })],
            )
        }
    }
}
