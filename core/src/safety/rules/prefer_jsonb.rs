//! Why: `json` stores the text as written and re-parses it on every access; it
//! has no equality operator (so no DISTINCT, GROUP BY, UNIQUE or btree index)
//! and no GIN index. `jsonb` is what the PostgreSQL manual recommends "unless
//! there are quite specialized needs" (§8.14). squawk's "prefer-jsonb" style.

use super::{LockRule, RuleDoc};
use crate::safety::lock::LockFinding;
use crate::safety::statement::{AlterCommand, StatementFacts, StatementKind};

lock_rule! {
    PreferJsonb {
        code: "PREFER_JSONB",
        severity: Low,
        category: Style,
        summary: "A json column re-parses its text on every access and cannot be compared or indexed; jsonb can.",
        fix: "Declare the column jsonb.",
        action: "USE_JSONB",
        bad: "ALTER TABLE events ADD COLUMN payload json;",
        good: "ALTER TABLE events ADD COLUMN payload jsonb;",
    }
}

impl LockRule for PreferJsonb {
    fn doc(&self) -> &'static RuleDoc {
        &Self::DOC
    }

    fn check(&self, s: &StatementFacts) -> Vec<LockFinding> {
        let (table, columns): (&str, Vec<&str>) = match &s.kind {
            StatementKind::CreateTable {
                table,
                json_columns,
            } => (table, json_columns.iter().map(String::as_str).collect()),
            StatementKind::AlterTable { table, commands } => (
                table,
                commands
                    .iter()
                    .filter_map(|c| match c {
                        AlterCommand::AddColumn {
                            column, json: true, ..
                        }
                        | AlterCommand::AlterColumnType {
                            column, json: true, ..
                        } => Some(column.as_str()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => return vec![],
        };
        columns
            .into_iter()
            .map(|column| {
                let message = format!(
                    "{table}.{column} is json: prefer jsonb (comparable, indexable, parsed once)"
                );
                let recipe = format!("Declare {table}.{column} as jsonb");
                LockFinding::new(&Self::DOC, s, message, recipe)
            })
            .collect()
    }

    fn harmless_on_new_table(&self) -> bool {
        // A new table is exactly where the type is chosen.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn flags_bad() {
        let create = stmt(
            "CREATE TABLE e (p json)",
            CreateTable {
                table: "e".into(),
                json_columns: vec!["p".into()],
            },
        );
        assert!(PreferJsonb.check(&create)[0]
            .message
            .starts_with("e.p is json"));
        let add = alter(
            "ALTER TABLE t ADD COLUMN p json",
            vec![add_column("p", |c| c.json = true)],
        );
        assert_eq!(PreferJsonb.check(&add).len(), 1);
    }

    #[test]
    fn passes_good() {
        let create = stmt(
            "CREATE TABLE e (p jsonb)",
            CreateTable {
                table: "e".into(),
                json_columns: vec![],
            },
        );
        assert!(PreferJsonb.check(&create).is_empty());
    }
}
