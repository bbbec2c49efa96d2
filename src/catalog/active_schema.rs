//! active_schema_version: the one row that says which data schema is live, which one a
//! switch left behind (the switch-back window) and whether a blue-green operation holds
//! the engine. Read and changed only through here; which schema is current is also read
//! by `spi::data_schema`, below this layer, because every data query needs it.
use super::MigrationId;
use crate::errors::{MeError, MeResult};
use crate::spi::{all_rows, first_value};
use pgrx::prelude::*;

const NO_ROW: &str = "active_schema_version has no row";

/// Whether a blue-green operation holds the engine, the row locked (FOR UPDATE) so that
/// a second claimant waits for this transaction.
pub fn lock_blue_green_flag() -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT migration_in_progress FROM migration_engine.active_schema_version WHERE id = 1 FOR UPDATE",
        &[],
    )?
    .unwrap_or(false))
}

/// A blue-green run of `migration_id` holds the engine from now on.
pub fn mark_blue_green_started(migration_id: MigrationId) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.active_schema_version SET migration_in_progress = true, migration_id = $1 WHERE id = 1",
        &[migration_id.into()],
    )?;
    Ok(())
}

/// The blue-green operation that held the engine ended (finished, stopped or failed).
pub fn mark_blue_green_ended() -> MeResult<()> {
    Spi::run("UPDATE migration_engine.active_schema_version SET migration_in_progress = false WHERE id = 1")?;
    Ok(())
}

/// Make `to` the live schema and `from` the previous one (the switch-back window opens),
/// ending the operation; returns the switch's moment as ISO-8601 UTC text. The row's
/// trigger (adopt_active_schema in sql/blue_green.sql) checks the new schema, makes it
/// the extension owner's and points kg_live at it.
pub fn record_switch(to: &str, from: &str, migration_id: Option<MigrationId>) -> MeResult<String> {
    first_value::<String>(
        "UPDATE migration_engine.active_schema_version \
         SET \"current_schema\" = $1, previous_schema = $2, switched_at = clock_timestamp(), \
             migration_in_progress = false, migration_id = coalesce($3, migration_id) \
         WHERE id = 1 RETURNING to_char(switched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        &[to.into(), from.into(), migration_id.into()],
    )?
    .ok_or_else(|| MeError::internal(NO_ROW))
}

/// The schema the last switch left behind, while its switch-back window is open.
pub fn previous_schema() -> MeResult<Option<String>> {
    first_value::<String>(
        "SELECT previous_schema FROM migration_engine.active_schema_version WHERE id = 1",
        &[],
    )
}

/// The switch-back window closes: there is no previous schema any more.
pub fn close_switch_back_window() -> MeResult<()> {
    Spi::run(
        "UPDATE migration_engine.active_schema_version SET previous_schema = NULL WHERE id = 1",
    )?;
    Ok(())
}

/// The migration whose blue-green run built data schema `schema` (the latest such run),
/// from the audit trail.
pub fn migration_that_built(schema: &str) -> MeResult<Option<String>> {
    Ok(all_rows(
        "SELECT object_name FROM migration_engine.audit_log \
         WHERE operation = 'blue_green_completed' AND detail ->> 'new_schema' = $1 ORDER BY audit_id DESC LIMIT 1",
        &[schema.into()],
        |r| r.get::<String>(1),
    )?
    .into_iter()
    .flatten()
    .next())
}
