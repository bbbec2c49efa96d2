//! Why: each ALTER TABLE takes (and, in autocommit, queues for) its own lock; two
//! in a row on one table wait in the lock queue twice and, for rewriting
//! commands, rewrite twice. One ALTER TABLE with both commands takes the lock
//! once and rewrites at most once (`ALTER TABLE t ADD COLUMN a int, ADD COLUMN b int`).

use super::trim_sql;
use crate::safety::lock::LockFinding;
use crate::safety::text::same_table;

lock_rule! {
    AltersCouldBeCombined {
        code: "ALTERS_COULD_BE_COMBINED",
        severity: Low,
        category: Style,
        summary: "Consecutive ALTER TABLE statements on one table queue for its lock (and may rewrite it) once each.",
        fix: "Combine them into one ALTER TABLE with comma-separated commands.",
        action: "COMBINE_ALTER_TABLE",
        bad: "ALTER TABLE users ADD COLUMN a int;\nALTER TABLE users ADD COLUMN b int;",
        good: "ALTER TABLE users ADD COLUMN a int, ADD COLUMN b int;",
    }
    check_script(script, _) {
        let mut out = Vec::new();
        for pair in script.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let (Some((ta, _)), Some((tb, _))) =
                (a.facts.alter_commands(), b.facts.alter_commands())
            else {
                continue;
            };
            if a.facts.step != b.facts.step || !same_table(ta, tb) || b.on_new_table {
                continue;
            }
            let message = format!(
                "`{}` follows another ALTER TABLE of {tb}: {tb}'s lock is queued for twice",
                trim_sql(&b.facts.sql)
            );
            let recipe = format!(
                "Merge it into `{}` as one ALTER TABLE {tb} with comma-separated commands",
                trim_sql(&a.facts.sql)
            );
            out.push(LockFinding::new(&Self::DOC, &b.facts, message, recipe));
        }
        out
    }
    examples {
        flags: vec![
            alter(
                "ALTER TABLE t ADD COLUMN a int",
                vec![add_column("a", |_| ())],
            ),
            alter(
                "ALTER TABLE t ADD COLUMN b int",
                vec![add_column("b", |_| ())],
            ),
        ] => |f| f.len() == 1,
        passes: vec![alter(
            "ALTER TABLE t ADD COLUMN a int, ADD COLUMN b int",
            vec![add_column("a", |_| ()), add_column("b", |_| ())],
        )],
    }
}
