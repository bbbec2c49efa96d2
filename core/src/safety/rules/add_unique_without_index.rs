//! Why: ADD UNIQUE / PRIMARY KEY builds its index inside the ALTER TABLE,
//! holding ACCESS EXCLUSIVE (no reads, no writes) for the whole build. Building
//! the unique index CONCURRENTLY first and attaching it with `USING INDEX`
//! leaves only a brief catalog lock (pgroll does the same "to avoid
//! unnecessary exclusive table locks").
//!
//! Exclusion constraints are reported too, though they have no USING INDEX
//! form: the only remedies are an empty table or a maintenance window.

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::{AlterCommand, ConstraintKind};

lock_rule! {
    AddUniqueWithoutIndex {
        code: "ADD_UNIQUE_WITHOUT_INDEX",
        severity: High,
        summary: "ADD UNIQUE / PRIMARY KEY without USING INDEX builds the index under ACCESS EXCLUSIVE.",
        fix: "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE/PRIMARY KEY USING INDEX.",
        action: "USE_UNIQUE_INDEX_CONCURRENTLY",
        bad: "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        good: "-- step with \"transaction\": false\nCREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n-- next step\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::AddConstraint {
                    kind,
                    name,
                    using_index: false,
                    ..
                } if matches!(
                    kind,
                    ConstraintKind::Unique | ConstraintKind::PrimaryKey | ConstraintKind::Exclusion
                ) =>
                {
                    Some((*kind, name.as_deref().unwrap_or("<constraint name>")))
                }
                _ => None,
            },
            |table, (kind, name)| {
                let (what, recipe) = match kind {
                    ConstraintKind::Exclusion => ("an exclusion constraint", "Exclusion constraints cannot be attached from an index: add it while the table is empty or in a maintenance window".to_string()),
                    ConstraintKind::PrimaryKey => ("a primary key", format!(
                        "In a step with \"transaction\": false: CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} (<columns>); \
                         make the columns NOT NULL safely (see SET_NOT_NULL_WITHOUT_CHECK); \
                         then: ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}")),
                    _ => ("a unique constraint", format!(
                        "In a step with \"transaction\": false: CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} (<columns>); \
                         then: ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}")),
                };
                let message =
                    format!("Adding {what} to {table} builds its index under ACCESS EXCLUSIVE");
                LockFinding::new(&Self::DOC, s, message, recipe)
                    .lock(LockMode::AccessExclusive)
                    .scans()
            },
        )
    }
    examples {
        flags: add(ConstraintKind::Unique, false)
            => |f| f[0].recipe.contains("CREATE UNIQUE INDEX CONCURRENTLY t_key ON t")
                && f[0].recipe.ends_with("UNIQUE USING INDEX t_key"),
        flags: add(ConstraintKind::PrimaryKey, false)
            => |f| f[0].recipe.ends_with("PRIMARY KEY USING INDEX t_key"),
        passes: add(ConstraintKind::Unique, true), add(ConstraintKind::Check, false),
    }
    tests {

        fn add(kind: ConstraintKind, using_index: bool) -> StatementFacts {
            alter(
                "ALTER TABLE t ADD CONSTRAINT t_key UNIQUE (a)",
                vec![AlterCommand::AddConstraint {
                    name: Some("t_key".into()),
                    kind,
                    not_valid: false,
                    using_index,
                    columns: vec![],
                    columns_indexed: false,
                    nullable_columns: vec![],
                    proves_not_null: None,
                }],
            )
        }
    }
}
