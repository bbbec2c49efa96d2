//! Why: the column's data is gone at commit (the space is reclaimed later, the
//! values are not recoverable), and clients still selecting it fail. HIGH, not
//! CRITICAL: dropping a column is usually the intended last step of a
//! deprecation, and blocking every such migration would teach people to ignore
//! the report.

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::AlterCommand;

lock_rule! {
    DropColumn {
        code: "DROP_COLUMN",
        severity: High,
        category: DataLoss,
        summary: "Dropping a column destroys its data and breaks clients still using it.",
        fix: "Deprecate first: stop writing and reading the column, back it up if needed, drop it in a later migration.",
        action: "DEPRECATE_BEFORE_DROP",
        bad: "ALTER TABLE users DROP COLUMN legacy_id;",
        good: "-- migration N: clients stop using legacy_id (deprecate_field)\n-- migration N+1, after a backup:\nALTER TABLE users DROP COLUMN legacy_id;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::DropColumn { column } => Some(column),
                _ => None,
            },
            |table, column| {
                let message = format!(
                    "Dropping {table}.{column} destroys its data and breaks clients still using it"
                );
                let recipe = format!(
                    "Make sure no client reads or writes {table}.{column} (deprecate it first), \
                     keep a copy (CREATE TABLE {table}_{column}_backup AS SELECT <key>, {column} FROM {table}), \
                     then drop it"
                );
                LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)
            },
        )
    }
    examples {
        flags: alter(
            "ALTER TABLE t DROP COLUMN c",
            vec![AlterCommand::DropColumn { column: "c".into() }],
        ) => |f| f[0].recipe.contains("t_c_backup"),
        passes: alter(
            "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
            vec![AlterCommand::Other {
                what: "DROP DEFAULT".into(),
            }],
        ),
    }
}
