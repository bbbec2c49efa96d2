//! The catalog layer: the only code that reads and writes the engine's catalog rows
//! (migrations and their step records), below every layer that acts on them. Status
//! values are the core's enums (`migration_engine_core::engine::state`), spelled as text
//! only here and in the tables' CHECK constraints.
mod active_schema;
mod cluster_migrations;
mod deploy_failures;
mod field_backfills;
mod migrations;
mod new_migrations;
mod pipeline_runs;
mod rollouts;
mod schema_versions;
mod step_records;
mod top_level_runs;

pub use crate::spi::typed_ids::{MigrationId, PipelineRunId, RunId};
pub use active_schema::*;
pub use cluster_migrations::*;
pub use deploy_failures::*;
pub use field_backfills::*;
pub use migrations::*;
pub use new_migrations::*;
pub use pipeline_runs::*;
pub use rollouts::*;
pub use schema_versions::*;
pub use step_records::*;
pub use top_level_runs::*;

use pgrx::Uuid;

/// What a run reports when it stops between steps on a pause request. Not a status of
/// the migration's row (that goes back to PENDING, resumable), only the word its result
/// shows.
pub const PAUSED: &str = "PAUSED";

/// A new time-ordered id for a catalog row (runs, rollouts, failures), made here rather
/// than asked of the server.
pub fn new_uuid() -> Uuid {
    crate::spi::ids::new_v7()
}

/// A new run of a migration's steps.
pub fn new_run_id() -> RunId {
    RunId(new_uuid())
}

pub fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}
