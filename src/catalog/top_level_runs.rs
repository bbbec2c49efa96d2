//! top_level_runs: one row per attempt at a top-level step (a statement that cannot run
//! in a transaction block, run by the runner's worker), read typed and changed only
//! through here. Its status is the core's `AttemptStatus`; every change names the
//! status it leaves, so a second worker, or a late outcome, changes nothing.
use super::MigrationId;
use super::RunId;
use crate::errors::{MeError, MeResult};
use migration_engine_core::engine::state::AttemptStatus;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// The SQLSTATE of an attempt whose worker ended without an outcome (admin_shutdown).
pub const ATTEMPT_LOST: &str = "57P01";

/// One attempt at a top-level step, as top_level_runs holds it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: i64,
    pub status: AttemptStatus,
    pub worker_pid: Option<i32>,
    pub sqlstate: Option<String>,
    pub error: Option<String>,
    pub statements_done: i32,
    pub statements_total: Option<i32>,
    pub cleaned: Value,
    pub started_epoch: Option<f64>,
    pub finished_epoch: Option<f64>,
}

impl Attempt {
    pub fn is_over(&self) -> bool {
        self.status.is_over()
    }
}

const ATTEMPT_COLUMNS: &str =
    "attempt_id, status, worker_pid, sqlstate, error, statements_done, statements_total, \
     cleaned, extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8";

fn read_attempts(
    where_clause: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> MeResult<Option<Attempt>> {
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM migration_engine.top_level_runs WHERE {where_clause} \
         ORDER BY attempt_id DESC LIMIT 1"
    );
    Spi::connect(|client| {
        let mut out = None;
        for r in client.select(&sql, None, args)? {
            out = Some(Attempt {
                id: r.get::<i64>(1)?.unwrap_or_default(),
                // the table's CHECK admits only the four statuses
                status: r
                    .get::<String>(2)?
                    .and_then(|s| AttemptStatus::parse(&s))
                    .unwrap_or(AttemptStatus::Failed),
                worker_pid: r.get::<i32>(3)?,
                sqlstate: r.get::<String>(4)?,
                error: r.get::<String>(5)?,
                statements_done: r.get::<i32>(6)?.unwrap_or_default(),
                statements_total: r.get::<i32>(7)?,
                cleaned: r.get::<JsonB>(8)?.map(|j| j.0).unwrap_or(json!([])),
                started_epoch: r.get::<f64>(9)?,
                finished_epoch: r.get::<f64>(10)?,
            });
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .map_err(MeError::from)
}

pub fn attempt(id: i64) -> MeResult<Attempt> {
    read_attempts("attempt_id = $1", &[id.into()])?
        .ok_or_else(|| MeError::invalid_parameter(format!("no top-level attempt {id}")))
}

/// The latest attempt at step `number` of a run, if any.
pub fn latest_attempt(
    migration_id: MigrationId,
    run_id: RunId,
    number: i32,
) -> MeResult<Option<Attempt>> {
    read_attempts(
        "migration_id = $1 AND run_id = $2 AND step_number = $3",
        &[migration_id.into(), run_id.into(), number.into()],
    )
}

/// Mark an attempt whose worker is gone (or never started) FAILED, with why.
pub fn mark_attempt_lost(id: i64, why: &str) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.top_level_runs SET status = $4, sqlstate = $3, error = $2, \
                finished_at = clock_timestamp() WHERE attempt_id = $1 AND status IN ($5, $6)",
        &[
            id.into(),
            why.into(),
            ATTEMPT_LOST.into(),
            AttemptStatus::Failed.as_str().into(),
            AttemptStatus::Queued.as_str().into(),
            AttemptStatus::Running.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Queue an attempt (QUEUED); the caller commits it before starting the worker.
pub fn insert_attempt(
    migration_id: MigrationId,
    run_id: RunId,
    number: i32,
    step_name: &str,
    script: &str,
    settings: &Value,
) -> MeResult<i64> {
    Spi::get_one_with_args::<i64>(
        "INSERT INTO migration_engine.top_level_runs (migration_id, run_id, step_number, step_name, script, settings, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING attempt_id",
        &[
            migration_id.into(),
            run_id.into(),
            number.into(),
            step_name.into(),
            script.into(),
            JsonB(settings.clone()).into(),
            AttemptStatus::Queued.as_str().into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("the attempt's INSERT returned no attempt id"))
}

/// True when the attempt was queued by the role this session runs as: only that role
/// may start its worker (which logs in as the caller).
pub fn attempt_queued_by_current_user(id: i64) -> MeResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT run_as = current_user FROM migration_engine.top_level_runs WHERE attempt_id = $1",
        &[id.into()],
    )?
    .unwrap_or(false))
}

/// A queued attempt whose worker could not be started: FAILED with 53400.
pub fn fail_unstarted_attempt(id: i64) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.top_level_runs SET status = $2, sqlstate = '53400', \
                error = 'no background worker could be started (all max_worker_processes slots in use?)', \
                finished_at = clock_timestamp() WHERE attempt_id = $1 AND status = $3",
        &[
            id.into(),
            AttemptStatus::Failed.as_str().into(),
            AttemptStatus::Queued.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Nothing blocks the attempt's build (now): its blocked clock stops.
pub fn clear_attempt_blocked(id: i64) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.top_level_runs SET blocked_since = NULL WHERE attempt_id = $1",
        &[id.into()],
    )?;
    Ok(())
}

/// Records whom the build waits for (its blocked clock starts if it was stopped) and
/// returns the attempt's onBlocked policy ("cancel" / "terminate") once the blockers
/// have held it for its waitTimeout; None while it should still wait.
pub fn record_attempt_blockers(id: i64, blockers: &Value) -> MeResult<Option<String>> {
    Ok(Spi::get_one_with_args::<String>(
        "UPDATE migration_engine.top_level_runs SET waited_for = $2, blocked_since = coalesce(blocked_since, clock_timestamp()) \
         WHERE attempt_id = $1 \
         RETURNING CASE WHEN settings ->> 'on_blocked' IN ('cancel', 'terminate') \
                         AND clock_timestamp() - blocked_since >= make_interval(secs => (settings ->> 'wait_timeout_ms')::float8 / 1000) \
                   THEN settings ->> 'on_blocked' END",
        &[id.into(), JsonB(blockers.clone()).into()],
    )?)
}

/// What was done to the blockers, appended to the attempt's acted_on (with the time);
/// its blocked clock starts again.
pub fn record_attempt_action(id: i64, acted: &Value) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.top_level_runs SET blocked_since = NULL, \
           acted_on = acted_on || jsonb_build_array($2::jsonb || jsonb_build_object('at', clock_timestamp())) \
         WHERE attempt_id = $1",
        &[id.into(), JsonB(acted.clone()).into()],
    )?;
    Ok(())
}

/// The worker takes the attempt: QUEUED → RUNNING with its pid. The attempt's script
/// and settings, or None when it is not there or not queued (a second worker for one
/// attempt does nothing).
pub fn claim_attempt(id: i64) -> MeResult<Option<(String, Value)>> {
    crate::spi::first_row(
        "UPDATE migration_engine.top_level_runs \
         SET status = $2, worker_pid = pg_catalog.pg_backend_pid(), started_at = clock_timestamp() \
         WHERE attempt_id = $1 AND status = $3 RETURNING script, settings",
        &[
            id.into(),
            AttemptStatus::Running.as_str().into(),
            AttemptStatus::Queued.as_str().into(),
        ],
        |r| {
            Ok((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
            ))
        },
    )
}

/// How many statements the attempt's script has.
pub fn set_attempt_total(id: i64, total: i32) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.top_level_runs SET statements_total = $2 WHERE attempt_id = $1",
        &[id.into(), total.into()],
    )?;
    Ok(())
}

/// How many of them are done (committed by the worker, one by one).
pub fn set_attempt_done(id: i64, done: i32) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.top_level_runs SET statements_done = $2 WHERE attempt_id = $1",
        &[id.into(), done.into()],
    )?;
    Ok(())
}

/// The worker's outcome of a RUNNING attempt: COMPLETED, or FAILED with the SQLSTATE and
/// message of the statement that failed; the invalid indexes it dropped.
pub struct AttemptOutcome<'a> {
    pub status: AttemptStatus,
    pub statements_done: i32,
    pub sqlstate: Option<&'a str>,
    pub error: Option<&'a str>,
    pub cleaned: &'a [Value],
}

pub fn finish_attempt(id: i64, o: &AttemptOutcome<'_>) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.top_level_runs \
         SET status = $2, statements_done = $3, sqlstate = $4, error = $5, cleaned = $6, finished_at = clock_timestamp() \
         WHERE attempt_id = $1 AND status = $7",
        &[
            id.into(),
            o.status.as_str().into(),
            o.statements_done.into(),
            o.sqlstate.into(),
            o.error.into(),
            JsonB(json!(o.cleaned)).into(),
            AttemptStatus::Running.as_str().into(),
        ],
    )?;
    Ok(())
}
