//! One batch of a run: lock the run's row, take its compiled statement, bind the keyset
//! bounds, run it under the error policy (FAIL / RETRY with backoff / SKIP item by item
//! into the dead-letter table), record the progress; AGGREGATE steps once the last
//! batch is done.
use super::aggregate::run_aggregates;
use super::compiled::for_run;
use super::dead_letters::skip_items;
use super::execution::{error_text, run_statement, Bounds};
use super::outcome::RunStatus;
use super::statement::Mode;
use crate::errors::{MeError, MeResult};
use crate::spi::first_value;
use crate::spi::subxact::atomically;
use migration_engine_core::pipeline::OnError;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::time::Instant;

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
    let row = crate::spi::first_row(
        "SELECT status, last_entity_id, batch_sql_hash, error FROM migration_engine.pipeline_runs \
             WHERE run_id = $1 FOR UPDATE",
        &[run_id.into()],
        |r| {
            Ok((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<Uuid>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
            ))
        },
    )?
    .ok_or_else(|| MeError::undefined_object(format!("pipeline run {run_id} does not exist")))?;
    let (status, last, hash, error) = row;
    Ok(Locked {
        status: super::outcome::run_status(&status)?,
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
                "UPDATE migration_engine.pipeline_runs SET status = $3, error = $2, finished_at = clock_timestamp() WHERE run_id = $1",
                &[run_id.into(), error.as_str().into(), RunStatus::Failed.as_str().into()],
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
                    "UPDATE migration_engine.pipeline_runs SET status = $2, finished_at = clock_timestamp() WHERE run_id = $1",
                    &[run_id.into(), RunStatus::Completed.as_str().into()],
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
