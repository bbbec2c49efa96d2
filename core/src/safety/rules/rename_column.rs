//! Why: the rename itself is a quick catalog change, but every running client
//! that still uses the old name fails from that instant until it is deployed
//! again. Expand/contract keeps both names valid during the switch.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    RenameColumn {
        code: "RENAME_COLUMN",
        severity: High,
        summary: "Renaming a column breaks every client still using the old name.",
        fix: "Expand/contract: add the new column (or a view exposing both names), move clients, then drop the old name.",
        action: "USE_EXPAND_CONTRACT",
        bad: "ALTER TABLE users RENAME COLUMN name TO full_name;",
        good: "ALTER TABLE users ADD COLUMN full_name text;\n-- keep both in step with a trigger, backfill in batches, move clients,\n-- then in a later migration: ALTER TABLE users DROP COLUMN name;",
    }
    check(s) {
        let StatementKind::RenameColumn { table, column } = &s.kind else {
            return vec![];
        };
        let message = format!(
            "Renaming {table}.{column} breaks every client still reading or writing {column}"
        );
        let recipe = format!(
            "Add the new column to {table}, keep it in step with {column} by a trigger and backfill in batches \
             (or expose both names through a view), move clients, drop {column} in a later migration"
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)]
    }
    examples {
        flags: stmt(
            "ALTER TABLE t RENAME COLUMN a TO b",
            StatementKind::RenameColumn {
                table: "t".into(),
                column: "a".into(),
            },
        ) => |f| f[0].message.contains("t.a"),
        passes: alter(
            "ALTER TABLE t ADD COLUMN b text",
            vec![AlterCommand::AddColumn {
                column: "b".into(),
                has_default: false,
                volatile_default: false,
                not_null: false,
                json: false,
                domain_check: false,
                default_calls: vec![],
            }],
        ),
    }
}
