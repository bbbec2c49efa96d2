//! One batch of a run: lock the run's row, take its compiled statement, bind the keyset
//! bounds, run it under the error policy (FAIL / RETRY with backoff / SKIP item by item
//! into the dead-letter table), record the progress; AGGREGATE steps once the last
//! batch is done.
use super::aggregate::run_aggregates;
use super::compiled::{for_run, Compiled};
use super::dead_letters::skip_items;
use super::outcome::RunStatus;
use super::statement::Mode;
use crate::errors::{MeError, MeResult};
use crate::spi::first_value;
use crate::spi::subxact::{atomically, Aborted};
use migration_engine_core::pipeline::OnError;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::time::Instant;

/// What a batch binds to its run's statement ($2, $3, $5): the only part that changes
/// from one batch to the next.
pub struct Bounds {
    /// the last entity of the previous batch (None: from the start)
    pub after: Option<Uuid>,
    pub limit: i64,
    /// only this entity (the item-by-item runs of SKIP and replay)
    pub only: Option<Uuid>,
}

impl Bounds {
    /// One item, by its id.
    pub fn item(id: Uuid) -> Self {
        Bounds {
            after: None,
            limit: 1,
            only: Some(id),
        }
    }
}

pub struct BatchOutcome {
    pub last: Option<Uuid>,
    /// items the batch selected (a batch smaller than the batch size is the last one)
    pub selected: i64,
    /// [min, max] version_id of the rows the batch wrote (history undo finds them by it)
    pub written_range: Value,
    pub counts: Vec<i64>,
    pub changed: i64,
    pub written: i64,
}

/// The run's statement with `b` bound; its validation refusals as errors.
pub fn run_statement(c: &Compiled, run_id: Uuid, b: &Bounds) -> MeResult<BatchOutcome> {
    let args = [
        c.pipeline.source.entity_type.as_str().into(),
        b.after.into(),
        b.limit.into(),
        run_id.into(),
        b.only.into(),
    ];
    let (last, counts, changed, written, inbad, outbad, range) = Spi::connect_mut(|client| {
        let t = client.update(&c.sql, Some(1), &args)?;
        let r = t.first();
        Ok::<_, pgrx::spi::Error>((
            r.get::<Uuid>(1)?,
            r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
            r.get::<i64>(3)?.unwrap_or(0),
            r.get::<i64>(4)?.unwrap_or(0),
            r.get::<Vec<String>>(5)?,
            r.get::<Vec<String>>(6)?,
            r.get::<JsonB>(7)?.map(|j| j.0).unwrap_or(Value::Null),
        ))
    })?;
    if let Some(ids) = inbad {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!(
                "validation.input does not hold for entities {}",
                ids.join(", ")
            ),
        ));
    }
    if let Some(ids) = outbad {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!(
                "validation.output does not hold for entities {}",
                ids.join(", ")
            ),
        ));
    }
    let counts: Vec<i64> = counts
        .as_array()
        .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(0)).collect())
        .unwrap_or_default();
    Ok(BatchOutcome {
        last,
        selected: counts.first().copied().unwrap_or(0),
        written_range: range,
        counts,
        changed,
        written,
    })
}

pub fn error_text(e: Aborted<MeError>) -> (String, String) {
    match e {
        Aborted::Raised(c) => (c.message.clone(), c.sqlstate()),
        Aborted::Returned(m) => (
            m.message.clone(),
            crate::spi::subxact::sqlstate_text(m.code),
        ),
    }
}

/// Where a run stands after `batch`: what the loops over it need.
pub struct Progress {
    pub status: RunStatus,
    pub finished: bool,
    /// why it FAILED
    pub error: Option<String>,
}

/// The run's row, locked for this batch: batches of one run never overlap.
struct Locked {
    status: RunStatus,
    last: Option<Uuid>,
    hash: Option<String>,
    error: Option<String>,
}

fn lock(run_id: Uuid) -> MeResult<Locked> {
    let row = Spi::connect_mut(|c| {
        let t = c.update(
            "SELECT status, last_entity_id, batch_sql_hash, error FROM migration_engine.pipeline_runs \
             WHERE run_id = $1 FOR UPDATE",
            Some(1),
            &[run_id.into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let r = t.first();
        Ok::<_, pgrx::spi::Error>(Some((
            r.get::<String>(1)?.unwrap_or_default(),
            r.get::<Uuid>(2)?,
            r.get::<String>(3)?,
            r.get::<String>(4)?,
        )))
    })?
    .ok_or_else(|| MeError::undefined_object(format!("pipeline run {run_id} does not exist")))?;
    let (status, last, hash, error) = row;
    Ok(Locked {
        status: RunStatus::from_db(&status)?,
        last,
        hash,
        error,
    })
}

/// Run the next batch of `run_id` and record its progress.
pub fn batch(run_id: Uuid) -> MeResult<Progress> {
    let run = lock(run_id)?;
    if run.status != RunStatus::Running {
        return Ok(Progress {
            status: run.status,
            finished: true,
            error: run.error,
        });
    }
    let c = for_run(run_id, run.hash.as_deref())?;
    // history mode closes versions and inserts the next (allowed as it is); patch mode
    // rewrites current versions in place, which history protection stands aside for
    let _rewriting = (c.mode == Mode::Patch).then(crate::graph::history::RewritingHistory::enter);
    let bounds = Bounds {
        after: run.last,
        limit: c.batch_size as i64,
        only: None,
    };
    let clock = Instant::now();
    let mut attempt = 0;
    let outcome = loop {
        match atomically(|| run_statement(&c, run_id, &bounds)) {
            Ok(o) => break Ok((o, 0)),
            Err(e) => match c.policy {
                OnError::Retry { times } if attempt < times => {
                    attempt += 1;
                    // back off: 50 ms, 100 ms, 200 ms, ... (transient errors: locks, serialization)
                    Spi::run_with_args(
                        "SELECT pg_sleep($1)",
                        &[(0.05 * 2f64.powi(attempt as i32 - 1)).into()],
                    )?;
                }
                OnError::Fail => break Err(error_text(e)),
                _ => {
                    break skip_items(&c, run_id, &bounds).map_err(|m| (m.message, "XX000".into()))
                }
            },
        }
    };
    let ms = clock.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Err((message, sqlstate)) => {
            let error = format!("{message} (SQLSTATE {sqlstate})");
            Spi::run_with_args(
                "UPDATE migration_engine.pipeline_runs SET status = 'FAILED', error = $2, finished_at = clock_timestamp() WHERE run_id = $1",
                &[run_id.into(), error.as_str().into()],
            )?;
            Ok(Progress {
                status: RunStatus::Failed,
                finished: true,
                error: Some(error),
            })
        }
        Ok((o, failed)) => {
            let rows = o.counts.first().copied().unwrap_or(0);
            let finished = o.last.is_none() || o.selected < bounds.limit;
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
                    o.last.into(),
                    rows.into(),
                    o.written.into(),
                    failed.into(),
                    ms.into(),
                    JsonB(json!(o.counts.iter().enumerate().map(|(i, c)| (i.to_string(), *c)).collect::<std::collections::BTreeMap<_, _>>())).into(),
                    JsonB(o.written_range.clone()).into(),
                ],
            )?;
            if finished {
                run_aggregates(&c.pipeline, &c.schema)?;
                Spi::run_with_args(
                    "UPDATE migration_engine.pipeline_runs SET status = 'COMPLETED', finished_at = clock_timestamp() WHERE run_id = $1",
                    &[run_id.into()],
                )?;
            }
            Ok(Progress {
                status: if finished {
                    RunStatus::Completed
                } else {
                    RunStatus::Running
                },
                finished,
                error: None,
            })
        }
    }
}

/// The run as pipeline_batch reports it to CALL run_pipeline (its NOTICEs, its loop).
pub fn state(run_id: Uuid, finished: bool) -> MeResult<Value> {
    let mut v = first_value::<JsonB>(
        "SELECT to_jsonb(p) || jsonb_build_object('step_counts', r.step_counts, 'definition', r.definition) \
         FROM migration_engine.pipeline_progress p JOIN migration_engine.pipeline_runs r USING (run_id) WHERE run_id = $1",
        &[run_id.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({}));
    v["finished"] = json!(finished);
    Ok(v)
}
