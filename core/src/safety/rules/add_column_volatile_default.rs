//! Why: since PostgreSQL 11 ADD COLUMN with a constant (or STABLE, like
//! `now()`) default only stores the value in the catalog: no rewrite. A
//! VOLATILE default (`clock_timestamp()`, `random()`, `gen_random_uuid()`,
//! serial/identity) or a stored generated column must be computed per row, so
//! the table is rewritten under ACCESS EXCLUSIVE.

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::AlterCommand;

lock_rule! {
    AddColumnVolatileDefault {
        code: "ADD_COLUMN_VOLATILE_DEFAULT",
        severity: High,
        summary: "ADD COLUMN with a volatile default (or a stored generated column) rewrites the table under ACCESS EXCLUSIVE.",
        fix: "Add the column without the default (or with a constant one), set the default afterwards, and backfill existing rows in batches.",
        action: "ADD_COLUMN_THEN_BACKFILL",
        bad: "ALTER TABLE events ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        good: "ALTER TABLE events ADD COLUMN token uuid;\nALTER TABLE events ALTER COLUMN token SET DEFAULT gen_random_uuid();\n-- backfill: UPDATE events SET token = gen_random_uuid() WHERE id BETWEEN ... AND token IS NULL;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::AddColumn {
                    column,
                    has_default: true,
                    volatile_default: true,
                    ..
                } => Some(column),
                _ => None,
            },
            |table, column| {
                let message = format!(
                    "Adding {table}.{column} with a volatile default rewrites every row of {table} under ACCESS EXCLUSIVE"
                );
                let recipe = format!(
                    "ALTER TABLE {table} ADD COLUMN {column} <type>; \
                     ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT <expr>; \
                     then fill existing rows in batches (UPDATE {table} SET {column} = <expr> WHERE <key range> AND {column} IS NULL)"
                );
                LockFinding::new(&Self::DOC, s, message, recipe)
                    .lock(LockMode::AccessExclusive)
                    .rewrites()
            },
        )
    }
    examples {
        flags: add(true, true) => |f| f[0].rewrites_table && f[0].message.contains("t.c"),
        // A constant default is stored in the catalog (PostgreSQL 11+).
        passes: add(true, false), add(false, false),
    }
    tests {
        fn add(has_default: bool, volatile_default: bool) -> StatementFacts {
            alter(
                "ALTER TABLE t ADD COLUMN c ...",
                vec![AlterCommand::AddColumn {
                    column: "c".into(),
                    has_default,
                    volatile_default,
                    not_null: false,
                    json: false,
                    domain_check: false,
                    default_calls: vec![],
                }],
            )
        }
    }
}
