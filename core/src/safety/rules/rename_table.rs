//! Why: like a column rename, quick for the database and immediately fatal for
//! every client that still names the old table. A view under the old name
//! keeps old clients working while they move.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    RenameTable {
        code: "RENAME_TABLE",
        severity: High,
        summary: "Renaming a table breaks every client still using the old name.",
        fix: "Rename, and create a view with the old name in the same transaction; drop the view once clients moved.",
        action: "USE_COMPATIBILITY_VIEW",
        bad: "ALTER TABLE users RENAME TO accounts;",
        good: "-- one step (transactional, the default)\nALTER TABLE users RENAME TO accounts;\nCREATE VIEW users AS SELECT * FROM accounts;\n-- later migration: DROP VIEW users;",
    }
    check(s) {
        let StatementKind::RenameTable { table } = &s.kind else {
            return vec![];
        };
        let message = format!("Renaming {table} breaks every client still using {table}");
        let recipe = format!(
            "In the same transactional step as the rename: CREATE VIEW {table} AS SELECT * FROM <new name>; \
             drop the view in a later migration once clients use the new name"
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)]
    }
    examples {
        flags: stmt("ALTER TABLE t RENAME TO u", StatementKind::RenameTable { table: "t".into() })
            => |f| f[0].recipe.contains("CREATE VIEW t"),
        passes: stmt(
            "CREATE VIEW t AS SELECT * FROM u",
            Other {
                tag: "CREATE VIEW".into(),
            },
        ),
    }
}
