//! deploy_failures: what a failed deploy_migration left on record. Written only through
//! here, and only by the autonomous worker (runner::autonomous) in a transaction of its
//! own, so the caller's rollback does not take it away; never updated or deleted.
use crate::errors::MeResult;
use pgrx::prelude::*;

/// One failure, `row` a JSON object with the table's columns (as the caller handed it
/// to the worker through shared memory).
pub fn insert_deploy_failure(row: &str) -> MeResult<()> {
    Spi::run_with_args(
        "INSERT INTO migration_engine.deploy_failures \
           (migration_name, version, checksum, definition, failed_step, sqlstate, error, hint, caller_pid, caller_xid) \
         SELECT r.migration_name, r.version, r.checksum, r.definition, r.failed_step, r.sqlstate, r.error, r.hint, \
                r.caller_pid, r.caller_xid \
         FROM jsonb_to_record($1::jsonb) AS r(migration_name text, version text, checksum text, definition jsonb, \
              failed_step text, sqlstate text, error text, hint text, caller_pid integer, caller_xid bigint)",
        &[row.into()],
    )?;
    Ok(())
}
