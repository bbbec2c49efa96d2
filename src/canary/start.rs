//! Starting a canary: prepare the new version (copy + migrate + validate, as
//! blue-green, kept in sync from then on), route `canaryPercentage` of the keys to it,
//! start the background worker that advances it every `stabilizationSeconds`.
use super::advance::record_step;
use super::worker;
use crate::bluegreen::{self, Purpose};
use crate::catalog;
use crate::errors::{MeError, MeResult};
use crate::spi::{audit, data_schema, quoted_ident};
use migration_engine_core::rollout::canary::CanaryConfig;
use pgrx::prelude::*;
use serde_json::{json, Value};

/// The schema the new version is built in: `targetSchema`, or `<active>_canary`.
fn target_schema(raw: &Value, active: &str) -> MeResult<String> {
    let target = match raw.get("targetSchema") {
        None | Some(Value::Null) => format!("{active}_canary"),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(MeError::invalid_parameter(
                "targetSchema must be a schema name",
            ))
        }
    };
    quoted_ident("target schema", &target)?;
    Ok(target)
}

pub(super) fn start(raw: &Value) -> MeResult<Value> {
    let config = CanaryConfig::parse(raw).map_err(|e| {
        MeError::invalid_parameter(e.to_string()).hint(
            "Pass {\"migrationName\": ..., \"canaryPercentage\": 10, \"stepPercentage\": 10, \"successThreshold\": 0.8, ...}.",
        )
    })?;
    let name = config.migration_name.clone();
    let id = catalog::migration_id_of(&name)?.ok_or_else(|| {
        MeError::undefined_object(format!("migration {name:?} does not exist"))
            .hint("Create it with migration_engine.create_migration(definition).")
    })?;
    if catalog::rollout_status_of(&name)?.is_some_and(|s| s.is_live()) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
            format!("a canary of {name:?} is already running"),
        )
        .hint("See migration_engine.canary_status; abort it with abort_canary(name)."));
    }
    let old = data_schema()?;
    let target = target_schema(raw, &old)?;
    let options = raw.get("options").cloned().unwrap_or(json!({}));
    let prepared = bluegreen::prepare(id, &target, &options, Purpose::Canary)?;
    if prepared["success"] != json!(true) {
        return Ok(prepared);
    }
    let pct = i32::from(config.canary_percentage);
    catalog::insert_rollout(id, &name, raw, &old, &target, pct)?;
    record_step(id, 1, pct, "start")?;
    audit(
        "canary_started",
        "migration",
        &name,
        json!({"old_schema": old, "new_schema": target, "percentage": pct}),
    )?;
    let worker = worker::start(id);
    if let Some(pid) = worker {
        catalog::set_rollout_worker(id, pid)?;
    }
    Ok(json!({
        "success": true,
        "migration_name": name,
        "old_schema": old,
        "new_schema": target,
        "percentage": pct,
        "worker_pid": worker,
        "warning": if worker.is_none() { json!("no background worker was started (no free worker slot, see max_worker_processes; or this session acts as another role with SET ROLE, and a worker would run as the login role): call advance_canary(name) yourself") } else { Value::Null },
        "preparation": prepared,
    }))
}
