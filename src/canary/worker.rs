//! The canary's background worker: a dynamic background worker (no
//! shared_preload_libraries needed) started by start_canary. It ticks every second at
//! most: replays the old version's writes into the new one, and calls advance_canary
//! once the current step has had `stabilizationSeconds` to settle. It stops when the
//! canary is over, or when the canary never became visible (its start rolled back).
//!
//! Who it runs as: the role that started (or resumed) the canary, never the bootstrap
//! superuser. Each tick replays writes through the migration's TRANSFORM steps, which
//! the migration's author wrote: run as anyone else, they would be a way to borrow that
//! role's rights. The worker logs in as the starter, so RESET ROLE inside a step leads
//! back to the same role. A session acting as another role (SET ROLE) gets no worker: it
//! would have to log in as the session's login role, and taking the current role inside
//! the worker (SetUserIdAndSecContext before the first transaction) was tried and did not
//! hold (a step ran as the login role).
use super::{tick, Tick};
use crate::spi::subxact::{atomically, Aborted};
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags,
};
use pgrx::prelude::*;
use pgrx::Uuid;
use std::time::{Duration, Instant};

/// How long a worker waits for its canary's row to become visible.
const START_GRACE: Duration = Duration::from_secs(60);

/// Start the worker for canary `id`, running as the caller; its pid, or None when no
/// worker slot is free or the session acts as another role than it logged in as.
pub fn start(id: Uuid) -> Option<i32> {
    let (login, role) = unsafe { (pg_sys::GetSessionUserId(), pg_sys::GetUserId()) };
    if login != role {
        return None;
    }
    let db = unsafe { pg_sys::MyDatabaseId };
    // the extra field is 128 bytes: two oids and the canary's id fit
    let extra = format!("{}\u{1}{}\u{1}{id}", u32::from(db), u32::from(role));
    let worker = BackgroundWorkerBuilder::new("migration_engine canary")
        .set_library("migration_engine")
        .set_function("migration_engine_canary_worker")
        .set_extra(&extra)
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic()
        .ok()?;
    worker.wait_for_startup().ok()
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn migration_engine_canary_worker(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let extra = BackgroundWorker::get_extra().to_string();
    let parts: Vec<&str> = extra.split('\u{1}').collect();
    let oid = |s: &str| s.parse::<u32>().ok().map(pg_sys::Oid::from);
    let [db, role, id] = parts[..] else {
        return;
    };
    let (Some(db), Some(role)) = (oid(db), oid(role)) else {
        return;
    };
    let id = id.to_string();
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db), Some(role));
    let Some(id) = BackgroundWorker::transaction(|| {
        Spi::get_one_with_args::<Uuid>("SELECT $1::uuid", &[id.as_str().into()])
            .ok()
            .flatten()
    }) else {
        return;
    };
    let started = Instant::now();
    loop {
        if BackgroundWorker::sigterm_received() {
            break;
        }
        // an error in a tick is logged and the next tick tries again; it never kills the
        // worker in the middle of a rollout
        let next = BackgroundWorker::transaction(|| match atomically(|| tick(id)) {
            Ok(t) => t,
            Err(Aborted::Returned(e)) => {
                pgrx::warning!("canary {id}: {}", e.message);
                Tick::Wait(1000)
            }
            Err(Aborted::Raised(e)) => {
                pgrx::warning!("canary {id}: {}", e.message);
                Tick::Wait(1000)
            }
        });
        let wait = match next {
            Tick::Done => break,
            Tick::NotYet if started.elapsed() > START_GRACE => break,
            Tick::NotYet => 200,
            Tick::Wait(ms) => ms,
        };
        if !BackgroundWorker::wait_latch(Some(Duration::from_millis(wait))) {
            break;
        }
    }
}
