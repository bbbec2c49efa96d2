//! RollbackCapabilityCheck: rollback steps exist, parse (parsed, never run), and do not
//! drop what the forward steps filled.
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use migration_engine_core::safety::codes::{
    INVALID_ROLLBACK_SCRIPT, NO_ROLLBACK_SCRIPT, ROLLBACK_CAPABILITY_CHECK,
};
use migration_engine_core::safety::{rollback_data_loss_issue, CheckResult, Issue, Severity};
use serde_json::json;

pub struct RollbackCapabilityCheck;

impl SafetyCheck for RollbackCapabilityCheck {
    fn name(&self) -> &'static str {
        ROLLBACK_CAPABILITY_CHECK
    }

    fn run(&self, ctx: &Context) -> MeResult<CheckResult> {
        let mut issues = Vec::new();
        if ctx.migration.definition.rollback.is_empty() {
            issues.push(Issue::new(
                Severity::Critical,
                NO_ROLLBACK_SCRIPT,
                "No rollback script provided for migration",
            ));
        }
        for (step, err) in &ctx.rollback_errors {
            issues.push(
                Issue::new(
                    Severity::Critical,
                    INVALID_ROLLBACK_SCRIPT,
                    format!("Invalid rollback script: step {step:?}: {err}"),
                )
                .with_details(json!({"step": step, "error": err})),
            );
        }
        if let Some(issue) = rollback_data_loss_issue(&ctx.forward, &ctx.rollback) {
            issues.push(issue);
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}
