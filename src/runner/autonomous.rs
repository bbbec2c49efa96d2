//! An autonomous write: a row that must persist although the caller's transaction is
//! about to be rolled back (a failed deploy under psql --single-transaction, Flyway,
//! Liquibase: the error that fails the deploy also rolls back whatever the caller
//! wrote). The row travels to a short-lived background worker through a dynamic shared
//! memory segment (the worker cannot see the caller's uncommitted data), is inserted and
//! committed there, and the caller waits for the worker to end before it raises.
//! The worker logs in as the caller, so the row says who it was, and it can write only
//! what the caller may.
use crate::errors::{MeError, MeResult};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::prelude::*;
use serde_json::Value;

/// Insert `row` (a JSON object with deploy_failures' columns) in a committed
/// transaction of its own. Err when it could not be done (the caller says so).
pub fn record_deploy_failure(row: &Value) -> MeResult<()> {
    let (login, role) = unsafe { (pg_sys::GetSessionUserId(), pg_sys::GetUserId()) };
    if login != role {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "the failure could not be recorded: the session acts as another role (SET ROLE) than it logged in as",
        ));
    }
    let bytes = row.to_string().into_bytes();
    unsafe {
        // [u32 length][payload]; the segment lives until both sides have detached
        let segment = pg_sys::dsm_create(4 + bytes.len(), 0);
        let base = pg_sys::dsm_segment_address(segment) as *mut u8;
        std::ptr::copy_nonoverlapping((bytes.len() as u32).to_ne_bytes().as_ptr(), base, 4);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(4), bytes.len());
        let handle = pg_sys::dsm_segment_handle(segment);
        let extra = format!(
            "{}\u{1}{}",
            u32::from(pg_sys::MyDatabaseId),
            u32::from(role)
        );
        let started = BackgroundWorkerBuilder::new("migration_engine deploy failure")
            .set_type("migration_engine autonomous write")
            .set_library("migration_engine")
            .set_function("migration_engine_autonomous_worker")
            .set_argument(Some(pg_sys::Datum::from(handle)))
            .set_extra(&extra)
            .enable_spi_access()
            .set_start_time(BgWorkerStartTime::RecoveryFinished)
            .set_restart_time(None)
            .set_notify_pid(pg_sys::MyProcPid)
            .load_dynamic();
        let outcome = match started {
            Ok(worker) => worker.wait_for_shutdown().map_err(|s| format!("{s:?}")),
            Err(e) => Err(format!("{e:?}")),
        };
        // the worker writes 0 into the length once the row is committed
        let mut len = [0u8; 4];
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
    unsafe { pg_sys::BackgroundWorkerUnblockSignals() };
    let extra = BackgroundWorker::get_extra().to_string();
    let Some((db, role)) = extra
        .split_once('\u{1}')
        .and_then(|(d, r)| Some((d.parse::<u32>().ok()?, r.parse::<u32>().ok()?)))
    else {
        return;
    };
    let segment = unsafe { pg_sys::dsm_attach(arg.value() as pg_sys::dsm_handle) };
    if segment.is_null() {
        return; // the caller gave up and detached: nobody waits for this row
    }
    let base = unsafe { pg_sys::dsm_segment_address(segment) as *mut u8 };
    let payload = unsafe {
        let mut len = [0u8; 4];
        std::ptr::copy_nonoverlapping(base, len.as_mut_ptr(), 4);
        std::slice::from_raw_parts(base.add(4), u32::from_ne_bytes(len) as usize).to_vec()
    };
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db.into()), Some(role.into()));
    let written = BackgroundWorker::transaction(|| {
        let row = String::from_utf8_lossy(&payload).into_owned();
        Spi::run_with_args(
            "INSERT INTO migration_engine.deploy_failures \
               (migration_name, version, checksum, definition, failed_step, sqlstate, error, hint, caller_pid, caller_xid) \
             SELECT r.migration_name, r.version, r.checksum, r.definition, r.failed_step, r.sqlstate, r.error, r.hint, \
                    r.caller_pid, r.caller_xid \
             FROM jsonb_to_record($1::jsonb) AS r(migration_name text, version text, checksum text, definition jsonb, \
                  failed_step text, sqlstate text, error text, hint text, caller_pid integer, caller_xid bigint)",
            &[row.as_str().into()],
        )
        .is_ok()
    });
    if written {
        unsafe { std::ptr::write_bytes(base, 0, 4) };
    }
    unsafe { pg_sys::dsm_detach(segment) };
}
