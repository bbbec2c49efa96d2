//! The canary's background worker: a dynamic background worker (no
//! shared_preload_libraries needed) started by start_canary. It ticks every second at
//! most: replays the old version's writes into the new one, and calls advance_canary
//! once the current step has had `stabilizationSeconds` to settle. It stops when the
//! canary is over, or when the canary never became visible (its start rolled back).
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

/// Start the worker for canary `id`; its pid, or None when no worker slot is free.
pub fn start(id: Uuid) -> Option<i32> {
    let dbname = unsafe {
        std::ffi::CStr::from_ptr(pg_sys::get_database_name(pg_sys::MyDatabaseId))
            .to_string_lossy()
            .into_owned()
    };
    // the extra field is 128 bytes: database name (at most 63) and the canary's id
    let extra = format!("{dbname}\u{1}{id}");
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
    let Some((db, id)) = BackgroundWorker::get_extra().split_once('\u{1}') else {
        return;
    };
    let id = id.to_string();
    BackgroundWorker::connect_worker_to_spi(Some(db), None);
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
