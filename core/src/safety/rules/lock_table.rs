//! Why: an explicit LOCK holds its mode until the step's transaction ends, so
//! everything else the step does runs under it. ACCESS EXCLUSIVE (the default
//! mode) stops reads and writes; SHARE and above stop writes. Weaker modes
//! only stop DDL and are not reported. Outside a transaction block LOCK TABLE
//! is an error, hence CRITICAL in a `"transaction": false` step.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;
use crate::safety::Severity;

lock_rule! {
    LockTable {
        code: "LOCK_TABLE",
        severity: High,
        summary: "An explicit LOCK TABLE blocks traffic for the rest of the step's transaction.",
        fix: "Drop the explicit lock; keep the step short and set lock_timeout so it gives up instead of queueing.",
        action: "REMOVE_EXPLICIT_LOCK",
        bad: "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\nUPDATE orders SET status = 'archived' WHERE created_at < '2020-01-01';",
        good: "SET LOCAL lock_timeout = '5s';\nUPDATE orders SET status = 'archived' WHERE id BETWEEN 1 AND 10000 AND created_at < '2020-01-01';",
    }
    check(s) {
        let StatementKind::LockTable { tables, mode } = &s.kind else {
            return vec![];
        };
        // Unknown spellings are taken as the default mode: the strongest.
        let mode = LockMode::parse(mode).unwrap_or(LockMode::AccessExclusive);
        let names = tables.join(", ");
        let (severity, message) = if !s.in_transaction {
            (
                Severity::Critical,
                format!("LOCK TABLE {names} fails outside a transaction block (the step has \"transaction\": false)"),
            )
        } else {
            let severity = match mode {
                LockMode::AccessExclusive | LockMode::Exclusive => Severity::High,
                LockMode::Share | LockMode::ShareRowExclusive => Severity::Medium,
                _ => return vec![],
            };
            let message = format!(
                "LOCK TABLE {names} IN {mode} MODE blocks {} on {names} until the step commits",
                mode.blocks().as_str()
            );
            (severity, message)
        };
        let recipe = "Remove the LOCK; run the work in short batches with SET LOCAL lock_timeout = '5s' so a blocked step fails fast and can be retried".to_string();
        vec![LockFinding::new(&Self::DOC, s, message, recipe)
            .lock(mode)
            .severity(severity)]
    }
    examples {
        flags: lock("ACCESS EXCLUSIVE")
            => |f| (f[0].severity, f[0].lock_mode)
                == (Severity::High, Some(LockMode::AccessExclusive))
                && f[0].message.contains("blocks reads and writes"),
        flags: lock("share") => |f| f[0].severity == Severity::Medium,
        flags: lock("SHARE").outside_transaction() => |f| f[0].severity == Severity::Critical,
        passes: lock("ROW EXCLUSIVE"),
    }
    tests {
        fn lock(mode: &str) -> StatementFacts {
            stmt(
                "LOCK TABLE t",
                StatementKind::LockTable {
                    tables: vec!["t".into()],
                    mode: mode.into(),
                },
            )
        }
    }
}
