//! Why: `ADD PRIMARY KEY USING INDEX` is meant to be instant, but a primary key
//! needs NOT NULL columns: PostgreSQL sets NOT NULL on any nullable column of the
//! index, which scans the whole table under ACCESS EXCLUSIVE (squawk's
//! "adding-primary-key-constraint"; eugene E11). Prove the columns non-null first.

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::{AlterCommand, ConstraintKind};

lock_rule! {
    PrimaryKeyUsingNullableIndex {
        code: "PRIMARY_KEY_USING_NULLABLE_INDEX",
        severity: High,
        summary: "ADD PRIMARY KEY USING INDEX on nullable columns scans the table under ACCESS EXCLUSIVE to set NOT NULL.",
        fix: "Make the columns NOT NULL first through a validated CHECK (col IS NOT NULL), then add the primary key USING INDEX.",
        action: "SET_NOT_NULL_BEFORE_PRIMARY_KEY",
        bad: "ALTER TABLE imports ADD CONSTRAINT imports_pkey PRIMARY KEY USING INDEX imports_id_key; -- id is nullable",
        good: "ALTER TABLE imports ADD CONSTRAINT imports_id_nn CHECK (id IS NOT NULL) NOT VALID;\n-- next step\nALTER TABLE imports VALIDATE CONSTRAINT imports_id_nn;\nALTER TABLE imports ALTER COLUMN id SET NOT NULL;\n-- next step\nALTER TABLE imports ADD CONSTRAINT imports_pkey PRIMARY KEY USING INDEX imports_id_key;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::AddConstraint {
                    kind: ConstraintKind::PrimaryKey,
                    using_index: true,
                    nullable_columns,
                    ..
                } if !nullable_columns.is_empty() => Some(nullable_columns.join(", ")),
                _ => None,
            },
            |table, columns| {
                let message = format!(
                    "The primary key on {table} sets NOT NULL on {columns}, scanning all of {table} under ACCESS EXCLUSIVE"
                );
                let recipe = format!(
                    "For each of {columns}: ALTER TABLE {table} ADD CONSTRAINT <name> CHECK (<column> IS NOT NULL) NOT VALID; \
                     in a later step VALIDATE CONSTRAINT <name> and ALTER COLUMN <column> SET NOT NULL; then add the primary key USING INDEX"
                );
                LockFinding::new(&Self::DOC, s, message, recipe)
                    .lock(LockMode::AccessExclusive)
                    .scans()
            },
        )
    }
    examples {
        flags: pk(&["id"]) => |f| f[0].message.contains("NOT NULL on id"),
        passes: pk(&[]),
    }
    tests {
        fn pk(nullable: &[&str]) -> StatementFacts {
            alter(
                "ALTER TABLE t ADD PRIMARY KEY USING INDEX t_id",
                vec![constraint(ConstraintKind::PrimaryKey, |c| {
                    if let AlterCommand::AddConstraint {
                        using_index,
                        nullable_columns,
                        ..
                    } = c
                    {
                        *using_index = true;
                        *nullable_columns = nullable.iter().map(|s| s.to_string()).collect();
                    }
                })],
            )
        }
    }
}
