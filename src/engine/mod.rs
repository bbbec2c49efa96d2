//! The migration engine's shell: definitions stored, planned, executed step by step with
//! SPI, recorded, rolled back, resumed, cancelled and paused. The decisions (definition
//! checks, order, legal status changes, graph text) come from the core's `engine` module.
mod control;
mod create;
mod deploy;
mod execute;
pub(crate) mod gate;
mod plan;
mod procedure;
mod rollback;
mod rollback_procedure;

use crate::steps::RunOptions;
pub use execute::record_all;

/// The migration, locked and checked runnable (status, dependencies), or the refusal as
/// the JSON that execute_migration returns.
pub fn check_runnable_by_name(
    name: &str,
    opts: &RunOptions,
) -> crate::errors::MeResult<Result<crate::catalog::MigrationRow, serde_json::Value>> {
    Ok(gate::check_runnable(name, opts, false, false)?.map_err(execute::refused_json))
}
