//! The two halves CALL run_migration loops over (sql/engine_procedures.sql): begin once,
//! then one step per call, each call committed by the procedure.
use super::execute::done_steps;
use super::gate::{check_runnable, holds_session_lock, unlock_session};
use crate::catalog;
use crate::catalog::MigrationId;
use crate::catalog::RunId;
use crate::errors::{MeError, MeResult};
use crate::spi::data_schema;
use crate::spi::jsonb_arg::JsonArg;
use crate::steps::top_level;
use crate::steps::RunOptions;
use crate::steps::{execute_step, execute_validation};
use migration_engine_core::engine::state::{ControlRequest, MigrationStatus, StepStatus};
use migration_engine_core::safety::codes;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

use crate::errors::PgResult;

/// Check, lock (session-scoped: it survives the procedure's commits) and mark RUNNING.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn run_migration_begin(
    migration_name: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(migration_name, options);
    let opts = RunOptions::parse(&options.0)?;
    catalog::load(migration_name, false)?; // an unknown name is reported as such, first
    crate::spi::args::refuse_transaction_block(
        "CALL migration_engine.run_migration",
        "SELECT migration_engine.execute_migration(name)",
    )?;
    Ok(JsonB(begin(migration_name, &opts)?))
}

fn begin(name: &str, opts: &RunOptions) -> MeResult<Value> {
    let row = match check_runnable(name, opts, opts.resume, true)? {
        Ok(row) => row,
        Err(r) => {
            // a refusal after the lock was taken must not keep it
            let _ = unlock_session(name);
            return Ok(
                json!({"started": false, "code": r.code, "error": r.message, "hint": r.hint}),
            );
        }
    };
    if !opts.resume {
        if let Some(refusal) = crate::safety::gate(&row, opts.force)? {
            let _ = unlock_session(name);
            return Ok(
                json!({"started": false, "code": codes::SAFETY_CHECK_FAILED, "error": refusal["error"], "hint": refusal["hint"]}),
            );
        }
    }
    let run_id = match (opts.resume, catalog::latest_run(row.id)?) {
        (true, Some(run)) => run,
        _ => catalog::new_run_id(),
    };
    catalog::set_status(
        &row,
        MigrationStatus::Running,
        "run_migration",
        None,
        json!({"run_id": run_id.to_string()}),
    )?;
    Ok(json!({"started": true, "run_id": run_id.to_string()}))
}

fn recorded_running(migration_id: MigrationId, run_id: RunId, number: i32) -> MeResult<bool> {
    Ok(catalog::step_statuses(migration_id, run_id, "forward")?
        .iter()
        .any(|(n, status)| *n == number && *status == StepStatus::Running))
}

fn announce(
    migration_id: MigrationId,
    run_id: RunId,
    number: i32,
    step: &migration_engine_core::engine::definition::Step,
) -> MeResult<()> {
    catalog::StepRecord {
        migration_id,
        run_id,
        direction: "forward",
        step_number: number,
        step_name: &step.name,
        step_type: step.step_type().as_str(),
        status: StepStatus::Running,
        started_epoch: catalog::now_epoch(),
        finished_epoch: None,
        error: None,
        retry_count: 0,
        new_value: None,
    }
    .write()
}

/// Run the next step of the run (or, when all are done, the validation rules).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn run_migration_step(
    migration_name: Option<&str>,
    run_id: Option<Uuid>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(migration_name, run_id, options);
    let opts = RunOptions::parse(&options.0)?;
    Ok(JsonB(step(migration_name, RunId(run_id), &opts)?))
}

fn step(name: &str, run_id: RunId, opts: &RunOptions) -> MeResult<Value> {
    let row = catalog::load(name, true)?;
    if row.status == MigrationStatus::Running && !holds_session_lock(name)? {
        // the steps of a run are taken by the session that began it (and holds its lock):
        // a second session stepping the same run would run a step twice
        return Err(MeError::prerequisite(format!(
            "migration {name:?} is being run by another session"
        ))
        .hint("run_migration_step belongs to CALL migration_engine.run_migration(name), in the session that began the run."));
    }
    let total = row.definition.forward.len();
    let done = done_steps(&row, run_id, opts)?;
    let finish = |status: MigrationStatus,
                  error: Option<String>,
                  message: String|
     -> MeResult<Value> {
        catalog::set_status(
            &row,
            status,
            "run_migration",
            error.as_deref(),
            json!({"run_id": run_id.to_string()}),
        )?;
        catalog::append_log(
            row.id,
            json!({"run_id": run_id.to_string(), "action": "run_migration",
            "status": status.as_str(), "at": catalog::now_epoch(), "error": error}),
        )?;
        catalog::mark_control_handled(row.id)?;
        unlock_session(name)?;
        Ok(
            json!({"finished": true, "status": status.as_str(), "message": message, "error": error,
            "done_steps": done.len(), "total_steps": total}),
        )
    };
    if row.status != MigrationStatus::Running {
        unlock_session(name)?;
        return Ok(
            json!({"finished": true, "status": row.status.as_str(), "message": "not running",
            "done_steps": done.len(), "total_steps": total}),
        );
    }
    match catalog::control_request(row.id)? {
        Some(ControlRequest::Cancel) => {
            return finish(
                MigrationStatus::Failed,
                Some("cancelled by request".into()),
                "cancelled; finished steps stay committed (resume or roll back)".into(),
            )
        }
        Some(ControlRequest::Pause) => {
            catalog::set_paused(&row, run_id)?;
            catalog::mark_control_handled(row.id)?;
            unlock_session(name)?;
            return Ok(
                json!({"finished": true, "status": catalog::PAUSED, "message": "paused",
                "done_steps": done.len(), "total_steps": total}),
            );
        }
        None => {}
    }
    let schema = data_schema()?;
    let opts = &RunOptions {
        migration_id: Some(row.id),
        ..opts.clone()
    };
    let default_continue = opts
        .continue_on_error
        .unwrap_or(row.definition.options.continue_on_error);
    let next = (0..total as i32).find(|n| !done.contains(n));
    let Some(number) = next else {
        let validation = execute_validation(&row.definition.validation, &schema, opts);
        for v in &validation {
            v.record(row.id, run_id, "validation")?;
        }
        return match validation
            .iter()
            .find_map(|v| v.error.clone().map(|e| (v.name.clone(), e)))
        {
            Some((rule, e)) => finish(
                MigrationStatus::Failed,
                Some(format!("validation {rule} failed: {}", e.message)),
                "validation failed".into(),
            ),
            None => finish(MigrationStatus::Completed, None, "completed".into()),
        };
    };
    let step = &row.definition.forward[number as usize];
    if step.transaction && !recorded_running(row.id, run_id, number)? {
        // recorded RUNNING and committed (by the procedure) before it runs, so that
        // migration_status and other sessions see which step runs now and since when
        announce(row.id, run_id, number, step)?;
        return Ok(
            json!({"finished": false, "status": MigrationStatus::Running.as_str(), "announced": true, "step_name": step.name,
            "message": format!("step {} starts", step.name), "done_steps": done.len(), "total_steps": total}),
        );
    }
    let result = if step.transaction {
        let result = execute_step(name, number, step, &schema, opts);
        result.record(row.id, run_id, "forward")?;
        result
    } else {
        match top_level::step(&row, run_id, number, step, &schema, opts, "forward")? {
            top_level::Next::Queued(attempt) => {
                // the procedure commits this, starts the worker and waits for it
                return Ok(
                    json!({"finished": false, "status": MigrationStatus::Running.as_str(), "top_level_attempt": attempt, "step_name": step.name,
                    "message": format!("step {} runs outside a transaction (attempt {attempt})", step.name),
                    "done_steps": done.len(), "total_steps": total}),
                );
            }
            top_level::Next::Over(result) => result,
        }
    };
    if result.status == StepStatus::Failed && !step.continues_on_error(default_continue) {
        let error = format!(
            "step {} ({}) failed: {}",
            number,
            step.name,
            result
                .error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or("")
        );
        let mut failed = finish(
            MigrationStatus::Failed,
            Some(error),
            format!("step {} failed", step.name),
        )?;
        // CALL run_migration raises with it, so a deploy tool sees the step's own code
        failed["sqlstate"] = json!(result.error.as_ref().map(|e| e.sqlstate.clone()));
        return Ok(failed);
    }
    Ok(
        json!({"finished": false, "status": MigrationStatus::Running.as_str(), "message": format!("step {} {}", step.name, result.status.as_str().to_lowercase()),
        "done_steps": done.len() + 1, "total_steps": total, "step": result.to_json()}),
    )
}
