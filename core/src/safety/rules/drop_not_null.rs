//! Why: `DROP NOT NULL` takes a brief lock and checks nothing, but readers
//! written for the old schema assume a value is always there: once a NULL is
//! written, old code that reads it fails or mis-handles it. A compatibility
//! change (expand before clients handle NULL), not a lock problem.

use super::per_command;
use crate::safety::lock::LockFinding;
use crate::safety::statement::AlterCommand;

lock_rule! {
    DropNotNull {
        code: "DROP_NOT_NULL",
        severity: Medium,
        category: Compatibility,
        summary: "DROP NOT NULL lets NULLs in that readers of the old schema do not expect.",
        fix: "Deploy readers that handle NULL first, then drop the constraint.",
        action: "UPDATE_READERS_FIRST",
        bad: "ALTER TABLE users ALTER COLUMN email DROP NOT NULL; -- old readers assume an email",
        good: "-- after every reader handles a missing email:\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::DropNotNull { column } => Some(column),
                _ => None,
            },
            |table, column| {
                let message = format!("{table}.{column} may hold NULL from now on: readers of the old schema assume it never does");
                let recipe = format!("Deploy readers that handle a NULL {column} before this step");
                LockFinding::new(&Self::DOC, s, message, recipe)
            },
        )
    }
    examples {
        flags: alter(
            "ALTER TABLE t ALTER COLUMN c DROP NOT NULL",
            vec![AlterCommand::DropNotNull { column: "c".into() }],
        ) => |f| f[0].message.starts_with("t.c may hold NULL"),
        passes: alter(
            "ALTER TABLE t ALTER COLUMN c SET DEFAULT 1",
            vec![AlterCommand::Other {
                what: "SET DEFAULT".into(),
            }],
        ),
    }
}
