//! What a run of `execute` came to, typed. The TRANSFORM step reads its fields;
//! execute_pipeline turns it into its JSON result with `to_json`, the one place that
//! shape is written.
use super::dead_letters::{sample, DeadLetter};
use crate::errors::{MeError, MeResult};
use migration_engine_core::pipeline::Pipeline;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// `pipeline_runs.status`, the core's enum.
pub use migration_engine_core::engine::state::PipelineRunStatus as RunStatus;

/// A status read from `pipeline_runs`; anything else is a corrupt row.
pub fn run_status(s: &str) -> MeResult<RunStatus> {
    RunStatus::parse(s)
        .ok_or_else(|| MeError::internal(format!("unknown pipeline run status {s:?}")))
}

/// One step's line: the items it got and gave.
pub struct StepResult {
    pub name: String,
    pub step_type: &'static str,
    pub input_count: i64,
    pub output_count: i64,
    pub error_count: i64,
}

/// A run that finished and is kept.
pub struct Report {
    pub run_id: Uuid,
    pub status: RunStatus,
    pub rows_per_second: Option<i64>,
    pub rows_read: i64,
    pub rows_changed: i64,
    pub rows_failed: i64,
    pub batches: i64,
    pub longest_batch_ms: f64,
    /// the whole call's time, in ms
    pub duration_ms: f64,
    pub error: Option<String>,
    pub steps: Vec<StepResult>,
    pub errors_sample: Vec<DeadLetter>,
}

pub enum Outcome {
    /// The run finished; what it wrote stays (with the caller's transaction).
    Finished(Report),
    /// FAIL stopped the run: everything it did was rolled back (the failed run is
    /// recorded).
    RolledBack { error: Option<String> },
}

impl Report {
    /// The run `run_id` of `p` as it ended, `duration_ms` after it began.
    pub fn read(run_id: Uuid, p: &Pipeline, duration_ms: f64) -> MeResult<Report> {
        let row = crate::spi::first_row(

                "SELECT p.status, p.rows_per_second::bigint, p.rows_done, p.rows_changed, p.rows_failed, p.batches::bigint, \
                        p.longest_batch_ms, p.error, r.step_counts \
                 FROM migration_engine.pipeline_progress p JOIN migration_engine.pipeline_runs r USING (run_id) WHERE run_id = $1",
            &[run_id.into()],
            |r| {
                Ok((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<i64>(2)?,
                [
                    r.get::<i64>(3)?.unwrap_or(0),
                    r.get::<i64>(4)?.unwrap_or(0),
                    r.get::<i64>(5)?.unwrap_or(0),
                    r.get::<i64>(6)?.unwrap_or(0),
                ],
                r.get::<f64>(7)?.unwrap_or(0.0),
                r.get::<String>(8)?,
                r.get::<JsonB>(9)?.map(|j| j.0).unwrap_or(Value::Null),
            ))
            },
        )?
        .ok_or_else(|| MeError::undefined_object(format!("pipeline run {run_id} does not exist")))?;
        let (status, rows_per_second, totals, longest, error, counts) = row;
        let [rows_read, rows_changed, rows_failed, batches] = totals;
        // step_counts: {"0": items selected, "k": items after step k}
        let count = |i: usize| counts[i.to_string()].as_i64().unwrap_or(0);
        let steps = p
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepResult {
                name: s.name.clone(),
                step_type: s.kind().as_str(),
                input_count: count(i),
                output_count: count(i + 1),
                error_count: if i == 0 { rows_failed } else { 0 },
            })
            .collect();
        Ok(Report {
            run_id,
            status: run_status(&status)?,
            rows_per_second,
            rows_read,
            rows_changed,
            rows_failed,
            batches,
            longest_batch_ms: longest,
            duration_ms,
            error,
            steps,
            errors_sample: sample(run_id)?,
        })
    }

    fn to_json(&self) -> Value {
        let ms = self.duration_ms;
        let n = self.steps.len().max(1) as f64;
        let step_results: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({
                    "step_name": s.name,
                    "step_type": s.step_type,
                    "input_count": s.input_count,
                    "output_count": s.output_count,
                    "error_count": s.error_count,
                    // the steps run fused in one statement per batch: the time is shared
                    "duration_ms": (ms / n * 1000.0).round() / 1000.0,
                })
            })
            .collect();
        let errors_sample: Vec<Value> = self
            .errors_sample
            .iter()
            .map(|d| {
                json!({"entity_id": d.entity_id.to_string(), "step_name": d.step_name, "error": d.error,
                       "sqlstate": d.sqlstate})
            })
            .collect();
        json!({
            "success": true,
            "run_id": self.run_id.to_string(),
            "status": self.status.as_str(),
            "step_results": step_results,
            "metrics": {
                "rows_per_second": self.rows_per_second,
                "rows_read": self.rows_read,
                "rows_changed": self.rows_changed,
                "rows_failed": self.rows_failed,
                "batches": self.batches,
                "longest_batch_ms": float8_json(self.longest_batch_ms),
                "duration_ms": (ms * 1000.0).round() / 1000.0,
            },
            "errors_sample": errors_sample,
            "error": self.error,
        })
    }
}

/// A float8 column as jsonb holds it: a whole number without a fraction (`5`, where
/// serde would write `5.0`), so the result reads as it did when it was built from the
/// run's row as jsonb.
fn float8_json(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

impl Outcome {
    /// execute_pipeline's result.
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Finished(r) => r.to_json(),
            Outcome::RolledBack { error } => json!({
                "success": false, "status": RunStatus::Failed.as_str(), "error": error, "step_results": [],
                "metrics": {}, "errors_sample": [], "message": "the run was rolled back: the data is as it was"
            }),
        }
    }
}
