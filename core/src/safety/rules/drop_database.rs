//! Why: `DROP DATABASE` destroys every table of the database at once and cannot
//! be undone; it also cannot run inside a transaction block (25001) or while
//! anyone is connected (55006) unless `WITH (FORCE)` disconnects them. It never
//! belongs in a schema migration.

use crate::safety::lock::LockFinding;
use crate::safety::statement::StatementKind;

lock_rule! {
    DropDatabase {
        code: "DROP_DATABASE",
        severity: High,
        category: DataLoss,
        summary: "DROP DATABASE destroys the whole database; it has no place in a schema migration.",
        fix: "Drop databases by hand, after a backup, outside the migration history.",
        action: "REMOVE_DROP_DATABASE",
        bad: "DROP DATABASE analytics;",
        good: "-- run by an operator after pg_dump, not as a migration step",
    }
    check(s) {
        let StatementKind::DropDatabase { database } = &s.kind else {
            return vec![];
        };
        let message = format!("DROP DATABASE {database} destroys every table in it");
        let recipe = format!("Remove the statement from the migration; drop {database} by hand after pg_dump, outside a transaction block");
        vec![LockFinding::new(&Self::DOC, s, message, recipe)]
    }
    examples {
        flags: stmt("DROP DATABASE a", StatementKind::DropDatabase { database: "a".into() })
            => |f| f[0].message.starts_with("DROP DATABASE a"),
        passes: stmt("DROP TABLE a", StatementKind::DropTable { tables: vec!["a".into()] }),
    }
}
