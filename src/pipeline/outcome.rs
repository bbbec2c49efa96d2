//! What a run of `execute` came to, typed. The TRANSFORM step reads its fields;
//! execute_pipeline turns it into its JSON result with `to_json`, the one place that
//! shape is written.
use super::dead_letters::{sample, DeadLetter};
use crate::catalog::PipelineRunId;
use crate::errors::MeResult;
use migration_engine_core::pipeline::Pipeline;
use serde_json::{json, Value};

/// `pipeline_runs.status`, the core's enum.
pub use migration_engine_core::engine::state::PipelineRunStatus as RunStatus;

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
    pub run_id: PipelineRunId,
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
    pub fn read(run_id: PipelineRunId, p: &Pipeline, duration_ms: f64) -> MeResult<Report> {
        let t = crate::catalog::pipeline_run_totals(run_id)?;
        let counts = &t.step_counts;
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
                error_count: if i == 0 { t.rows_failed } else { 0 },
            })
            .collect();
        Ok(Report {
            run_id,
            status: t.status,
            rows_per_second: t.rows_per_second,
            rows_read: t.rows_read,
            rows_changed: t.rows_changed,
            rows_failed: t.rows_failed,
            batches: t.batches,
            longest_batch_ms: t.longest_batch_ms,
            duration_ms,
            error: t.error,
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
