//! canary_rollouts: one canary's row, read typed (by column, not by position) and
//! changed only through here. Its status is the core's `RolloutStatus`; a change the
//! core calls illegal (an ended rollout moving again) is refused, not written.
use super::MigrationId;
use crate::errors::{MeError, MeResult};
use crate::spi::{first_row, first_value};
use migration_engine_core::rollout::canary::{CanaryConfig, RolloutStatus};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// One canary_rollouts row, with the clock readings the decision needs.
#[derive(Clone)]
pub struct Rollout {
    /// canary_rollouts is keyed by its migration
    pub id: MigrationId,
    pub name: String,
    pub config: CanaryConfig,
    pub old_schema: String,
    pub new_schema: String,
    pub percentage: i32,
    pub status: RolloutStatus,
    pub step: i32,
    pub elapsed_minutes: f64,
    pub step_age_seconds: f64,
}

fn rollout_status(text: &str) -> MeResult<RolloutStatus> {
    RolloutStatus::parse(text)
        .ok_or_else(|| MeError::internal(format!("unknown canary status {text:?}")))
}

fn no_canary(name: &str) -> MeError {
    MeError::undefined_object(format!("no canary for migration {name:?}")).hint(
        "Start one with migration_engine.start_canary('{\"migrationName\": ...}'); see migration_engine.canary_status.",
    )
}

/// The rollout of migration `name`, its row locked (FOR UPDATE) when `lock` is set.
pub fn load_rollout(name: &str, lock: bool) -> MeResult<Rollout> {
    let sql = format!(
        "SELECT migration_id, config, old_schema, new_schema, percentage, status, step_number, \
                extract(epoch FROM clock_timestamp() - started_at)::float8 / 60, \
                extract(epoch FROM clock_timestamp() - step_started_at)::float8 \
         FROM migration_engine.canary_rollouts WHERE migration_name = $1 {}",
        if lock { "FOR UPDATE" } else { "" }
    );
    let found = first_row(&sql, &[name.into()], |r| {
        Ok((
            r.get::<MigrationId>(1)?,
            r.get::<JsonB>(2)?,
            r.get::<String>(3)?,
            r.get::<String>(4)?,
            r.get::<i32>(5)?,
            r.get::<String>(6)?,
            r.get::<i32>(7)?,
            r.get::<f64>(8)?,
            r.get::<f64>(9)?,
        ))
    })?
    .ok_or_else(|| no_canary(name))?;
    let (
        Some(id),
        Some(JsonB(config)),
        Some(old_schema),
        Some(new_schema),
        Some(percentage),
        Some(status),
        Some(step),
        elapsed,
        age,
    ) = found
    else {
        return Err(MeError::internal(format!(
            "the canary row of {name:?} is incomplete"
        )));
    };
    Ok(Rollout {
        id,
        name: name.to_string(),
        config: CanaryConfig::parse(&config).map_err(|e| MeError::internal(e.to_string()))?,
        old_schema,
        new_schema,
        percentage,
        status: rollout_status(&status)?,
        step,
        elapsed_minutes: elapsed.unwrap_or(0.0),
        step_age_seconds: age.unwrap_or(0.0),
    })
}

/// The status of migration `name`'s rollout, if it has one (a cheap read).
pub fn rollout_status_of(name: &str) -> MeResult<Option<RolloutStatus>> {
    first_value::<String>(
        "SELECT status FROM migration_engine.canary_rollouts WHERE migration_name = $1",
        &[name.into()],
    )?
    .map(|s| rollout_status(&s))
    .transpose()
}

/// (migration name, status) of rollout `id`, None while its row is not visible.
pub fn rollout_by_id(id: MigrationId) -> MeResult<Option<(String, RolloutStatus)>> {
    let found = first_row(
        "SELECT migration_name, status FROM migration_engine.canary_rollouts WHERE migration_id = $1",
        &[id.into()],
        |r| Ok((r.get::<String>(1)?, r.get::<String>(2)?)),
    )?;
    match found {
        Some((Some(name), Some(status))) => Ok(Some((name, rollout_status(&status)?))),
        _ => Ok(None),
    }
}

/// What `canary_route` needs: (old schema, new schema, percentage, status).
pub fn route_of(name: &str) -> MeResult<(String, String, i32, RolloutStatus)> {
    let found = first_row(
        "SELECT old_schema, new_schema, percentage, status FROM migration_engine.canary_rollouts WHERE migration_name = $1",
        &[name.into()],
        |r| Ok((r.get::<String>(1)?, r.get::<String>(2)?, r.get::<i32>(3)?, r.get::<String>(4)?)),
    )?;
    match found {
        Some((Some(old), Some(new), Some(pct), Some(status))) => {
            Ok((old, new, pct, rollout_status(&status)?))
        }
        _ => Err(MeError::undefined_object(format!(
            "no canary for migration {name:?}"
        ))),
    }
}

/// A new rollout of `name` at `percentage`, step 1, RUNNING (the table's default);
/// an earlier, ended rollout of the same migration gives way to it.
pub fn insert_rollout(
    id: MigrationId,
    name: &str,
    config: &Value,
    old_schema: &str,
    new_schema: &str,
    percentage: i32,
) -> MeResult<()> {
    // one row per migration: an ended canary's row and observations are kept in the
    // history before the new one takes its place (the DELETE cascades to its metrics).
    // The row is locked first: an observation recorded meanwhile (canary_metrics_writer
    // inserts directly) waits, then finds no row, instead of being deleted unarchived.
    Spi::run_with_args(
        "SELECT 1 FROM migration_engine.canary_rollouts WHERE migration_name = $1 FOR UPDATE",
        &[name.into()],
    )?;
    Spi::run_with_args(
        "INSERT INTO migration_engine.canary_rollout_history (migration_id, migration_name, rollout, metrics) \
         SELECT r.migration_id, r.migration_name, to_jsonb(r), \
                coalesce((SELECT jsonb_agg(to_jsonb(m) - 'migration_id' ORDER BY m.id) \
                          FROM migration_engine.canary_metrics m WHERE m.migration_id = r.migration_id), '[]') \
         FROM migration_engine.canary_rollouts r WHERE r.migration_name = $1",
        &[name.into()],
    )?;
    Spi::run_with_args(
        "DELETE FROM migration_engine.canary_rollouts WHERE migration_name = $1",
        &[name.into()],
    )?;
    Spi::run_with_args(
        "INSERT INTO migration_engine.canary_rollouts (migration_id, migration_name, config, old_schema, new_schema, percentage, step_number) \
         VALUES ($1, $2, $3, $4, $5, $6, 1)",
        &[id.into(), name.into(), JsonB(config.clone()).into(), old_schema.into(), new_schema.into(), percentage.into()],
    )?;
    Ok(())
}

/// Route `percentage` from now on as step `step`; the step's stabilization starts now.
pub fn set_rollout_percentage(id: MigrationId, percentage: i32, step: i32) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET percentage = $2, step_number = $3, step_started_at = clock_timestamp() \
         WHERE migration_id = $1",
        &[id.into(), percentage.into(), step.into()],
    )?;
    Ok(())
}

/// Remember the latest evaluation of the current step.
pub fn set_rollout_score(id: MigrationId, score: f64, evaluation: Value) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET last_score = $2, last_evaluation = $3 WHERE migration_id = $1",
        &[id.into(), score.into(), JsonB(evaluation).into()],
    )?;
    Ok(())
}

/// The worker now driving rollout `id`, and the role it runs as.
pub fn set_rollout_worker(id: MigrationId, pid: i32) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET worker_pid = $2, worker_role = current_user WHERE migration_id = $1",
        &[id.into(), pid.into()],
    )?;
    Ok(())
}

/// Move `rollout` to `to`, with `reason` (kept when None and the rollout pauses or
/// ends; cleared on resume). Ending stamps finished_at; resuming restarts the step's
/// stabilization clock.
pub fn transition_rollout(
    rollout: &Rollout,
    to: RolloutStatus,
    reason: Option<&str>,
) -> MeResult<()> {
    // a live rollout may be set to its own status again: resuming a running one
    // restarts the step's stabilization, pausing a paused one records the new reason
    let refresh = rollout.status == to && to.is_live();
    if !refresh && !rollout.status.can_transition(to) {
        return Err(MeError::prerequisite(format!(
            "the canary of {:?} is {}, it cannot become {to}",
            rollout.name, rollout.status
        ))
        .hint("Start a new canary with migration_engine.start_canary(config)."));
    }
    Spi::run_with_args(
        "UPDATE migration_engine.canary_rollouts SET status = $2, \
                reason = CASE WHEN $2 = 'RUNNING' THEN NULL ELSE coalesce($3, reason) END, \
                step_started_at = CASE WHEN $2 = 'RUNNING' THEN clock_timestamp() ELSE step_started_at END, \
                finished_at = CASE WHEN $4 THEN clock_timestamp() ELSE finished_at END \
         WHERE migration_id = $1",
        &[rollout.id.into(), to.as_str().into(), reason.into(), (!to.is_live()).into()],
    )?;
    Ok(())
}
