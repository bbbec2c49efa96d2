//! Why: PostgreSQL 15 refuses `CREATE INDEX CONCURRENTLY` on a partitioned table
//! (0A000 "cannot create index on partitioned table concurrently"). The way that
//! locks nobody: an invalid index `ON ONLY` the parent, each partition's index
//! built CONCURRENTLY, each attached to the parent's.

use crate::safety::lock::LockFinding;
use crate::safety::statement::StatementKind;

lock_rule! {
    ConcurrentlyOnPartitionedTable {
        code: "CONCURRENTLY_ON_PARTITIONED_TABLE",
        severity: Critical,
        category: Failure,
        summary: "CREATE INDEX CONCURRENTLY on a partitioned table fails: PostgreSQL 15 cannot build it concurrently.",
        fix: "CREATE INDEX ... ON ONLY the parent, build each partition's index CONCURRENTLY, and ATTACH each one.",
        action: "INDEX_PARTITIONS_CONCURRENTLY",
        bad: "CREATE INDEX CONCURRENTLY measurements_at ON measurements (at);",
        good: "CREATE INDEX measurements_at ON ONLY measurements (at);\n-- next step\n-- step with \"transaction\": false, once per partition\nCREATE INDEX CONCURRENTLY measurements_2026_at ON measurements_2026 (at);\n-- next step\nALTER INDEX measurements_at ATTACH PARTITION measurements_2026_at;",
    }
    check(s) {
        let StatementKind::CreateIndex {
            table,
            concurrently: true,
            partitioned: true,
            ..
        } = &s.kind
        else {
            return vec![];
        };
        let message =
            format!("{table} is partitioned: CREATE INDEX CONCURRENTLY on it fails (0A000)");
        let recipe = format!(
            "CREATE INDEX <name> ON ONLY {table} (...); then per partition, with \"transaction\": false: \
             CREATE INDEX CONCURRENTLY <partition index> ON <partition> (...); ALTER INDEX <name> ATTACH PARTITION <partition index>"
        );
        vec![LockFinding::new(&Self::DOC, s, message, recipe)]
    }
    harmless_on_new_table: false,
    examples {
        flags: index(true) => |f| f[0].recipe.starts_with("CREATE INDEX <name> ON ONLY m"),
        passes: index(false),
    }
    tests {
        fn index(partitioned: bool) -> StatementFacts {
            let kind = CreateIndex {
                table: "m".into(),
                concurrently: true,
                unique: false,
                columns: vec!["at".into()],
                partitioned,
                only: false,
            };
            stmt("CREATE INDEX CONCURRENTLY ON m (at)", kind).outside_transaction()
        }
    }
}
