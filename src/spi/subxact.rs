//! Internal subtransactions: pgrx has no API for them, and `PgTryBuilder` alone rolls
//! nothing back. This is what a PL/pgSQL `BEGIN ... EXCEPTION` block does: on an ERROR
//! the subtransaction is rolled back and the error is returned instead of aborting the
//! whole transaction.
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use std::panic::AssertUnwindSafe;

/// An error caught inside a subtransaction: its SQLSTATE and message.
#[derive(Debug, Clone)]
pub struct CaughtSqlError {
    pub code: PgSqlErrorCode,
    pub message: String,
}

impl CaughtSqlError {
    pub fn sqlstate(&self) -> String {
        sqlstate_text(self.code)
    }
}

/// The five-character SQLSTATE of an error code.
pub fn sqlstate_text(code: PgSqlErrorCode) -> String {
    let mut n = code as i32;
    let mut out = String::with_capacity(5);
    for _ in 0..5 {
        let c = (n & 0x3F) as u8 + b'0';
        out.push(c as char);
        n >>= 6;
    }
    out
}

/// Run `f` in a subtransaction. `Ok` when it finished (the subtransaction is released,
/// its work kept); `Err` with the error when it raised (its work rolled back).
#[cfg(any(test, feature = "pg_test"))]
pub fn in_subtransaction<R>(f: impl FnOnce() -> R) -> Result<R, CaughtSqlError> {
    match atomically(|| Ok::<R, std::convert::Infallible>(f())) {
        Ok(r) => Ok(r),
        Err(Aborted::Raised(e)) => Err(e),
        Err(Aborted::Returned(never)) => match never {},
    }
}

/// Why an `atomically` block was rolled back.
#[derive(Debug)]
pub enum Aborted<E> {
    /// Postgres raised an ERROR inside the block.
    Raised(CaughtSqlError),
    /// The block returned `Err`.
    Returned(E),
}

/// Run `f` in a subtransaction that is kept only when `f` returns `Ok`: an ERROR raised
/// inside, or an `Err` returned, rolls back everything `f` did.
pub fn atomically<R, E>(f: impl FnOnce() -> Result<R, E>) -> Result<R, Aborted<E>> {
    // SAFETY: main backend thread with a transaction open (every caller is a SQL function or runs
    // in BackgroundWorker::transaction), as BeginInternalSubTransaction requires. Each exit below
    // ends exactly this subtransaction, as PL/pgSQL's exec_stmt_block does.
    unsafe {
        let old_cxt = pg_sys::CurrentMemoryContext;
        let old_owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        // keep allocations in the caller's context, not the subtransaction's
        pg_sys::MemoryContextSwitchTo(old_cxt);

        // both arms restore the caller's memory context and resource owner, which the
        // subtransaction's start and end replaced
        PgTryBuilder::new(AssertUnwindSafe(|| {
            let r = f();
            if r.is_ok() {
                pg_sys::ReleaseCurrentSubTransaction();
            } else {
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
            }
            pg_sys::MemoryContextSwitchTo(old_cxt);
            pg_sys::CurrentResourceOwner = old_owner;
            r.map_err(Aborted::Returned)
        }))
        // pgrx's guard has already copied and flushed the ERROR (FlushErrorState), so the rollback
        // runs with a clean error state, as PL/pgSQL's handler does
        .catch_others(|e| {
            pg_sys::MemoryContextSwitchTo(old_cxt);
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(old_cxt);
            pg_sys::CurrentResourceOwner = old_owner;
            let report = match &e {
                CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r,
                CaughtError::RustPanic { ereport, .. } => ereport,
            };
            Err(Aborted::Raised(CaughtSqlError {
                code: report.sql_error_code(),
                message: report.message().to_string(),
            }))
        })
        .execute()
    }
}
