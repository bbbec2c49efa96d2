//! The switch (CALL switch_cluster_migration: fence, commit, complete, commit, clean up)
//! and the abort. The fence is committed before the wait so that blue's writers get
//! 40001 at once instead of queueing, and so that the final heartbeat, committed after
//! every write blue took, can reach green: once green has applied it, green has all.
use super::remote::peer_transition;
use super::status::{applied_lag, green_view, slot, slot_lost};
use super::{fence_reason_moved, notify_switched, remote, require_superuser};
use crate::catalog::{self, ClusterMigration};
use crate::errors::{MeError, MeResult, PgResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::{first_value, literal, quietly, quoted_ident};
use migration_engine_core::rollout::cluster::{
    switch_refusal, AppliedLag, ClusterPhase, SwitchOptions,
};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn blue_migration(id: Uuid) -> MeResult<ClusterMigration> {
    require_superuser()?;
    let m = catalog::cluster_migration(id, true)?;
    if m.role != "blue" {
        return Err(MeError::prerequisite(format!(
            "cluster migration {id} is green's here: switch or abort it on blue, the cluster it moves from"
        )));
    }
    Ok(m)
}

fn green_unreachable(e: String) -> MeError {
    MeError::new(
        PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
        format!("green cannot be asked: {e}"),
    )
    .hint(
        "Nothing was fenced. Check green (cluster_migration_status shows green_error), then retry.",
    )
}

const FENCE_LOCK_TIMEOUT: &str = "5s";
/// The automatic switch's: it tries again at a later heartbeat, so it never makes the
/// data tables' readers and writers queue behind it for long.
pub(super) const AUTO_FENCE_LOCK_TIMEOUT: &str = "200ms";

/// Everything green must have is still published: the active data schema is the one the
/// migration publishes, and no table of it was made after the start (its rows would not
/// reach green, and the switch would lose them).
fn check_still_published(m: &ClusterMigration) -> MeResult<()> {
    let active = crate::spi::data_schema()?;
    if active != m.data_schema {
        return Err(MeError::prerequisite(format!(
            "the active data schema is {active} now, not {}, which cluster migration {} publishes",
            m.data_schema, m.id
        ))
        .hint("Abort the cluster migration and start it again."));
    }
    let unpublished = first_value::<Vec<String>>(
        "SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT EXISTS ( \
             SELECT 1 FROM pg_catalog.pg_publication_tables p \
             WHERE p.pubname = $2 AND p.schemaname = n.nspname AND p.tablename = c.relname)",
        &[
            m.data_schema.as_str().into(),
            m.publication_name.as_str().into(),
        ],
    )?
    .unwrap_or_default();
    if !unpublished.is_empty() {
        return Err(MeError::prerequisite(format!(
            "tables of {} made after cluster migration {} started are not replicated to green: {}",
            m.data_schema,
            m.id,
            unpublished.join(", ")
        ))
        .hint("Abort the cluster migration and start it again (the publication lists the tables at the start)."));
    }
    Ok(())
}

/// Wait (catchUpTimeout at most, before any fence) until green is within maxLagBytes and
/// maxLagMs of blue; the lag it saw last. Refused, with nothing changed, when the
/// migration is not STREAMING or green stays behind.
fn wait_for_small_lag(m: &ClusterMigration, o: &SwitchOptions) -> MeResult<Option<Value>> {
    let interval = m.options["heartbeatInterval"].as_u64().unwrap_or(1000);
    let clock = Instant::now();
    loop {
        let lag = match m.phase {
            ClusterPhase::Streaming => {
                let g = green_view(m).map_err(green_unreachable)?;
                if g["subscription"]["enabled"] != true {
                    return Err(MeError::prerequisite(format!(
                        "cluster migration {}: green's subscription is not running (it stopped on an error it could not apply, or it is gone), so green would never catch up",
                        m.id
                    ))
                    .hint("Nothing was fenced. cluster_migration_status() shows green.errors; resolve the conflict on green and ALTER SUBSCRIPTION ... ENABLE there, or abort."));
                }
                applied_lag(m, &g["heartbeat"])?
            }
            _ => None,
        };
        let measured = lag.as_ref().and_then(|l| {
            Some(AppliedLag {
                bytes: l["bytes"].as_u64()?,
                ms: l["seconds"].as_f64()? * 1000.0,
            })
        });
        let Some(why) = switch_refusal(m.phase, measured, interval, o) else {
            return Ok(lag);
        };
        if m.phase != ClusterPhase::Streaming
            || clock.elapsed() >= Duration::from_millis(o.catch_up_timeout_ms)
        {
            return Err(MeError::prerequisite(format!("cluster migration {} cannot switch: {why}", m.id))
                .hint("Nothing was fenced. Green applies blue's writes more slowly than they come: retry when cluster_migration_status() shows a small applied_lag, raise maxLagMs / maxLagBytes or catchUpTimeout, or write less meanwhile."));
        }
        std::thread::sleep(Duration::from_millis(100));
        pgrx::check_for_interrupts!();
    }
}

/// First transaction of the switch: once green is close behind (wait_for_small_lag), the
/// fence goes up on blue and the final heartbeat is written.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn cluster_switch_fence(
    cluster_migration_id: Option<Uuid>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(cluster_migration_id, options);
    let o = SwitchOptions::parse(&options.0).map_err(MeError::invalid_parameter)?;
    Ok(JsonB(quietly(|| {
        fence(cluster_migration_id, &o, FENCE_LOCK_TIMEOUT)
    })?))
}

/// The fence (see cluster_switch_fence), for the CALL and for an automatic switch.
pub(super) fn fence(id: Uuid, o: &SwitchOptions, lock_timeout: &str) -> MeResult<Value> {
    let m = blue_migration(id)?;
    if m.phase == ClusterPhase::Fenced || m.phase == ClusterPhase::Switched {
        return Ok(json!({"resumed": true}));
    }
    if let Some(why) = slot_lost(&m, &slot(&m)?) {
        return Err(MeError::prerequisite(format!("cluster migration {} cannot switch: {why}", m.id))
            .hint("Nothing was fenced. abort_cluster_migration(id) cleans up; a new cluster migration needs an empty green."));
    }
    let lag = wait_for_small_lag(&m, o)?;
    check_still_published(&m)?;
    // the fence waits for the writers holding the tables; bounded, so that a long
    // transaction ahead of it fails the switch (nothing fenced) instead of freezing
    // writes behind it for as long as it runs
    crate::spi::set_local("lock_timeout", lock_timeout)?;
    let tables = super::set_fence(&m.data_schema, Some(&fence_reason_moved(&m)))?;
    let final_beat = catalog::write_heartbeat(m.id)?;
    catalog::transition_cluster_migration(&m, ClusterPhase::Fenced, None)?;
    super::audit_cluster(
        "cluster_migration_fence",
        m.id,
        json!({"fenced_tables": tables, "lag_at_fence": lag, "final_beat": final_beat}),
    )?;
    Ok(json!({"final_beat": final_beat, "fenced_tables": tables, "lag_at_fence": lag}))
}

/// Second transaction: wait for green to apply the final heartbeat, move green's
/// sequences past blue's and make green live (green commits that itself), then record the
/// switch here. Returns {switched: true, ...the report} or, when green did not catch up
/// within the timeout, {switched: false, error} with the fence lifted (the CALL raises).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn cluster_switch_complete(
    cluster_migration_id: Option<Uuid>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
    fenced: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(cluster_migration_id, options, fenced);
    let o = SwitchOptions::parse(&options.0).map_err(MeError::invalid_parameter)?;
    if !fenced.0.is_object() {
        return Err(MeError::invalid_parameter(
            "fenced must be the JSON object cluster_switch_fence returned",
        )
        .into());
    }
    Ok(JsonB(quietly(|| {
        complete(cluster_migration_id, &o, &fenced.0)
    })?))
}

/// The wait for green and the switch (see cluster_switch_complete), for the CALL and for
/// an automatic switch; `fenced` is what the fence returned ({} to go on from the beats
/// committed since).
pub(super) fn complete(id: Uuid, o: &SwitchOptions, fenced: &Value) -> MeResult<Value> {
    let m = blue_migration(id)?;
    if m.phase == ClusterPhase::Switched {
        let mut r = m.json["switch_report"].clone();
        r["switched"] = json!(true);
        return Ok(r);
    }
    if m.phase != ClusterPhase::Fenced {
        return Err(MeError::prerequisite(format!(
            "cluster migration {} is {}, not FENCED",
            m.id,
            m.phase.as_str()
        )));
    }
    // a switch interrupted after its fence goes on from the beats committed since
    let final_beat = match fenced["final_beat"].as_i64() {
        Some(b) => b,
        None => catalog::heartbeat(m.id)?
            .and_then(|h| h["beat"].as_i64())
            .unwrap_or(0),
    };
    let green_phase = remote::row_value(&m.peer_conninfo, "cluster_migrations", "phase", m.id)?;
    // green live already (a CALL interrupted after green's commit): never wait, never
    // lift the fence, only record the switch here
    let green_live = green_phase == ClusterPhase::Switched.as_str();
    if !green_live {
        peer_transition(&m, ClusterPhase::Fenced)?;
    }
    let clock = Instant::now();
    let deadline = Duration::from_millis(o.timeout_ms);
    let mut polls = 0;
    if !green_live {
        loop {
            polls += 1;
            let beat = remote::row_value(&m.peer_conninfo, "cluster_heartbeat", "beat", m.id)?;
            if beat.as_i64().unwrap_or(0) >= final_beat {
                break;
            }
            if clock.elapsed() > deadline {
                return lift_fence(&m, &format!(
                    "green did not apply blue's last write within {} ms (timeout): the fence is lifted, blue takes writes again",
                    o.timeout_ms
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
            pgrx::check_for_interrupts!();
        }
    }
    let waited_ms = clock.elapsed().as_secs_f64() * 1000.0;
    let sequences = first_value::<JsonB>(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('schema', schemaname, 'name', sequencename, 'value', last_value)), '[]') \
         FROM pg_catalog.pg_sequences WHERE schemaname = $1 AND last_value IS NOT NULL",
        &[m.data_schema.as_str().into()],
    )?
    .map(|JsonB(v)| v)
    .unwrap_or(json!([]));
    // green went live already when a CALL was interrupted after its commit there
    let green = remote::value(
        &m.peer_conninfo,
        &format!(
            "migration_engine.cluster_peer_transition({}, {}, jsonb_build_object('sequences', {}::jsonb))",
            literal(m.id.to_string()),
            literal(ClusterPhase::Switched.as_str()),
            literal(sequences.to_string())
        ),
    )?;
    let freeze_ms = first_value::<f64>(
        "SELECT extract(epoch FROM clock_timestamp() - fenced_at)::float8 * 1000 \
         FROM migration_engine.cluster_migrations WHERE cluster_migration_id = $1",
        &[m.id.into()],
    )?;
    catalog::transition_cluster_migration(&m, ClusterPhase::Switched, None)?;
    let report = json!({
        "switched": true,
        "write_freeze_ms": freeze_ms,
        "waited_for_green_ms": waited_ms,
        "polls": polls,
        "final_beat": final_beat,
        "sequences": sequences,
        "green": green,
        "connect": m.announce_conninfo,
    });
    catalog::store_switch_report(m.id, &report)?;
    notify_switched(&m, "green")?;
    super::audit_cluster("cluster_migration_switch", m.id, report.clone())?;
    Ok(report)
}

/// Green did not catch up: blue takes writes again, the migration streams on.
fn lift_fence(m: &ClusterMigration, error: &str) -> MeResult<Value> {
    super::set_fence(&m.data_schema, None)?;
    catalog::transition_cluster_migration(m, ClusterPhase::Streaming, None)?;
    let _ = peer_transition(m, ClusterPhase::Streaming);
    super::audit_cluster(
        "cluster_migration_fence_lifted",
        m.id,
        json!({"error": error}),
    )?;
    Ok(json!({"switched": false, "error": error}))
}

/// Third transaction: green's subscription, blue's slot and publication go.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn cluster_switch_cleanup(cluster_migration_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(cluster_migration_id);
    Ok(JsonB(quietly(|| cleanup(cluster_migration_id))?))
}

/// Drop the replication of a migration that is over (see cluster_switch_cleanup).
pub(super) fn cleanup(id: Uuid) -> MeResult<Value> {
    let m = blue_migration(id)?;
    if !m.phase.is_over() {
        return Err(MeError::prerequisite(format!(
            "cluster migration {} is {}: its replication is dropped once it is switched or aborted",
            m.id,
            m.phase.as_str()
        )));
    }
    drop_replication(&m)
}

/// Drop green's subscription (detached from its slot first, so the drop runs anywhere),
/// then blue's slots (the subscription's and any table-copy slot) and the publication.
/// Returns what was dropped and what could not be, with why.
fn drop_replication(m: &ClusterMigration) -> MeResult<Value> {
    let sub = literal(&m.subscription_name);
    let ident = quoted_ident("subscription", &m.subscription_name)?;
    let mut left = vec![];
    let green = crate::spi::subxact::atomically(|| -> MeResult<Value> {
        let oid = remote::value(
            &m.peer_conninfo,
            &format!("SELECT oid::bigint FROM pg_catalog.pg_subscription WHERE subname = {sub}"),
        )?;
        if !oid.is_null() {
            remote::exec(
                &m.peer_conninfo,
                &format!("ALTER SUBSCRIPTION {ident} DISABLE"),
            )?;
            remote::exec(
                &m.peer_conninfo,
                &format!("ALTER SUBSCRIPTION {ident} SET (slot_name = NONE)"),
            )?;
            remote::exec(&m.peer_conninfo, &format!("DROP SUBSCRIPTION {ident}"))?;
        }
        Ok(oid)
    });
    let sub_oid = match green {
        Ok(oid) => oid,
        Err(e) => {
            let why = match e {
                crate::spi::subxact::Aborted::Returned(e) => e.message,
                crate::spi::subxact::Aborted::Raised(e) => e.message,
            };
            left.push(format!("green's subscription {} (green: {why}); drop it there: ALTER SUBSCRIPTION ... DISABLE; ALTER SUBSCRIPTION ... SET (slot_name = NONE); DROP SUBSCRIPTION ...", m.subscription_name));
            Value::Null
        }
    };
    // the walsender lets go of the slot when green's apply worker stops: wait for it
    let sync_prefix = sub_oid.as_i64().map(|o| format!("pg_{o}_sync_"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let dropped = loop {
        let active = first_value::<bool>(
            "SELECT coalesce(bool_or(active), false) FROM pg_catalog.pg_replication_slots \
             WHERE slot_name = $1 OR ($2::text IS NOT NULL AND starts_with(slot_name, $2))",
            &[
                m.subscription_name.as_str().into(),
                sync_prefix.clone().into(),
            ],
        )?
        .unwrap_or(false);
        if !active {
            break first_value::<i64>(
                "SELECT count(pg_catalog.pg_drop_replication_slot(slot_name)) FROM pg_catalog.pg_replication_slots \
                 WHERE slot_name = $1 OR ($2::text IS NOT NULL AND starts_with(slot_name, $2))",
                &[m.subscription_name.as_str().into(), sync_prefix.clone().into()],
            )?
            .unwrap_or(0);
        }
        if Instant::now() > deadline {
            left.push(format!("blue's slot {} is still in use by a walsender: drop it with pg_drop_replication_slot once green's subscription is gone", m.subscription_name));
            break 0;
        }
        std::thread::sleep(Duration::from_millis(50));
        pgrx::check_for_interrupts!();
    };
    Spi::run(&format!(
        "DROP PUBLICATION IF EXISTS {}",
        quoted_ident("publication", &m.publication_name)?
    ))?;
    for l in &left {
        pgrx::warning!("cluster migration {}: left behind: {l}", m.id);
    }
    Ok(
        json!({"slots_dropped": dropped, "publication_dropped": m.publication_name, "left_behind": left}),
    )
}

/// Stop a cluster migration that has not switched: blue's fence lifted (it takes writes),
/// green's subscription, blue's slots and publication dropped, both rows ABORTED. Green
/// keeps what it copied (its migration stays applied there) for inspection; a new cluster
/// migration needs an empty green.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn abort_cluster_migration(cluster_migration_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(cluster_migration_id);
    Ok(JsonB(quietly(|| {
        let m = blue_migration(cluster_migration_id)?;
        if !m.phase.can_transition(ClusterPhase::Aborted) {
            return Err(MeError::prerequisite(format!(
                "cluster migration {} is {}: only one that has not switched can be aborted",
                m.id,
                m.phase.as_str()
            )));
        }
        if m.phase == ClusterPhase::Fenced {
            // green may have gone live (a CALL interrupted after green's commit): lifting
            // blue's fence then would make both clusters take writes
            let green_phase = crate::spi::subxact::atomically(|| {
                remote::row_value(&m.peer_conninfo, "cluster_migrations", "phase", m.id)
            })
            .map_err(|_| {
                MeError::prerequisite(format!(
                    "cluster migration {} is FENCED and green cannot be asked whether it went live",
                    m.id
                ))
                .hint("Bring green back and abort again, or finish the switch: CALL migration_engine.switch_cluster_migration(id).")
            })?;
            if green_phase == ClusterPhase::Switched.as_str() {
                return Err(MeError::prerequisite(format!(
                    "cluster migration {}: green is live already, so it cannot be aborted",
                    m.id
                ))
                .hint("Finish the switch on blue: CALL migration_engine.switch_cluster_migration(id)."));
            }
        }
        super::worker::stop(&m)?;
        let unfenced = super::set_fence(&m.data_schema, None)?;
        let dropped = drop_replication(&m)?;
        catalog::transition_cluster_migration(&m, ClusterPhase::Aborted, None)?;
        let green =
            match crate::spi::subxact::atomically(|| peer_transition(&m, ClusterPhase::Aborted)) {
                Ok(()) => json!(ClusterPhase::Aborted.as_str()),
                Err(_) => json!("not reached: green's row stays as it was"),
            };
        let report = json!({"cluster_migration_id": m.id.to_string(), "phase": ClusterPhase::Aborted.as_str(), "unfenced_tables": unfenced,
                            "replication": dropped, "green": green});
        super::audit_cluster("cluster_migration_abort", m.id, report.clone())?;
        Ok(report)
    })?))
}
