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
use crate::catalog::PipelineRunId;
use crate::catalog::{
    load_pipeline_run, pipeline_run_state, record_pipeline_batch, transition_pipeline_run,
    BatchRecord,
};
use crate::errors::MeResult;
use crate::spi::subxact::atomically;
use migration_engine_core::pipeline::OnError;
use pgrx::prelude::*;
use serde_json::{json, Value};
use std::time::Instant;

/// Where a run stands after `batch`: what the loops over it need.
pub struct Progress {
    pub status: RunStatus,
    pub finished: bool,
    /// why it FAILED
    pub error: Option<String>,
}

/// Run the next batch of `run_id` and record its progress.
pub fn batch(run_id: PipelineRunId) -> MeResult<Progress> {
    // locked for this batch: batches of one run never overlap
    let run = load_pipeline_run(run_id, true)?;
    if run.status != RunStatus::Running {
        return Ok(Progress {
            status: run.status,
            finished: true,
            error: run.error,
        });
    }
    let c = for_run(&run)?;
    // history mode closes versions and inserts the next (allowed as it is); patch mode
    // rewrites current versions in place, which history protection stands aside for
    let _rewriting = (c.mode == Mode::Patch).then(crate::graph::history::RewritingHistory::enter);
    let bounds = Bounds {
        after: run.last_entity_id,
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
            transition_pipeline_run(&run, RunStatus::Failed, Some(&error))?;
            Ok(Progress {
                status: RunStatus::Failed,
                finished: true,
                error: Some(error),
            })
        }
        Ok((o, failed)) => {
            let rows = o.counts.first().copied().unwrap_or(0);
            let finished = o.last.is_none() || o.selected < bounds.limit;
            record_pipeline_batch(
                run_id,
                &BatchRecord {
                    last_entity_id: o.last,
                    rows,
                    changed: o.written,
                    failed,
                    duration_ms: ms,
                    step_counts: &o.counts,
                    written_range: &o.written_range,
                },
            )?;
            if finished {
                run_aggregates(&c.pipeline, &c.schema)?;
                transition_pipeline_run(&run, RunStatus::Completed, None)?;
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
pub fn state(run_id: PipelineRunId, finished: bool) -> MeResult<Value> {
    let mut v = pipeline_run_state(run_id)?;
    v["finished"] = json!(finished);
    Ok(v)
}
