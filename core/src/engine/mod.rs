//! The migration engine's pure half: what a migration is (`definition`), in which
//! order pending migrations run (`planner`), how the dependency graph is drawn
//! (`graph`) and which status changes are legal (`state`). The shell executes; this
//! module only decides.

pub mod definition;
pub mod graph;
pub mod plain_form;
pub mod planner;
pub mod state;
