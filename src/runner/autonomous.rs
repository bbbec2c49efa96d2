//! An autonomous write: a row that must persist although the caller's transaction is
//! about to be rolled back (a failed deploy under psql --single-transaction, Flyway,
//! Liquibase: the error that fails the deploy also rolls back whatever the caller
//! wrote). The row travels to a short-lived background worker through a dynamic shared
//! memory segment (the worker cannot see the caller's uncommitted data), is inserted and
//! committed there, and the caller waits for the worker to end before it raises.
//! The worker logs in as the caller, so the row says who it was, and it can write only
//! what the caller may.
use crate::errors::{MeError, MeResult};
use crate::spi::caller_worker::{start_as_caller, CallerWorker, NotStarted};
use pgrx::bgworkers::BackgroundWorker;
use pgrx::prelude::*;
use serde_json::Value;

/// Insert `row` (a JSON object with deploy_failures' columns) in a committed
/// transaction of its own. Err when it could not be done (the caller says so).
pub fn record_deploy_failure(row: &Value) -> MeResult<()> {
    let bytes = row.to_string().into_bytes();
    // SAFETY: main backend thread, inside the caller's transaction (dsm_create ties the segment to
    // CurrentResourceOwner, so an ERROR unwinding out of here still detaches it); every access
    // stays within the segment's 4 + len bytes while it is attached, up to the dsm_detach calls.
    unsafe {
        // [u32 length][payload]; the segment lives until both sides have detached
        // flags 0: dsm_create raises an ERROR instead of returning NULL, so `segment` and `base`
        // are valid for 4 + len bytes (byte copies need no alignment)
        let segment = pg_sys::dsm_create(4 + bytes.len(), 0);
        let base = pg_sys::dsm_segment_address(segment) as *mut u8;
        std::ptr::copy_nonoverlapping((bytes.len() as u32).to_ne_bytes().as_ptr(), base, 4);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(4), bytes.len());
        let handle = pg_sys::dsm_segment_handle(segment);
        let started = start_as_caller(&CallerWorker {
            name: "migration_engine deploy failure",
            backend_type: Some("migration_engine autonomous write"),
            function: "migration_engine_autonomous_worker",
            payload: "",
            argument: Some(pg_sys::Datum::from(handle)),
        });
        let outcome = match started {
            Ok(worker) => worker.wait_for_shutdown().map_err(|s| format!("{s:?}")),
            Err(NotStarted::ActingAsAnotherRole) => {
                pg_sys::dsm_detach(segment);
                return Err(MeError::new(
                    PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "the failure could not be recorded: the session acts as another role (SET ROLE) than it logged in as",
                ));
            }
            Err(NotStarted::Failed(e)) => Err(e),
        };
        // the worker writes 0 into the length once the row is committed
        let mut len = [0u8; 4];
        // read once the worker has exited (wait_for_shutdown) or never started: no writer races
        // this read
        std::ptr::copy_nonoverlapping(base, len.as_mut_ptr(), 4);
        pg_sys::dsm_detach(segment);
        match outcome {
            Ok(()) if u32::from_ne_bytes(len) == 0 => Ok(()),
            Ok(()) => Err(MeError::internal(
                "the failure could not be recorded: the recording worker ended without writing it (see the server log)",
            )),
            Err(e) => Err(MeError::internal(format!(
                "the failure could not be recorded: no background worker ({e}; all max_worker_processes slots in use?)"
            ))),
        }
    }
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn migration_engine_autonomous_worker(arg: pg_sys::Datum) {
    // SAFETY: first call of this background worker's entry point, on its only thread: workers start
    // with signals blocked and the bgworker API requires them unblocked here.
    unsafe { pg_sys::BackgroundWorkerUnblockSignals() };
    // SAFETY: the worker has shared-memory access (enable_spi_access); dsm_attach accepts any
    // handle and returns NULL when the segment is gone (checked below). With no resource owner yet,
    // the mapping lasts until dsm_detach or process exit.
    let segment = unsafe { pg_sys::dsm_attach(arg.value() as pg_sys::dsm_handle) };
    if segment.is_null() {
        return; // the caller gave up and detached: nobody waits for this row
    }
    // SAFETY: `segment` is non-null (checked above) and attached to this process.
    let base = unsafe { pg_sys::dsm_segment_address(segment) as *mut u8 };
    // SAFETY: `segment` is attached; the mapping's length bounds every read below. The caller
    // wrote [u32 len][len bytes] before starting this worker and keeps the segment unwritten until
    // the worker exits; the length prefix is still checked against the mapping, so a segment that
    // is not the caller's (a handle reused after it gave up) cannot make the read overrun.
    let payload = unsafe {
        let mapped = pg_sys::dsm_segment_map_length(segment);
        let mut len = [0u8; 4];
        if mapped >= 4 {
            std::ptr::copy_nonoverlapping(base, len.as_mut_ptr(), 4);
        }
        let len = u32::from_ne_bytes(len) as usize;
        (mapped >= 4 && len <= mapped - 4)
            .then(|| std::slice::from_raw_parts(base.add(4), len).to_vec())
    };
    let Some(payload) = payload else {
        // SAFETY: `segment` is attached (non-null above) and not used after this.
        unsafe { pg_sys::dsm_detach(segment) };
        return;
    };
    if crate::spi::caller_worker::connect_as_caller().is_none() {
        // SAFETY: `segment` is attached (non-null above) and neither it nor `base` is used after
        // this.
        unsafe { pg_sys::dsm_detach(segment) };
        return;
    }
    let written = BackgroundWorker::transaction(|| {
        let row = String::from_utf8_lossy(&payload).into_owned();
        crate::catalog::insert_deploy_failure(&row).is_ok()
    });
    if written {
        // SAFETY: `base` maps the still-attached segment (at least 4 bytes); the caller reads these
        // bytes only after this worker has exited.
        unsafe { std::ptr::write_bytes(base, 0, 4) };
    }
    // SAFETY: `segment` is still attached (detached nowhere else on this path) and unused after
    // this.
    unsafe { pg_sys::dsm_detach(segment) };
}
