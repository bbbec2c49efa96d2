//! Why: `SET LOGGED`, `SET UNLOGGED`, `SET ACCESS METHOD` and `SET TABLESPACE` do not
//! change one column, they move the whole table: PostgreSQL writes every row into new
//! storage (a new relfilenode) and rebuilds the indexes while holding ACCESS EXCLUSIVE,
//! and `SET LOGGED` also writes the whole table to the WAL, which every replica must
//! replay. The trial run found this: the lock analysis had no rule for it, and the trace
//! showed the new relfilenode. A subcommand that changes nothing (`SET LOGGED` on a
//! logged table, the table's own access method) is left alone; the parser asks the
//! catalog.

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::AlterCommand;

lock_rule! {
    AlterTableRewritesStorage {
        code: "ALTER_TABLE_REWRITES_STORAGE",
        severity: High,
        summary: "SET LOGGED / UNLOGGED / ACCESS METHOD / TABLESPACE copies the whole table into new storage under ACCESS EXCLUSIVE.",
        fix: "Give the table its persistence, access method and tablespace when it is created; to change them on a live table, build a copy beside it and switch in a short step.",
        action: "CREATE_WITH_FINAL_STORAGE",
        bad: "ALTER TABLE orders SET UNLOGGED;",
        good: "CREATE UNLOGGED TABLE IF NOT EXISTS orders_load (LIKE orders INCLUDING ALL);\n-- load orders_load in batches, then switch readers to it in a short step",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::MovesStorage { what } => Some(what),
                _ => None,
            },
            |table, what| {
                let message = format!(
                    "ALTER TABLE {table} {what} copies every row of {table} into new storage under ACCESS EXCLUSIVE"
                );
                let recipe = format!(
                    "Create {table}'s replacement with the storage it needs (CREATE TABLE {table}_new (LIKE {table} INCLUDING ALL) with the new persistence, USING or TABLESPACE), copy the rows in batches while a trigger keeps it in step, then swap the names in one short step"
                );
                LockFinding::new(&Self::DOC, s, message, recipe)
                    .lock(LockMode::AccessExclusive)
                    .rewrites()
            },
        )
    }
    examples {
        flags: alter(
            "ALTER TABLE t SET UNLOGGED",
            vec![AlterCommand::MovesStorage {
                what: "SET UNLOGGED".into(),
            }],
        ) => |f| f[0].rewrites_table && f[0].message.contains("t SET UNLOGGED"),
        passes: alter(
            "ALTER TABLE t SET LOGGED",
            vec![AlterCommand::Other {
                what: "SET LOGGED".into(),
            }],
        ),
    }
}
