//! Running steps: one step with its condition, timer and subtransaction, and a whole
//! direction (forward or rollback) atomically. Results are values; the callers record them.
use super::kinds::{condition_holds, run_step, run_validation_rule, RunOptions};
use crate::catalog::MigrationId;
use crate::catalog::RunId;
use crate::catalog::{now_epoch, StepRecord};
use crate::errors::MeError;
use crate::spi::subxact::{atomically, sqlstate_text, Aborted};
use migration_engine_core::engine::definition::{Step, ValidationRule};
use migration_engine_core::engine::state::StepStatus;
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

impl StepError {
    /// The SQLSTATE and message of an aborted block, without taking it.
    fn from_aborted_ref<E: Clone + Into<StepError>>(a: &Aborted<E>) -> StepError {
        match a {
            Aborted::Raised(e) => StepError {
                sqlstate: e.sqlstate(),
                message: e.message.clone(),
            },
            Aborted::Returned(e) => e.clone().into(),
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
    pub status: StepStatus,
    pub rows: i64,
    pub started: f64,
    pub finished: f64,
    pub error: Option<StepError>,
    /// How often the step was tried again after a lock timeout (lockRetries).
    pub lock_retries: i32,
    /// Who held the locks it waited for, last seen ([] when it never waited).
    pub blockers: Value,
}

impl StepResult {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "step_number": self.number,
            "step_name": self.name,
            "step_type": self.step_type,
            "status": self.status.as_str(),
            "rows": self.rows,
            "duration_ms": ((self.finished - self.started) * 1000.0 * 1000.0).round() / 1000.0,
        });
        if let Some(e) = &self.error {
            v["error"] = json!(e.message);
            v["sqlstate"] = json!(e.sqlstate);
        }
        if self.lock_retries > 0 {
            v["lock_retries"] = json!(self.lock_retries);
            v["blockers"] = self.blockers.clone();
        }
        v
    }

    pub fn record(
        &self,
        migration_id: MigrationId,
        run_id: RunId,
        direction: &str,
    ) -> Result<(), MeError> {
        self.to_record(migration_id, run_id, direction).write()
    }

    /// The row that records this result.
    pub fn to_record<'a>(
        &'a self,
        migration_id: MigrationId,
        run_id: RunId,
        direction: &'a str,
    ) -> StepRecord<'a> {
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
            retry_count: self.lock_retries,
            new_value: Some(if self.lock_retries > 0 {
                json!({"rows": self.rows, "lock_retries": self.lock_retries, "blockers": self.blockers})
            } else {
                json!({"rows": self.rows})
            }),
        }
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
    let mut lock_retries = 0;
    let mut blockers = json!([]);
    let outcome = loop {
        let outcome = atomically(|| {
            if let Some(cond) = &step.condition {
                if !condition_holds(cond, data_schema, opts)? {
                    return Ok(None);
                }
            }
            run_step(step, data_schema, opts).map(Some)
        });
        // a lock it could not get within lockTimeout: rolled back alone, it waits (with
        // back-off and jitter) and tries again, so that it never sits in the lock queue
        // with every later query queued behind it
        let timed_out = matches!(&outcome, Err(e) if StepError::from_aborted_ref(e).sqlstate == LOCK_NOT_AVAILABLE);
        if !timed_out || lock_retries >= opts.lock_retries as i32 {
            if timed_out {
                blockers = super::locks::holders(step, data_schema);
            }
            break outcome;
        }
        blockers = super::locks::holders(step, data_schema);
        lock_retries += 1;
        super::locks::back_off(lock_retries, opts.lock_retry_max_delay_ms);
    };
    let (status, rows, error) = match outcome {
        Ok(None) => (StepStatus::Skipped, 0, None),
        Ok(Some(rows)) => (StepStatus::Completed, rows, None),
        Err(e) => {
            let mut e = StepError::from(e);
            if e.sqlstate == LOCK_NOT_AVAILABLE {
                e.message = super::locks::explain_timeout(&e.message, lock_retries, &blockers);
            }
            (StepStatus::Failed, 0, Some(e))
        }
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
        lock_retries,
        blockers,
    }
}

/// lock_not_available: what a lock_timeout raises.
const LOCK_NOT_AVAILABLE: &str = "55P03";

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
                    StepStatus::Failed
                } else {
                    StepStatus::Completed
                },
                rows: 0,
                started,
                finished: now_epoch(),
                error,
                lock_retries: 0,
                blockers: json!([]),
            }
        })
        .collect()
}
