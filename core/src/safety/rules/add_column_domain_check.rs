//! Why: since PostgreSQL 11 an added column with a constant default is a catalog
//! change, but not when the column's type is a domain with a CHECK constraint:
//! PostgreSQL must test the constraint against every existing row's value (even
//! NULL), so it rewrites the table under ACCESS EXCLUSIVE (`ATExecAddColumn`,
//! confirmed on PostgreSQL 15: the relfilenode changes).

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::AlterCommand;

lock_rule! {
    AddColumnDomainCheck {
        code: "ADD_COLUMN_DOMAIN_CHECK",
        severity: High,
        summary: "ADD COLUMN of a domain type with a CHECK constraint rewrites the table under ACCESS EXCLUSIVE.",
        fix: "Add the column with the domain's base type, backfill, add the CHECK as NOT VALID and validate it, then change the type in a later step.",
        action: "ADD_BASE_TYPE_THEN_CHECK",
        bad: "CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);\nALTER TABLE orders ADD COLUMN quantity positive_int;",
        good: "ALTER TABLE orders ADD COLUMN quantity int, ADD CONSTRAINT orders_quantity_positive CHECK (quantity > 0) NOT VALID;\n-- next step\nALTER TABLE orders VALIDATE CONSTRAINT orders_quantity_positive;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::AddColumn {
                    column,
                    domain_check: true,
                    ..
                } => Some(column),
                _ => None,
            },
            |table, column| {
                let message = format!(
                    "{table}.{column} has a domain type with a CHECK: adding it tests every row and rewrites {table} under ACCESS EXCLUSIVE"
                );
                let recipe = format!(
                    "ALTER TABLE {table} ADD COLUMN {column} <base type>; ADD CONSTRAINT ... CHECK (<the domain's condition on {column}>) NOT VALID; \
                     VALIDATE CONSTRAINT in a later step"
                );
                LockFinding::new(&Self::DOC, s, message, recipe)
                    .lock(LockMode::AccessExclusive)
                    .rewrites()
            },
        )
    }
    examples {
        flags: alter(
            "ALTER TABLE t ADD COLUMN q positive_int",
            vec![add_column("q", |c| c.domain_check = true)],
        ) => |f| f[0].rewrites_table,
        passes: alter(
            "ALTER TABLE t ADD COLUMN q int",
            vec![add_column("q", |_| ())],
        ),
    }
}
