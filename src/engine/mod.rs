//! The migration engine's shell: definitions stored, planned, executed step by step with
//! SPI, recorded, rolled back, resumed, cancelled and paused. The decisions (definition
//! checks, order, legal status changes, graph text) come from the core's `engine` module.
mod catalog;
mod control;
mod create;
mod execute;
mod gate;
mod plan;
mod procedure;
mod rollback;
mod run;
mod steps;
