//! Why: `ADD CONSTRAINT ... NOT VALID` is cheap because the validation is left
//! for later, under the weaker lock of `VALIDATE CONSTRAINT`. Validating in the
//! same transaction keeps the ADD's lock (ACCESS EXCLUSIVE for a CHECK, SHARE ROW
//! EXCLUSIVE for a foreign key) until commit, so the whole scan runs under it:
//! the split buys nothing (strong_migrations' and squawk's advice is a separate
//! transaction).

use super::trim_sql;
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::{AlterCommand, ConstraintKind};
use crate::safety::text::same_table;

lock_rule! {
    NotValidValidatedInSameTransaction {
        code: "NOT_VALID_VALIDATED_IN_SAME_TRANSACTION",
        severity: High,
        summary: "VALIDATE CONSTRAINT in the transaction that added it NOT VALID scans the table under the ADD's strong lock.",
        fix: "Validate in a later step (a separate transaction), so the scan holds only SHARE UPDATE EXCLUSIVE.",
        action: "VALIDATE_IN_LATER_STEP",
        bad: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive; -- same step",
        good: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;\n-- next step\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
    }
    check_script(script, _) {
        // (transaction, table, constraint, lock its ADD took, the ADD's text)
        let mut added: Vec<(usize, &str, &str, LockMode, &str)> = Vec::new();
        let mut out = Vec::new();
        for st in script {
            let (Some(tx), Some((table, commands))) = (st.transaction, st.facts.alter_commands())
            else {
                continue;
            };
            for c in commands {
                match c {
                    AlterCommand::AddConstraint {
                        name: Some(name),
                        not_valid: true,
                        kind,
                        ..
                    } => {
                        let lock = if *kind == ConstraintKind::ForeignKey {
                            LockMode::ShareRowExclusive
                        } else {
                            LockMode::AccessExclusive
                        };
                        added.push((tx, table, name, lock, trim_sql(&st.facts.sql)));
                    }
                    AlterCommand::ValidateConstraint { name, .. } if !st.on_new_table => {
                        let Some(&(_, _, _, lock, add)) = added.iter().find(|(t, tb, n, _, _)| {
                            *t == tx && same_table(tb, table) && n == name
                        }) else {
                            continue;
                        };
                        let message = format!(
                            "{name} is validated in the transaction that added it (`{add}`): the scan of {table} runs under {lock}"
                        );
                        let recipe = format!("Move `{}` to a later step", trim_sql(&st.facts.sql));
                        out.push(
                            LockFinding::new(&Self::DOC, &st.facts, message, recipe)
                                .lock(lock)
                                .scans(),
                        );
                    }
                    _ => {}
                }
            }
        }
        out
    }
    examples {
        flags: script(true) => |f| f[0].lock_mode == Some(LockMode::AccessExclusive)
            && f[0].message.starts_with("c is validated in the transaction that added it"),
        passes: script(false),
        script(true)
            .into_iter()
            .map(StatementFacts::outside_transaction)
            .collect::<Vec<_>>(),
    }
    tests {
        fn script(same_step: bool) -> Vec<StatementFacts> {
            let add = alter(
                "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
                vec![constraint(ConstraintKind::Check, |c| {
                    if let AlterCommand::AddConstraint {
                        name, not_valid, ..
                    } = c
                    {
                        *name = Some("c".into());
                        *not_valid = true;
                    }
                })],
            );
            let mut validate = alter(
                "ALTER TABLE t VALIDATE CONSTRAINT c",
                vec![AlterCommand::ValidateConstraint {
                    name: "c".into(),
                    proves_not_null: None,
                }],
            );
            if !same_step {
                validate.step = "s2".into();
            }
            vec![add, validate]
        }
    }
}
