//! The step runner: one step of a migration run as its kind says (SQL, FUNCTION,
//! TRANSFORM, VALIDATE), under the lock policy, with its record written; steps outside
//! a transaction handed to the top-level runner; trial runs for the safety checks.
//! Below the safety checks (which call `trial_run` and read `boolean_expressions`) and
//! above the pipelines (TRANSFORM steps) and the catalog.
mod kinds;
mod locks;
mod plain_form;
mod run;
pub mod top_level;
mod trial;

pub use kinds::{boolean_expressions, require_expressions, RunOptions};
pub use run::{execute_step, execute_validation, StepError, StepResult};
pub use trial::trial_run;
