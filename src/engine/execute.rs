//! execute_migration / resume_migration: a whole migration in the caller's transaction.
//! All forward steps and the validation rules run inside one subtransaction; when a step
//! fails (without continueOnError) or a rule does not hold, that subtransaction is rolled
//! back, so the data is as before, and only then are the step records and the FAILED
//! status written, in the caller's transaction: they persist when it commits.
use super::gate::{check_runnable, Refused};
use crate::catalog::RunId;
use crate::catalog::{self, MigrationRow};
use crate::errors::MeResult;
use crate::spi::data_schema;
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::jsonb_out::JsonbOut;
use crate::spi::subxact::{atomically, Aborted};
use crate::steps::RunOptions;
use crate::steps::{execute_step, execute_validation, StepError, StepResult};
use migration_engine_core::engine::state::{ControlRequest, MigrationStatus, StepStatus};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Instant;

use crate::errors::PgResult;

/// Run a migration's forward steps, then its validation rules. Returns
/// `{execution_id, success, status, result, affected_entities, duration_ms, ...}`.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn execute_migration(
    migration_name: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonbOut> {
    crate::required!(migration_name, options);
    let opts = RunOptions::parse(&options.0)?;
    // written in binary: a run of thousands of steps has a result of that many entries
    Ok(JsonbOut::new(&run_atomic(migration_name, &opts, false)?)?)
}

/// Continue a migration from its last recorded step: after a pause, a failure in
/// `run_migration`, or a crash that left it RUNNING with its backend gone.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn resume_migration(
    migration_name: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(migration_name, options);
    let opts = RunOptions::parse(&options.0)?;
    Ok(JsonB(run_atomic(migration_name, &opts, true)?))
}

/// A migration with a `"transaction": false` step cannot run in the caller's transaction
/// (nor be tried and undone, as a dry run does): refused before anything runs.
fn refuse_top_level_steps(name: &str, function: &str) -> MeResult<()> {
    let row = catalog::load(name, false)?;
    if let Some(step) = row.definition.forward.iter().find(|s| !s.transaction) {
        return Err(crate::errors::MeError::new(
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            format!(
                "migration {name:?} has a step that must run outside any transaction ({:?}, \"transaction\": false), which {function} cannot do: it runs in your transaction",
                step.name
            ),
        )
        .hint("Run it with CALL migration_engine.run_migration(name) (resume with CALL migration_engine.run_migration(name, '{\"resume\": true}')), outside BEGIN ... COMMIT: it runs that step at the top level in a background worker."));
    }
    Ok(())
}

/// Steps of `run_id` that need not run again.
pub fn done_steps(row: &MigrationRow, run_id: RunId, opts: &RunOptions) -> MeResult<HashSet<i32>> {
    let default_continue = opts
        .continue_on_error
        .unwrap_or(row.definition.options.continue_on_error);
    let statuses = catalog::step_statuses(row.id, run_id, "forward")?;
    Ok(statuses
        .into_iter()
        .filter(|(n, status)| match status {
            StepStatus::Completed | StepStatus::Skipped => true,
            // a failure that the migration chose to continue past is not retried
            StepStatus::Failed => row
                .definition
                .forward
                .get(*n as usize)
                .is_some_and(|s| s.continues_on_error(default_continue)),
            _ => false,
        })
        .map(|(n, _)| n)
        .collect())
}

enum Flow {
    Finished(Vec<StepResult>, Vec<StepResult>),
    Paused(Vec<StepResult>),
}

enum Stop {
    StepFailed(Vec<StepResult>),
    ValidationFailed(Vec<StepResult>, Vec<StepResult>),
    Cancelled(Vec<StepResult>, String),
    DryRun(Vec<StepResult>, Vec<StepResult>),
}

pub(crate) fn refused_json(r: Refused) -> Value {
    json!({"success": false, "status": r.status, "code": r.code, "error": r.message, "hint": r.hint})
}

pub fn run_atomic(name: &str, opts: &RunOptions, resume: bool) -> MeResult<Value> {
    let clock = Instant::now();
    refuse_top_level_steps(
        name,
        if resume {
            "resume_migration"
        } else {
            "execute_migration"
        },
    )?;
    let row = match check_runnable(name, opts, resume, false)? {
        Ok(row) => row,
        Err(refused) => return Ok(refused_json(refused)),
    };
    // the safety checks gate a new run (not a resume, not a dry run)
    if !resume && !opts.dry_run {
        if let Some(refusal) = crate::safety::gate(&row, opts.force)? {
            return Ok(refusal);
        }
    }
    let schema = data_schema()?;
    let opts = &RunOptions {
        migration_id: Some(row.id),
        ..opts.clone()
    };
    let (run_id, done) = match (resume, catalog::latest_run(row.id)?) {
        (true, Some(run)) => (run, done_steps(&row, run, opts)?),
        _ => (catalog::new_run_id(), HashSet::new()),
    };
    catalog::set_status(
        &row,
        MigrationStatus::Running,
        "execute_migration",
        None,
        json!({"run_id": run_id.to_string()}),
    )?;
    let default_continue = opts
        .continue_on_error
        .unwrap_or(row.definition.options.continue_on_error);

    let outcome = atomically(|| -> Result<Flow, Stop> {
        let mut results = Vec::new();
        for (i, step) in row.definition.forward.iter().enumerate() {
            let number = i as i32;
            if done.contains(&number) {
                continue;
            }
            match catalog::control_request(row.id)
                .map_err(|e| Stop::Cancelled(results.clone(), e.message))?
            {
                Some(ControlRequest::Cancel) => {
                    return Err(Stop::Cancelled(results, "cancelled by request".into()))
                }
                Some(ControlRequest::Pause) => return Ok(Flow::Paused(results)),
                None => {}
            }
            let result = execute_step(&row.name, number, step, &schema, opts);
            let failed = result.status == StepStatus::Failed;
            results.push(result);
            if failed && !step.continues_on_error(default_continue) {
                return Err(Stop::StepFailed(results));
            }
        }
        let validation = execute_validation(&row.definition.validation, &schema, opts);
        if validation.iter().any(|v| v.status == StepStatus::Failed) {
            return Err(Stop::ValidationFailed(results, validation));
        }
        if opts.dry_run {
            return Err(Stop::DryRun(results, validation));
        }
        Ok(Flow::Finished(results, validation))
    });
    let _ = catalog::mark_control_handled(row.id);
    finish(&row, run_id, outcome, opts, clock)
}

/// Steps that ran but were undone by a later failure are recorded PENDING: they will
/// run again on the next execution.
fn undone(mut results: Vec<StepResult>, why: &str) -> Vec<StepResult> {
    for r in results.iter_mut() {
        if r.status == StepStatus::Completed {
            r.status = StepStatus::Pending;
            r.error = Some(StepError {
                sqlstate: "00000".into(),
                message: format!("undone: {why}"),
            });
        }
    }
    results
}

fn finish(
    row: &MigrationRow,
    run_id: RunId,
    outcome: Result<Flow, Aborted<Stop>>,
    opts: &RunOptions,
    clock: Instant,
) -> MeResult<Value> {
    let (status, success, steps, validation, error): (
        MigrationStatus,
        bool,
        Vec<StepResult>,
        Vec<StepResult>,
        Option<String>,
    ) = match outcome {
        Ok(Flow::Finished(steps, validation)) => {
            (MigrationStatus::Completed, true, steps, validation, None)
        }
        Ok(Flow::Paused(steps)) => {
            record_all(row, run_id, &steps, &[])?;
            catalog::set_paused(row, run_id)?;
            return Ok(result_json(
                row,
                run_id,
                true,
                catalog::PAUSED,
                &steps,
                &[],
                None,
                opts,
                clock,
            ));
        }
        Err(Aborted::Returned(Stop::StepFailed(steps))) => {
            let failed = steps.last().cloned();
            let msg = failed
                .as_ref()
                .map(|f| {
                    format!(
                        "step {} ({}) failed: {}",
                        f.number,
                        f.name,
                        f.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")
                    )
                })
                .unwrap_or_default();
            (
                MigrationStatus::Failed,
                false,
                undone(steps, &msg),
                vec![],
                Some(msg),
            )
        }
        Err(Aborted::Returned(Stop::ValidationFailed(steps, validation))) => {
            let msg = validation
                .iter()
                .filter_map(|v| {
                    v.error
                        .as_ref()
                        .map(|e| format!("validation {} failed: {}", v.name, e.message))
                })
                .collect::<Vec<_>>()
                .join("; ");
            (
                MigrationStatus::Failed,
                false,
                undone(steps, &msg),
                validation,
                Some(msg),
            )
        }
        Err(Aborted::Returned(Stop::Cancelled(steps, why))) => (
            MigrationStatus::Failed,
            false,
            undone(steps, &why),
            vec![],
            Some(why),
        ),
        Err(Aborted::Returned(Stop::DryRun(steps, validation))) => {
            // nothing happened: the status goes back to what it was
            let restored = row.status;
            catalog::restore_status_after_dry_run(row.id, restored)?;
            let mut v = result_json(
                row,
                run_id,
                true,
                restored.as_str(),
                &steps,
                &validation,
                None,
                opts,
                clock,
            );
            v["dry_run"] = json!(true);
            v["message"] = json!("dry run: every change was rolled back");
            return Ok(v);
        }
        Err(Aborted::Raised(e)) => {
            let msg = format!("engine error: {} ({})", e.message, e.sqlstate());
            (MigrationStatus::Failed, false, vec![], vec![], Some(msg))
        }
    };
    record_all(row, run_id, &steps, &validation)?;
    let running = MigrationRow {
        status: MigrationStatus::Running,
        ..row.clone()
    };
    catalog::set_status(
        &running,
        status,
        "execute_migration",
        error.as_deref(),
        json!({"run_id": run_id.to_string()}),
    )?;
    let v = result_json(
        row,
        run_id,
        success,
        status.as_str(),
        &steps,
        &validation,
        error.as_deref(),
        opts,
        clock,
    );
    catalog::append_log(
        row.id,
        json!({"run_id": run_id.to_string(), "action": "execute", "success": success,
        "status": status.as_str(), "at": catalog::now_epoch(), "steps": v["result"]["steps"].clone(), "error": error}),
    )?;
    Ok(v)
}

pub fn record_all(
    row: &MigrationRow,
    run_id: RunId,
    steps: &[StepResult],
    validation: &[StepResult],
) -> MeResult<()> {
    // one statement for all of them (a step's record is written after the run: the
    // run is one transaction, so no other session could have seen it earlier)
    let records: Vec<_> = steps
        .iter()
        .map(|s| s.to_record(row.id, run_id, "forward"))
        .chain(
            validation
                .iter()
                .map(|v| v.to_record(row.id, run_id, "validation")),
        )
        .collect();
    catalog::write_step_records(&records)
}

#[allow(clippy::too_many_arguments)]
fn result_json(
    row: &MigrationRow,
    run_id: RunId,
    success: bool,
    status: &str,
    steps: &[StepResult],
    validation: &[StepResult],
    error: Option<&str>,
    opts: &RunOptions,
    clock: Instant,
) -> Value {
    let affected: i64 = steps
        .iter()
        .filter(|s| s.status == StepStatus::Completed)
        .map(|s| s.rows)
        .sum();
    let mut v = json!({
        "execution_id": run_id.to_string(),
        "migration_id": row.id.to_string(),
        "migration_name": row.name,
        "success": success,
        "status": status,
        "result": {
            "steps": steps.iter().map(StepResult::to_json).collect::<Vec<_>>(),
            "validation": validation.iter().map(StepResult::to_json).collect::<Vec<_>>(),
        },
        "affected_entities": affected,
        "duration_ms": crate::timing::elapsed_ms(clock),
        "dry_run": opts.dry_run,
    });
    if let Some(e) = error {
        v["error"] = json!(e);
        if let Some(failed) = steps.iter().find(|s| s.status == StepStatus::Failed) {
            v["failed_step"] = failed.to_json();
        }
    }
    v
}
