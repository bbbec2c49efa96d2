//! rollback_migration: the rollback steps, all or nothing, after the dependents (with
//! `cascade`), in reverse execution order.
use super::plan::plan_error;
use crate::catalog::{self, MigrationRow};
use crate::errors::{MeError, MeResult};
use crate::spi::data_schema;
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::subxact::{atomically, Aborted};
use crate::steps::RunOptions;
use crate::steps::{execute_step, StepResult};
use migration_engine_core::engine::planner::{dependents_closure, PlanNode};
use migration_engine_core::engine::state::StepStatus;
use migration_engine_core::engine::state::{can_rollback, MigrationStatus};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// Roll a COMPLETED (or partly applied, FAILED) migration back. Refused while COMPLETED
/// migrations depend on it, unless `{"cascade": true}`, which rolls them back first.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn rollback_migration(
    migration_name: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> Result<JsonB, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(migration_name, options);
    let cascade = match options.0.get("cascade") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(MeError::invalid_parameter(format!(
                "options.cascade must be true or false, not {other}"
            ))
            .into())
        }
    };
    let opts = RunOptions::parse_with(&options.0, &["cascade"])?;
    Ok(JsonB(rollback(migration_name, &opts, cascade)?))
}

pub(super) fn completed_dependents(name: &str) -> MeResult<Vec<String>> {
    let nodes: Vec<PlanNode> = crate::catalog::plan_nodes()?;
    let closure = dependents_closure(name, &nodes).map_err(plan_error)?;
    let completed: std::collections::HashSet<&str> = nodes
        .iter()
        .filter(|n| n.status == MigrationStatus::Completed.as_str())
        .map(|n| n.name.as_str())
        .collect();
    Ok(closure
        .into_iter()
        .filter(|d| completed.contains(d.as_str()))
        .collect())
}

fn rollback(name: &str, opts: &RunOptions, cascade: bool) -> MeResult<Value> {
    let row = catalog::load(name, true)?;
    if let Some(step) = row.definition.rollback.iter().find(|s| !s.transaction) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            format!("migration {name:?} has a rollback step that must run outside any transaction ({:?}, \"transaction\": false), which rollback_migration cannot do: it runs in your transaction", step.name),
        )
        .hint("Roll it back with CALL migration_engine.run_rollback(name), outside BEGIN ... COMMIT: it runs that step at the top level in a background worker."));
    }
    if let Err(refusal) = can_rollback(row.status) {
        return Err(MeError::prerequisite(format!(
            "cannot roll back {name:?}: {refusal}"
        )));
    }
    let has_transform = row
        .definition
        .forward
        .iter()
        .any(|s| s.kind.transform_pipeline().is_some());
    if row.definition.rollback.is_empty() && !has_transform {
        return Err(
            MeError::prerequisite(format!("migration {name:?} has no rollback steps"))
                .hint("Add rollback steps in a new migration that reverses this one."),
        );
    }
    let dependents = completed_dependents(name)?;
    let mut cascaded = Vec::new();
    if !dependents.is_empty() {
        if !cascade {
            return Err(MeError::new(
                PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot roll back {name:?}: COMPLETED migrations depend on it: {}", dependents.join(", ")),
            )
            .hint("Roll those back first, or pass '{\"cascade\": true}' to roll them back too, in reverse order."));
        }
        // dependents_closure lists them in reverse execution order
        for dep in &dependents {
            let r = rollback(dep, opts, false)?;
            let ok = r["success"].as_bool().unwrap_or(false);
            cascaded.push(r);
            if !ok {
                return Ok(
                    json!({"success": false, "migration_name": name, "status": row.status.as_str(),
                    "error": format!("rolling back dependent {dep:?} failed"), "cascaded": cascaded}),
                );
            }
        }
    }
    run_rollback(&row, opts, cascaded)
}

fn run_rollback(row: &MigrationRow, opts: &RunOptions, cascaded: Vec<Value>) -> MeResult<Value> {
    let schema = data_schema()?;
    let run_id = catalog::new_run_id();
    let outcome = atomically(|| -> Result<Vec<StepResult>, Vec<StepResult>> {
        let mut results = Vec::new();
        for (i, step) in row.definition.rollback.iter().enumerate() {
            let r = execute_step(&row.name, i as i32, step, &schema, opts);
            let failed = r.status == StepStatus::Failed;
            results.push(r);
            if failed {
                return Err(results);
            }
        }
        // what the TRANSFORM steps wrote is undone exactly (their pipeline runs)
        if !opts.dry_run {
            if let Err(e) = crate::pipeline::undo_migration_runs(row.id) {
                results.push(StepResult {
                    number: results.len() as i32,
                    name: "undo_transform_runs".into(),
                    step_type: "TRANSFORM".into(),
                    status: StepStatus::Failed,
                    rows: 0,
                    started: catalog::now_epoch(),
                    finished: catalog::now_epoch(),
                    error: Some(e.into()),
                    lock_retries: 0,
                    blockers: serde_json::json!([]),
                });
                return Err(results);
            }
        }
        if opts.dry_run {
            return Err(results);
        }
        Ok(results)
    });
    let (success, steps) = match outcome {
        Ok(steps) => (true, steps),
        Err(Aborted::Returned(steps)) => (
            opts.dry_run && steps.iter().all(|s| s.status != StepStatus::Failed),
            steps,
        ),
        Err(Aborted::Raised(e)) => {
            return Err(MeError::internal(format!(
                "rollback of {:?} failed: {}",
                row.name, e.message
            )))
        }
    };
    let error = steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .and_then(|s| s.error.clone())
        .map(|e| e.message);
    if opts.dry_run {
        return Ok(
            json!({"success": success, "dry_run": true, "migration_name": row.name,
            "steps": steps.iter().map(StepResult::to_json).collect::<Vec<_>>(), "error": error}),
        );
    }
    let records: Vec<_> = steps
        .iter()
        .map(|s| s.to_record(row.id, run_id, "rollback"))
        .collect();
    catalog::write_step_records(&records)?;
    if success {
        catalog::set_status(
            row,
            MigrationStatus::RolledBack,
            "rollback_migration",
            None,
            json!({"run_id": run_id.to_string(), "cascaded": cascaded.len()}),
        )?;
    }
    let result = json!({
        "success": success,
        "execution_id": run_id.to_string(),
        "migration_name": row.name,
        "status": if success { MigrationStatus::RolledBack } else { row.status }.as_str(),
        "steps": steps.iter().map(StepResult::to_json).collect::<Vec<_>>(),
        "cascaded": cascaded,
        "error": error,
    });
    catalog::append_log(
        row.id,
        json!({"run_id": run_id.to_string(), "action": "rollback", "success": success,
        "at": catalog::now_epoch(), "error": result["error"].clone()}),
    )?;
    Ok(result)
}
