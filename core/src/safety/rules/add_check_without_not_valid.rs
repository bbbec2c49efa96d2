//! Why: adding a CHECK constraint evaluates it on every existing row while
//! holding ACCESS EXCLUSIVE: no reads, no writes for the whole scan. With
//! `NOT VALID` it is added instantly and enforced for new rows; `VALIDATE
//! CONSTRAINT` later scans under SHARE UPDATE EXCLUSIVE, blocking no traffic.

use super::added_without_not_valid;
use crate::safety::lock::LockMode;
use crate::safety::statement::ConstraintKind;

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
    check(s) {
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
    examples {
        flags: check(false) => |f| f[0].lock_mode == Some(LockMode::AccessExclusive)
            && f[0]
                .recipe
                .starts_with("ALTER TABLE t ADD CONSTRAINT t_pos CHECK (n > 0) NOT VALID;"),
        passes: check(true),
        alter(
            "ALTER TABLE t VALIDATE CONSTRAINT t_pos",
            vec![AlterCommand::ValidateConstraint {
                name: "t_pos".into(),
                proves_not_null: None,
            }],
        ),
    }
    tests {
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
    }
}
