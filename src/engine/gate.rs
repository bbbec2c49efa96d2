//! Whether a migration may run now: the per-migration lock, its status, its
//! dependencies. A refusal is a value (success false in the result), not an error,
//! so a deploy script can read why.
use crate::catalog::{self, MigrationRow};
use crate::errors::MeResult;
use crate::steps::RunOptions;
use migration_engine_core::engine::state::{can_execute, MigrationStatus};
use migration_engine_core::safety::codes;
use pgrx::prelude::*;

pub struct Refused {
    pub code: &'static str,
    pub status: String,
    pub message: String,
    pub hint: String,
}

/// Take the migration's advisory lock: transaction-scoped for execute_migration,
/// session-scoped for run_migration (which commits between steps). Two sessions can
/// never both hold it, so a migration never runs twice at once.
pub(super) fn try_lock(name: &str, session: bool) -> MeResult<bool> {
    let sql = if session {
        "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('migration_engine.migration'), pg_catalog.hashtext($1))"
    } else {
        "SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('migration_engine.migration'), pg_catalog.hashtext($1))"
    };
    Ok(Spi::get_one_with_args::<bool>(sql, &[name.into()])?.unwrap_or(false))
}

/// Whether this session holds the migration's session-scoped lock (pg_locks shows the
/// two int4 keys as unsigned oids).
pub fn holds_session_lock(name: &str) -> MeResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid() \
           AND granted AND objsubid = 2 \
           AND classid = (pg_catalog.hashtext('migration_engine.migration')::bigint & 4294967295)::text::oid \
           AND objid = (pg_catalog.hashtext($1)::bigint & 4294967295)::text::oid)",
        &[name.into()],
    )?
    .unwrap_or(false))
}

/// Release the session lock if this session holds it (a refusal may come before it was
/// taken, and unlocking a lock one does not hold only makes Postgres warn).
pub fn unlock_session(name: &str) -> MeResult<()> {
    if !holds_session_lock(name)? {
        return Ok(());
    }
    Spi::run_with_args(
        "SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('migration_engine.migration'), pg_catalog.hashtext($1))",
        &[name.into()],
    )?;
    Ok(())
}

pub fn check_runnable(
    name: &str,
    _opts: &RunOptions,
    resume: bool,
    session_lock: bool,
) -> MeResult<Result<MigrationRow, Refused>> {
    // existence first, so an unknown name is an error rather than a refusal
    if catalog::migration_id_of(name)?.is_none() {
        return Err(catalog::no_such_migration(name));
    }
    if !try_lock(name, session_lock)? {
        return Ok(Err(Refused {
            code: codes::ALREADY_RUNNING,
            status: MigrationStatus::Running.as_str().into(),
            message: format!("migration {name:?} is being run by another session"),
            hint:
                "Wait for it to finish, or cancel it with migration_engine.cancel_migration(name)."
                    .into(),
        }));
    }
    let row = catalog::load(name, true)?;
    let status_refusal = |code, message: String, hint: &str| Refused {
        code,
        status: row.status.as_str().into(),
        message,
        hint: hint.into(),
    };
    if resume {
        match row.status {
            MigrationStatus::Completed | MigrationStatus::RolledBack => {
                return Ok(Err(status_refusal(
                    codes::NOTHING_TO_RESUME,
                    format!(
                        "migration {name:?} is {}; there is nothing to resume",
                        row.status.as_str()
                    ),
                    "Run it with migration_engine.execute_migration(name).",
                )))
            }
            MigrationStatus::Running if !row.stale => {
                return Ok(Err(status_refusal(
                    codes::ALREADY_RUNNING,
                    format!("migration {name:?} is RUNNING in a live session"),
                    "Wait for it, or cancel it with migration_engine.cancel_migration(name).",
                )))
            }
            _ => {}
        }
    } else if let Err(refusal) = can_execute(row.status) {
        let hint = if row.stale {
            "Its session is gone (killed or crashed): continue it with migration_engine.resume_migration(name)."
        } else if row.status == MigrationStatus::Completed {
            "Roll it back first with migration_engine.rollback_migration(name) to run it again."
        } else {
            "Wait for it, or cancel it with migration_engine.cancel_migration(name)."
        };
        return Ok(Err(status_refusal(
            refusal.code(),
            format!("migration {name:?}: {refusal}"),
            hint,
        )));
    }
    let pending: Vec<String> = row
        .dependencies
        .iter()
        .filter(|(_, status)| status != MigrationStatus::Completed.as_str())
        .map(|(dep, status)| format!("{dep} ({status})"))
        .collect();
    if !pending.is_empty() {
        return Ok(Err(status_refusal(
            codes::DEPENDENCY_NOT_COMPLETED,
            format!(
                "migration {name:?} depends on migrations that are not COMPLETED: {}",
                pending.join(", ")
            ),
            "Run its dependencies first; migration_engine.migration_plan() gives the order.",
        )));
    }
    Ok(Ok(row))
}
