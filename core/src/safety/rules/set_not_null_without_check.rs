//! Why: SET NOT NULL reads every row to prove there is no NULL, holding ACCESS
//! EXCLUSIVE (no reads, no writes) for the whole scan. Since PostgreSQL 12 the
//! scan is skipped when a validated `CHECK (col IS NOT NULL)` already proves
//! it, and such a check can be validated under SHARE UPDATE EXCLUSIVE, which
//! lets traffic through.

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::AlterCommand;

lock_rule! {
    SetNotNullWithoutCheck {
        code: "SET_NOT_NULL_WITHOUT_CHECK",
        severity: High,
        summary: "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK (col IS NOT NULL) exists.",
        fix: "Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later step, then SET NOT NULL and drop the check.",
        action: "USE_NOT_NULL_CHECK_CONSTRAINT",
        bad: "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        good: "ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n-- next step\nALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::SetNotNull {
                    column,
                    validated_check_exists: false,
                } => Some(column),
                _ => None,
            },
            |table, column| {
                let name = format!("{}_{column}_not_null", bare(table));
                let message = format!(
                    "SET NOT NULL on {table}.{column} scans all of {table} under ACCESS EXCLUSIVE"
                );
                let recipe = format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IS NOT NULL) NOT VALID; \
                     then in a later step: ALTER TABLE {table} VALIDATE CONSTRAINT {name}; \
                     ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL; \
                     ALTER TABLE {table} DROP CONSTRAINT {name}"
                );
                LockFinding::new(&Self::DOC, s, message, recipe)
                    .lock(LockMode::AccessExclusive)
                    .scans()
            },
        )
    }
    examples {
        flags: set_not_null(false)
            => |f| f[0].scans_table
                && !f[0].rewrites_table
                && f[0].recipe.starts_with(
                    "ALTER TABLE t ADD CONSTRAINT t_c_not_null CHECK (c IS NOT NULL) NOT VALID",
                ),
        passes: set_not_null(true),
    }
    tests {
        fn set_not_null(validated_check_exists: bool) -> StatementFacts {
            alter(
                "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
                vec![AlterCommand::SetNotNull {
                    column: "c".into(),
                    validated_check_exists,
                }],
            )
        }
    }
}

/// The relation name without its schema, for constraint names.
fn bare(table: &str) -> &str {
    table.rsplit('.').next().unwrap_or(table)
}
