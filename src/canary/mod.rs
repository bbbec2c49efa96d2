//! Canary migrations: the new version is a migrated copy of the active data schema (the
//! blue-green machinery) kept in sync with it; `canary_route` sends a growing share of
//! routing keys to it; the seed's weighted score judges each step; a background worker
//! advances, finalizes (the atomic switch, with its notification) or rolls back.
//! Routing, scoring and the step decision are the core's (`rollout::canary`).
mod worker;

use crate::bluegreen::{self, Purpose};
use crate::engine::catalog::{self, StepRecord};
use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::{audit, data_schema, first_value, quoted_ident};
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::rollout::canary::{
    evaluate, metric_value_problem, routes_to_new, routing_bucket, CanaryConfig, CanaryDecision,
    Evaluation,
};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::collections::BTreeMap;

type PgResult<T> = Result<T, pgrx::pg_sys::panic::ErrorReport>;

/// One canary_rollouts row.
pub(crate) struct Rollout {
    pub id: Uuid,
    pub name: String,
    pub config: CanaryConfig,
    pub old_schema: String,
    pub new_schema: String,
    pub percentage: i32,
    pub status: String,
    pub step: i32,
    pub elapsed_minutes: f64,
    pub step_age_seconds: f64,
}

fn load(name: &str, lock: bool) -> MeResult<Rollout> {
    let sql = format!(
        "SELECT migration_id, jsonb_build_array(NULL, config, old_schema, new_schema, percentage, status, step_number, \
                extract(epoch FROM clock_timestamp() - started_at) / 60, extract(epoch FROM clock_timestamp() - step_started_at)) \
         FROM migration_engine.canary_rollouts WHERE migration_name = $1 {}",
        if lock { "FOR UPDATE" } else { "" }
    );
    let found = Spi::connect_mut(|c| {
        let t = c.update(&sql, Some(1), &[name.into()])?;
        if t.is_empty() {
            return Ok(None);
        }
        let r = t.first();
        Ok::<_, pgrx::spi::Error>(Some((r.get::<Uuid>(1)?, r.get::<JsonB>(2)?)))
    })?;
    let Some((Some(id), Some(JsonB(row)))) = found else {
        return Err(MeError::undefined_object(format!("no canary for migration {name:?}"))
            .hint("Start one with migration_engine.start_canary('{\"migrationName\": ...}'); see migration_engine.canary_status."));
    };
    let config = CanaryConfig::parse(&row[1]).map_err(|e| MeError::internal(e.to_string()))?;
    Ok(Rollout {
        id,
        name: name.to_string(),
        config,
        old_schema: row[2].as_str().unwrap_or_default().to_string(),
        new_schema: row[3].as_str().unwrap_or_default().to_string(),
        percentage: row[4].as_i64().unwrap_or(0) as i32,
        status: row[5].as_str().unwrap_or_default().to_string(),
        step: row[6].as_i64().unwrap_or(0) as i32,
        elapsed_minutes: row[7].as_f64().unwrap_or(0.0),
        step_age_seconds: row[8].as_f64().unwrap_or(0.0),
    })
}

fn require_live(r: &Rollout) -> MeResult<()> {
    if r.status != "RUNNING" && r.status != "PAUSED" {
        return Err(MeError::prerequisite(format!(
            "the canary of {:?} is {}, not running",
            r.name, r.status
        ))
        .hint("Start a new canary with migration_engine.start_canary(config)."));
    }
    Ok(())
}

/// Route `pct` percent from now on, as a step of the canary (recorded and audited).
fn set_percentage(r: &Rollout, pct: i32, why: &str) -> MeResult<i32> {
    let step = r.step + 1;
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET percentage = $2, step_number = $3, step_started_at = clock_timestamp() \
         WHERE migration_id = $1",
        &[r.id.into(), pct.into(), step.into()],
    )?;
    record_step(r.id, step, pct, why)?;
    audit(
        "canary_percentage",
        "migration",
        &r.name,
        json!({"from": r.percentage, "to": pct, "step": step, "reason": why}),
    )?;
    Ok(step)
}

fn record_step(id: Uuid, step: i32, pct: i32, why: &str) -> MeResult<()> {
    let now = catalog::now_epoch();
    StepRecord {
        migration_id: id,
        run_id: id,
        direction: "canary",
        step_number: step,
        step_name: &format!("SetCanaryPercentage{pct}"),
        step_type: "CANARY",
        status: "COMPLETED",
        started_epoch: now,
        finished_epoch: Some(now),
        error: None,
        retry_count: 0,
        new_value: Some(json!({"canary_percentage": pct, "reason": why})),
    }
    .write()
}

/// Start a canary: prepare the new version (copy + migrate + validate, as blue-green,
/// kept in sync from then on), route `canaryPercentage` of the keys to it, start the
/// background worker that advances it every `stabilizationSeconds`.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn start_canary(config: Option<JsonArg>) -> PgResult<JsonB> {
    crate::required!(config);
    Ok(JsonB(crate::spi::quietly(|| start(&config.0))?))
}

fn start(raw: &Value) -> MeResult<Value> {
    let config = CanaryConfig::parse(raw).map_err(|e| {
        MeError::invalid_parameter(e.to_string()).hint(
            "Pass {\"migrationName\": ..., \"canaryPercentage\": 10, \"stepPercentage\": 10, \"successThreshold\": 0.8, ...}.",
        )
    })?;
    let name = config.migration_name.clone();
    let id = first_value::<Uuid>(
        "SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = $1",
        &[name.as_str().into()],
    )?
    .ok_or_else(|| {
        MeError::undefined_object(format!("migration {name:?} does not exist"))
            .hint("Create it with migration_engine.create_migration(definition).")
    })?;
    let live = first_value::<String>(
        "SELECT status FROM migration_engine.canary_rollouts WHERE migration_name = $1",
        &[name.as_str().into()],
    )?;
    if matches!(live.as_deref(), Some("RUNNING" | "PAUSED")) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
            format!("a canary of {name:?} is already running"),
        )
        .hint("See migration_engine.canary_status; abort it with abort_canary(name)."));
    }
    let old = data_schema()?;
    let target = match raw.get("targetSchema") {
        None | Some(Value::Null) => format!("{old}_canary"),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(MeError::invalid_parameter(
                "targetSchema must be a schema name",
            ))
        }
    };
    quoted_ident("target schema", &target)?;
    let options = raw.get("options").cloned().unwrap_or(json!({}));
    let prepared = bluegreen::prepare(id, &target, &options, Purpose::Canary)?;
    if prepared["success"] != json!(true) {
        return Ok(prepared);
    }
    // an earlier, finished canary of this migration gives way to the new one
    Spi::run_with_args(
        "DELETE FROM migration_engine.canary_rollouts WHERE migration_name = $1",
        &[name.as_str().into()],
    )?;
    let pct = i32::from(config.canary_percentage);
    Spi::run_with_args(
        "INSERT INTO migration_engine.canary_rollouts (migration_id, migration_name, config, old_schema, new_schema, percentage, step_number) \
         VALUES ($1, $2, $3, $4, $5, $6, 1)",
        &[id.into(), name.as_str().into(), JsonB(raw.clone()).into(), old.as_str().into(), target.as_str().into(), pct.into()],
    )?;
    record_step(id, 1, pct, "start")?;
    audit(
        "canary_started",
        "migration",
        &name,
        json!({"old_schema": old, "new_schema": target, "percentage": pct}),
    )?;
    let worker = worker::start(id);
    if let Some(pid) = worker {
        Spi::run_with_args(
            "UPDATE migration_engine.canary_rollouts SET worker_pid = $2, worker_role = current_user WHERE migration_id = $1",
            &[id.into(), pid.into()],
        )?;
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

/// The schema this routing key should use now: deterministic (a stable hash of the
/// migration and the key), monotone in the percentage. Cheap: one indexed read.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn canary_route(migration_name: &str, routing_key: &str) -> PgResult<String> {
    let row = first_value::<JsonB>(
        "SELECT jsonb_build_array(old_schema, new_schema, percentage, status) FROM migration_engine.canary_rollouts WHERE migration_name = $1",
        &[migration_name.into()],
    )?
    .map(|j| j.0)
    .ok_or_else(|| MeError::undefined_object(format!("no canary for migration {migration_name:?}")))?;
    let (old, new) = (
        row[0].as_str().unwrap_or_default(),
        row[1].as_str().unwrap_or_default(),
    );
    let pct = row[2].as_i64().unwrap_or(0).clamp(0, 100) as u8;
    let chosen = match row[3].as_str() {
        Some("COMPLETED") => new,
        Some("ROLLED_BACK" | "ABORTED") => old,
        _ if routes_to_new(routing_bucket(migration_name, routing_key), pct) => new,
        _ => old,
    };
    Ok(chosen.to_string())
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
    let r = load(migration_name, true)?;
    require_live(&r)?;
    let step = set_percentage(&r, percentage, "set by hand")?;
    Ok(JsonB(
        json!({"migration_name": r.name, "percentage": percentage,
        "previous_percentage": r.percentage, "step": step, "status": r.status}),
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
    let r = load(migration_name, false)?;
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

/// Share of sampled current entities of the old version whose new version is there and
/// at least as recent: what the new version's readers see is what was written.
fn data_consistency(r: &Rollout) -> MeResult<f64> {
    let (old, new) = (
        quoted_ident("schema", &r.old_schema)?,
        quoted_ident("schema", &r.new_schema)?,
    );
    Ok(first_value::<f64>(
        &format!(
            "WITH s AS (SELECT entity_id, valid_from FROM {old}.temporal_entities \
                        WHERE valid_to = 'infinity' AND entity_id >= gen_random_uuid() ORDER BY entity_id LIMIT 1000) \
             SELECT CASE WHEN count(*) = 0 THEN 1.0 ELSE \
                    count(*) FILTER (WHERE n.entity_id IS NOT NULL AND n.valid_from >= s.valid_from)::float8 / count(*) END \
             FROM s LEFT JOIN {new}.temporal_entities n ON n.entity_id = s.entity_id AND n.valid_to = 'infinity'"
        ),
        &[],
    )?
    .unwrap_or(1.0))
}

/// The seed's weighted score over the validation metrics: per metric, the median of this
/// step's observations of the new version (one outlier cannot swing it, and no sum can
/// overflow), else its latest earlier one;
/// data_consistency, when asked for and not recorded, measured here.
fn score(r: &Rollout, record: bool) -> MeResult<(Evaluation, Value)> {
    let observed = first_value::<JsonB>(
        "SELECT coalesce(jsonb_object_agg(m, v) FILTER (WHERE v IS NOT NULL), '{}') FROM ( \
           SELECT m, coalesce( \
             (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM migration_engine.canary_metrics \
              WHERE migration_id = $1 AND metric = m AND version = 'new' AND step_number = $2), \
             (SELECT value FROM migration_engine.canary_metrics \
              WHERE migration_id = $1 AND metric = m AND version = 'new' ORDER BY id DESC LIMIT 1)) AS v \
           FROM unnest($3::text[]) m) x",
        &[r.id.into(), r.step.into(), r.config.validation_metrics.clone().into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({}));
    let mut metrics: BTreeMap<String, f64> = observed
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
        .collect();
    let mut measured = Value::Null;
    if r.config
        .validation_metrics
        .iter()
        .any(|m| m == "data_consistency")
        && !metrics.contains_key("data_consistency")
    {
        let c = data_consistency(r)?;
        metrics.insert("data_consistency".into(), c);
        measured = json!(c);
        if record {
            Spi::run_with_args(
                "INSERT INTO migration_engine.canary_metrics (migration_id, step_number, percentage, metric, value, source) \
                 VALUES ($1, $2, $3, 'data_consistency', $4, 'extension')",
                &[r.id.into(), r.step.into(), r.percentage.into(), c.into()],
            )?;
        }
    }
    Ok((evaluate(&metrics, r.config.success_threshold), measured))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `{success, score, details}`: the seed's evaluation of the current step (read only).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn evaluate_canary(migration_name: &str) -> PgResult<JsonB> {
    let r = load(migration_name, false)?;
    let (ev, measured) = score(&r, false)?;
    Ok(JsonB(json!({
        "success": ev.success,
        "score": round3(ev.score),
        "details": ev.details,
        "threshold": r.config.success_threshold,
        "percentage": r.percentage,
        "step": r.step,
        "status": r.status,
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

pub(crate) fn advance(name: &str) -> MeResult<Value> {
    let r = load(name, true)?;
    if r.status != "RUNNING" {
        return Ok(
            json!({"success": false, "status": r.status, "percentage": r.percentage, "decision": "NONE",
            "message": format!("the canary is {}: nothing to advance", r.status)}),
        );
    }
    let row = catalog::load(name, false)?;
    let transforms = bluegreen::transforms_of(&row);
    let replayed = bluegreen::sync(&r.old_schema, &r.new_schema, &transforms)?;
    let (ev, _) = score(&r, true)?;
    let evaluation =
        json!({"success": ev.success, "score": round3(ev.score), "details": ev.details.clone()});
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET last_score = $2, last_evaluation = $3 WHERE migration_id = $1",
        &[r.id.into(), ev.score.into(), JsonB(evaluation.clone()).into()],
    )?;
    let current = r.percentage.clamp(0, 100) as u8;
    let decision = match r.config.next_step(current, &ev, r.elapsed_minutes) {
        CanaryDecision::Advance(100) => CanaryDecision::Finalize,
        d => d,
    };
    let (decision_name, status, pct, reason) = match decision {
        CanaryDecision::Advance(p) => {
            set_percentage(&r, i32::from(p), "metrics passed")?;
            ("ADVANCE", "RUNNING", i32::from(p), None)
        }
        CanaryDecision::Finalize => {
            if r.percentage < 100 {
                set_percentage(&r, 100, "metrics passed: finalize")?;
            }
            let switched = bluegreen::finalize(&r.old_schema, &r.new_schema, r.id, &transforms)?;
            finish(
                &r,
                &row,
                "COMPLETED",
                MigrationStatus::Completed,
                None,
                json!({"switch": switched}),
            )?;
            ("FINALIZE", "COMPLETED", 100, None)
        }
        CanaryDecision::Rollback { reason } => {
            roll_back(&r, &row, "ROLLED_BACK", reason.code())?;
            ("ROLLBACK", "ROLLED_BACK", 0, Some(reason.code()))
        }
        CanaryDecision::Pause { reason } => {
            Spi::run_with_args(
                "UPDATE migration_engine.canary_rollouts SET status = 'PAUSED', reason = $2 WHERE migration_id = $1",
                &[r.id.into(), reason.code().into()],
            )?;
            audit(
                "canary_paused",
                "migration",
                &r.name,
                json!({"reason": reason.code()}),
            )?;
            ("PAUSE", "PAUSED", r.percentage, Some(reason.code()))
        }
    };
    Ok(json!({
        "success": ev.success,
        "score": round3(ev.score),
        "details": ev.details,
        "decision": decision_name,
        "status": status,
        "percentage": pct,
        "previous_percentage": r.percentage,
        "reason": reason,
        "replayed": replayed,
    }))
}

/// Everyone back on the old version: percentage 0, the sync stopped, the new version's
/// schema kept for inspection, the migration ROLLED_BACK.
fn roll_back(r: &Rollout, row: &catalog::MigrationRow, status: &str, reason: &str) -> MeResult<()> {
    if r.percentage != 0 {
        set_percentage(r, 0, reason)?;
    }
    bluegreen::stop_sync(&r.old_schema)?;
    finish(
        r,
        row,
        status,
        MigrationStatus::RolledBack,
        Some(reason),
        json!({"kept_schema": r.new_schema}),
    )
}

fn finish(
    r: &Rollout,
    row: &catalog::MigrationRow,
    status: &str,
    migration: MigrationStatus,
    reason: Option<&str>,
    detail: Value,
) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET status = $2, reason = coalesce($3, reason), finished_at = clock_timestamp() \
         WHERE migration_id = $1",
        &[r.id.into(), status.into(), reason.into()],
    )?;
    let running = catalog::MigrationRow {
        status: MigrationStatus::Running,
        ..crate::engine::clone_row(row)
    };
    catalog::set_status(&running, migration, "canary", reason, detail.clone())?;
    audit(
        &format!("canary_{}", status.to_lowercase()),
        "migration",
        &r.name,
        detail,
    )
}

/// Stop the automatic advance; routing stays as it is.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn pause_canary(migration_name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(migration_name);
    let r = load(migration_name, true)?;
    require_live(&r)?;
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET status = 'PAUSED', reason = 'paused by hand' WHERE migration_id = $1",
        &[r.id.into()],
    )
    .map_err(MeError::from)?;
    audit(
        "canary_paused",
        "migration",
        &r.name,
        json!({"reason": "by hand"}),
    )?;
    Ok(JsonB(
        json!({"migration_name": r.name, "status": "PAUSED", "percentage": r.percentage}),
    ))
}

/// Go on advancing; the current step's stabilization starts again.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn resume_canary(migration_name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(migration_name);
    let r = load(migration_name, true)?;
    require_live(&r)?;
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET status = 'RUNNING', reason = NULL, step_started_at = clock_timestamp() \
         WHERE migration_id = $1",
        &[r.id.into()],
    )
    .map_err(MeError::from)?;
    audit("canary_resumed", "migration", &r.name, json!({}))?;
    let worker = if r.status == "PAUSED" {
        worker::start(r.id)
    } else {
        None
    };
    if let Some(pid) = worker {
        Spi::run_with_args(
            "UPDATE migration_engine.canary_rollouts SET worker_pid = $2, worker_role = current_user WHERE migration_id = $1",
            &[r.id.into(), pid.into()],
        )
        .map_err(MeError::from)?;
    }
    Ok(JsonB(
        json!({"migration_name": r.name, "status": "RUNNING", "percentage": r.percentage, "worker_pid": worker}),
    ))
}

/// Stop the canary now: everyone back on the old version, the migration ROLLED_BACK.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn abort_canary(migration_name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(migration_name);
    Ok(JsonB(crate::spi::quietly(|| {
        let r = load(migration_name, true)?;
        require_live(&r)?;
        let row = catalog::load(migration_name, false)?;
        roll_back(&r, &row, "ABORTED", "CANARY_ABORTED")?;
        Ok(
            json!({"migration_name": r.name, "status": "ABORTED", "percentage": 0, "kept_schema": r.new_schema}),
        )
    })?))
}

/// What the worker should do next.
pub(crate) enum Tick {
    /// The canary's row is not visible yet (start_canary has not committed).
    NotYet,
    /// Tick again after this many milliseconds.
    Wait(u64),
    /// The canary is over.
    Done,
}

/// One tick of the worker: keep the new version in sync, and advance when the step has
/// stabilized.
pub(crate) fn tick(id: Uuid) -> MeResult<Tick> {
    let found = first_value::<JsonB>(
        "SELECT jsonb_build_array(migration_name, status) FROM migration_engine.canary_rollouts WHERE migration_id = $1",
        &[id.into()],
    )?
    .map(|j| j.0);
    let Some(found) = found else {
        return Ok(Tick::NotYet);
    };
    let name = found[0].as_str().unwrap_or_default().to_string();
    match found[1].as_str() {
        Some("RUNNING") => {}
        Some("PAUSED") => return Ok(Tick::Wait(1000)),
        _ => return Ok(Tick::Done),
    }
    let r = load(&name, false)?;
    let wait = (u64::from(r.config.stabilization_seconds.max(1)) * 1000).min(1000);
    if r.step_age_seconds >= f64::from(r.config.stabilization_seconds) {
        let v = advance(&name)?;
        return Ok(if v["status"] == json!("RUNNING") {
            Tick::Wait(wait)
        } else {
            Tick::Done
        });
    }
    let row = catalog::load(&name, false)?;
    bluegreen::sync(
        &r.old_schema,
        &r.new_schema,
        &bluegreen::transforms_of(&row),
    )?;
    Ok(Tick::Wait(wait))
}
