//! Blue's worker for one cluster migration: a dynamic background worker logged in as the
//! role that started it (a superuser: the preflight checked). Once the start has
//! committed it sets green up (the migration created and run there by CALL run_migration,
//! green fenced, the subscription created, which makes blue's slot and starts the copy),
//! then writes the heartbeat every heartbeatInterval and moves the phase on when green's
//! tables are all copied. Started with `autoSwitch`, it also switches, once the lag is
//! within the bounds given, in the CALL's three transactions. It stops when the migration
//! is over or failed.
//!
//! The subscription is created in a transaction of this worker that has written nothing:
//! making a logical slot waits for every transaction on blue that has a transaction id,
//! and one of ours would wait for itself.
use super::remote::{self, peer_transition};
use super::{preflight, switch};
use crate::catalog::{self, ClusterMigration};
use crate::errors::{MeError, MeResult};
use crate::spi::caller_worker::{run_ticking, start_ticking, Tick};
use crate::spi::subxact::{atomically, sqlstate_text, Aborted};
use crate::spi::{literal, quoted_ident};
use migration_engine_core::rollout::cluster::{
    auto_switch_backoff_ms, copy_finished, ClusterPhase, SwitchOptions, AUTO_SWITCH_TRIES,
};
use pgrx::prelude::*;
use pgrx::Uuid;
use std::time::Duration;

pub fn start(id: Uuid) -> Option<i32> {
    start_ticking(
        "migration_engine cluster migration",
        "migration_engine_cluster_worker",
        id,
    )
}

/// Whether the worker recorded for `m` is alive.
pub fn running(m: &ClusterMigration) -> MeResult<bool> {
    let Some(pid) = m.worker_pid else {
        return Ok(false);
    };
    Ok(crate::spi::first_value::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1 AND backend_type = 'migration_engine cluster migration')",
        &[pid.into()],
    )?
    .unwrap_or(false))
}

/// Stop `m`'s worker and any slot creation under way for it (green's CREATE
/// SUBSCRIPTION waits in a walsender of blue's): an abort must not race a worker that
/// would make the slot after the abort dropped everything. Waits until the worker is gone.
pub fn stop(m: &ClusterMigration) -> MeResult<()> {
    crate::spi::first_value::<i64>(
        "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity \
         WHERE (pid = $1 AND backend_type = 'migration_engine cluster migration') \
            OR (backend_type = 'walsender' AND query LIKE 'CREATE_REPLICATION_SLOT \"' || $2 || '\"%')",
        &[m.worker_pid.into(), m.subscription_name.as_str().into()],
    )?;
    for _ in 0..100 {
        if !running(m)? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
        pgrx::check_for_interrupts!();
    }
    Err(MeError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
        format!("the worker of cluster migration {} did not stop", m.id),
    )
    .hint("Retry in a moment."))
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn migration_engine_cluster_worker(_arg: pg_sys::Datum) {
    run_ticking("cluster migration", tick);
}

/// A step of the set-up failed: the migration is FAILED with the error (abort cleans up
/// what was made); the worker stops.
fn failed(id: Uuid, error: &str) -> Tick {
    pgrx::warning!("cluster migration {id}: {error}");
    let _ = atomically(|| -> MeResult<()> {
        let m = catalog::cluster_migration(id, true)?;
        if m.phase.can_transition(ClusterPhase::Failed) {
            catalog::transition_cluster_migration(&m, ClusterPhase::Failed, Some(error))?;
            let _ = atomically(|| -> MeResult<()> {
                remote::value(
                    &m.peer_conninfo,
                    &format!(
                        "migration_engine.cluster_peer_transition({}, {}, jsonb_build_object('error', {}))",
                        literal(m.id.to_string()),
                        literal(ClusterPhase::Failed.as_str()),
                        literal(error)
                    ),
                )?;
                Ok(())
            });
        }
        Ok(())
    });
    Tick::Done
}

fn tick(id: Uuid) -> MeResult<Tick> {
    let Some(m) = catalog::load_cluster_migration(id, false)? else {
        return Ok(Tick::NotYet);
    };
    let interval = m.options["heartbeatInterval"].as_u64().unwrap_or(1000);
    match m.phase {
        ClusterPhase::Preparing => {
            // two transactions: the subscription is made in one that has done nothing
            // else here (see the module's comment)
            let green_phase =
                remote::row_value(&m.peer_conninfo, "cluster_migrations", "phase", m.id)?;
            let step = if green_phase == ClusterPhase::Copying.as_str() {
                atomically(|| subscribe_green(&m))
            } else {
                atomically(|| set_up_green(&m))
            };
            // a connection that failed (class 08) is tried again; anything else fails the
            // migration, with its error
            let (sqlstate, message) = match step {
                Ok(()) => return Ok(Tick::Wait(0)),
                Err(Aborted::Returned(e)) => (sqlstate_text(e.code), e.message),
                Err(Aborted::Raised(e)) => (e.sqlstate(), e.message),
            };
            if sqlstate.starts_with("08") {
                pgrx::warning!("cluster migration {id}: {message} (retrying)");
                return Ok(Tick::Wait(2000));
            }
            Ok(failed(id, &message))
        }
        ClusterPhase::Copying => {
            catalog::write_heartbeat(id)?;
            if copy_finished(&green_table_states(&m)?) {
                let m = catalog::cluster_migration(id, true)?;
                catalog::transition_cluster_migration(&m, ClusterPhase::Streaming, None)?;
                peer_transition(&m, ClusterPhase::Streaming)?;
            }
            Ok(Tick::Wait(interval.min(500)))
        }
        ClusterPhase::Streaming | ClusterPhase::Fenced => match auto_switch(&m) {
            // under an automatic switch's fence the wait is for the beats committed (one
            // written in this transaction could not reach green before it ends)
            Some(o) if m.phase == ClusterPhase::Fenced => auto_switch_step(&m, &o, interval),
            Some(o) => {
                catalog::write_heartbeat(id)?;
                auto_switch_step(&m, &o, interval)
            }
            None => {
                catalog::write_heartbeat(id)?;
                Ok(Tick::Wait(interval))
            }
        },
        // an automatic switch cleans up after itself, as the CALL does
        ClusterPhase::Switched if auto_switch(&m).is_some() => {
            switch::cleanup(id)?;
            Ok(Tick::Done)
        }
        ClusterPhase::Switched | ClusterPhase::Aborted | ClusterPhase::Failed => Ok(Tick::Done),
    }
}

/// The switch options of `autoSwitch`, when the migration was started with it (stored as
/// given, once StartOptions accepted it).
fn auto_switch(m: &ClusterMigration) -> Option<SwitchOptions> {
    m.options
        .get("autoSwitch")
        .filter(|v| v.is_object())
        .and_then(|v| SwitchOptions::parse(v).ok())
}

thread_local! {
    /// Why the automatic switch last did not fence, so the server log says it once.
    static LAST_REFUSAL: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// One step of an automatic switch per tick, each committed as the CALL commits it:
/// STREAMING: the fence once the lag is within bounds (one look, no wait: the next
/// heartbeat looks again; a short lock timeout); FENCED: the wait for green and the switch.
/// Green not caught up under the fence lifts it: the next fence waits longer each time
/// (`auto_switch_backoff_ms`), and after `AUTO_SWITCH_TRIES` the worker stops trying
/// (status says so; the operator's CALL still switches).
fn auto_switch_step(m: &ClusterMigration, o: &SwitchOptions, interval: u64) -> MeResult<Tick> {
    if m.phase == ClusterPhase::Streaming {
        let (lifted, ago) = catalog::fences_lifted(m.id)?;
        if lifted >= AUTO_SWITCH_TRIES {
            return Ok(Tick::Wait(interval));
        }
        let backoff = auto_switch_backoff_ms(interval, lifted);
        if ago.is_some_and(|ago| ago < backoff) {
            return Ok(Tick::Wait(interval));
        }
        let once = SwitchOptions {
            catch_up_timeout_ms: 0,
            ..o.clone()
        };
        return Ok(
            match atomically(|| switch::fence(m.id, &once, switch::AUTO_FENCE_LOCK_TIMEOUT)) {
                Ok(_) => Tick::Wait(0),
                Err(e) => {
                    // not yet (green behind, a lock held, ...): said once per reason
                    let why = match e {
                        Aborted::Returned(e) => e.message,
                        Aborted::Raised(e) => e.message,
                    };
                    LAST_REFUSAL.with(|last| {
                        if *last.borrow() != why {
                            pgrx::log!(
                                "cluster migration {}: no automatic switch yet: {why}",
                                m.id
                            );
                            *last.borrow_mut() = why;
                        }
                    });
                    Tick::Wait(interval)
                }
            },
        );
    }
    let done = switch::complete(m.id, o, &serde_json::json!({}))?;
    if done["switched"] != true {
        pgrx::warning!(
            "cluster migration {}: automatic switch: {}; the fence is lifted",
            m.id,
            done["error"].as_str().unwrap_or("green did not catch up")
        );
    }
    Ok(Tick::Wait(if done["switched"] == true {
        0
    } else {
        interval
    }))
}

/// pg_subscription_rel's states of green's tables for this subscription.
pub(super) fn green_table_states(m: &ClusterMigration) -> MeResult<Vec<String>> {
    let v = remote::value(
        &m.peer_conninfo,
        &format!(
            "SELECT coalesce(jsonb_agg(r.srsubstate::text), '[]') FROM pg_catalog.pg_subscription_rel r \
             JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid WHERE s.subname = {}",
            literal(&m.subscription_name)
        ),
    )?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect())
}

/// Green, step by step, each step done on green at once (dblink commits there): the
/// migration recorded and run, then green COPYING (fenced). Each step is skipped when
/// done already, so a worker started again after a crash goes on.
fn set_up_green(m: &ClusterMigration) -> MeResult<()> {
    let green = &m.peer_conninfo;
    let id = literal(m.id.to_string());
    let blue_migration = catalog::migration_id_of(&m.migration_name)?.ok_or_else(|| {
        MeError::undefined_object(format!("migration {:?} is gone", m.migration_name))
    })?;
    let (_, _, definition) = catalog::stored_migration(blue_migration)?.ok_or_else(|| {
        MeError::undefined_object(format!("migration {:?} is gone", m.migration_name))
    })?;
    let publisher = m.options["publisherConninfo"].as_str().unwrap_or_default();
    remote::value(
        green,
        &format!(
            "migration_engine.cluster_peer_begin({id}, {}::jsonb, {}, {}, {}, {}, {})",
            literal(definition.to_string()),
            literal(publisher),
            literal(&m.announce_conninfo),
            literal(&m.publication_name),
            literal(&m.subscription_name),
            literal(&m.data_schema)
        ),
    )?;
    let status = remote::value(
        green,
        &format!(
            "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = {}",
            literal(&m.migration_name)
        ),
    )?;
    if status != migration_engine_core::engine::state::MigrationStatus::Completed.as_str() {
        // the forward steps, by green's own engine: "transaction": false steps too
        remote::exec(
            green,
            &format!(
                "CALL migration_engine.run_migration({})",
                literal(&m.migration_name)
            ),
        )?;
    }
    // blue's rows must still fit green's tables: no column of blue's missing or retyped
    let blue_cols = preflight::local_columns(&m.data_schema)?;
    let green_cols = remote::value(green, &preflight::columns_query(&m.data_schema))?;
    let missing = preflight::missing_on_green(&blue_cols, &green_cols);
    if !missing.is_empty() {
        return Err(MeError::prerequisite(format!(
            "after the migration, green's tables no longer take blue's rows: they lack {}",
            missing.join(", ")
        )));
    }
    peer_transition(m, ClusterPhase::Copying)
}

/// Green's subscription, which makes blue's slot and starts the initial copy; then
/// COPYING here. `binary = true`: both sides run the same extension on the same types,
/// so rows travel in the types' binary form, which green applies without parsing text.
/// Not `disable_on_error`: it also disables the subscription when blue merely restarts
/// (seen in the test); a row green cannot apply is retried, and status reports it.
fn subscribe_green(m: &ClusterMigration) -> MeResult<()> {
    let green = &m.peer_conninfo;
    let publisher = m.options["publisherConninfo"].as_str().unwrap_or_default();
    let exists = remote::value(
        green,
        &format!(
            "EXISTS (SELECT 1 FROM pg_catalog.pg_subscription WHERE subname = {})",
            literal(&m.subscription_name)
        ),
    )?;
    if exists != true {
        remote::exec(
            green,
            &format!(
                "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (slot_name = {}, copy_data = true, binary = true)",
                quoted_ident("subscription", &m.subscription_name)?,
                literal(publisher),
                quoted_ident("publication", &m.publication_name)?,
                literal(&m.subscription_name)
            ),
        )?;
    }
    let m = catalog::cluster_migration(m.id, true)?;
    catalog::transition_cluster_migration(&m, ClusterPhase::Copying, None)?;
    Ok(())
}
