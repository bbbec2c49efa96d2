//! migration_execution_state: the record of each step of each run (forward, rollback,
//! validation, canary, pipeline), written once per step status, never updated.
use super::MigrationId;
use super::RunId;
use crate::errors::{MeError, MeResult};
use crate::spi::first_value;
use migration_engine_core::engine::state::StepStatus;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// One row of migration_execution_state.
pub struct StepRecord<'a> {
    pub migration_id: MigrationId,
    pub run_id: RunId,
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
        write_step_records(std::slice::from_ref(self))
    }
}

/// Rows of migration_execution_state, in order, in one statement (one row or a run's
/// all: 1,000 INSERTs, each parsed and planned, were a fifth of the engine's own time
/// per step).
pub fn write_step_records(records: &[StepRecord<'_>]) -> MeResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let column = |f: &dyn Fn(&StepRecord<'_>) -> Option<String>| -> Vec<Option<String>> {
        records.iter().map(f).collect()
    };
    Spi::run_with_args(
        "INSERT INTO migration_engine.migration_execution_state \
           (migration_id, run_id, direction, step_number, step_name, step_type, step_status, \
            started_at, completed_at, error_message, retry_count, new_value) \
         SELECT m, r, d, n, nm, t, st, to_timestamp(sa), to_timestamp(ca), e, rc, nv \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], \
                     $8::float8[], $9::float8[], $10::text[], $11::int[], $12::jsonb[]) WITH ORDINALITY \
              AS u(m, r, d, n, nm, t, st, sa, ca, e, rc, nv, position) \
         ORDER BY position",
        &[
            records.iter().map(|r| r.migration_id).collect::<Vec<_>>().into(),
            records.iter().map(|r| r.run_id).collect::<Vec<_>>().into(),
            column(&|r| Some(r.direction.to_owned())).into(),
            records.iter().map(|r| r.step_number).collect::<Vec<_>>().into(),
            column(&|r| Some(r.step_name.to_owned())).into(),
            column(&|r| Some(r.step_type.to_owned())).into(),
            column(&|r| Some(r.status.as_str().to_owned())).into(),
            records.iter().map(|r| r.started_epoch).collect::<Vec<_>>().into(),
            records.iter().map(|r| r.finished_epoch).collect::<Vec<_>>().into(),
            column(&|r| r.error.map(str::to_owned)).into(),
            records.iter().map(|r| r.retry_count).collect::<Vec<_>>().into(),
            records
                .iter()
                .map(|r| r.new_value.clone().map(JsonB))
                .collect::<Vec<_>>()
                .into(),
        ],
    )?;
    Ok(())
}

/// The latest recorded status of each step of a run (by step number), for resuming.
pub fn step_statuses(
    migration_id: MigrationId,
    run_id: RunId,
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
pub fn latest_run(migration_id: MigrationId) -> MeResult<Option<RunId>> {
    latest_run_in(migration_id, "forward")
}

/// The rollback run to resume.
pub fn latest_rollback_run(migration_id: MigrationId) -> MeResult<Option<RunId>> {
    latest_run_in(migration_id, "rollback")
}

fn latest_run_in(migration_id: MigrationId, direction: &str) -> MeResult<Option<RunId>> {
    first_value::<RunId>(
        "SELECT run_id FROM migration_engine.migration_execution_state \
         WHERE migration_id = $1 AND direction = $2 AND run_id IS NOT NULL \
         ORDER BY started_at DESC LIMIT 1",
        &[migration_id.into(), direction.into()],
    )
}
