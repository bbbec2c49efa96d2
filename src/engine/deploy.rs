//! deploy_migration: one call per migration file, for deploy tools that run files inside
//! a transaction (psql --single-transaction, Flyway, Liquibase). It creates the migration
//! (idempotently), runs it in the caller's transaction, and when it fails, raises with the
//! failing step's SQLSTATE, so that the deploy fails and its transaction is rolled back;
//! the failure is kept all the same, in deploy_failures, written by an autonomous worker
//! (runner::autonomous) before the error is raised.
use super::create::create;
use super::execute::run_atomic;
use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::steps::RunOptions;
use migration_engine_core::engine::definition::checksum;
use migration_engine_core::engine::state::MigrationStatus;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

use crate::errors::PgResult;

/// `{success, status, deployed, ...execute_migration's result}`; raises on failure.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn deploy_migration(
    definition: Option<JsonArg>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(definition, options);
    let opts = RunOptions::parse(&options.0)?;
    Ok(JsonB(deploy(&definition.0, &opts)?))
}

fn deploy(definition: &Value, opts: &RunOptions) -> MeResult<Value> {
    let id = create(definition)?;
    let name = definition["name"].as_str().unwrap_or_default();
    let status = crate::catalog::migration_status_of(id)?;
    if status == Some(MigrationStatus::Completed) && !opts.dry_run {
        // a re-deploy of a file that was deployed: nothing to do
        return Ok(
            json!({"success": true, "status": MigrationStatus::Completed.as_str(), "deployed": false,
            "migration_id": id.to_string(), "migration_name": name,
            "message": "already deployed (the same definition is COMPLETED)"}),
        );
    }
    let mut result = run_atomic(name, opts, false)?;
    if result["success"] == json!(true) || opts.dry_run {
        result["deployed"] = json!(!opts.dry_run && result["success"] == json!(true));
        return Ok(result);
    }
    let error = result["error"].as_str().unwrap_or("failed").to_string();
    let sqlstate = result["failed_step"]["sqlstate"]
        .as_str()
        .filter(|s| {
            s.len() == 5 && !s.starts_with("00") && !s.starts_with("01") && !s.starts_with("02")
        })
        .unwrap_or("P0001")
        .to_string();
    let row = json!({
        "migration_name": name,
        "version": definition["version"],
        "checksum": checksum(definition),
        "definition": definition,
        "failed_step": result["failed_step"]["step_name"],
        "sqlstate": sqlstate,
        "error": error,
        "hint": result["hint"],
        // SAFETY: MyProcPid is set at process start and never changed; read on the main thread.
        "caller_pid": unsafe { pg_sys::MyProcPid },
        "caller_xid": Spi::get_one::<i64>("SELECT txid_current_if_assigned()")?,
    });
    let recorded = crate::runner::autonomous::record_deploy_failure(&row);
    let detail = match &recorded {
        Ok(()) => "The failure is recorded in migration_engine.deploy_failures, which this error does not roll back; \
                   everything else of this transaction is rolled back with it.".to_string(),
        Err(e) => format!("{}; everything of this transaction is rolled back with this error.", e.message),
    };
    let code = crate::errors::code_of_sqlstate(&sqlstate);
    Err(MeError::new(code, format!("migration {name} FAILED: {error}"))
        .detail(detail)
        .hint("Fix the cause (the definition is immutable: a new version of a failed file is a new migration name or version) and deploy again; SELECT * FROM migration_engine.deploy_failures ORDER BY failed_at DESC shows what failed."))
}
