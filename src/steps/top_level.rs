//! A `"transaction": false` step under CALL run_migration: handed to the top-level runner
//! (src/runner), its outcome recorded like any other step's. Each call of `step` either
//! queues an attempt (the step is recorded RUNNING when it starts, so migration_status
//! shows it), or turns the attempt that ran into the step's result.
use super::kinds::{condition_holds, RunOptions};
use super::run::{StepError, StepResult};
use crate::catalog::RunId;
use crate::catalog::{self, MigrationRow, StepRecord};
use crate::errors::{MeError, MeResult};
use crate::runner::{self, StepSettings};
use crate::spi::quoted_ident;
use migration_engine_core::engine::definition::Step;
use migration_engine_core::engine::state::AttemptStatus;
use migration_engine_core::engine::state::StepStatus;
use serde_json::json;

pub enum Next {
    /// An attempt is queued or running: the caller waits for it (top_level_wait).
    Queued(i64),
    /// The step is over: record nothing more, go on as after any step.
    Over(StepResult),
}

/// `direction`: "forward" (CALL run_migration) or "rollback" (CALL run_rollback).
pub fn step(
    row: &MigrationRow,
    run_id: RunId,
    number: i32,
    step: &Step,
    data_schema: &str,
    opts: &RunOptions,
    direction: &str,
) -> MeResult<Next> {
    let Some(script) = step.kind.statement_text() else {
        // create_migration refuses it; a definition stored before that check could have it
        return Err(MeError::invalid_parameter(format!(
            "step {:?} is marked \"transaction\": false but is not a SQL step",
            step.name
        )));
    };
    let recorded = catalog::step_statuses(row.id, run_id, direction)?
        .into_iter()
        .find(|(n, _)| *n == number)
        .map(|(_, status)| status);
    let latest = match runner::latest_attempt(row.id, run_id, number)? {
        Some(a) => Some(runner::settle(a)?),
        None => None,
    };
    // the step is RUNNING on record: its latest attempt is the one that counts
    if recorded == Some(StepStatus::Running) {
        if let Some(a) = latest {
            if !a.is_over() {
                return Ok(Next::Queued(a.id));
            }
            let result = outcome(number, step, &a);
            result.record(row.id, run_id, direction)?;
            // a resume after a crash finds the attempt lost (its worker gone with the
            // server): that failure is on record now; the step is tried again below
            if !(opts.resume && a.sqlstate.as_deref() == Some(runner::LOST)) {
                return Ok(Next::Over(result));
            }
        }
    }
    // a new attempt: first run, retry after a failure, or resume after a crash
    let started = catalog::now_epoch();
    if let Some(cond) = &step.condition {
        if !condition_holds(cond, data_schema, opts)? {
            let skipped = result(number, step, StepStatus::Skipped, started, None);
            skipped.record(row.id, run_id, direction)?;
            return Ok(Next::Over(skipped));
        }
    }
    let search_path = format!("{}, public", quoted_ident("data schema", data_schema)?);
    let application_name = format!("migration_engine:{}:{}", row.name, step.name);
    let attempt = runner::queue(
        row.id,
        run_id,
        number,
        &step.name,
        script,
        &StepSettings {
            search_path: &search_path,
            statement_timeout_ms: step.timeout_ms.unwrap_or(opts.statement_timeout_ms),
            // the field's top complaint: a lock_timeout that kills a concurrent build while
            // it waits for older transactions; here onBlocked decides about those
            lock_timeout_ms: if opts.lock_timeout_given {
                opts.lock_timeout_ms
            } else {
                0
            },
            application_name: &application_name,
            on_blocked: opts.on_blocked.as_str(),
            wait_timeout_ms: opts.wait_timeout_ms,
        },
    )?;
    StepRecord {
        migration_id: row.id,
        run_id,
        direction,
        step_number: number,
        step_name: &step.name,
        step_type: step.step_type().as_str(),
        status: StepStatus::Running,
        started_epoch: started,
        finished_epoch: None,
        error: None,
        retry_count: 0,
        new_value: Some(json!({"top_level_attempt": attempt})),
    }
    .write()?;
    Ok(Next::Queued(attempt))
}

fn result(
    number: i32,
    step: &Step,
    status: StepStatus,
    started: f64,
    error: Option<StepError>,
) -> StepResult {
    StepResult {
        number,
        name: step.name.clone(),
        step_type: step.step_type().as_str().to_string(),
        status,
        rows: 0,
        started,
        finished: catalog::now_epoch(),
        error,
        lock_retries: 0,
        blockers: serde_json::json!([]),
    }
}

fn outcome(number: i32, step: &Step, a: &runner::Attempt) -> StepResult {
    let started = a.started_epoch.unwrap_or_else(catalog::now_epoch);
    let mut r = if a.status == AttemptStatus::Completed {
        result(number, step, StepStatus::Completed, started, None)
    } else {
        let total = a.statements_total.unwrap_or(0);
        let at = if total > 1 {
            format!(" (statement {} of {total})", a.statements_done + 1)
        } else {
            String::new()
        };
        let cleaned = a
            .cleaned
            .as_array()
            .filter(|c| !c.is_empty())
            .map(|c| {
                let names: Vec<&str> = c.iter().filter_map(|x| x["index"].as_str()).collect();
                format!(
                    "; the invalid index it left was dropped: {}",
                    names.join(", ")
                )
            })
            .unwrap_or_default();
        result(
            number,
            step,
            StepStatus::Failed,
            started,
            Some(StepError {
                sqlstate: a.sqlstate.clone().unwrap_or_else(|| "XX000".into()),
                message: format!("{}{at}{cleaned}", a.error.as_deref().unwrap_or("failed")),
            }),
        )
    };
    if let Some(f) = a.finished_epoch {
        r.finished = f;
    }
    r
}
