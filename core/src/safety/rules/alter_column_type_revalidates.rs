//! Why: a type change that needs no rewrite is still not free when something
//! depends on the column: a domain's CHECK (changing to such a domain) and the
//! table's CHECK constraints on the column are tested against every row, and
//! indexes on the column are rebuilt unless their operator class carries over
//! (`ATExecAlterColumnType` drops and re-adds dependent constraints and indexes).
//! All under ACCESS EXCLUSIVE. A rewrite (ALTER_COLUMN_TYPE_REWRITE) already
//! includes this, so this rule speaks only when there is no rewrite.

use super::alter_column_type_rewrite::type_change;
use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::AlterCommand;
use crate::safety::types::TypeChange;

lock_rule! {
    AlterColumnTypeRevalidates {
        code: "ALTER_COLUMN_TYPE_REVALIDATES",
        severity: Medium,
        summary: "A type change without a rewrite still scans the table or rebuilds indexes when a CHECK, a domain or an index depends on the column.",
        fix: "Expect a full scan under ACCESS EXCLUSIVE, or use the new-column recipe (add, backfill, validate a NOT VALID check, swap).",
        action: "EXPECT_SCAN_OR_USE_NEW_COLUMN",
        bad: "ALTER TABLE users ALTER COLUMN email TYPE email_address; -- a domain with a CHECK",
        good: "ALTER TABLE users ALTER COLUMN name TYPE varchar(200); -- was varchar(100), no CHECK or index on it",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::AlterColumnType {
                    column,
                    old_type,
                    new_type,
                    has_using,
                    binary_coercible,
                    revalidates,
                    domain_check: false,
                    ..
                } if !revalidates.is_empty()
                    && type_change(
                        old_type.as_deref(),
                        new_type,
                        *has_using,
                        *binary_coercible,
                    ) != TypeChange::Rewrite =>
                {
                    Some((column, revalidates.join(", ")))
                }
                _ => None,
            },
            |table, (column, what)| {
                let message = format!(
                    "Changing {table}.{column} does not rewrite {table}, but re-checks or rebuilds {what} over every row under ACCESS EXCLUSIVE"
                );
                let recipe = format!(
                    "Run it when a scan of {table} under ACCESS EXCLUSIVE is acceptable, or add a new column of the new type, \
                     backfill it, validate a NOT VALID check and swap names"
                );
                LockFinding::new(&Self::DOC, s, message, recipe)
                    .lock(LockMode::AccessExclusive)
                    .scans()
            },
        )
    }
    examples {
        flags: change("varchar(5)", "text", &["CHECK constraint c_len"])
            => |f| f[0].message.contains("CHECK constraint c_len") && f[0].scans_table,
        passes: change("varchar(5)", "text", &[]),
        // a rewrite is ALTER_COLUMN_TYPE_REWRITE's to report
        change("int4", "int8", &["index i"]),
    }
    tests {
        fn change(old: &str, new: &str, revalidates: &[&str]) -> StatementFacts {
            alter(
                "ALTER TABLE t ALTER COLUMN c TYPE ...",
                vec![AlterCommand::AlterColumnType {
                    column: "c".into(),
                    old_type: Some(old.into()),
                    new_type: new.into(),
                    has_using: false,
                    // pg_cast: varchar -> text is binary-coercible, int4 -> int8 is not
                    binary_coercible: Some(old.starts_with("varchar")),
                    revalidates: revalidates.iter().map(|s| s.to_string()).collect(),
                    json: false,
                    domain_check: false,
                }],
            )
        }
    }
}
