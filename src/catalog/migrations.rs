//! knowledge_migrations: one migration's row, its status changes (each audited), its
//! execution log, its control requests, and every migration as the planner sees it.
use super::MigrationId;
use super::RunId;
use crate::errors::{MeError, MeResult};
use crate::spi::{first_row, Audit};
use migration_engine_core::engine::definition::MigrationDefinition;
use migration_engine_core::engine::planner::PlanNode;
use migration_engine_core::engine::state::{can_transition, ControlRequest, MigrationStatus};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct MigrationRow {
    pub id: MigrationId,
    pub name: String,
    pub status: MigrationStatus,
    pub definition: MigrationDefinition,
    /// (name, status) of each dependency
    pub dependencies: Vec<(String, String)>,
    /// RUNNING, but the backend that ran it is gone (killed, crashed, server restarted)
    pub stale: bool,
}

/// The error for a migration name that names none.
pub fn no_such_migration(name: &str) -> MeError {
    MeError::undefined_object(format!("migration {name:?} does not exist")).hint(
        "Create it with migration_engine.create_migration(definition); list them in migration_engine.migration_status.",
    )
}

/// Load a migration by name, locking its row (FOR UPDATE) when `lock` is set.
pub fn load(name: &str, lock: bool) -> MeResult<MigrationRow> {
    let sql = format!(
        "SELECT m.migration_id, m.status, m.definition, \
                coalesce((SELECT jsonb_agg(jsonb_build_array(d.migration_name, d.status)) \
                          FROM migration_engine.knowledge_migrations d WHERE d.migration_id = ANY (m.depends_on)), '[]'), \
                (m.status = 'RUNNING' AND NOT EXISTS ( \
                    SELECT 1 FROM pg_catalog.pg_stat_activity a \
                    WHERE a.pid = m.backend_pid AND a.backend_start = m.backend_start)) \
         FROM migration_engine.knowledge_migrations m WHERE m.migration_name = $1 {}",
        if lock { "FOR NO KEY UPDATE OF m" } else { "" }
    );
    let row = first_row(&sql, &[name.into()], |row| {
        Ok((
            row.get::<MigrationId>(1)?,
            row.get::<String>(2)?,
            row.get::<JsonB>(3)?,
            row.get::<JsonB>(4)?,
            row.get::<bool>(5)?,
        ))
    })?;
    let Some((Some(id), Some(status), definition, deps, stale)) = row else {
        return Err(no_such_migration(name));
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
    })
}

/// Refuse a status change the core calls illegal. Taking over a RUNNING migration
/// whose backend is gone (resume after a crash) is the one change to the same status.
fn transition_allowed(row: &MigrationRow, to: MigrationStatus) -> MeResult<()> {
    let takeover =
        row.status == MigrationStatus::Running && to == MigrationStatus::Running && row.stale;
    if takeover || can_transition(row.status, to) {
        return Ok(());
    }
    Err(MeError::prerequisite(format!(
        "migration {:?} cannot go from {} to {to}",
        row.name, row.status
    ))
    .hint("See migration_engine.migration_status for its status and what can be done next."))
}

/// Change a migration's status (refused when the core calls the change illegal), keeping the columns that go with it, and audit it.
pub fn set_status(
    row: &MigrationRow,
    to: MigrationStatus,
    why: &str,
    error: Option<&str>,
    detail: Value,
) -> MeResult<()> {
    transition_allowed(row, to)?;
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
pub fn set_paused(row: &MigrationRow, run_id: RunId) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.knowledge_migrations \
         SET status = $2, control_request = $3, backend_pid = NULL WHERE migration_id = $1",
        &[
            row.id.into(),
            MigrationStatus::Pending.as_str().into(),
            ControlRequest::Pause.as_str().into(),
        ],
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

pub fn append_log(id: MigrationId, entry: Value) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.knowledge_migrations \
         SET execution_log = execution_log || jsonb_build_array($2::jsonb) WHERE migration_id = $1",
        &[id.into(), JsonB(entry).into()],
    )?;
    Ok(())
}

/// A pending cancel or pause request from another session (committed there).
pub fn control_request(migration_id: MigrationId) -> MeResult<Option<ControlRequest>> {
    thread_local! {
        /// The query is asked before every step of every run: planned once per backend
        /// (the plan cache re-plans it should the table change), not once per step.
        static PLAN: std::cell::OnceCell<pgrx::spi::OwnedPreparedStatement> = const { std::cell::OnceCell::new() };
    }
    let request = PLAN.with(|plan| {
        // run as a statement that may write, as first_value ran it before the plan was
        // kept: a fresh snapshot for each call (a read-only one would reuse the caller's),
        // so a request committed by another session between two committed steps of
        // CALL run_migration is seen before the next step
        Spi::connect_mut(|client| {
            if plan.get().is_none() {
                let prepared = client
                    .prepare_mut(
                        "SELECT request FROM migration_engine.migration_control \
                         WHERE migration_id = $1 AND handled_at IS NULL ORDER BY requested_at DESC LIMIT 1",
                        &[pgrx::PgOid::BuiltIn(pgrx::PgBuiltInOids::UUIDOID)],
                    )?
                    .keep();
                let _ = plan.set(prepared);
            }
            let statement = plan.get().expect("set above");
            let rows = client.update(statement, None, &[migration_id.into()])?;
            if rows.is_empty() {
                return Ok(None);
            }
            rows.first().get_one::<String>()
        })
    })?;
    request
        .map(|r| {
            ControlRequest::parse(&r)
                .ok_or_else(|| MeError::internal(format!("unknown control request {r:?}")))
        })
        .transpose()
}

/// Leave `request` for the session running migration `migration_id`.
pub fn request_control(migration_id: MigrationId, request: ControlRequest) -> MeResult<()> {
    Spi::run_with_args(
        "INSERT INTO migration_engine.migration_control (migration_id, request) VALUES ($1, $2)",
        &[migration_id.into(), request.as_str().into()],
    )?;
    Ok(())
}

pub fn mark_control_handled(migration_id: MigrationId) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.migration_control SET handled_at = clock_timestamp() \
         WHERE migration_id = $1 AND handled_at IS NULL",
        &[migration_id.into()],
    )?;
    Ok(())
}

/// Every migration with its priority, status and dependency names, by name.
pub fn plan_nodes_with_versions() -> MeResult<Vec<(PlanNode, String)>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT m.migration_name, coalesce(m.priority, 100), m.status, m.version, \
                    coalesce((SELECT array_agg(d.migration_name ORDER BY d.migration_name) \
                              FROM migration_engine.knowledge_migrations d WHERE d.migration_id = ANY (m.depends_on)), '{}') \
             FROM migration_engine.knowledge_migrations m ORDER BY m.migration_name",
            None,
            &[],
        )?;
        let mut out = Vec::new();
        for r in rows {
            out.push((
                PlanNode {
                    name: r.get::<String>(1)?.unwrap_or_default(),
                    priority: r.get::<i32>(2)?.unwrap_or(100),
                    status: r.get::<String>(3)?.unwrap_or_default(),
                    depends_on: r.get::<Vec<String>>(5)?.unwrap_or_default(),
                },
                r.get::<String>(4)?.unwrap_or_default(),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .map_err(MeError::from)
}

/// Every migration as the planner sees it.
pub fn plan_nodes() -> MeResult<Vec<PlanNode>> {
    Ok(plan_nodes_with_versions()?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}
