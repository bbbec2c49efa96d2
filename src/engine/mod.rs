//! The migration engine's shell: definitions stored, planned, executed step by step with
//! SPI, recorded, rolled back, resumed, cancelled and paused. The decisions (definition
//! checks, order, legal status changes, graph text) come from the core's `engine` module.
pub(crate) mod catalog;
mod control;
mod create;
mod deploy;
mod execute;
pub(crate) mod gate;
mod locks;
mod plain_form;
mod plan;
mod procedure;
mod rollback;
mod rollback_procedure;
mod run;
mod steps;
mod top_level;
mod trial;

use crate::errors::MeResult;
use catalog::MigrationRow;
pub use execute::{clone_row, record_all};
use migration_engine_core::engine::planner::PlanNode;
pub use run::{
    execute_step as execute_forward_step, execute_validation as execute_validation_rules,
    StepResult,
};
pub use steps::{boolean_expressions, RunOptions};

/// Every migration as the planner sees it.
pub fn plan_nodes() -> MeResult<Vec<PlanNode>> {
    Ok(plan::all_nodes()?.into_iter().map(|(n, _)| n).collect())
}

/// Run the forward steps in a subtransaction, note the relation locks they took, undo
/// everything. Returns ((relation, lock mode)…, the first step error if any).
pub fn trial_run(row: &MigrationRow) -> MeResult<(Vec<(String, String)>, Option<String>)> {
    trial::trial_run(row)
}

/// The migration, locked and checked runnable (status, dependencies), or the refusal as
/// the JSON that execute_migration returns.
pub fn check_runnable_by_name(
    name: &str,
    opts: &RunOptions,
) -> MeResult<Result<MigrationRow, serde_json::Value>> {
    Ok(gate::check_runnable(name, opts, false, false)?.map_err(execute::refused_json))
}
