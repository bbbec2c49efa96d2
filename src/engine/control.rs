//! cancel_migration / pause_migration: requests from another session, read by the
//! running migration between steps.
use crate::catalog;
use crate::errors::{MeError, MeResult};
use crate::spi::audit;
use migration_engine_core::engine::state::{ControlRequest, MigrationStatus};
use pgrx::prelude::*;
use serde_json::json;

fn request(name: &str, what: ControlRequest) -> MeResult<String> {
    let row = catalog::load(name, false)?;
    if row.status != MigrationStatus::Running {
        return Err(MeError::prerequisite(format!(
            "migration {name:?} is {}, not RUNNING: there is nothing to {}",
            row.status.as_str(),
            what.verb()
        )));
    }
    if row.stale {
        // nobody will read the request: settle it now
        if what == ControlRequest::Cancel {
            catalog::set_status(
                &row,
                MigrationStatus::Failed,
                "cancel_migration",
                Some("cancelled after its session ended"),
                json!({}),
            )?;
            return Ok(
                "cancelled: its session had ended; the migration is FAILED and resumable".into(),
            );
        }
        return Err(MeError::prerequisite(format!(
            "migration {name:?} has no live session to pause"
        ))
        .hint("Resume it with migration_engine.resume_migration(name), or cancel it."));
    }
    catalog::request_control(row.id, what)?;
    audit(
        &format!("migration_{}_requested", what.verb()),
        "migration",
        name,
        json!({}),
    )?;
    Ok(format!(
        "{} requested: the migration stops at its next step boundary",
        what.verb()
    ))
}

/// Ask a running migration to stop at its next step boundary and undo its run.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn cancel_migration(
    migration_name: Option<&str>,
) -> Result<String, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(migration_name);
    Ok(request(migration_name, ControlRequest::Cancel)?)
}

/// Ask a running migration to stop at its next step boundary, keeping its finished
/// steps; resume_migration continues it.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn pause_migration(
    migration_name: Option<&str>,
) -> Result<String, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(migration_name);
    Ok(request(migration_name, ControlRequest::Pause)?)
}
