//! Why: a statement that needs a table lock waits behind any long transaction
//! holding a conflicting one, and everything after it waits behind it: a
//! harmless ALTER becomes an outage while it queues. A `lock_timeout` makes it
//! give up instead (and retry later). Inside this engine every step sets one
//! (the step policy); a script run by psql or a deploy tool must set its own.
//! Reported once, on the first statement that waits for a lock stronger than
//! ROW EXCLUSIVE with no `SET [LOCAL] lock_timeout` before it.

use super::trim_sql;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::StatementKind;

lock_rule! {
    MissingLockTimeout {
        code: "MISSING_LOCK_TIMEOUT",
        severity: Medium,
        summary: "DDL run outside the engine without a lock_timeout can queue behind a long transaction and block everything behind it.",
        fix: "SET lock_timeout (e.g. '5s') at the top of the script, and retry on 55P03.",
        action: "SET_LOCK_TIMEOUT",
        bad: "ALTER TABLE users ADD COLUMN plan text;",
        good: "SET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN plan text;",
    }
    check_script(script, options) {
        if !options.outside_engine {
            return vec![];
        }
        for st in script {
            if matches!(&st.facts.kind, StatementKind::SetVariable { name } if name == "lock_timeout")
            {
                return vec![];
            }
            let Some(lock) = st.facts.table_lock() else {
                continue;
            };
            if lock <= LockMode::RowExclusive || st.on_new_table {
                continue;
            }
            let message = format!(
                "`{}` waits for {lock} with no lock_timeout set: behind a long transaction it blocks every query on {} while it queues",
                trim_sql(&st.facts.sql),
                st.facts.target_tables().join(", ")
            );
            let recipe = "Start the script with SET lock_timeout = '5s' (SET LOCAL inside a transaction) and retry the deploy on SQLSTATE 55P03".to_string();
            return vec![LockFinding::new(&Self::DOC, &st.facts, message, recipe).lock(lock)];
        }
        vec![]
    }
    // No `examples`: they run inside the engine (default options), where this rule
    // never speaks; the tests below lint as a script run outside it.
    tests {
        use super::super::ScriptRule;
        use crate::safety::script::LintOptions;

        fn outside() -> LintOptions {
            LintOptions {
                outside_engine: true,
            }
        }

        #[test]
        fn flags_bad() {
            let a = alter(
                "ALTER TABLE t ADD COLUMN a int",
                vec![add_column("a", |_| ())],
            );
            let f = MissingLockTimeout.check_script(
                &crate::safety::script::read_script(std::slice::from_ref(&a)),
                &outside(),
            );
            assert_eq!(f.len(), 1);
            assert!(
                check_script(&MissingLockTimeout, &[a]).is_empty(),
                "inside the engine the step policy sets it"
            );
        }

        #[test]
        fn passes_good() {
            let set = stmt(
                "SET lock_timeout = '5s'",
                SetVariable {
                    name: "lock_timeout".into(),
                },
            );
            let a = alter(
                "ALTER TABLE t ADD COLUMN a int",
                vec![add_column("a", |_| ())],
            );
            assert!(MissingLockTimeout
                .check_script(&crate::safety::script::read_script(&[set, a]), &outside())
                .is_empty());
        }
    }
}
