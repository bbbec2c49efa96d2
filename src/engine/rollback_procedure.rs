//! CALL run_rollback(name, options): the long form of rollback_migration, as CALL
//! run_migration is of execute_migration. It commits after every rollback step, so a
//! step marked `"transaction": false` (DROP INDEX CONCURRENTLY, the rollback of a
//! concurrent build) runs at the top level through the runner (top_level.rs). A failure
//! stops it with the FAILED step recorded and the migration's status unchanged; CALL
//! run_rollback(name, '{"resume": true}') continues from there. Unlike
//! rollback_migration it is not all or nothing: each step commits.
use super::gate::{holds_session_lock, try_lock, unlock_session};
use crate::catalog::RunId;
use crate::catalog::{self, MigrationRow};
use crate::errors::{MeError, MeResult};
use crate::spi::data_schema;
use crate::spi::jsonb_arg::JsonArg;
use crate::steps::execute_step;
use crate::steps::top_level;
use crate::steps::RunOptions;
use migration_engine_core::engine::state::StepStatus;
use migration_engine_core::engine::state::{can_rollback, MigrationStatus};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

use crate::errors::PgResult;

/// Check, lock (session-scoped) and give the run its id.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn rollback_begin(
    migration_name: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(migration_name, options);
    let opts = RunOptions::parse(&options.0)?;
    crate::spi::args::refuse_transaction_block(
        "CALL migration_engine.run_rollback",
        "SELECT migration_engine.rollback_migration(name)",
    )?;
    Ok(JsonB(begin(migration_name, &opts)?))
}

fn begin(name: &str, opts: &RunOptions) -> MeResult<Value> {
    let row = catalog::load(name, true)?;
    if let Err(refusal) = can_rollback(row.status) {
        return Err(MeError::prerequisite(format!(
            "cannot roll back {name:?}: {refusal}"
        )));
    }
    if row.definition.rollback.is_empty() {
        return Err(MeError::prerequisite(format!("migration {name:?} has no rollback steps"))
            .hint("rollback_migration(name) also undoes TRANSFORM steps; add rollback steps in a new migration otherwise."));
    }
    let dependents = super::rollback::completed_dependents(name)?;
    if !dependents.is_empty() {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
            format!("cannot roll back {name:?}: COMPLETED migrations depend on it: {}", dependents.join(", ")),
        )
        .hint("Roll those back first (CALL migration_engine.run_rollback for each, in reverse order)."));
    }
    if !try_lock(name, true)? {
        return Err(MeError::prerequisite(format!(
            "migration {name:?} is being run or rolled back by another session"
        )));
    }
    let run_id = match (opts.resume, catalog::latest_rollback_run(row.id)?) {
        (true, Some(run)) => run,
        _ => catalog::new_run_id(),
    };
    Ok(
        json!({"started": true, "run_id": run_id.to_string(), "total_steps": row.definition.rollback.len()}),
    )
}

/// Run the next rollback step of the run; when all are done, undo the TRANSFORM runs and
/// mark the migration ROLLED_BACK.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn rollback_step(
    migration_name: Option<&str>,
    run_id: Option<Uuid>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(migration_name, run_id, options);
    let opts = RunOptions::parse(&options.0)?;
    if !holds_session_lock(migration_name)? {
        return Err(MeError::prerequisite(format!(
            "the rollback of {migration_name:?} was not begun by this session"
        ))
        .hint("rollback_step belongs to CALL migration_engine.run_rollback(name).")
        .into());
    }
    Ok(JsonB(step(migration_name, RunId(run_id), &opts)?))
}

fn step(name: &str, run_id: RunId, opts: &RunOptions) -> MeResult<Value> {
    let row = catalog::load(name, true)?;
    let total = row.definition.rollback.len();
    let done: Vec<i32> = catalog::step_statuses(row.id, run_id, "rollback")?
        .into_iter()
        .filter(|(_, s)| matches!(s, StepStatus::Completed | StepStatus::Skipped))
        .map(|(n, _)| n)
        .collect();
    let Some(number) = (0..total as i32).find(|n| !done.contains(n)) else {
        return finish(&row, run_id);
    };
    let schema = data_schema()?;
    let opts = &RunOptions {
        migration_id: Some(row.id),
        ..opts.clone()
    };
    let step = &row.definition.rollback[number as usize];
    let result = if step.transaction {
        let r = execute_step(name, number, step, &schema, opts);
        r.record(row.id, run_id, "rollback")?;
        r
    } else {
        match top_level::step(&row, run_id, number, step, &schema, opts, "rollback")? {
            top_level::Next::Queued(attempt) => {
                return Ok(
                    json!({"finished": false, "top_level_attempt": attempt, "step_name": step.name,
                    "done_steps": done.len(), "total_steps": total}),
                )
            }
            top_level::Next::Over(r) => r,
        }
    };
    if result.status == StepStatus::Failed {
        let error = format!(
            "rollback step {} ({}) failed: {}",
            number,
            step.name,
            result
                .error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or("")
        );
        catalog::append_log(
            row.id,
            json!({"run_id": run_id.to_string(), "action": "run_rollback",
            "success": false, "at": catalog::now_epoch(), "error": error}),
        )?;
        unlock_session(name)?;
        return Ok(
            json!({"finished": true, "status": MigrationStatus::Failed.as_str(), "error": error,
            "sqlstate": result.error.as_ref().map(|e| e.sqlstate.clone()),
            "done_steps": done.len(), "total_steps": total}),
        );
    }
    Ok(
        json!({"finished": false, "message": format!("rollback step {} {}", step.name, result.status.as_str().to_lowercase()),
        "done_steps": done.len() + 1, "total_steps": total}),
    )
}

fn finish(row: &MigrationRow, run_id: RunId) -> MeResult<Value> {
    // what the TRANSFORM steps wrote is undone exactly, as rollback_migration does
    crate::pipeline::undo_migration_runs(row.id)?;
    catalog::set_status(
        row,
        MigrationStatus::RolledBack,
        "run_rollback",
        None,
        json!({"run_id": run_id.to_string()}),
    )?;
    catalog::append_log(
        row.id,
        json!({"run_id": run_id.to_string(), "action": "run_rollback",
        "success": true, "at": catalog::now_epoch()}),
    )?;
    unlock_session(&row.name)?;
    Ok(
        json!({"finished": true, "status": MigrationStatus::RolledBack.as_str(), "done_steps": row.definition.rollback.len(),
        "total_steps": row.definition.rollback.len()}),
    )
}
