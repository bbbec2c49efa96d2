//! cluster_migration_status: the phase, and what each cluster says. The applied lag comes
//! from the heartbeat, not from the publisher's lag columns (which only echo what the
//! subscriber reports): blue writes a row every heartbeatInterval with its WAL position
//! and clock; the copy green has applied says how far behind green is, in bytes of WAL
//! and seconds, to within one interval.
use super::remote;
use crate::catalog::{self, ClusterMigration};
use crate::errors::{MeError, MeResult, PgResult};
use crate::spi::subxact::{atomically, Aborted};
use crate::spi::{first_value, literal, quietly};
use migration_engine_core::rollout::cluster::{
    redact_conninfo, slot_lost as slot_lost_in, ClusterPhase, AUTO_SWITCH_TRIES,
};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// What green says, or why it could not be asked.
pub(super) fn green_view(m: &ClusterMigration) -> Result<Value, String> {
    let id = literal(m.id.to_string());
    let sub = literal(&m.subscription_name);
    let query = format!(
        "SELECT jsonb_build_object( \
           'phase', (SELECT phase FROM migration_engine.cluster_migrations WHERE cluster_migration_id = {id}), \
           'heartbeat', (SELECT jsonb_build_object('beat', beat, 'sent_at', sent_at, 'sent_lsn', sent_lsn::text) \
                         FROM migration_engine.cluster_heartbeat WHERE cluster_migration_id = {id}), \
           'subscription', (SELECT jsonb_build_object('enabled', s.subenabled, 'worker_pid', st.pid, \
                                'received_lsn', st.received_lsn::text, 'last_message_at', st.last_msg_receipt_time) \
                            FROM pg_catalog.pg_subscription s \
                            LEFT JOIN pg_catalog.pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL \
                            WHERE s.subname = {sub}), \
           'errors', (SELECT jsonb_build_object('apply', apply_error_count, 'sync', sync_error_count) \
                      FROM pg_catalog.pg_stat_subscription_stats WHERE subname = {sub}), \
           'tables', (SELECT jsonb_build_object('total', count(*), 'ready', count(*) FILTER (WHERE r.srsubstate IN ('r', 's'))) \
                      FROM pg_catalog.pg_subscription_rel r JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid \
                      WHERE s.subname = {sub}), \
           'rows_estimate', (SELECT coalesce(sum(n_live_tup), 0) FROM pg_catalog.pg_stat_user_tables \
                             WHERE schemaname = {schema}))",
        schema = literal(&m.data_schema)
    );
    match atomically(|| remote::value(&m.peer_conninfo, &query)) {
        Ok(v) => Ok(v),
        Err(Aborted::Returned(e)) => Err(e.message),
        Err(Aborted::Raised(e)) => Err(e.message),
    }
}

/// Green's applied lag from its heartbeat row: {bytes, seconds, beats_behind}; None when
/// green has applied no heartbeat yet.
pub(super) fn applied_lag(
    m: &ClusterMigration,
    green_heartbeat: &Value,
) -> MeResult<Option<Value>> {
    let (Some(lsn), Some(sent_at), Some(beat)) = (
        green_heartbeat["sent_lsn"].as_str(),
        green_heartbeat["sent_at"].as_str(),
        green_heartbeat["beat"].as_i64(),
    ) else {
        return Ok(None);
    };
    Ok(first_value::<JsonB>(
        "SELECT jsonb_build_object( \
            'bytes', greatest(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), $1::pg_lsn), 0)::bigint, \
            'seconds', round(extract(epoch FROM clock_timestamp() - $2::timestamptz)::numeric, 3), \
            'beats_behind', (SELECT beat FROM migration_engine.cluster_heartbeat WHERE cluster_migration_id = $3) - $4)",
        &[lsn.into(), sent_at.into(), m.id.into(), beat.into()],
    )?
    .map(|JsonB(v)| v))
}

/// What the operator must look at, if anything: green's subscription stopped, or green
/// failing to apply a row (PostgreSQL retries it for ever: a conflict, such as a row
/// written on green past its fence) while it falls behind.
fn attention(m: &ClusterMigration, g: &Value, lag: &Value) -> Option<String> {
    if g["subscription"].is_null() {
        return Some("green has no subscription for this migration: abort it".into());
    }
    if g["subscription"]["enabled"] == false {
        return Some(
            "green's subscription is disabled: ALTER SUBSCRIPTION ... ENABLE on green, or abort"
                .into(),
        );
    }
    let interval = m.options["heartbeatInterval"].as_f64().unwrap_or(1000.0) / 1000.0;
    let behind = lag["seconds"].as_f64().unwrap_or(0.0) > 10.0 * interval;
    if behind && g["errors"]["apply"].as_i64().unwrap_or(0) > 0 {
        return Some("green fails to apply blue's changes and falls behind (green.errors.apply counts the failures; green's server log says which row and why): resolve the conflict on green, or abort".into());
    }
    None
}

/// Why an automatic switch no longer tries, when it gave up.
fn auto_switch_gave_up(m: &ClusterMigration) -> MeResult<Option<String>> {
    if m.options.get("autoSwitch").is_none_or(Value::is_null) || m.phase != ClusterPhase::Streaming
    {
        return Ok(None);
    }
    let (lifted, _) = catalog::fences_lifted(m.id)?;
    Ok((lifted >= AUTO_SWITCH_TRIES).then(|| {
        format!(
            "the automatic switch gave up after {lifted} fences lifted (green did not apply blue's last write in time under the fence): \
             switch with CALL migration_engine.switch_cluster_migration(id, options) once the lag is small, or abort"
        )
    }))
}

/// Why green can never catch up when blue's slot is gone (dropped, or its WAL removed past
/// max_slot_wal_keep_size): the changes since are nowhere to be had.
pub(super) fn slot_lost(m: &ClusterMigration, slot: &Value) -> Option<String> {
    let wal_status = (!slot.is_null()).then(|| slot["wal_status"].as_str().unwrap_or(""));
    slot_lost_in(m.phase, wal_status).then(|| {
        format!(
            "blue's replication slot {} is {}: green can never receive the changes since, so it cannot catch up; abort and start again with an empty green",
            m.subscription_name,
            if slot.is_null() { "gone" } else { "lost (its WAL was removed, max_slot_wal_keep_size)" }
        )
    })
}

pub(super) fn slot(m: &ClusterMigration) -> MeResult<Value> {
    Ok(first_value::<JsonB>(
        "SELECT jsonb_build_object('name', slot_name, 'active', active, 'wal_status', wal_status, \
                'retained_bytes', pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint, \
                'confirmed_flush_lsn', confirmed_flush_lsn::text) \
         FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
        &[m.subscription_name.as_str().into()],
    )?
    .map(|JsonB(v)| v)
    .unwrap_or(Value::Null))
}

fn report(m: &ClusterMigration) -> MeResult<Value> {
    let row = &m.json;
    let mut out = json!({
        "cluster_migration_id": m.id.to_string(),
        "role": m.role,
        "migration": m.migration_name,
        "phase": m.phase.as_str(),
        "error": m.error,
        "data_schema": m.data_schema,
        "peer": redact_conninfo(&m.peer_conninfo),
        "announce": m.announce_conninfo,
        "started_by": m.started_by,
        "started_at": row["started_at"],
        "phase_changed_at": row["phase_changed_at"],
        "fenced_at": row["fenced_at"],
        "switched_at": row["switched_at"],
        "switch_report": row["switch_report"],
        "heartbeat": catalog::heartbeat(m.id)?,
        // the bounds an automatic switch waits for (null: the operator switches)
        "auto_switch": m.options.get("autoSwitch"),
    });
    if m.role == "blue" {
        out["worker_running"] = json!(super::worker::running(m)?);
        out["slot"] = slot(m)?;
        if !m.phase.is_over() {
            // what blue alone can tell first: it holds while green cannot be asked
            let mut why = slot_lost(m, &out["slot"]).or(auto_switch_gave_up(m)?);
            match green_view(m) {
                Ok(g) => {
                    out["applied_lag"] = json!(applied_lag(m, &g["heartbeat"])?);
                    why = why.or_else(|| attention(m, &g, &out["applied_lag"]));
                    out["green"] = g;
                }
                Err(e) => out["green_error"] = json!(e),
            }
            if let Some(why) = why {
                out["attention"] = json!(why);
            }
        }
    }
    Ok(out)
}

/// The cluster migration `cluster_migration_id` of this cluster (NULL: the newest), as
/// blue or green sees it: {cluster_migration_id, role, migration, phase, error, peer,
/// heartbeat, applied_lag {bytes, seconds, beats_behind}, slot {name, active, wal_status,
/// retained_bytes}, green {phase, subscription, tables {total, ready}, errors,
/// rows_estimate}, ...}; green_error says why green could not be asked.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn cluster_migration_status(
    cluster_migration_id: default!(Option<Uuid>, "NULL"),
) -> PgResult<JsonB> {
    Ok(JsonB(quietly(|| {
        super::require_superuser()?;
        let m = match cluster_migration_id {
            Some(id) => catalog::cluster_migration(id, false)?,
            None => catalog::cluster_migration_rows()?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    MeError::undefined_object("this cluster has no cluster migration")
                        .hint("Start one with migration_engine.start_cluster_migration(migration_id, green_conninfo).")
                })?,
        };
        report(&m)
    })?))
}
