//! Running steps: one step with its condition, timer and subtransaction, and a whole
//! direction (forward or rollback) atomically. Results are values; the callers record them.
use super::catalog::{now_epoch, StepRecord};
use super::steps::{condition_holds, run_step, run_validation_rule, RunOptions};
use crate::errors::MeError;
use crate::spi::subxact::{atomically, sqlstate_text, Aborted};
use migration_engine_core::engine::definition::{Step, ValidationRule};
use pgrx::Uuid;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct StepError {
    pub sqlstate: String,
    pub message: String,
}

impl From<MeError> for StepError {
    fn from(e: MeError) -> Self {
        StepError {
            sqlstate: sqlstate_text(e.code),
            message: e.message,
        }
    }
}

impl<E: Into<StepError>> From<Aborted<E>> for StepError {
    fn from(a: Aborted<E>) -> Self {
        match a {
            Aborted::Raised(e) => StepError {
                sqlstate: e.sqlstate(),
                message: e.message,
            },
            Aborted::Returned(e) => e.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StepResult {
    pub number: i32,
    pub name: String,
    pub step_type: String,
    /// COMPLETED, FAILED, SKIPPED, or PENDING for a step undone by a later failure
    pub status: &'static str,
    pub rows: i64,
    pub started: f64,
    pub finished: f64,
    pub error: Option<StepError>,
}

impl StepResult {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "step_number": self.number,
            "step_name": self.name,
            "step_type": self.step_type,
            "status": self.status,
            "rows": self.rows,
            "duration_ms": ((self.finished - self.started) * 1000.0 * 1000.0).round() / 1000.0,
        });
        if let Some(e) = &self.error {
            v["error"] = json!(e.message);
            v["sqlstate"] = json!(e.sqlstate);
        }
        v
    }

    pub fn record(&self, migration_id: Uuid, run_id: Uuid, direction: &str) -> Result<(), MeError> {
        StepRecord {
            migration_id,
            run_id,
            direction,
            step_number: self.number,
            step_name: &self.name,
            step_type: &self.step_type,
            status: self.status,
            started_epoch: self.started,
            finished_epoch: Some(self.finished),
            error: self.error.as_ref().map(|e| e.message.as_str()),
            retry_count: 0,
            new_value: Some(json!({"rows": self.rows})),
        }
        .write()
    }
}

/// Run one step in its own subtransaction: SKIPPED when its condition is false, FAILED
/// (and rolled back alone) when it raises, COMPLETED otherwise.
pub fn execute_step(
    migration: &str,
    number: i32,
    step: &Step,
    data_schema: &str,
    opts: &RunOptions,
) -> StepResult {
    let started = now_epoch();
    // pg_stat_activity shows what runs: migration_engine:<migration>:<step>
    let previous_name =
        crate::spi::label_activity(&format!("migration_engine:{migration}:{}", step.name));
    let outcome = atomically(|| {
        if let Some(cond) = &step.condition {
            if !condition_holds(cond, data_schema, opts)? {
                return Ok(None);
            }
        }
        run_step(step, data_schema, opts).map(Some)
    });
    let (status, rows, error) = match outcome {
        Ok(None) => ("SKIPPED", 0, None),
        Ok(Some(rows)) => ("COMPLETED", rows, None),
        Err(e) => ("FAILED", 0, Some(StepError::from(e))),
    };
    crate::spi::restore_activity(previous_name);
    StepResult {
        number,
        name: step.name.clone(),
        step_type: step.step_type().as_str().to_string(),
        status,
        rows,
        started,
        finished: now_epoch(),
        error,
    }
}

/// Run the validation rules; each in its own subtransaction.
pub fn execute_validation(
    rules: &[ValidationRule],
    data_schema: &str,
    opts: &RunOptions,
) -> Vec<StepResult> {
    rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let started = now_epoch();
            let outcome =
                atomically(|| run_validation_rule(&rule.name, &rule.script, data_schema, opts));
            let error = outcome.err().map(StepError::from);
            StepResult {
                number: i as i32,
                name: rule.name.clone(),
                step_type: "VALIDATION".into(),
                status: if error.is_some() {
                    "FAILED"
                } else {
                    "COMPLETED"
                },
                rows: 0,
                started,
                finished: now_epoch(),
                error,
            }
        })
        .collect()
}
