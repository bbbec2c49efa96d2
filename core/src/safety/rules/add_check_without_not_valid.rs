//! Why: adding a CHECK constraint evaluates it on every existing row while
//! holding ACCESS EXCLUSIVE: no reads, no writes for the whole scan. With
//! `NOT VALID` it is added instantly and enforced for new rows; `VALIDATE
//! CONSTRAINT` later scans under SHARE UPDATE EXCLUSIVE, blocking no traffic.

use super::{added_without_not_valid, LockRule, RuleDoc};
use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::{ConstraintKind, StatementFacts};

lock_rule! {
    AddCheckWithoutNotValid {
        code: "ADD_CHECK_WITHOUT_NOT_VALID",
        severity: High,
        summary: "ADD CHECK without NOT VALID scans the whole table under ACCESS EXCLUSIVE.",
        fix: "Add the check NOT VALID, then VALIDATE CONSTRAINT in a later step.",
        action: "USE_NOT_VALID_THEN_VALIDATE",
        bad: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);",
        good: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n-- next step\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
    }
}

impl LockRule for AddCheckWithoutNotValid {
    fn doc(&self) -> &'static RuleDoc {
        &Self::DOC
    }

    fn check(&self, s: &StatementFacts) -> Vec<LockFinding> {
        added_without_not_valid(
            &Self::DOC,
            s,
            ConstraintKind::Check,
            LockMode::AccessExclusive,
            |table| {
                format!(
                    "Adding a CHECK constraint to {table} checks every row under ACCESS EXCLUSIVE"
                )
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::safety::statement::AlterCommand;

    fn check(not_valid: bool) -> StatementFacts {
        alter(
            "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (n > 0)",
            vec![AlterCommand::AddConstraint {
                name: Some("t_pos".into()),
                kind: ConstraintKind::Check,
                not_valid,
                using_index: false,
                columns: vec![],
                columns_indexed: false,
                nullable_columns: vec![],
                proves_not_null: None,
            }],
        )
    }

    #[test]
    fn flags_bad() {
        let f = AddCheckWithoutNotValid.check(&check(false));
        assert_eq!(f[0].lock_mode, Some(LockMode::AccessExclusive));
        assert!(f[0]
            .recipe
            .starts_with("ALTER TABLE t ADD CONSTRAINT t_pos CHECK (n > 0) NOT VALID;"));
    }

    #[test]
    fn passes_good() {
        assert!(AddCheckWithoutNotValid.check(&check(true)).is_empty());
        let validate = alter(
            "ALTER TABLE t VALIDATE CONSTRAINT t_pos",
            vec![AlterCommand::ValidateConstraint {
                name: "t_pos".into(),
                proves_not_null: None,
            }],
        );
        assert!(AddCheckWithoutNotValid.check(&validate).is_empty());
    }
}
