//! Reading and writing the migration catalog: one migration's row, its status changes
//! (each audited), its execution log and its per-step records.
use crate::errors::{MeError, MeResult};
use crate::spi::{first_value, Audit};
use migration_engine_core::engine::definition::MigrationDefinition;
use migration_engine_core::engine::state::MigrationStatus;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

pub struct MigrationRow {
    pub id: Uuid,
    pub name: String,
    pub status: MigrationStatus,
    pub definition: MigrationDefinition,
    /// (name, status) of each dependency
    pub dependencies: Vec<(String, String)>,
    /// RUNNING, but the backend that ran it is gone (killed, crashed, server restarted)
    pub stale: bool,
    pub paused: bool,
}

/// Load a migration by name, locking its row (FOR UPDATE) when `lock` is set.
pub fn load(name: &str, lock: bool) -> MeResult<MigrationRow> {
    let sql = format!(
        "SELECT m.migration_id, m.status, m.definition, \
                coalesce((SELECT jsonb_agg(jsonb_build_array(d.migration_name, d.status)) \
                          FROM migration_engine.knowledge_migrations d WHERE d.migration_id = ANY (m.depends_on)), '[]'), \
                (m.status = 'RUNNING' AND NOT EXISTS ( \
                    SELECT 1 FROM pg_catalog.pg_stat_activity a \
                    WHERE a.pid = m.backend_pid AND a.backend_start = m.backend_start)), \
                m.control_request IS NOT DISTINCT FROM 'PAUSE' \
         FROM migration_engine.knowledge_migrations m WHERE m.migration_name = $1 {}",
        if lock { "FOR NO KEY UPDATE OF m" } else { "" }
    );
    let row = Spi::connect_mut(|client| {
        let table = client.update(&sql, Some(1), &[name.into()])?;
        if table.is_empty() {
            return Ok(None);
        }
        let row = table.first();
        Ok::<_, pgrx::spi::Error>(Some((
            row.get::<Uuid>(1)?,
            row.get::<String>(2)?,
            row.get::<JsonB>(3)?,
            row.get::<JsonB>(4)?,
            row.get::<bool>(5)?,
            row.get::<bool>(6)?,
        )))
    })?;
    let Some((Some(id), Some(status), definition, deps, stale, paused)) = row else {
        return Err(MeError::undefined_object(format!("migration {name:?} does not exist"))
            .hint("Create it with migration_engine.create_migration(definition); list them in migration_engine.migration_status."));
    };
    let definition = definition.ok_or_else(|| {
        MeError::prerequisite(format!("migration {name:?} has no stored definition"))
    })?;
    let definition = MigrationDefinition::parse(&definition.0).map_err(|e| {
        MeError::prerequisite(format!("stored definition of {name:?} is invalid: {e}"))
    })?;
    let dependencies = deps
        .map(|d| d.0)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or_default().to_string(),
                pair[1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Ok(MigrationRow {
        id,
        name: name.to_string(),
        status: MigrationStatus::parse(&status).unwrap_or(MigrationStatus::Failed),
        definition,
        dependencies,
        stale: stale.unwrap_or(false),
        paused: paused.unwrap_or(false),
    })
}

/// Change a migration's status, keeping the columns that go with it, and audit it.
pub fn set_status(
    row: &MigrationRow,
    to: MigrationStatus,
    why: &str,
    error: Option<&str>,
    detail: Value,
) -> MeResult<()> {
    let sql = "UPDATE migration_engine.knowledge_migrations SET \
                 status = $2, \
                 started_at = CASE WHEN $2 = 'RUNNING' THEN coalesce(CASE WHEN status = 'RUNNING' THEN started_at END, clock_timestamp()) ELSE started_at END, \
                 completed_at = CASE WHEN $2 IN ('COMPLETED', 'ROLLED_BACK', 'FAILED') THEN clock_timestamp() \
                                     WHEN $2 = 'RUNNING' THEN NULL ELSE completed_at END, \
                 executed_by = CASE WHEN $2 = 'RUNNING' THEN current_user ELSE executed_by END, \
                 backend_pid = CASE WHEN $2 = 'RUNNING' THEN pg_backend_pid() END, \
                 backend_start = CASE WHEN $2 = 'RUNNING' THEN (SELECT backend_start FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid()) END, \
                 last_error = CASE WHEN $3::text IS NOT NULL THEN $3 WHEN $2 = 'COMPLETED' THEN NULL ELSE last_error END, \
                 control_request = NULL \
               WHERE migration_id = $1";
    Spi::run_with_args(sql, &[row.id.into(), to.as_str().into(), error.into()])?;
    let mut detail = detail;
    if let Some(obj) = detail.as_object_mut() {
        obj.insert("reason".into(), json!(why));
        if let Some(e) = error {
            obj.insert("error".into(), json!(e));
        }
    }
    Audit {
        operation: "migration_status",
        object_type: "migration",
        object_name: &row.name,
        migration_id: Some(row.id),
        from_status: Some(row.status.as_str()),
        to_status: Some(to.as_str()),
        detail,
    }
    .write()
}

/// Mark a migration paused: not running, resumable from its last recorded step.
pub fn set_paused(row: &MigrationRow, run_id: Uuid) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.knowledge_migrations \
         SET status = 'PENDING', control_request = 'PAUSE', backend_pid = NULL WHERE migration_id = $1",
        &[row.id.into()],
    )?;
    Audit {
        operation: "migration_paused",
        object_type: "migration",
        object_name: &row.name,
        migration_id: Some(row.id),
        from_status: Some("RUNNING"),
        to_status: Some("PENDING"),
        detail: json!({"run_id": run_id.to_string(), "resume_with": "migration_engine.resume_migration(name)"}),
    }
    .write()
}

pub fn append_log(id: Uuid, entry: Value) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.knowledge_migrations \
         SET execution_log = execution_log || jsonb_build_array($2::jsonb) WHERE migration_id = $1",
        &[id.into(), JsonB(entry).into()],
    )?;
    Ok(())
}

/// One row of migration_execution_state.
pub struct StepRecord<'a> {
    pub migration_id: Uuid,
    pub run_id: Uuid,
    pub direction: &'a str,
    pub step_number: i32,
    pub step_name: &'a str,
    pub step_type: &'a str,
    pub status: &'a str,
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
                self.status.into(),
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
) -> MeResult<Vec<(i32, String)>> {
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
            out.push((
                r.get::<i32>(1)?.unwrap_or(-1),
                r.get::<String>(2)?.unwrap_or_default(),
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

pub fn new_uuid() -> MeResult<Uuid> {
    Spi::get_one::<Uuid>("SELECT gen_random_uuid()")?.ok_or_else(|| MeError::internal("no uuid"))
}

pub fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// A pending cancel or pause request from another session (committed there).
pub fn control_request(migration_id: Uuid) -> MeResult<Option<String>> {
    first_value::<String>(
        "SELECT request FROM migration_engine.migration_control \
         WHERE migration_id = $1 AND handled_at IS NULL ORDER BY requested_at DESC LIMIT 1",
        &[migration_id.into()],
    )
}

pub fn mark_control_handled(migration_id: Uuid) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.migration_control SET handled_at = clock_timestamp() \
         WHERE migration_id = $1 AND handled_at IS NULL",
        &[migration_id.into()],
    )?;
    Ok(())
}
