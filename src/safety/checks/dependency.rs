//! DependencyValidation: dependencies exist and are COMPLETED; the graph has no cycle.
use crate::catalog::plan_nodes;
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use crate::spi::first_value;
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
        // the whole graph is planned (to name the cycle) only when this migration can
        // reach itself: the reachable set is walked in SQL from its own dependencies,
        // so the check costs its ancestors, not every migration in the catalog
        if on_a_cycle(ctx.migration.id)? {
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
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}

/// Whether the migration depends, through any chain of dependencies, on itself.
fn on_a_cycle(migration_id: crate::catalog::MigrationId) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "WITH RECURSIVE reachable(id) AS ( \
             SELECT d FROM migration_engine.knowledge_migrations m, unnest(m.depends_on) d WHERE m.migration_id = $1 \
             UNION \
             SELECT d FROM reachable r JOIN migration_engine.knowledge_migrations m ON m.migration_id = r.id, unnest(m.depends_on) d) \
         SELECT EXISTS (SELECT 1 FROM reachable WHERE id = $1)",
        &[migration_id.into()],
    )?
    .unwrap_or(false))
}
