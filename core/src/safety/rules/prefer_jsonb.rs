//! Why: `json` stores the text as written and re-parses it on every access; it
//! has no equality operator (so no DISTINCT, GROUP BY, UNIQUE or btree index)
//! and no GIN index. `jsonb` is what the PostgreSQL manual recommends "unless
//! there are quite specialized needs" (§8.14). squawk's "prefer-jsonb" style.

use crate::safety::lock::LockFinding;
use crate::safety::statement::{AlterCommand, StatementKind};

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
    check(s) {
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
    // A new table is exactly where the type is chosen.
    harmless_on_new_table: false,
    examples {
        flags: stmt(
            "CREATE TABLE e (p json)",
            CreateTable {
                table: "e".into(),
                json_columns: vec!["p".into()],
            },
        ) => |f| f[0].message.starts_with("e.p is json"),
        flags: alter(
            "ALTER TABLE t ADD COLUMN p json",
            vec![add_column("p", |c| c.json = true)],
        ) => |f| f.len() == 1,
        passes: stmt(
            "CREATE TABLE e (p jsonb)",
            CreateTable {
                table: "e".into(),
                json_columns: vec![],
            },
        ),
    }
}
