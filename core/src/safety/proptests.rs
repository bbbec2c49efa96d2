//! Properties that must hold for any input the shell could send.

use super::*;
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = StatementKind> {
    let name = "[a-z]{1,3}";
    prop_oneof![
        name.prop_map(|table| StatementKind::CreateTable {
            table,
            json_columns: vec![],
        }),
        (name, any::<bool>(), any::<bool>()).prop_map(|(table, concurrently, unique)| {
            StatementKind::CreateIndex {
                table,
                concurrently,
                unique,
                columns: vec![],
                partitioned: false,
                only: false,
            }
        }),
        any::<bool>().prop_map(|concurrently| StatementKind::DropIndex { concurrently }),
        (name, ".{0,12}", ".{0,12}", any::<bool>()).prop_map(|(table, old, new, has_using)| {
            let cmd = AlterCommand::AlterColumnType {
                column: "c".into(),
                old_type: Some(old),
                new_type: new,
                has_using,
                binary_coercible: None,
                revalidates: vec![],
                json: false,
                domain_check: false,
            };
            StatementKind::AlterTable {
                table,
                commands: vec![cmd],
            }
        }),
        (name, any::<bool>()).prop_map(|(t, cascade)| StatementKind::Truncate {
            tables: vec![t],
            cascade
        }),
        (name, ".{0,20}").prop_map(|(t, mode)| StatementKind::LockTable {
            tables: vec![t],
            mode
        }),
        any::<bool>().prop_map(|full| StatementKind::Vacuum { full, table: None }),
        Just(StatementKind::TransactionControl {
            op: crate::safety::TransactionOp::Begin,
        }),
    ]
}

fn facts() -> impl Strategy<Value = StatementFacts> {
    (".{0,30}", kind(), any::<bool>()).prop_map(|(sql, kind, in_transaction)| StatementFacts {
        sql,
        step: "s".into(),
        kind,
        in_transaction,
    })
}

proptest! {
    #[test]
    fn every_finding_comes_from_a_registered_rule(stmts in prop::collection::vec(facts(), 0..8)) {
        let docs = rule_docs();
        let findings = analyze(&stmts);
        for f in &findings {
            prop_assert!(docs.iter().any(|d| d.code == f.code));
            prop_assert_eq!(f.blocks, f.lock_mode.map_or(Blocks::Nothing, LockMode::blocks));
            prop_assert!(!f.rewrites_table || f.scans_table);
        }
        // The report built from them is unsafe exactly when a finding is CRITICAL.
        let issues = findings.iter().map(Issue::from_lock).collect();
        let report = SafetyReport::new("m", vec![CheckResult::new("locks", issues)]);
        prop_assert_eq!(
            report.overall_safety,
            !findings.iter().any(|f| f.severity == Severity::Critical)
        );
        let _ = to_markdown(&report);
    }

    #[test]
    fn a_type_never_rewrites_into_itself(t in ".{0,20}") {
        prop_assert_eq!(classify_type_change(&t, &t), TypeChange::NoRewrite);
    }

    #[test]
    fn more_rows_never_take_less_time(rows in 0u64..1 << 40, extra in 0u64..1 << 20, rps in 1.0f64..1e7) {
        let one = |n| vec![TableWork { table: "t".into(), rows: n }];
        let a = estimate(&one(rows), rps, 100, None).unwrap();
        let b = estimate(&one(rows + extra), rps, 100, None).unwrap();
        prop_assert!(b.seconds >= a.seconds && b.memory_bytes >= a.memory_bytes);
    }
}
