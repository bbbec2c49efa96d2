//! Why: `DETACH PARTITION` takes ACCESS EXCLUSIVE on the partitioned table: every
//! query on any partition waits. PostgreSQL 14+ offers `DETACH PARTITION ...
//! CONCURRENTLY` (SHARE UPDATE EXCLUSIVE, outside a transaction block), except when
//! the table has a DEFAULT partition, where the concurrent form is refused: then no
//! concurrent form exists and the recipe says so.

use super::per_command;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::AlterCommand;

lock_rule! {
    DetachPartitionNotConcurrently {
        code: "DETACH_PARTITION_NOT_CONCURRENTLY",
        severity: High,
        summary: "DETACH PARTITION without CONCURRENTLY locks the whole partitioned table ACCESS EXCLUSIVE.",
        fix: "Use DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) in a step with \"transaction\": false.",
        action: "USE_DETACH_CONCURRENTLY",
        bad: "ALTER TABLE measurements DETACH PARTITION measurements_2025;",
        good: "-- step with \"transaction\": false\nALTER TABLE measurements DETACH PARTITION measurements_2025 CONCURRENTLY;",
    }
    check(s) {
        per_command(
            s,
            |c| match c {
                AlterCommand::DetachPartition {
                    partition,
                    concurrently: false,
                    has_default_partition,
                } => Some((partition, *has_default_partition)),
                _ => None,
            },
            |table, (partition, has_default)| {
                let message = format!(
                    "Detaching {partition} locks {table} ACCESS EXCLUSIVE: queries on every partition of {table} wait"
                );
                let recipe = if has_default {
                    format!("{table} has a DEFAULT partition, so DETACH ... CONCURRENTLY is refused: detach {partition} in a maintenance window with a short lock_timeout")
                } else {
                    format!("In a step with \"transaction\": false: ALTER TABLE {table} DETACH PARTITION {partition} CONCURRENTLY")
                };
                LockFinding::new(&Self::DOC, s, message, recipe).lock(LockMode::AccessExclusive)
            },
        )
    }
    examples {
        flags: detach(false, false)
            => |f| f[0].recipe.ends_with("DETACH PARTITION t_2020 CONCURRENTLY"),
        // with a DEFAULT partition, no concurrent form is offered
        flags: detach(false, true) => |f| !f[0].recipe.contains("CONCURRENTLY\""),
        passes: detach(true, false),
    }
    tests {
        fn detach(concurrently: bool, has_default_partition: bool) -> StatementFacts {
            let partition = "t_2020".into();
            alter(
                "ALTER TABLE t DETACH PARTITION t_2020",
                vec![AlterCommand::DetachPartition {
                    partition,
                    concurrently,
                    has_default_partition,
                }],
            )
        }
    }
}
