//! Why: `ADD COLUMN ... NOT NULL` without a default fills existing rows with
//! NULL, which the constraint refuses: on a table with rows the statement fails
//! (23502, "column contains null values"). strong_migrations and squawk report it.
//! Harmless on a table created earlier in the same migration (it is empty).

use super::per_command;
use crate::safety::lock::LockFinding;
use crate::safety::statement::AlterCommand;

lock_rule! {
    AddColumnNotNullWithoutDefault {
        code: "ADD_COLUMN_NOT_NULL_WITHOUT_DEFAULT",
        severity: High,
        category: Failure,
        summary: "ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows.",
        fix: "Give the column a constant DEFAULT (no rewrite since PostgreSQL 11), or add it nullable, backfill, then SET NOT NULL through a validated CHECK.",
        action: "ADD_DEFAULT_OR_BACKFILL",
        bad: "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
        good: "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::AddColumn {
                    column,
                    not_null: true,
                    has_default: false,
                    ..
                } => Some(column),
                _ => None,
            },
            |table, column| {
                let message = format!(
                    "Adding {table}.{column} NOT NULL without a default fails if {table} has any row (existing rows would hold NULL)"
                );
                let recipe = format!(
                    "ALTER TABLE {table} ADD COLUMN {column} <type> NOT NULL DEFAULT <constant>; or add it nullable, \
                     fill it in batches, then ADD CONSTRAINT ... CHECK ({column} IS NOT NULL) NOT VALID, VALIDATE it, and SET NOT NULL"
                );
                LockFinding::new(&Self::DOC, s, message, recipe)
            },
        )
    }
    examples {
        flags: alter(
            "ALTER TABLE t ADD COLUMN c int NOT NULL",
            vec![add_column("c", |c| c.not_null = true)],
        ) => |f| f[0].message.contains("t.c NOT NULL"),
        passes: alter(
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0",
            vec![add_column("c", |c| {
                c.not_null = true;
                c.has_default = true;
            })],
        ),
    }
}
