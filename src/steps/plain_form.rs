//! A `"transaction": false` step in a schema no traffic reaches yet (the target of a
//! blue-green migration or a canary, before the switch): there the concurrent forms buy
//! nothing and cannot run (the target is built in the caller's transaction), while the
//! plain forms do the same work faster. CREATE INDEX / DROP INDEX / REINDEX ...
//! CONCURRENTLY lose the keyword; VACUUM is left out (a fresh copy has nothing to
//! vacuum; its ANALYZE runs as ANALYZE); anything else runs as written, and PostgreSQL
//! refuses what cannot run in a transaction.
use crate::errors::{MeError, MeResult};
use crate::parser::parse_step;
use migration_engine_core::engine::plain_form::{analyze_of_vacuum, without_concurrently};
use migration_engine_core::safety::StatementKind;

pub fn in_transaction_form(step: &str, script: &str) -> MeResult<String> {
    let statements = parse_step(step, script, true).map_err(|e| {
        MeError::new(
            pgrx::PgSqlErrorCode::ERRCODE_SYNTAX_ERROR,
            format!("step {step:?}: {e}"),
        )
    })?;
    let mut out = Vec::new();
    for s in statements {
        match s.kind {
            StatementKind::CreateIndex {
                concurrently: true, ..
            }
            | StatementKind::DropIndex { concurrently: true }
            | StatementKind::Reindex {
                concurrently: true, ..
            } => out.push(without_concurrently(&s.sql)),
            StatementKind::Vacuum { .. } => {
                if let Some(analyze) = analyze_of_vacuum(&s.sql) {
                    out.push(analyze);
                }
            }
            _ => out.push(s.sql),
        }
    }
    Ok(out.join(";\n"))
}
