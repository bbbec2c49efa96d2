//! The checks, in report order. Adding a check is adding a file and a line here.
mod data_integrity;
mod dependency;
mod lock_queue;
mod performance;
mod rollback;
mod trial;

use super::SafetyCheck;

pub static CHECKS: &[&(dyn SafetyCheck + Sync)] = &[
    &data_integrity::DataIntegrityCheck,
    &performance::PerformanceImpactCheck,
    &lock_queue::LockQueueCheck,
    &dependency::DependencyValidation,
    &rollback::RollbackCapabilityCheck,
    &trial::TrialRunCheck,
];
