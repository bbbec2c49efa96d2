//! Lock and rewrite rules, one file per rule, named after its code (squawk's
//! layout). A rule is declared once with `lock_rule!`: code, severity,
//! summary, fix, recommendation action and bad/good SQL, which become both the
//! rustdoc of the rule and its [`RuleDoc`].
//!
//! Adding a rule = a file here + one `mod` line + one entry in [`RULES`].

use super::lock::LockFinding;
use super::statement::StatementFacts;
pub(crate) use super::text::{insert_after, same_table, trim_sql};
use super::Severity;
use serde::Serialize;

/// Declares a rule's unit struct and its `DOC`, from one set of literals.
macro_rules! lock_rule {
    (
        $(#[doc = $why:literal])*
        $name:ident {
            code: $code:literal,
            severity: $sev:ident,
            summary: $summary:literal,
            fix: $fix:literal,
            action: $action:literal,
            bad: $bad:literal,
            good: $good:literal $(,)?
        }
    ) => {
        #[doc = concat!("`", $code, "` (", stringify!($sev), "): ", $summary, "\n")]
        $(#[doc = $why])*
        #[doc = concat!("\n\nBad:\n```sql\n", $bad, "\n```\n\nGood:\n```sql\n", $good, "\n```")]
        pub struct $name;

        impl $name {
            pub const DOC: $crate::safety::rules::RuleDoc = $crate::safety::rules::RuleDoc {
                code: $code,
                severity: $crate::safety::Severity::$sev,
                summary: $summary,
                fix: $fix,
                action: $action,
                bad: $bad,
                good: $good,
            };
        }
    };
}

mod add_check_without_not_valid;
mod add_column_volatile_default;
mod add_foreign_key_without_not_valid;
mod add_unique_without_index;
mod alter_column_type_rewrite;
mod cluster;
mod concurrently_in_transaction;
mod create_index_not_concurrently;
mod drop_column;
mod drop_index_not_concurrently;
mod drop_table;
mod lock_table;
mod reindex_not_concurrently;
mod rename_column;
mod rename_table;
mod set_not_null_without_check;
mod transaction_control_in_step;
mod truncate_cascade;
mod truncate_table;
mod vacuum_full;
mod vacuum_in_transaction;

/// Documentation of a rule, for `rule_docs()` and the generated docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleDoc {
    pub code: &'static str,
    /// Default severity; a rule may lower it for a milder case.
    pub severity: Severity,
    /// What goes wrong, in one sentence.
    pub summary: &'static str,
    /// The safe way, in one sentence (the recommendation's message).
    pub fix: &'static str,
    /// Recommendation action code, e.g. "USE_CREATE_INDEX_CONCURRENTLY".
    pub action: &'static str,
    pub bad: &'static str,
    pub good: &'static str,
}

/// A lock/rewrite rule over one statement.
pub trait LockRule: Sync {
    fn doc(&self) -> &'static RuleDoc;

    fn code(&self) -> &'static str {
        self.doc().code
    }

    /// Findings for `s`, usually zero or one (an ALTER TABLE may hold several
    /// offending commands).
    fn check(&self, s: &StatementFacts) -> Vec<LockFinding>;

    /// True when the problem is only the effect on existing rows and traffic,
    /// so the rule is skipped for a table created earlier in the same
    /// migration (empty, unused). False for rules about failures.
    fn harmless_on_new_table(&self) -> bool {
        true
    }
}

/// The findings for constraints of `kind` that an ALTER TABLE adds without `NOT VALID`
/// (shared by the CHECK and FOREIGN KEY rules, which differ only in lock and message):
/// the recipe is the same statement `NOT VALID`, then `VALIDATE CONSTRAINT` later.
pub(super) fn added_without_not_valid(
    doc: &'static RuleDoc,
    s: &StatementFacts,
    kind: super::statement::ConstraintKind,
    lock: super::lock::LockMode,
    message: impl Fn(&str) -> String,
) -> Vec<LockFinding> {
    let Some((table, commands)) = s.alter_commands() else {
        return vec![];
    };
    commands
        .iter()
        .filter_map(|c| match c {
            super::statement::AlterCommand::AddConstraint { kind: k, not_valid: false, name, .. } if *k == kind => {
                Some(name.as_deref().unwrap_or("<constraint name>"))
            }
            _ => None,
        })
        .map(|name| {
            let recipe = format!(
                "{} NOT VALID; then in a later step: ALTER TABLE {table} VALIDATE CONSTRAINT {name}",
                trim_sql(&s.sql)
            );
            LockFinding::new(doc, s, message(table), recipe).lock(lock).scans()
        })
        .collect()
}

/// The registry. Findings come out in statement order, then in this order.
pub static RULES: &[&dyn LockRule] = &[
    &concurrently_in_transaction::ConcurrentlyInTransaction,
    &vacuum_in_transaction::VacuumInTransaction,
    &transaction_control_in_step::TransactionControlInStep,
    &create_index_not_concurrently::CreateIndexNotConcurrently,
    &drop_index_not_concurrently::DropIndexNotConcurrently,
    &reindex_not_concurrently::ReindexNotConcurrently,
    &alter_column_type_rewrite::AlterColumnTypeRewrite,
    &add_column_volatile_default::AddColumnVolatileDefault,
    &set_not_null_without_check::SetNotNullWithoutCheck,
    &add_foreign_key_without_not_valid::AddForeignKeyWithoutNotValid,
    &add_check_without_not_valid::AddCheckWithoutNotValid,
    &add_unique_without_index::AddUniqueWithoutIndex,
    &vacuum_full::VacuumFull,
    &cluster::Cluster,
    &rename_column::RenameColumn,
    &rename_table::RenameTable,
    &drop_column::DropColumn,
    &drop_table::DropTable,
    &truncate_table::TruncateTable,
    &truncate_cascade::TruncateCascade,
    &lock_table::LockTable,
];

/// Run every rule over the statements of a migration, in order.
pub fn analyze(statements: &[StatementFacts]) -> Vec<LockFinding> {
    let mut created: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for s in statements {
        let targets = s.target_tables();
        let on_new_table = !targets.is_empty()
            && targets
                .iter()
                .all(|t| created.iter().any(|c| same_table(c, t)));
        for rule in RULES {
            if !(on_new_table && rule.harmless_on_new_table()) {
                out.extend(rule.check(s));
            }
        }
        if let super::StatementKind::CreateTable { table } = &s.kind {
            created.push(table);
        }
    }
    out
}

/// Every rule's documentation, in registry order.
pub fn rule_docs() -> Vec<RuleDoc> {
    RULES.iter().map(|r| *r.doc()).collect()
}

#[cfg(test)]
pub(crate) mod testing {
    pub use crate::safety::statement::StatementKind::{self, *};
    pub use crate::safety::statement::{AlterCommand, StatementFacts};

    /// A statement of step "s1" (in a transaction).
    pub fn stmt(sql: &str, kind: StatementKind) -> StatementFacts {
        StatementFacts::new("s1", sql, kind)
    }

    /// `ALTER TABLE t <commands>`.
    pub fn alter(sql: &str, commands: Vec<AlterCommand>) -> StatementFacts {
        stmt(
            sql,
            AlterTable {
                table: "t".into(),
                commands,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake_and_documented() {
        let mut codes: Vec<_> = RULES.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RULES.len());
        for d in rule_docs() {
            assert!(d.code.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
            assert!(!d.bad.is_empty() && !d.good.is_empty() && !d.fix.is_empty());
            assert!(d.action.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
    }

    #[test]
    fn statements_on_a_table_created_earlier_are_not_flagged() {
        let create = stmt("CREATE TABLE t (a int)", CreateTable { table: "t".into() });
        let index = stmt(
            "CREATE INDEX ON public.t (a)",
            CreateIndex {
                table: "public.t".into(),
                concurrently: false,
                unique: false,
            },
        );
        assert!(analyze(&[create.clone(), index.clone()]).is_empty());
        assert_eq!(analyze(&[index.clone(), create]).len(), 1);
        // A failure is reported even on a new table.
        let concurrent = StatementFacts {
            kind: CreateIndex {
                table: "t".into(),
                concurrently: true,
                unique: false,
            },
            ..index
        };
        let created = stmt("CREATE TABLE t ()", CreateTable { table: "t".into() });
        let codes: Vec<_> = analyze(&[created, concurrent])
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, ["CONCURRENTLY_IN_TRANSACTION"]);
    }
}
