//! Lock and rewrite rules, one file per rule, named after its code (squawk's
//! layout). A rule is declared once with `lock_rule!`: code, severity,
//! summary, fix, recommendation action and bad/good SQL, which become both the
//! rustdoc of the rule and its [`RuleDoc`].
//!
//! Adding a rule = a file here + one `mod` line + one entry in [`RULES`].

use super::lock::LockFinding;
use super::script::{read_script, LintOptions, Scripted};
use super::statement::{AlterCommand, StatementFacts};
pub(crate) use super::text::{insert_after, trim_sql};
use super::Severity;
use serde::Serialize;

/// A rule's category: `Lock` unless the declaration names another.
macro_rules! category_or_lock {
    () => {
        $crate::safety::lock::Category::Lock
    };
    ($cat:ident) => {
        $crate::safety::lock::Category::$cat
    };
}

/// Declares a rule once: its unit struct and `DOC` (from one set of literals, which
/// become the rustdoc too), its check, and its examples as tests.
///
/// ```text
/// lock_rule! {
///     /// Why: ...
///     RuleName { code: "...", severity: High, [category: Failure,] summary: "...",
///                fix: "...", action: "...", bad: "...", good: "..." }
///     check(s) { /* findings for the statement s */ }      // a per-statement rule, or
///     check_script(script, options) { /* ... */ }          // a rule over the script
///     [harmless_on_new_table: false,] [engine_only: true,] // per-statement rules only
///     examples {
///         flags: <input> => |findings| <bool expression about them>,
///         [flags: <another input> => |findings| ...,]
///         passes: <input>, <input>, ...
///     }
///     [tests { helper fns and further #[test]s }]
/// }
/// ```
///
/// An input is a `StatementFacts` for a per-statement rule and a
/// `Vec<StatementFacts>` for a script rule; the test helpers of [`testing`] are in
/// scope in `examples` and `tests`.
macro_rules! lock_rule {
    (
        $(#[doc = $why:literal])*
        $name:ident { $($doc:tt)* }
        check($s:ident) $check:block
        $(harmless_on_new_table: $harmless:literal,)?
        $(engine_only: $engine_only:literal,)?
        $(examples { $($examples:tt)* })?
        $(tests { $($tests:item)* })?
    ) => {
        rule_struct! { $(#[doc = $why])* $name { $($doc)* } }

        impl $crate::safety::rules::LockRule for $name {
            fn doc(&self) -> &'static $crate::safety::rules::RuleDoc {
                &Self::DOC
            }

            fn check(
                &self,
                $s: &$crate::safety::statement::StatementFacts,
            ) -> Vec<$crate::safety::lock::LockFinding> $check

            $(fn harmless_on_new_table(&self) -> bool {
                $harmless
            })?

            $(fn engine_only(&self) -> bool {
                $engine_only
            })?
        }

        rule_tests! { statement $name $(examples { $($examples)* })? $(tests { $($tests)* })? }
    };
    (
        $(#[doc = $why:literal])*
        $name:ident { $($doc:tt)* }
        check_script($script:ident, $options:pat) $check:block
        $(examples { $($examples:tt)* })?
        $(tests { $($tests:item)* })?
    ) => {
        rule_struct! { $(#[doc = $why])* $name { $($doc)* } }

        impl $crate::safety::rules::ScriptRule for $name {
            fn doc(&self) -> &'static $crate::safety::rules::RuleDoc {
                &Self::DOC
            }

            fn check_script(
                &self,
                $script: &[$crate::safety::script::Scripted],
                $options: &$crate::safety::script::LintOptions,
            ) -> Vec<$crate::safety::lock::LockFinding> $check
        }

        rule_tests! { script $name $(examples { $($examples)* })? $(tests { $($tests)* })? }
    };
}

/// A rule's unit struct and its `DOC`, from one set of literals.
macro_rules! rule_struct {
    (
        $(#[doc = $why:literal])*
        $name:ident {
            code: $code:literal,
            severity: $sev:ident,
            $(category: $cat:ident,)?
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
                category: category_or_lock!($($cat)?),
                summary: $summary,
                fix: $fix,
                action: $action,
                bad: $bad,
                good: $good,
            };
        }
    };
}

/// A rule's test module: its examples (the bad input is flagged and the findings
/// pass the check given, every good input gives none) and its own tests.
macro_rules! rule_tests {
    (
        $kind:ident $name:ident
        $(examples {
            $(flags: $bad:expr => |$findings:ident| $flagged:expr,)+
            passes: $($good:expr),+ $(,)?
        })?
        $(tests { $($tests:item)* })?
    ) => {
        #[cfg(test)]
        mod tests {
            #[allow(unused_imports)]
            use super::super::testing::*;
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn flags_bad() {
                    $({
                        let $findings = &findings_of!($kind $name, $bad);
                        let (rule, bad) = (stringify!($name), stringify!($bad));
                        assert!(!$findings.is_empty(), "{rule} does not flag {bad}");
                        assert!($flagged, "{rule} flags {bad} otherwise: {:#?}", $findings);
                    })+
                }

                #[test]
                fn passes_good() {
                    for good in [$($good),+] {
                        let findings = findings_of!($kind $name, good);
                        assert!(findings.is_empty(), "{} flags a good example: {findings:#?}", stringify!($name));
                    }
                }
            )?

            $($($tests)*)?
        }
    };
}

/// What a rule finds in a test input: one statement, or a script run by the engine.
#[cfg(test)]
macro_rules! findings_of {
    (statement $name:ident, $input:expr) => {
        $crate::safety::rules::LockRule::check(&$name, &$input)
    };
    (script $name:ident, $input:expr) => {
        check_script(&$name, &$input)
    };
}

mod access_exclusive_held_across_statements;
mod add_check_without_not_valid;
mod add_column_domain_check;
mod add_column_not_null_without_default;
mod add_column_volatile_default;
mod add_foreign_key_without_not_valid;
mod add_unique_without_index;
mod alter_column_type_revalidates;
mod alter_column_type_rewrite;
mod alter_table_rewrites_storage;
mod alters_could_be_combined;
mod cluster;
mod concurrently_in_transaction;
mod concurrently_on_partitioned_table;
mod create_index_not_concurrently;
mod detach_partition_not_concurrently;
mod drop_column;
mod drop_database;
mod drop_index_not_concurrently;
mod drop_not_null;
mod drop_table;
mod enum_value_renamed;
mod foreign_key_without_index;
mod lock_table;
mod missing_lock_timeout;
mod not_valid_validated_in_same_transaction;
mod prefer_jsonb;
mod primary_key_using_nullable_index;
mod reindex_not_concurrently;
mod rename_column;
mod rename_schema;
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
    pub category: super::lock::Category,
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

    /// True when the rule is about the engine's way of running steps, so it does not
    /// apply to a script linted with `outside_engine` (a psql or Flyway file manages its
    /// own transactions).
    fn engine_only(&self) -> bool {
        false
    }
}

/// The findings of a rule that judges an ALTER TABLE's subcommands one by one: `pick`
/// chooses the subcommands the rule is about (and what it needs of them), `finding`
/// turns each, with the table's name, into a finding. Any other statement gives none.
pub(crate) fn per_command<'s, T>(
    s: &'s StatementFacts,
    pick: impl Fn(&'s AlterCommand) -> Option<T>,
    finding: impl Fn(&'s str, T) -> LockFinding,
) -> Vec<LockFinding> {
    let Some((table, commands)) = s.alter_commands() else {
        return vec![];
    };
    commands
        .iter()
        .filter_map(pick)
        .map(|picked| finding(table, picked))
        .collect()
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
    per_command(
        s,
        |c| match c {
            AlterCommand::AddConstraint {
                kind: k,
                not_valid: false,
                name,
                ..
            } if *k == kind => Some(name.as_deref().unwrap_or("<constraint name>")),
            _ => None,
        },
        |table, name| {
            let recipe = format!(
                "{} NOT VALID; then in a later step: ALTER TABLE {table} VALIDATE CONSTRAINT {name}",
                trim_sql(&s.sql)
            );
            LockFinding::new(doc, s, message(table), recipe)
                .lock(lock)
                .scans()
        },
    )
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
    &alter_table_rewrites_storage::AlterTableRewritesStorage,
    &cluster::Cluster,
    &rename_column::RenameColumn,
    &rename_table::RenameTable,
    &drop_column::DropColumn,
    &drop_table::DropTable,
    &truncate_table::TruncateTable,
    &truncate_cascade::TruncateCascade,
    &lock_table::LockTable,
    &concurrently_on_partitioned_table::ConcurrentlyOnPartitionedTable,
    &add_column_not_null_without_default::AddColumnNotNullWithoutDefault,
    &add_column_domain_check::AddColumnDomainCheck,
    &alter_column_type_revalidates::AlterColumnTypeRevalidates,
    &primary_key_using_nullable_index::PrimaryKeyUsingNullableIndex,
    &foreign_key_without_index::ForeignKeyWithoutIndex,
    &detach_partition_not_concurrently::DetachPartitionNotConcurrently,
    &drop_not_null::DropNotNull,
    &enum_value_renamed::EnumValueRenamed,
    &rename_schema::RenameSchema,
    &drop_database::DropDatabase,
    &prefer_jsonb::PreferJsonb,
];

/// A rule over the whole script: what one statement does to the ones after it
/// (a lock still held, a validation in the same transaction, a missing timeout).
pub trait ScriptRule: Sync {
    fn doc(&self) -> &'static RuleDoc;

    fn check_script(&self, script: &[Scripted], options: &LintOptions) -> Vec<LockFinding>;
}

/// The script rules; their findings follow the per-statement ones.
pub static SCRIPT_RULES: &[&dyn ScriptRule] = &[
    &not_valid_validated_in_same_transaction::NotValidValidatedInSameTransaction,
    &access_exclusive_held_across_statements::AccessExclusiveHeldAcrossStatements,
    &alters_could_be_combined::AltersCouldBeCombined,
    &missing_lock_timeout::MissingLockTimeout,
];

/// Run every rule over the statements of a migration, in order, as the engine runs
/// them.
pub fn analyze(statements: &[StatementFacts]) -> Vec<LockFinding> {
    analyze_with(statements, &LintOptions::default())
}

/// The same, for a script run as `options` say. Per-statement findings come in
/// statement order (then registry order), script findings after them.
pub fn analyze_with(statements: &[StatementFacts], options: &LintOptions) -> Vec<LockFinding> {
    let script = read_script(statements);
    let mut out = Vec::new();
    for st in &script {
        for rule in RULES {
            let skipped = (st.on_new_table && rule.harmless_on_new_table())
                || (options.outside_engine && rule.engine_only());
            if !skipped {
                out.extend(rule.check(&st.facts));
            }
        }
    }
    for rule in SCRIPT_RULES {
        out.extend(rule.check_script(&script, options));
    }
    out
}

/// Every rule's documentation: per-statement rules, then script rules.
pub fn rule_docs() -> Vec<RuleDoc> {
    RULES
        .iter()
        .map(|r| *r.doc())
        .chain(SCRIPT_RULES.iter().map(|r| *r.doc()))
        .collect()
}

/// The documentation of the rule with this code.
pub fn rule_doc(code: &str) -> Option<&'static RuleDoc> {
    RULES
        .iter()
        .map(|r| r.doc())
        .chain(SCRIPT_RULES.iter().map(|r| r.doc()))
        .find(|d| d.code == code)
}

#[cfg(test)]
pub(crate) mod testing {
    pub use crate::safety::statement::StatementKind::{self, *};
    pub use crate::safety::statement::{AlterCommand, StatementFacts};

    /// A statement of step "s1" (in a transaction).
    pub fn stmt(sql: &str, kind: StatementKind) -> StatementFacts {
        StatementFacts::new("s1", sql, kind)
    }

    /// `CREATE TABLE name (...)` without json columns.
    pub fn new_table(name: &str) -> StatementKind {
        CreateTable {
            table: name.into(),
            json_columns: vec![],
        }
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

    /// The fields of a plain `ADD COLUMN`, for `add_column`'s closure to change.
    pub struct NewColumn {
        pub has_default: bool,
        pub volatile_default: bool,
        pub not_null: bool,
        pub json: bool,
        pub domain_check: bool,
        pub default_calls: Vec<String>,
    }

    /// `ADD COLUMN column int`, changed by `set`.
    pub fn add_column(column: &str, set: impl FnOnce(&mut NewColumn)) -> AlterCommand {
        let mut c = NewColumn {
            has_default: false,
            volatile_default: false,
            not_null: false,
            json: false,
            domain_check: false,
            default_calls: vec![],
        };
        set(&mut c);
        AlterCommand::AddColumn {
            column: column.into(),
            has_default: c.has_default,
            volatile_default: c.volatile_default,
            not_null: c.not_null,
            json: c.json,
            domain_check: c.domain_check,
            default_calls: c.default_calls,
        }
    }

    /// `ADD <kind>` (unnamed, validated, no columns), changed by `set`.
    pub fn constraint(
        kind: crate::safety::ConstraintKind,
        set: impl FnOnce(&mut AlterCommand),
    ) -> AlterCommand {
        let mut c = AlterCommand::AddConstraint {
            name: None,
            kind,
            not_valid: false,
            using_index: false,
            columns: vec![],
            columns_indexed: false,
            nullable_columns: vec![],
            proves_not_null: None,
        };
        set(&mut c);
        c
    }

    /// A script rule's findings over `statements` run by the engine.
    pub fn check_script(
        rule: &dyn super::ScriptRule,
        statements: &[StatementFacts],
    ) -> Vec<crate::safety::LockFinding> {
        rule.check_script(
            &crate::safety::script::read_script(statements),
            &Default::default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake_and_documented() {
        let mut codes: Vec<_> = rule_docs().iter().map(|d| d.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RULES.len() + SCRIPT_RULES.len());
        for d in rule_docs() {
            assert!(d.code.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
            assert!(!d.bad.is_empty() && !d.good.is_empty() && !d.fix.is_empty());
            assert!(d.action.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
    }

    #[test]
    fn statements_on_a_table_created_earlier_are_not_flagged() {
        let create = stmt("CREATE TABLE t (a int)", new_table("t"));
        let index = stmt(
            "CREATE INDEX ON public.t (a)",
            CreateIndex {
                table: "public.t".into(),
                concurrently: false,
                unique: false,
                columns: vec!["a".into()],
                partitioned: false,
                only: false,
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
                columns: vec!["a".into()],
                partitioned: false,
                only: false,
            },
            ..index
        };
        let created = stmt("CREATE TABLE t ()", new_table("t"));
        let codes: Vec<_> = analyze(&[created, concurrent])
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, ["CONCURRENTLY_IN_TRANSACTION"]);
    }
}
