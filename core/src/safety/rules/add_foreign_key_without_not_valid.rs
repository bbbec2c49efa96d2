//! Why: adding a foreign key checks every existing row against the referenced
//! table, holding SHARE ROW EXCLUSIVE on BOTH tables for the whole scan: writes
//! to either wait. `NOT VALID` adds it instantly (new rows are checked at
//! once); `VALIDATE CONSTRAINT` later scans under SHARE UPDATE EXCLUSIVE on
//! the table and ROW SHARE on the referenced one, which block no traffic.

use super::added_without_not_valid;
use crate::safety::lock::LockMode;
use crate::safety::statement::ConstraintKind;

lock_rule! {
    AddForeignKeyWithoutNotValid {
        code: "ADD_FOREIGN_KEY_WITHOUT_NOT_VALID",
        severity: High,
        summary: "ADD FOREIGN KEY without NOT VALID blocks writes to both tables while every row is checked.",
        fix: "Add the foreign key NOT VALID, then VALIDATE CONSTRAINT in a later step.",
        action: "USE_NOT_VALID_THEN_VALIDATE",
        bad: "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
        good: "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n-- next step\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
    }
    check(s) {
        added_without_not_valid(
            &Self::DOC,
            s,
            ConstraintKind::ForeignKey,
            LockMode::ShareRowExclusive,
            |table| {
                format!("Adding a foreign key to {table} holds SHARE ROW EXCLUSIVE on {table} and the referenced table while every row is checked")
            },
        )
    }
    examples {
        flags: fk(false) => |f| f[0].lock_mode == Some(LockMode::ShareRowExclusive)
            && f[0].recipe.contains("REFERENCES u (id) NOT VALID; then")
            && f[0].recipe.ends_with("VALIDATE CONSTRAINT t_fk"),
        passes: fk(true),
    }
    tests {
        use crate::safety::statement::AlterCommand;

        fn fk(not_valid: bool) -> StatementFacts {
            alter(
                "ALTER TABLE t ADD CONSTRAINT t_fk FOREIGN KEY (u_id) REFERENCES u (id);",
                vec![AlterCommand::AddConstraint {
                    name: Some("t_fk".into()),
                    kind: ConstraintKind::ForeignKey,
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
