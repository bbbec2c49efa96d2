//! migration_execution_state: the record of each step of each run (forward, rollback,
//! validation, canary, pipeline), written once per step status, never updated.
use crate::errors::{MeError, MeResult};
use crate::spi::first_value;
use migration_engine_core::engine::state::StepStatus;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

/// One row of migration_execution_state.
pub struct StepRecord<'a> {
    pub migration_id: Uuid,
    pub run_id: Uuid,
    pub direction: &'a str,
    pub step_number: i32,
    pub step_name: &'a str,
    pub step_type: &'a str,
    pub status: StepStatus,
    pub started_epoch: f64,
    pub finished_epoch: Option<f64>,
    pub error: Option<&'a str>,
    pub retry_count: i32,
    pub new_value: Option<Value>,
}

impl StepRecord<'_> {
    pub fn write(&self) -> MeResult<()> {
        Spi::run_with_args(
            "INSERT INTO migration_engine.migration_execution_state \
               (migration_id, run_id, direction, step_number, step_name, step_type, step_status, \
                started_at, completed_at, error_message, retry_count, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8), to_timestamp($9), $10, $11, $12)",
            &[
                self.migration_id.into(),
                self.run_id.into(),
                self.direction.into(),
                self.step_number.into(),
                self.step_name.into(),
                self.step_type.into(),
                self.status.as_str().into(),
                self.started_epoch.into(),
                self.finished_epoch.into(),
                self.error.into(),
                self.retry_count.into(),
                self.new_value.clone().map(JsonB).into(),
            ],
        )?;
        Ok(())
    }
}

/// The latest recorded status of each step of a run (by step number), for resuming.
pub fn step_statuses(
    migration_id: Uuid,
    run_id: Uuid,
    direction: &str,
) -> MeResult<Vec<(i32, StepStatus)>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT DISTINCT ON (step_number) step_number, step_status \
             FROM migration_engine.migration_execution_state \
             WHERE migration_id = $1 AND run_id = $2 AND direction = $3 \
             ORDER BY step_number, started_at DESC, completed_at DESC NULLS LAST",
            None,
            &[migration_id.into(), run_id.into(), direction.into()],
        )?;
        let mut out = Vec::new();
        for r in rows {
            // the table's CHECK admits only the five statuses
            let status = r.get::<String>(2)?.and_then(|s| StepStatus::parse(&s));
            out.push((
                r.get::<i32>(1)?.unwrap_or(-1),
                status.unwrap_or(StepStatus::Pending),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .map_err(MeError::from)
}

/// The run to resume: the latest forward run of this migration.
pub fn latest_run(migration_id: Uuid) -> MeResult<Option<Uuid>> {
    first_value::<Uuid>(
        "SELECT run_id FROM migration_engine.migration_execution_state \
         WHERE migration_id = $1 AND direction = 'forward' AND run_id IS NOT NULL \
         ORDER BY started_at DESC LIMIT 1",
        &[migration_id.into()],
    )
}
