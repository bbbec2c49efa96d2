//! Why: renaming a schema is a catalog change, but every client whose
//! search_path or qualified names say the old name stops finding its tables at
//! commit (42P01), and functions with a pinned search_path go on naming it.

use crate::safety::lock::LockFinding;
use crate::safety::statement::StatementKind;

lock_rule! {
    RenameSchema {
        code: "RENAME_SCHEMA",
        severity: High,
        category: Compatibility,
        summary: "Renaming a schema breaks every client and function that names it or has it on its search_path.",
        fix: "Create the new schema and move objects (or add views) while clients switch; drop the old name last.",
        action: "MIGRATE_CLIENTS_BEFORE_RENAME",
        bad: "ALTER SCHEMA billing RENAME TO finance;",
        good: "CREATE SCHEMA IF NOT EXISTS finance;\n-- move or expose the objects in finance, switch clients' search_path, then drop billing",
    }
    check(s) {
        let StatementKind::RenameSchema { schema } = &s.kind else {
            return vec![];
        };
        let message = format!("Renaming schema {schema} breaks clients and functions that name {schema} or have it on their search_path");
        let recipe = format!("Expose the objects under the new schema (views or moved tables) while clients move off {schema}; retire {schema} last");
        vec![LockFinding::new(&Self::DOC, s, message, recipe)]
    }
    examples {
        flags: stmt(
            "ALTER SCHEMA a RENAME TO b",
            StatementKind::RenameSchema { schema: "a".into() },
        ) => |f| f[0].message.starts_with("Renaming schema a"),
        passes: stmt(
            "CREATE SCHEMA b",
            Other {
                tag: "CREATE SCHEMA".into(),
            },
        ),
    }
}
