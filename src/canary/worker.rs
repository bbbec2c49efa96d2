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
use super::advance::advance;
use crate::bluegreen;
use crate::catalog;
use crate::catalog::MigrationId;
use crate::errors::MeResult;
use crate::spi::caller_worker::{run_ticking, start_ticking, Tick};
use migration_engine_core::rollout::canary::RolloutStatus;
use pgrx::prelude::*;
use pgrx::Uuid;

/// Start the worker for canary `id`, running as the caller; its pid, or None when no
/// worker slot is free or the session acts as another role than it logged in as.
pub fn start(id: MigrationId) -> Option<i32> {
    start_ticking(
        "migration_engine canary",
        "migration_engine_canary_worker",
        id.0,
    )
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn migration_engine_canary_worker(_arg: pg_sys::Datum) {
    run_ticking("canary", tick);
}

/// One tick of the worker: keep the new version in sync, and advance when the step has
/// stabilized.
fn tick(id: Uuid) -> MeResult<Tick> {
    let Some((name, status)) = catalog::rollout_by_id(MigrationId(id))? else {
        return Ok(Tick::NotYet);
    };
    match status {
        RolloutStatus::Running => {}
        RolloutStatus::Paused => return Ok(Tick::Wait(1000)),
        RolloutStatus::Completed | RolloutStatus::RolledBack | RolloutStatus::Aborted => {
            return Ok(Tick::Done)
        }
    }
    let r = catalog::load_rollout(&name, false)?;
    let wait = (u64::from(r.config.stabilization_seconds.max(1)) * 1000).min(1000);
    if r.step_age_seconds >= f64::from(r.config.stabilization_seconds) {
        let v = advance(&name)?;
        return Ok(if v["status"] == RolloutStatus::Running.as_str() {
            Tick::Wait(wait)
        } else {
            Tick::Done
        });
    }
    let row = catalog::load(&name, false)?;
    bluegreen::sync(
        &r.old_schema,
        &r.new_schema,
        &bluegreen::transforms_of(&row),
    )?;
    Ok(Tick::Wait(wait))
}
