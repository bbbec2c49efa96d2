//! Canary migrations: the new version is a migrated copy of the active data schema (the
//! blue-green machinery) kept in sync with it; `canary_route` sends a growing share of
//! routing keys to it; the seed's weighted score judges each step; a background worker
//! advances, finalizes (the atomic switch, with its notification) or rolls back.
//! Routing, scoring and the step decision are the core's (`rollout::canary`); the
//! rollout's row is the catalog's (`catalog::rollouts`). This file is the SQL API;
//! `start`, `advance` (and the endings), `score` and `worker` do the work.
mod advance;
mod score;
mod start;
mod worker;

pub(crate) use advance::advance;

use crate::catalog::{self, Rollout};
use crate::errors::{MeError, MeResult, PgResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::{audit, quoted_ident};
use migration_engine_core::rollout::canary::{
    metric_value_problem, routes_to_new, routing_bucket, FinalRoute, RolloutStatus,
};
use migration_engine_core::safety::codes;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

fn require_live(r: &Rollout) -> MeResult<()> {
    if !r.status.is_live() {
        return Err(MeError::prerequisite(format!(
            "the canary of {:?} is {}, not running",
            r.name, r.status
        ))
        .hint("Start a new canary with migration_engine.start_canary(config)."));
    }
    Ok(())
}

/// Start a canary: prepare the new version (copy + migrate + validate, as blue-green,
/// kept in sync from then on), route `canaryPercentage` of the keys to it, start the
/// background worker that advances it every `stabilizationSeconds`.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn start_canary(config: Option<JsonArg>) -> PgResult<JsonB> {
    crate::required!(config);
    Ok(JsonB(crate::spi::quietly(|| start::start(&config.0))?))
}

/// The schema this routing key should use now: deterministic (a stable hash of the
/// migration and the key), monotone in the percentage. Cheap: one indexed read.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn canary_route(migration_name: &str, routing_key: &str) -> PgResult<String> {
    let (old, new, pct, status) = catalog::route_of(migration_name)?;
    let to_new = match status.final_route() {
        Some(FinalRoute::New) => true,
        Some(FinalRoute::Old) => false,
        None => routes_to_new(
            routing_bucket(migration_name, routing_key),
            pct.clamp(0, 100) as u8,
        ),
    };
    Ok(if to_new { new } else { old })
}

/// Route `percentage` (0–100) of the keys to the new version from now on.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn set_canary_percentage(migration_name: Option<&str>, percentage: Option<i32>) -> PgResult<JsonB> {
    crate::required!(migration_name, percentage);
    if !(0..=100).contains(&percentage) {
        return Err(MeError::invalid_parameter(format!(
            "canary percentage must be between 0 and 100, not {percentage}"
        ))
        .into());
    }
    let r = catalog::load_rollout(migration_name, true)?;
    require_live(&r)?;
    let step = advance::set_percentage(&r, percentage, "set by hand")?;
    Ok(JsonB(
        json!({"migration_name": r.name, "percentage": percentage,
        "previous_percentage": r.percentage, "step": step, "status": r.status.as_str()}),
    ))
}

/// Record one observation of a metric for the canary's current step. Runs with the
/// caller's rights: members of migration_admin or canary_metrics_writer may record (an
/// observation steers the rollout, so not everyone may). Values outside the metric's
/// range are refused here, and by the table's CHECK for a direct INSERT.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn record_canary_metric(
    migration_name: Option<&str>,
    metric: Option<&str>,
    value: Option<f64>,
    version: default!(Option<&str>, "'new'"),
) -> PgResult<()> {
    crate::required!(migration_name, metric, value, version);
    quoted_ident("metric", metric)?;
    if version != "new" && version != "old" {
        return Err(MeError::invalid_parameter(format!(
            "version must be 'new' or 'old', not {version:?}"
        ))
        .into());
    }
    if let Some(problem) = metric_value_problem(metric, value) {
        return Err(MeError::invalid_parameter(problem)
            .hint("Record the measured value: error_rate and data_consistency are fractions (0..1), response_time is milliseconds, throughput the new/old ratio.")
            .into());
    }
    let r = catalog::load_rollout(migration_name, false)?;
    require_live(&r)?;
    Spi::run_with_args(
        "INSERT INTO migration_engine.canary_metrics (migration_id, step_number, percentage, metric, value, version) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[r.id.into(), r.step.into(), r.percentage.into(), metric.into(), value.into(), version.into()],
    )
    .map_err(MeError::from)?;
    Ok(())
}

/// The CHECK of canary_metrics.value: the same rule as record_canary_metric's.
#[pg_extern(immutable, parallel_safe, strict)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn canary_metric_value_ok(metric: &str, value: f64) -> bool {
    metric_value_problem(metric, value).is_none()
}

/// `{success, score, details}`: the seed's evaluation of the current step (read only).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn evaluate_canary(migration_name: &str) -> PgResult<JsonB> {
    let r = catalog::load_rollout(migration_name, false)?;
    let (ev, measured) = score::score(&r, false)?;
    Ok(JsonB(json!({
        "success": ev.success,
        "score": score::round3(ev.score),
        "details": ev.details,
        "threshold": r.config.success_threshold,
        "percentage": r.percentage,
        "step": r.step,
        "status": r.status.as_str(),
        "measured_data_consistency": measured,
    })))
}

/// Evaluate, then advance by stepPercentage (finalizing with the atomic switch at 100),
/// roll back, or pause, as the core's decision says.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn advance_canary(migration_name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(migration_name);
    Ok(JsonB(crate::spi::quietly(|| advance(migration_name))?))
}

/// Stop the automatic advance; routing stays as it is.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn pause_canary(migration_name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(migration_name);
    let r = catalog::load_rollout(migration_name, true)?;
    require_live(&r)?;
    catalog::transition_rollout(&r, RolloutStatus::Paused, Some("paused by hand"))?;
    audit(
        "canary_paused",
        "migration",
        &r.name,
        json!({"reason": "by hand"}),
    )?;
    Ok(JsonB(
        json!({"migration_name": r.name, "status": RolloutStatus::Paused.as_str(), "percentage": r.percentage}),
    ))
}

/// Go on advancing; the current step's stabilization starts again.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn resume_canary(migration_name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(migration_name);
    let r = catalog::load_rollout(migration_name, true)?;
    require_live(&r)?;
    catalog::transition_rollout(&r, RolloutStatus::Running, None)?;
    audit("canary_resumed", "migration", &r.name, json!({}))?;
    // a paused canary's worker has stopped ticking for it: start a new one
    let worker = if r.status == RolloutStatus::Paused {
        worker::start(r.id)
    } else {
        None
    };
    if let Some(pid) = worker {
        catalog::set_rollout_worker(r.id, pid)?;
    }
    Ok(JsonB(
        json!({"migration_name": r.name, "status": RolloutStatus::Running.as_str(), "percentage": r.percentage, "worker_pid": worker}),
    ))
}

/// Stop the canary now: everyone back on the old version, the migration ROLLED_BACK.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn abort_canary(migration_name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(migration_name);
    Ok(JsonB(crate::spi::quietly(|| {
        let r = catalog::load_rollout(migration_name, true)?;
        require_live(&r)?;
        let row = catalog::load(migration_name, false)?;
        advance::roll_back(&r, &row, RolloutStatus::Aborted, codes::CANARY_ABORTED)?;
        Ok(
            json!({"migration_name": r.name, "status": RolloutStatus::Aborted.as_str(), "percentage": 0, "kept_schema": r.new_schema}),
        )
    })?))
}
