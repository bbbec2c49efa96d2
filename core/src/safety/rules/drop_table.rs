//! Why: the table's rows are gone at commit and clients using it fail. HIGH,
//! not CRITICAL: the statement names what it destroys, so it is almost always
//! intended (the end of a deprecation); the rollback check separately reports
//! a rollback that would drop data. Compare TRUNCATE_CASCADE, which empties
//! tables the statement does not name.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    DropTable {
        code: "DROP_TABLE",
        severity: High,
        category: DataLoss,
        summary: "Dropping a table destroys its data and breaks clients still using it.",
        fix: "Stop using the table first, keep a backup (or rename it aside), and drop it in a later migration.",
        action: "BACKUP_BEFORE_DROP",
        bad: "DROP TABLE legacy_events;",
        good: "-- migration N:\nALTER TABLE legacy_events RENAME TO legacy_events_retired;\n-- migration N+1, after a backup:\nDROP TABLE legacy_events_retired;",
    }
    check(s) {
        let StatementKind::DropTable { tables } = &s.kind else {
            return vec![];
        };
        if tables.is_empty() {
            return vec![];
        }
        let names = tables.join(", ");
        let message =
            format!("Dropping {names} destroys its data and breaks clients still using it");
        let recipe = format!(
            "Check that no client uses {names}, back it up (pg_dump --table), \
             or rename it aside and drop it in a later migration"
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)]
    }
    examples {
        flags: stmt("DROP TABLE a, b", StatementKind::DropTable { tables: vec!["a".into(), "b".into()] })
            => |f| f[0].message.starts_with("Dropping a, b"),
        passes: stmt("ALTER TABLE a RENAME TO a_retired", RenameTable { table: "a".into() }),
    }
}
