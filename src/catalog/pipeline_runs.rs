//! pipeline_runs, pipeline_batches and pipeline_dead_letters: a pipeline run's row, its
//! batches and the items it could not write, read typed and changed only through here.
//! The status is the core's `PipelineRunStatus`; a change it calls illegal (a completed
//! run failing, an undone run undone again) is refused, not written.
//!
//! Two statements of the pipeline layer read these tables inside data statements, on
//! purpose: the compiled batch statement (it writes step records as it writes versions)
//! and the history-mode undo (it joins the batches' version ranges to the data). They
//! are set-based over the data and stay where the data statement is built.
use super::MigrationId;
use super::PipelineRunId;
use crate::errors::{MeError, MeResult};
use crate::spi::{all_rows, first_row, first_value};
use migration_engine_core::engine::state::PipelineRunStatus;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// One pipeline_runs row: what a batch, a resume, an undo or a replay needs of it.
#[derive(Clone)]
pub struct PipelineRun {
    pub run_id: PipelineRunId,
    pub name: String,
    pub definition: Value,
    pub options: Value,
    /// "history" or "patch" (the table's CHECK)
    pub mode: String,
    pub data_schema: String,
    pub entity_type: String,
    pub status: PipelineRunStatus,
    pub error: Option<String>,
    /// the keyset position: the last entity a batch read
    pub last_entity_id: Option<Uuid>,
    /// the compiled batch statement and its SHA-256 (NULL for a run begun before 0.2.0)
    pub batch_sql: Option<String>,
    pub batch_sql_hash: Option<String>,
}

fn run_status(text: &str) -> MeResult<PipelineRunStatus> {
    PipelineRunStatus::parse(text)
        .ok_or_else(|| MeError::internal(format!("unknown pipeline run status {text:?}")))
}

fn no_run(run_id: PipelineRunId) -> MeError {
    MeError::undefined_object(format!("pipeline run {run_id} does not exist"))
        .hint("See migration_engine.pipeline_progress for the runs there are.")
}

/// The run `run_id`, its row locked (FOR UPDATE) when `lock` is set: batches of one run
/// never overlap, and an undo or replay waits for the batch in flight.
pub fn load_pipeline_run(run_id: PipelineRunId, lock: bool) -> MeResult<PipelineRun> {
    let sql = format!(
        "SELECT pipeline_name, definition, options, mode, data_schema, entity_type, status, error, \
                last_entity_id, batch_sql, batch_sql_hash \
         FROM migration_engine.pipeline_runs WHERE run_id = $1 {}",
        if lock { "FOR UPDATE" } else { "" }
    );
    let row = first_row(&sql, &[run_id.into()], |r| {
        Ok((
            [
                r.get::<String>(1)?,
                r.get::<String>(4)?,
                r.get::<String>(5)?,
            ],
            [r.get::<JsonB>(2)?, r.get::<JsonB>(3)?],
            r.get::<String>(6)?,
            r.get::<String>(7)?,
            r.get::<String>(8)?,
            r.get::<Uuid>(9)?,
            [r.get::<String>(10)?, r.get::<String>(11)?],
        ))
    })?
    .ok_or_else(|| no_run(run_id))?;
    let (
        [Some(name), Some(mode), Some(data_schema)],
        [Some(JsonB(definition)), Some(JsonB(options))],
        Some(entity_type),
        Some(status),
        error,
        last_entity_id,
        [batch_sql, batch_sql_hash],
    ) = row
    else {
        return Err(MeError::internal(format!(
            "the row of pipeline run {run_id} is incomplete"
        )));
    };
    Ok(PipelineRun {
        run_id,
        name,
        definition,
        options,
        mode,
        data_schema,
        entity_type,
        status: run_status(&status)?,
        error,
        last_entity_id,
        batch_sql,
        batch_sql_hash,
    })
}

/// A run that begins: its row, RUNNING.
pub struct NewPipelineRun<'a> {
    pub name: &'a str,
    pub definition: &'a Value,
    pub options: &'a Value,
    pub mode: &'a str,
    pub data_schema: &'a str,
    pub entity_type: &'a str,
    /// the rows it will read, for progress and ETA
    pub total_rows: Option<i64>,
    pub migration_id: Option<MigrationId>,
    pub batch_sql: &'a str,
    pub batch_sql_hash: &'a str,
}

pub fn insert_pipeline_run(run: &NewPipelineRun<'_>) -> MeResult<PipelineRunId> {
    first_value::<PipelineRunId>(
        "INSERT INTO migration_engine.pipeline_runs (pipeline_name, definition, options, mode, data_schema, entity_type, total_rows, \
           migration_id, batch_sql, batch_sql_hash, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING run_id",
        &[
            run.name.into(),
            JsonB(run.definition.clone()).into(),
            JsonB(run.options.clone()).into(),
            run.mode.into(),
            run.data_schema.into(),
            run.entity_type.into(),
            run.total_rows.into(),
            run.migration_id.into(),
            run.batch_sql.into(),
            run.batch_sql_hash.into(),
            PipelineRunStatus::Running.as_str().into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("the pipeline run's INSERT returned no run id"))
}

/// A run that failed before its first batch could be kept (FAIL rolled everything
/// back): its row, FAILED, so the failure is on record.
pub struct FailedPipelineRun<'a> {
    pub name: &'a str,
    pub definition: &'a Value,
    pub options: &'a Value,
    pub data_schema: &'a str,
    pub entity_type: &'a str,
    pub error: &'a str,
    pub migration_id: Option<MigrationId>,
}

pub fn insert_failed_pipeline_run(run: &FailedPipelineRun<'_>) -> MeResult<()> {
    Spi::run_with_args(
        "INSERT INTO migration_engine.pipeline_runs (pipeline_name, definition, options, mode, data_schema, entity_type, status, error, finished_at, migration_id) \
         VALUES ($1, $2, $3, CASE WHEN $3->>'mode' = 'patch' THEN 'patch' ELSE 'history' END, $4, $5, $8, $6, clock_timestamp(), $7)",
        &[
            run.name.into(),
            JsonB(run.definition.clone()).into(),
            JsonB(run.options.clone()).into(),
            run.data_schema.into(),
            run.entity_type.into(),
            run.error.into(),
            run.migration_id.into(),
            PipelineRunStatus::Failed.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Moves `run` to `to`. `error` replaces the row's error when given; a resume
/// (RUNNING) clears it, any other change keeps it (an undone failed run still says why
/// it failed). Ended statuses stamp `finished_at`, RUNNING clears it.
pub fn transition_pipeline_run(
    run: &PipelineRun,
    to: PipelineRunStatus,
    error: Option<&str>,
) -> MeResult<()> {
    if !run.status.can_transition(to) {
        return Err(MeError::prerequisite(format!(
            "pipeline run {} is {}: it cannot become {}",
            run.run_id,
            run.status.as_str(),
            to.as_str()
        )));
    }
    Spi::run_with_args(
        "UPDATE migration_engine.pipeline_runs SET status = $2, \
           error = coalesce($3, CASE WHEN $2 = $4 THEN NULL ELSE error END), \
           finished_at = CASE WHEN $2 = $4 THEN NULL ELSE clock_timestamp() END \
         WHERE run_id = $1",
        &[
            run.run_id.into(),
            to.as_str().into(),
            error.into(),
            PipelineRunStatus::Running.as_str().into(),
        ],
    )?;
    Ok(())
}

/// What one batch did, added to its run's totals and kept as a pipeline_batches row.
pub struct BatchRecord<'a> {
    /// the keyset position after it (None: it read nothing, the position stays)
    pub last_entity_id: Option<Uuid>,
    pub rows: i64,
    pub changed: i64,
    pub failed: i64,
    pub duration_ms: f64,
    /// items selected ("0") and after each step ("k"), added to the run's step_counts
    pub step_counts: &'a [i64],
    /// [min, max] version_id it wrote (history mode), for the undo
    pub written_range: &'a Value,
}

pub fn record_pipeline_batch(run_id: PipelineRunId, b: &BatchRecord<'_>) -> MeResult<()> {
    let counts: serde_json::Map<String, Value> = b
        .step_counts
        .iter()
        .enumerate()
        .map(|(i, c)| (i.to_string(), json!(c)))
        .collect();
    Spi::run_with_args(
        "WITH b AS (INSERT INTO migration_engine.pipeline_batches (run_id, batch_no, written_at, rows, changed, duration_ms, \
             min_version_id, max_version_id) \
           SELECT $1, batches + 1, now(), $3, $4, $6, ($8::jsonb ->> 0)::bigint, ($8::jsonb ->> 1)::bigint \
           FROM migration_engine.pipeline_runs WHERE run_id = $1 RETURNING 1) \
         UPDATE migration_engine.pipeline_runs SET last_entity_id = coalesce($2, last_entity_id), \
           rows_done = rows_done + $3 + $5, rows_changed = rows_changed + $4, rows_failed = rows_failed + $5, \
           batches = batches + 1, longest_batch_ms = greatest(longest_batch_ms, $6), \
           step_counts = coalesce((SELECT jsonb_object_agg(k, coalesce((step_counts ->> k)::bigint, 0) + coalesce(($7::jsonb ->> k)::bigint, 0)) \
                          FROM jsonb_object_keys(step_counts || $7::jsonb) k), '{}') \
         WHERE run_id = $1",
        &[
            run_id.into(),
            b.last_entity_id.into(),
            b.rows.into(),
            b.changed.into(),
            b.failed.into(),
            b.duration_ms.into(),
            JsonB(Value::Object(counts)).into(),
            JsonB(b.written_range.clone()).into(),
        ],
    )?;
    Ok(())
}

/// A replay's run ends with its own totals (it wrote item by item, not in batches).
pub fn complete_replay_run(run_id: PipelineRunId, replayed: i64, failed: i64) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.pipeline_runs SET status = $4, finished_at = clock_timestamp(), \
           rows_done = $2, rows_changed = $2, rows_failed = $3 WHERE run_id = $1 AND status = $5",
        &[
            run_id.into(),
            replayed.into(),
            failed.into(),
            PipelineRunStatus::Completed.as_str().into(),
            PipelineRunStatus::Running.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Reopens a FAILED run for CALL run_pipeline's resume; any other run is left as it is
/// (the first batch then reports its status).
pub fn reopen_failed_pipeline_run(run_id: PipelineRunId) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.pipeline_runs SET status = $2, error = NULL, finished_at = NULL WHERE run_id = $1 AND status = $3",
        &[
            run_id.into(),
            PipelineRunStatus::Running.as_str().into(),
            PipelineRunStatus::Failed.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Keeps the statement compiled for a run begun before 0.2.0, which had none.
pub fn store_batch_sql(run_id: PipelineRunId, sql: &str, hash: &str) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.pipeline_runs SET batch_sql = $2, batch_sql_hash = $3 \
         WHERE run_id = $1 AND batch_sql IS NULL",
        &[run_id.into(), sql.into(), hash.into()],
    )?;
    Ok(())
}

/// The run as pipeline_progress shows it, with its step counts and definition: what
/// pipeline_batch returns to CALL run_pipeline.
pub fn pipeline_run_state(run_id: PipelineRunId) -> MeResult<Value> {
    Ok(first_value::<JsonB>(
        "SELECT to_jsonb(p) || jsonb_build_object('step_counts', r.step_counts, 'definition', r.definition) \
         FROM migration_engine.pipeline_progress p JOIN migration_engine.pipeline_runs r USING (run_id) WHERE run_id = $1",
        &[run_id.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({})))
}

/// A run's totals as it ended (pipeline_progress's reading of its row).
pub struct PipelineRunTotals {
    pub status: PipelineRunStatus,
    pub rows_per_second: Option<i64>,
    pub rows_read: i64,
    pub rows_changed: i64,
    pub rows_failed: i64,
    pub batches: i64,
    pub longest_batch_ms: f64,
    pub error: Option<String>,
    /// {"0": items selected, "k": items after step k}
    pub step_counts: Value,
}

pub fn pipeline_run_totals(run_id: PipelineRunId) -> MeResult<PipelineRunTotals> {
    let row = first_row(
        "SELECT p.status, p.rows_per_second::bigint, p.rows_done, p.rows_changed, p.rows_failed, p.batches::bigint, \
                p.longest_batch_ms, p.error, r.step_counts \
         FROM migration_engine.pipeline_progress p JOIN migration_engine.pipeline_runs r USING (run_id) WHERE run_id = $1",
        &[run_id.into()],
        |r| {
            Ok((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<i64>(2)?,
                [3, 4, 5, 6].map(|i| r.get::<i64>(i)),
                r.get::<f64>(7)?.unwrap_or(0.0),
                r.get::<String>(8)?,
                r.get::<JsonB>(9)?.map(|j| j.0).unwrap_or(Value::Null),
            ))
        },
    )?
    .ok_or_else(|| no_run(run_id))?;
    let (status, rows_per_second, totals, longest_batch_ms, error, step_counts) = row;
    let mut n = [0i64; 4];
    for (slot, value) in n.iter_mut().zip(totals) {
        *slot = value?.unwrap_or(0);
    }
    let [rows_read, rows_changed, rows_failed, batches] = n;
    Ok(PipelineRunTotals {
        status: run_status(&status)?,
        rows_per_second,
        rows_read,
        rows_changed,
        rows_failed,
        batches,
        longest_batch_ms,
        error,
        step_counts,
    })
}

/// The COMPLETED runs a migration's TRANSFORM steps made, newest first.
pub fn completed_runs_of_migration(migration_id: MigrationId) -> MeResult<Vec<PipelineRunId>> {
    let ids = all_rows(
        "SELECT run_id FROM migration_engine.pipeline_runs WHERE migration_id = $1 AND status = $2 ORDER BY started_at DESC",
        &[
            migration_id.into(),
            PipelineRunStatus::Completed.as_str().into(),
        ],
        |r| r.get::<PipelineRunId>(1),
    )?;
    Ok(ids.into_iter().flatten().collect())
}

/// An item a run could not write (SKIP), with the step that fails on it.
pub struct NewDeadLetter<'a> {
    pub run_id: PipelineRunId,
    pub pipeline_name: &'a str,
    pub step_name: Option<String>,
    pub entity_id: Uuid,
    pub version_id: Option<i64>,
    pub error: &'a str,
    pub sqlstate: &'a str,
    pub original_content: Value,
}

pub fn insert_dead_letter(d: NewDeadLetter<'_>) -> MeResult<()> {
    Spi::run_with_args(
        "INSERT INTO migration_engine.pipeline_dead_letters \
           (run_id, pipeline_name, step_name, entity_id, version_id, error, sqlstate, original_content) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            d.run_id.into(),
            d.pipeline_name.into(),
            d.step_name.into(),
            d.entity_id.into(),
            d.version_id.into(),
            d.error.into(),
            d.sqlstate.into(),
            JsonB(d.original_content).into(),
        ],
    )?;
    Ok(())
}

/// One dead letter as execute_pipeline's `errors_sample` shows it.
pub struct DeadLetter {
    pub dead_letter_id: i64,
    pub entity_id: Uuid,
    pub step_name: Option<String>,
    pub error: String,
    pub sqlstate: Option<String>,
}

/// A run's dead letters in the order they were written: the first `limit` of all of
/// them, or (`open_only`) those not replayed yet.
pub fn dead_letters(
    run_id: PipelineRunId,
    open_only: bool,
    limit: Option<i64>,
) -> MeResult<Vec<DeadLetter>> {
    let rows = all_rows(
        "SELECT dead_letter_id, entity_id, step_name, error, sqlstate FROM migration_engine.pipeline_dead_letters \
         WHERE run_id = $1 AND (NOT $2 OR replayed_at IS NULL) ORDER BY dead_letter_id LIMIT $3",
        &[run_id.into(), open_only.into(), limit.into()],
        |r| {
            Ok((
                r.get::<i64>(1)?,
                r.get::<Uuid>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
                r.get::<String>(5)?,
            ))
        },
    )?;
    rows.into_iter()
        .map(
            |(id, entity, step_name, error, sqlstate)| match (id, entity) {
                (Some(dead_letter_id), Some(entity_id)) => Ok(DeadLetter {
                    dead_letter_id,
                    entity_id,
                    step_name,
                    error: error.unwrap_or_default(),
                    sqlstate,
                }),
                _ => Err(MeError::internal(format!(
                    "a dead letter of pipeline run {run_id} has no id or entity"
                ))),
            },
        )
        .collect()
}

pub fn mark_dead_letter_replayed(dead_letter_id: i64) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.pipeline_dead_letters SET replayed_at = clock_timestamp() WHERE dead_letter_id = $1",
        &[dead_letter_id.into()],
    )?;
    Ok(())
}
