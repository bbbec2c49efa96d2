//! A trial run for the safety checks, as a tracer: the forward steps run statement by
//! statement in a subtransaction that is always rolled back, and for each statement we
//! record what PostgreSQL did: the relation locks it took (`pg_locks`), the tables that
//! got new storage (`pg_relation_filenode` before and after), the rows it read
//! (`pg_stat_xact_user_tables`) and its duration. The safety check compares that with
//! the static verdict (`migration_engine_core::safety::contradictions`).
use super::kinds::{condition_holds, run_statement, run_step, RunOptions};
use crate::catalog::MigrationRow;
use crate::errors::MeResult;
use crate::spi::subxact::{atomically, Aborted};
use crate::spi::{all_rows, data_schema};
use migration_engine_core::engine::definition::{Step, StepKind};
use migration_engine_core::safety::{ObservedLock, StatementFacts, StatementTrace};
use pgrx::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// One traced unit: a statement of a SQL step (with its parsed facts), or a whole step
/// of another kind.
pub struct TracedStatement {
    pub trace: StatementTrace,
    pub facts: Option<StatementFacts>,
}

#[derive(Default)]
pub struct Trace {
    pub statements: Vec<TracedStatement>,
    /// The first error, `step <name>: <message>`; the trial stops there.
    pub error: Option<String>,
}

const OUTSIDE_TRANSACTION: &str = "the step is \"transaction\": false: it runs outside a transaction block, in the top-level worker of CALL run_migration, where a trial could not undo it";

/// Run the forward steps of `row` and trace them. `statements_of` splits a SQL step
/// into its statements, parsed when the step is reached (so that tables created by
/// earlier steps are in the catalog); `None` runs the step as one unit.
pub fn trial_run(
    row: &MigrationRow,
    statements_of: &dyn Fn(&Step) -> Option<Vec<StatementFacts>>,
) -> MeResult<Trace> {
    let schema = data_schema()?;
    let opts = RunOptions::parse(&json!({"lockTimeout": 2000, "statementTimeout": 60000}))?;
    // locks this transaction already holds, and tables that exist, are not the migration's
    let held_before: BTreeSet<(String, String)> = held_locks().into_iter().collect();
    let outcome = atomically(|| -> Result<(), Trace> {
        let mut trace = Trace::default();
        for step in &row.definition.forward {
            if trace.error.is_some() {
                trace
                    .statements
                    .push(untraced(step, "not run: an earlier statement failed"));
                continue;
            }
            if !step.transaction {
                trace.statements.push(untraced(step, OUTSIDE_TRANSACTION));
                continue;
            }
            if let Some(condition) = &step.condition {
                match atomically(|| condition_holds(condition, &schema, &opts)) {
                    Ok(true) => {}
                    Ok(false) => {
                        trace
                            .statements
                            .push(untraced(step, "skipped: its condition is false"));
                        continue;
                    }
                    Err(e) => {
                        trace.error = Some(format!(
                            "step {} (condition): {}",
                            step.name,
                            aborted_message(e)
                        ));
                        continue;
                    }
                }
            }
            let units: Vec<(String, Option<StatementFacts>)> = match &step.kind {
                StepKind::Sql { .. } => match statements_of(step) {
                    Some(facts) => facts
                        .into_iter()
                        .map(|f| (f.sql.clone(), Some(f)))
                        .collect(),
                    None => vec![(label(step), None)],
                },
                _ => vec![(label(step), None)],
            };
            for (sql, facts) in units {
                let traced = trace_one(step, &sql, facts.is_some(), &schema, &opts, &held_before);
                let failed = traced.error.clone();
                trace.statements.push(TracedStatement {
                    trace: traced,
                    facts,
                });
                if let Some(e) = failed {
                    trace.error = Some(format!("step {}: {e}", step.name));
                    break;
                }
            }
        }
        Err(trace)
    });
    Ok(match outcome {
        Err(Aborted::Returned(trace)) => trace,
        Err(Aborted::Raised(e)) => Trace {
            statements: Vec::new(),
            error: Some(e.message),
        },
        Ok(()) => Trace::default(),
    })
}

/// Run one statement (or a whole non-SQL step) in its own subtransaction and read what
/// changed around it.
fn trace_one(
    step: &Step,
    sql: &str,
    single_statement: bool,
    schema: &str,
    opts: &RunOptions,
    held_before: &BTreeSet<(String, String)>,
) -> StatementTrace {
    let storage_before = storage();
    let locks_before: BTreeSet<(String, String)> = held_locks().into_iter().collect();
    let scanned_before = rows_read();
    let clock = std::time::Instant::now();
    let outcome = atomically(|| {
        if single_statement {
            run_statement(step, sql, schema, opts)
        } else {
            run_step(step, schema, opts)
        }
    });
    let duration_ms = crate::timing::elapsed_ms(clock);
    let error = outcome.err().map(aborted_message);
    let storage_after = storage();
    let locks = held_locks()
        .into_iter()
        .filter(|l| !locks_before.contains(l) && !held_before.contains(l))
        .map(|(table, mode)| ObservedLock { table, mode })
        .collect();
    let rewritten = storage_before
        .iter()
        .filter(
            |(oid, (_, node))| matches!(storage_after.get(oid), Some((_, after)) if after != node),
        )
        .map(|(_, (name, _))| name.clone())
        .collect();
    let scanned_after = rows_read();
    let rows_scanned = scanned_after
        .into_iter()
        .filter_map(|(oid, (name, n))| {
            let read = n - scanned_before.get(&oid).map_or(0, |(_, b)| *b);
            (read > 0).then_some((name, read))
        })
        .collect();
    StatementTrace {
        step: step.name.clone(),
        statement: sql.to_owned(),
        traced: true,
        locks,
        rewritten,
        rows_scanned,
        duration_ms,
        error,
        note: None,
    }
}

fn untraced(step: &Step, why: &str) -> TracedStatement {
    TracedStatement {
        trace: StatementTrace::untraced(&step.name, &label(step), why),
        facts: None,
    }
}

/// What a step runs, for the trace of a step that is not split into statements.
fn label(step: &Step) -> String {
    match &step.kind {
        StepKind::Sql { script } => script.trim().to_owned(),
        StepKind::Function { function, .. } => format!("FUNCTION step calling {}", function.name),
        StepKind::Transform { .. } => "TRANSFORM step (a pipeline)".to_owned(),
        StepKind::Validate { script } => format!("SELECT ({script})::boolean"),
    }
}

fn aborted_message<E: Into<crate::steps::StepError>>(e: Aborted<E>) -> String {
    let e: crate::steps::StepError = e.into();
    format!("{} (SQLSTATE {})", e.message, e.sqlstate)
}

/// User relations the trial can see: not PostgreSQL's, not the extension's catalog.
const USER_RELATIONS: &str =
    "n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema', 'migration_engine') \
     AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'";

/// Relation locks this backend holds on user tables (regclass text, lock mode). An
/// unreadable catalog gives no rows here and below: the trace then shows nothing for it
/// rather than failing the check.
fn held_locks() -> Vec<(String, String)> {
    let sql = format!(
        "SELECT l.relation::regclass::text, l.mode FROM pg_catalog.pg_locks l \
         JOIN pg_catalog.pg_class c ON c.oid = l.relation \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted \
           AND {USER_RELATIONS} AND c.relkind IN ('r', 'p', 'm') \
         ORDER BY 1, 2"
    );
    all_rows(&sql, &[], |r| {
        Ok((
            r.get::<String>(1)?.unwrap_or_default(),
            r.get::<String>(2)?.unwrap_or_default(),
        ))
    })
    .unwrap_or_default()
}

/// oid → (regclass text, relfilenode) of every user table with storage.
fn storage() -> BTreeMap<u32, (String, i64)> {
    per_relation(&format!(
        "SELECT c.oid, c.oid::regclass::text, pg_catalog.pg_relation_filenode(c.oid)::bigint \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'm') AND {USER_RELATIONS}"
    ))
}

/// oid → (regclass text, rows read so far in this transaction).
fn rows_read() -> BTreeMap<u32, (String, i64)> {
    per_relation(&format!(
        "SELECT s.relid, s.relid::regclass::text, \
                (COALESCE(s.seq_tup_read, 0) + COALESCE(s.idx_tup_fetch, 0))::bigint \
         FROM pg_catalog.pg_stat_xact_user_tables s \
         JOIN pg_catalog.pg_class c ON c.oid = s.relid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE {USER_RELATIONS}"
    ))
}

/// (oid, name, number) rows keyed by oid.
fn per_relation(sql: &str) -> BTreeMap<u32, (String, i64)> {
    all_rows(sql, &[], |r| {
        let oid = r.get::<pg_sys::Oid>(1)?.map_or(0, |o| o.to_u32());
        let name = r.get::<String>(2)?.unwrap_or_default();
        Ok((oid, (name, r.get::<i64>(3)?.unwrap_or(0))))
    })
    .map(|rows| rows.into_iter().collect())
    .unwrap_or_default()
}
