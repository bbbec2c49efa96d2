//! DependencyValidation: dependencies exist and are COMPLETED; the graph has no cycle.
use crate::catalog::plan_nodes;
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use migration_engine_core::engine::planner::{plan, PlanError};
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::safety::codes::{
    DEPENDENCY_CYCLE, DEPENDENCY_NOT_COMPLETED, DEPENDENCY_VALIDATION,
};
use migration_engine_core::safety::{CheckResult, Issue, Severity};
use serde_json::json;

pub struct DependencyValidation;

impl SafetyCheck for DependencyValidation {
    fn name(&self) -> &'static str {
        DEPENDENCY_VALIDATION
    }

    fn run(&self, ctx: &Context) -> MeResult<CheckResult> {
        let mut issues = Vec::new();
        for (dep, status) in &ctx.migration.dependencies {
            if status != MigrationStatus::Completed.as_str() {
                issues.push(
                    Issue::new(
                        Severity::Critical,
                        DEPENDENCY_NOT_COMPLETED,
                        format!("Dependency {dep} is {status}, not COMPLETED"),
                    )
                    .with_details(json!({"dependency": dep, "status": status})),
                );
            }
        }
        if let Err(PlanError::Cycle { cycle }) = plan(&plan_nodes()?) {
            if cycle.iter().any(|n| n == &ctx.migration.name) {
                issues.push(
                    Issue::new(
                        Severity::Critical,
                        DEPENDENCY_CYCLE,
                        format!("Dependency cycle: {}", cycle.join(" → ")),
                    )
                    .with_details(json!({"cycle": cycle})),
                );
            }
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}
