//! cluster_migrations and cluster_heartbeat: a blue-green migration across two clusters,
//! this cluster's part of it, and blue's heartbeat. The phase changes only through
//! `transition_cluster_migration`, which refuses what `ClusterPhase::can_transition`
//! forbids.
use super::MigrationId;
use crate::errors::{MeError, MeResult};
use crate::spi::{all_rows, first_value};
use migration_engine_core::rollout::cluster::ClusterPhase;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde::Deserialize;
use serde_json::Value;

/// One cluster_migrations row.
#[derive(Clone, Debug)]
pub struct ClusterMigration {
    pub id: Uuid,
    /// "blue" or "green" (the table's CHECK)
    pub role: String,
    pub migration_name: String,
    pub peer_conninfo: String,
    pub announce_conninfo: String,
    pub publication_name: String,
    pub subscription_name: String,
    pub data_schema: String,
    pub phase: ClusterPhase,
    pub options: Value,
    pub error: Option<String>,
    pub started_by: String,
    pub worker_pid: Option<i32>,
    /// the whole row as JSON, for status reports
    pub json: Value,
}

#[derive(Deserialize)]
struct Row {
    cluster_migration_id: String,
    role: String,
    migration_name: String,
    peer_conninfo: String,
    announce_conninfo: String,
    publication_name: String,
    subscription_name: String,
    data_schema: String,
    phase: String,
    options: Value,
    error: Option<String>,
    started_by: String,
    worker_pid: Option<i32>,
}

fn decode(v: Value) -> MeResult<ClusterMigration> {
    let r: Row = serde_json::from_value(v.clone())
        .map_err(|e| MeError::internal(format!("a cluster_migrations row did not decode: {e}")))?;
    let id = uuid::Uuid::parse_str(&r.cluster_migration_id)
        .map_err(|e| MeError::internal(format!("cluster_migration_id: {e}")))?;
    Ok(ClusterMigration {
        id: Uuid::from_bytes(*id.as_bytes()),
        role: r.role,
        migration_name: r.migration_name,
        peer_conninfo: r.peer_conninfo,
        announce_conninfo: r.announce_conninfo,
        publication_name: r.publication_name,
        subscription_name: r.subscription_name,
        data_schema: r.data_schema,
        phase: ClusterPhase::parse(&r.phase)
            .ok_or_else(|| MeError::internal(format!("unknown cluster phase {:?}", r.phase)))?,
        options: r.options,
        error: r.error,
        started_by: r.started_by,
        worker_pid: r.worker_pid,
        json: v,
    })
}

/// The cluster migration `id` of this cluster, its row locked (FOR UPDATE) when `lock`.
pub fn load_cluster_migration(id: Uuid, lock: bool) -> MeResult<Option<ClusterMigration>> {
    let sql = format!(
        "SELECT to_jsonb(c) FROM migration_engine.cluster_migrations c WHERE cluster_migration_id = $1 {}",
        if lock { "FOR UPDATE" } else { "" }
    );
    // unlocked, a read-only query: the worker reads the row in the transaction that makes
    // green's subscription, which must not get an xid (see cluster/worker.rs)
    let row = if lock {
        first_value::<JsonB>(&sql, &[id.into()])?
    } else {
        crate::spi::scan_value::<JsonB>(&sql, &[id.into()])?
    };
    row.map(|JsonB(v)| decode(v)).transpose()
}

/// The cluster migration `id`, or a clear error when this cluster has none of that id.
pub fn cluster_migration(id: Uuid, lock: bool) -> MeResult<ClusterMigration> {
    load_cluster_migration(id, lock)?.ok_or_else(|| {
        MeError::undefined_object(format!(
            "cluster migration {id} does not exist on this cluster"
        ))
        .hint("SELECT migration_engine.cluster_migration_status() lists the cluster migrations.")
    })
}

/// The cluster migrations of this cluster, newest first, as JSON rows.
pub fn cluster_migration_rows() -> MeResult<Vec<ClusterMigration>> {
    let rows = first_value::<JsonB>(
        "SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY started_at DESC), '[]') FROM migration_engine.cluster_migrations c",
        &[],
    )?
    .map(|JsonB(v)| v)
    .unwrap_or(Value::Array(vec![]));
    match rows {
        Value::Array(rows) => rows.into_iter().map(decode).collect(),
        _ => Ok(vec![]),
    }
}

/// The one cluster migration of this cluster that is not over, if any.
pub fn open_cluster_migration() -> MeResult<Option<Uuid>> {
    first_value::<Uuid>(
        "SELECT cluster_migration_id FROM migration_engine.cluster_migrations WHERE phase NOT IN ('SWITCHED', 'ABORTED')",
        &[],
    )
}

/// What a new cluster migration's row holds.
pub struct NewClusterMigration<'a> {
    pub id: Uuid,
    pub role: &'a str,
    pub migration_name: &'a str,
    pub peer_conninfo: &'a str,
    pub announce_conninfo: &'a str,
    pub publication_name: &'a str,
    pub subscription_name: &'a str,
    pub data_schema: &'a str,
    pub phase: ClusterPhase,
    pub options: &'a Value,
}

pub fn insert_cluster_migration(m: &NewClusterMigration) -> MeResult<()> {
    Spi::run_with_args(
        "INSERT INTO migration_engine.cluster_migrations \
           (cluster_migration_id, role, migration_name, peer_conninfo, announce_conninfo, \
            publication_name, subscription_name, data_schema, phase, options) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            m.id.into(),
            m.role.into(),
            m.migration_name.into(),
            m.peer_conninfo.into(),
            m.announce_conninfo.into(),
            m.publication_name.into(),
            m.subscription_name.into(),
            m.data_schema.into(),
            m.phase.as_str().into(),
            JsonB(m.options.clone()).into(),
        ],
    )?;
    Ok(())
}

/// Move `m` to phase `to` (with `error` when it failed), refusing a change the phases do
/// not allow; FENCED and SWITCHED stamp their moments.
pub fn transition_cluster_migration(
    m: &ClusterMigration,
    to: ClusterPhase,
    error: Option<&str>,
) -> MeResult<()> {
    if !m.phase.can_transition(to) {
        return Err(MeError::prerequisite(format!(
            "cluster migration {} is {}: it cannot become {}",
            m.id,
            m.phase.as_str(),
            to.as_str()
        )));
    }
    let changed = first_value::<bool>(
        "UPDATE migration_engine.cluster_migrations SET phase = $2, error = coalesce($3, error), \
                phase_changed_at = clock_timestamp(), \
                fenced_at = CASE WHEN $2 = 'FENCED' THEN clock_timestamp() ELSE fenced_at END, \
                switched_at = CASE WHEN $2 = 'SWITCHED' THEN clock_timestamp() ELSE switched_at END \
         WHERE cluster_migration_id = $1 AND phase = $4 RETURNING true",
        &[
            m.id.into(),
            to.as_str().into(),
            error.into(),
            m.phase.as_str().into(),
        ],
    )?;
    if changed != Some(true) {
        return Err(MeError::prerequisite(format!(
            "cluster migration {} changed phase meanwhile (it was {})",
            m.id,
            m.phase.as_str()
        ))
        .hint("Look at migration_engine.cluster_migration_status() and retry."));
    }
    Ok(())
}

pub fn set_cluster_worker(id: Uuid, pid: Option<i32>) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.cluster_migrations SET worker_pid = $2 WHERE cluster_migration_id = $1",
        &[id.into(), pid.into()],
    )?;
    Ok(())
}

pub fn store_switch_report(id: Uuid, report: &Value) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.cluster_migrations SET switch_report = $2 WHERE cluster_migration_id = $1",
        &[id.into(), JsonB(report.clone()).into()],
    )?;
    Ok(())
}

/// Blue's next heartbeat: the row green will receive in commit order with blue's writes.
/// Returns the beat's number.
pub fn write_heartbeat(id: Uuid) -> MeResult<i64> {
    first_value::<i64>(
        "INSERT INTO migration_engine.cluster_heartbeat AS h (cluster_migration_id, beat, sent_at, sent_lsn) \
         VALUES ($1, 1, clock_timestamp(), pg_current_wal_lsn()) \
         ON CONFLICT (cluster_migration_id) DO UPDATE \
           SET beat = h.beat + 1, sent_at = clock_timestamp(), sent_lsn = pg_current_wal_lsn() \
         RETURNING beat",
        &[id.into()],
    )?
    .ok_or_else(|| MeError::internal("the heartbeat was not written"))
}

/// This cluster's heartbeat row of `id` as JSON ({beat, sent_at, sent_lsn}), if any.
pub fn heartbeat(id: Uuid) -> MeResult<Option<Value>> {
    Ok(first_value::<JsonB>(
        "SELECT jsonb_build_object('beat', beat, 'sent_at', sent_at, 'sent_lsn', sent_lsn::text) \
         FROM migration_engine.cluster_heartbeat WHERE cluster_migration_id = $1",
        &[id.into()],
    )?
    .map(|JsonB(v)| v))
}

/// How many times the fence of cluster migration `id` was lifted (green did not catch up
/// under it), and how many ms ago the last time: read from the audit trail (read-only
/// SPI: no transaction id for the worker's tick or the status).
pub fn fences_lifted(id: Uuid) -> MeResult<(u32, Option<u64>)> {
    let row = all_rows(
        "SELECT count(*), (extract(epoch FROM clock_timestamp() - max(occurred_at)) * 1000)::bigint \
         FROM migration_engine.audit_log WHERE operation = 'cluster_migration_fence_lifted' AND object_name = $1",
        &[id.to_string().into()],
        |r| Ok((r.get::<i64>(1)?.unwrap_or(0), r.get::<i64>(2)?)),
    )?;
    Ok(row.into_iter().next().map_or((0, None), |(n, ago)| {
        (
            n.clamp(0, i64::from(u32::MAX)) as u32,
            ago.map(|a| a.max(0) as u64),
        )
    }))
}

/// Migration `id`'s name, status and stored definition (as created), for re-creating it
/// on the other cluster.
pub fn stored_migration(id: MigrationId) -> MeResult<Option<(String, String, Value)>> {
    Ok(first_value::<JsonB>(
        "SELECT jsonb_build_array(migration_name, status, definition) \
         FROM migration_engine.knowledge_migrations WHERE migration_id = $1",
        &[id.into()],
    )?
    .and_then(|JsonB(v)| {
        Some((
            v[0].as_str()?.to_string(),
            v[1].as_str()?.to_string(),
            v[2].clone(),
        ))
    }))
}
