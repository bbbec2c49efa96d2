//! Why: changing a column's type rewrites the whole table and rebuilds its
//! indexes under ACCESS EXCLUSIVE (no reads, no writes) unless the change is
//! binary-compatible (see `safety::types`). The safe way moves data in batches
//! while the application keeps running, and swaps names at the end.
//!
//! `timestamp <-> timestamptz` is reported as a MEDIUM note: PostgreSQL 12+
//! skips the rewrite only when the session TimeZone is UTC, which the
//! migration cannot see from its SQL.

use crate::safety::lock::{LockFinding, LockMode};
use crate::safety::statement::{AlterCommand, StatementFacts};
use crate::safety::types::{classify_type_change_with, TypeChange};
use crate::safety::Severity;

lock_rule! {
    AlterColumnTypeRewrite {
        code: "ALTER_COLUMN_TYPE_REWRITE",
        severity: High,
        summary: "ALTER COLUMN ... TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE unless the change is binary-compatible.",
        fix: "Add a new column of the new type, backfill it in batches, then swap the columns in a short step.",
        action: "USE_NEW_COLUMN_AND_BACKFILL",
        bad: "ALTER TABLE users ALTER COLUMN age TYPE bigint;",
        good: "ALTER TABLE users ALTER COLUMN name TYPE varchar(200); -- was varchar(100): no rewrite\n-- or: ADD COLUMN age_new bigint; backfill in batches; swap names",
    }
    check(s) {
        let Some((table, commands)) = s.alter_commands() else {
            return vec![];
        };
        commands
            .iter()
            .filter_map(|c| match c {
                AlterCommand::AlterColumnType {
                    column,
                    old_type,
                    new_type,
                    has_using,
                    binary_coercible,
                    domain_check,
                    ..
                } => finding(
                    s,
                    table,
                    column,
                    old_type.as_deref(),
                    new_type,
                    *has_using || *domain_check,
                    *binary_coercible,
                ),
                _ => None,
            })
            .collect()
    }
    examples {
        flags: change(Some("integer"), "bigint", false)
            => |f| (f[0].severity, f[0].rewrites_table) == (Severity::High, true)
                && f[0].recipe.contains("ADD COLUMN c_new bigint"),
        // an unknown old type is assumed to rewrite
        flags: change(None, "text", false) => |f| f.len() == 1,
        // a USING expression forces a rewrite
        flags: change(Some("varchar(5)"), "text", true) => |f| f.len() == 1,
        passes: change(Some("varchar(100)"), "varchar(200)", false),
            change(Some("varchar(10)"), "text", false),
    }
    tests {
        use super::super::LockRule;

        fn change(old: Option<&str>, new: &str, has_using: bool) -> StatementFacts {
            alter(
                "ALTER TABLE t ALTER COLUMN c TYPE ...",
                vec![AlterCommand::AlterColumnType {
                    column: "c".into(),
                    old_type: old.map(str::to_string),
                    new_type: new.into(),
                    has_using,
                    binary_coercible: None,
                    revalidates: vec![],
                    json: false,
                    domain_check: false,
                }],
            )
        }

        #[test]
        fn timestamptz_is_a_medium_note() {
            let f = AlterColumnTypeRewrite.check(&change(Some("timestamp"), "timestamptz", false));
            assert_eq!(
                (f[0].severity, f[0].rewrites_table),
                (Severity::Medium, false)
            );
        }
    }
}

fn finding(
    s: &StatementFacts,
    table: &str,
    column: &str,
    old: Option<&str>,
    new: &str,
    has_using: bool,
    binary_coercible: Option<bool>,
) -> Option<LockFinding> {
    let change = type_change(old, new, has_using, binary_coercible);
    let from = old.unwrap_or("its current type (unknown, assumed incompatible)");
    let recipe = format!(
        "ALTER TABLE {table} ADD COLUMN {column}_new {new}; backfill it in batches \
         (UPDATE {table} SET {column}_new = {column}::{new} WHERE <key range>), keep it in step \
         with a trigger, then in one short step rename {column} away and {column}_new to {column}"
    );
    let f = match change {
        TypeChange::NoRewrite => return None,
        TypeChange::NoRewriteIfUtc => LockFinding::new(
            &AlterColumnTypeRewrite::DOC,
            s,
            format!(
                "Changing {table}.{column} from {from} to {new} skips the rewrite only if the session TimeZone is UTC (PostgreSQL 12+)"
            ),
            "SET timezone = 'UTC' in the same step before the ALTER, or use the new-column recipe".into(),
        )
        .severity(Severity::Medium),
        TypeChange::Rewrite => LockFinding::new(
            &AlterColumnTypeRewrite::DOC,
            s,
            format!(
                "Changing {table}.{column} from {from} to {new} rewrites {table} and its indexes under ACCESS EXCLUSIVE"
            ),
            recipe,
        )
        .rewrites(),
    };
    Some(f.lock(LockMode::AccessExclusive))
}

/// The cost of one ALTER COLUMN TYPE: a USING expression or an unknown current type
/// is assumed to rewrite (a false alarm costs a review, a missed rewrite an outage).
pub(crate) fn type_change(
    old: Option<&str>,
    new: &str,
    has_using: bool,
    binary_coercible: Option<bool>,
) -> TypeChange {
    match old {
        _ if has_using => TypeChange::Rewrite,
        Some(old) => classify_type_change_with(old, new, binary_coercible),
        None => TypeChange::Rewrite,
    }
}
