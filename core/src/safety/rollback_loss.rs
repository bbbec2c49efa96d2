//! Rollback data-loss heuristic: does the rollback destroy data?
//!
//! A rollback that drops the column the migration added loses every value
//! written into it since, by the backfill and by the application. That is
//! often acceptable, but it must be a decision, so it is reported with what
//! would be lost and why. A rollback that drops something the migration did
//! not create is reported too: it destroys data older than the migration.

use super::report::{codes, Issue};
use super::statement::{AlterCommand, StatementFacts, StatementKind};
use super::text::same_table;
use super::Severity;
use serde::Serialize;
use serde_json::json;

/// Something the rollback destroys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostData {
    pub table: String,
    /// `None` when the whole table's rows go (DROP TABLE, TRUNCATE).
    pub column: Option<String>,
    /// Why it holds data: "added by the migration", "filled by the migration",
    /// "created by the migration" or "existed before the migration".
    pub reason: &'static str,
    /// The rollback statement that destroys it.
    pub statement: String,
}

impl LostData {
    /// "t.x (added by the migration)", "t (created by the migration)".
    pub fn describe(&self) -> String {
        match &self.column {
            Some(c) => format!("{}.{c} ({})", self.table, self.reason),
            None => format!("{} ({})", self.table, self.reason),
        }
    }
}

/// `(table, column, reason)`: something the forward statements wrote.
type Touched<'a> = (&'a str, Option<&'a str>, &'static str);

const ADDED: &str = "added by the migration";
const FILLED: &str = "filled by the migration";
const CREATED: &str = "created by the migration";
const PREEXISTING: &str = "existed before the migration";

/// Everything the rollback destroys, in rollback order.
pub fn rollback_data_loss(
    forward: &[StatementFacts],
    rollback: &[StatementFacts],
) -> Vec<LostData> {
    let touched = forward_effects(forward);
    let mut lost = Vec::new();
    for s in rollback {
        for (table, column) in destroyed(s) {
            let reason = reason_for(&touched, table, column);
            lost.push(LostData {
                table: table.to_string(),
                column: column.map(str::to_string),
                reason,
                statement: s.sql.clone(),
            });
        }
    }
    lost
}

/// ROLLBACK_DATA_LOSS_RISK (HIGH) naming what is lost, or `None`.
pub fn rollback_data_loss_issue(
    forward: &[StatementFacts],
    rollback: &[StatementFacts],
) -> Option<Issue> {
    let lost = rollback_data_loss(forward, rollback);
    if lost.is_empty() {
        return None;
    }
    let names: Vec<String> = lost.iter().map(LostData::describe).collect();
    let message = format!(
        "Rollback may cause data loss: it destroys {}",
        names.join(", ")
    );
    let issue = Issue::new(Severity::High, codes::ROLLBACK_DATA_LOSS_RISK, message);
    Some(issue.with_details(json!({"has_risk": true, "lost": lost})))
}

fn forward_effects(forward: &[StatementFacts]) -> Vec<Touched<'_>> {
    use StatementKind::*;
    let mut out = Vec::new();
    for s in forward {
        match &s.kind {
            CreateTable { table, .. } => out.push((table.as_str(), None, CREATED)),
            Insert { table } => out.push((table.as_str(), None, FILLED)),
            Update { table, columns } => out.extend(
                columns
                    .iter()
                    .map(|c| (table.as_str(), Some(c.as_str()), FILLED)),
            ),
            AlterTable { table, commands } => {
                for c in commands {
                    if let AlterCommand::AddColumn { column, .. } = c {
                        out.push((table.as_str(), Some(column.as_str()), ADDED));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `(table, column)` pairs whose data the statement destroys.
fn destroyed(s: &StatementFacts) -> Vec<(&str, Option<&str>)> {
    use StatementKind::*;
    let mut out = Vec::new();
    match &s.kind {
        DropTable { tables } | Truncate { tables, .. } => {
            out.extend(tables.iter().map(|t| (t.as_str(), None)))
        }
        AlterTable { table, commands } => {
            for c in commands {
                if let AlterCommand::DropColumn { column } = c {
                    out.push((table.as_str(), Some(column.as_str())));
                }
            }
        }
        _ => {}
    }
    out
}

/// The first matching forward effect: for a column, what happened to that
/// column, else to its table; for a table, what happened to it or to any of
/// its columns.
fn reason_for(touched: &[Touched<'_>], table: &str, column: Option<&str>) -> &'static str {
    let on_table = |t: &&Touched<'_>| same_table(t.0, table);
    let hit = match column {
        Some(c) => touched
            .iter()
            .filter(on_table)
            .find(|t| t.1 == Some(c))
            .or_else(|| touched.iter().filter(on_table).find(|t| t.1.is_none())),
        None => touched
            .iter()
            .filter(on_table)
            .find(|t| t.1.is_none())
            .or_else(|| touched.iter().find(on_table)),
    };
    hit.map_or(PREEXISTING, |t| t.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::testing::{alter, stmt as s, StatementKind::*};

    fn add_x() -> StatementFacts {
        let (has_default, volatile_default, not_null) = (false, false, false);
        let column = "x".into();
        let add = AlterCommand::AddColumn {
            column,
            has_default,
            volatile_default,
            not_null,
            json: false,
            domain_check: false,
            default_calls: vec![],
        };
        alter("ALTER TABLE t ADD COLUMN x int", vec![add])
    }

    fn drop_col(col: &str) -> StatementFacts {
        let drop = AlterCommand::DropColumn { column: col.into() };
        alter("ALTER TABLE t DROP COLUMN ...", vec![drop])
    }

    #[test]
    fn dropping_an_added_column_loses_its_values() {
        let columns = vec!["y".into()];
        let fill = s(
            "UPDATE t SET y = 1",
            Update {
                table: "t".into(),
                columns,
            },
        );
        let rollback = [drop_col("x"), drop_col("y"), drop_col("z")];
        let lost = rollback_data_loss(&[add_x(), fill], &rollback);
        let reasons: Vec<_> = lost
            .iter()
            .map(|l| (l.column.as_deref(), l.reason))
            .collect();
        let expected = [
            (Some("x"), ADDED),
            (Some("y"), FILLED),
            (Some("z"), PREEXISTING),
        ];
        assert_eq!(reasons, expected);

        let issue = rollback_data_loss_issue(&[add_x()], &[drop_col("x")]).unwrap();
        assert_eq!(issue.code, "ROLLBACK_DATA_LOSS_RISK");
        let message = "Rollback may cause data loss: it destroys t.x (added by the migration)";
        assert_eq!(issue.message, message);
        assert_eq!(issue.details["lost"][0]["column"], "x");
    }

    #[test]
    fn dropping_a_created_table_loses_its_rows() {
        let create = s(
            "CREATE TABLE public.n ()",
            CreateTable {
                table: "public.n".into(),
                json_columns: vec![],
            },
        );
        let drop = s(
            "DROP TABLE n",
            DropTable {
                tables: vec!["n".into()],
            },
        );
        let lost = rollback_data_loss(&[create], &[drop]);
        assert_eq!((lost[0].table.as_str(), lost[0].reason), ("n", CREATED));

        let tables = vec!["t".into()];
        let truncate = s(
            "TRUNCATE t",
            Truncate {
                tables,
                cascade: false,
            },
        );
        assert_eq!(rollback_data_loss(&[add_x()], &[truncate])[0].reason, ADDED);
    }

    #[test]
    fn a_rollback_that_drops_nothing_is_fine() {
        let (table, column) = ("t".into(), "b".into());
        let rename = s(
            "ALTER TABLE t RENAME COLUMN b TO a",
            RenameColumn { table, column },
        );
        assert!(rollback_data_loss_issue(&[add_x()], &[rename]).is_none());
    }
}
