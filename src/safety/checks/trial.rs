//! TrialRunCheck (options.trial): run the forward steps in a subtransaction, read from
//! pg_locks the relation locks they took, then undo everything. What Eugene does from
//! outside, done from inside.
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use crate::steps::trial_run;
use migration_engine_core::safety::codes::{POTENTIAL_LOCK, TRIAL_RUN_FAILED};
use migration_engine_core::safety::{CheckResult, Issue, LockMode, Severity};
use serde_json::json;

pub struct TrialRunCheck;

impl SafetyCheck for TrialRunCheck {
    fn name(&self) -> &'static str {
        "TrialRun"
    }

    fn run(&self, ctx: &Context) -> MeResult<CheckResult> {
        let mut issues = Vec::new();
        if !ctx.trial {
            return Ok(CheckResult::new(self.name(), issues));
        }
        let (locks, error) = trial_run(&ctx.migration)?;
        for (table, mode) in &locks {
            let parsed = LockMode::parse(mode);
            let severity = match parsed {
                Some(LockMode::AccessExclusive) | Some(LockMode::Exclusive) => Severity::High,
                Some(LockMode::Share) | Some(LockMode::ShareRowExclusive) => Severity::Medium,
                _ => Severity::Low,
            };
            issues.push(
                Issue::new(
                    severity,
                    POTENTIAL_LOCK,
                    format!("Trial run took {mode} on {table}"),
                )
                .with_details(json!({"observed": true, "table": table, "lock_mode": mode,
                        "blocks": parsed.map(|m| m.blocks().as_str())})),
            );
        }
        if let Some(e) = error {
            issues.push(Issue::new(
                Severity::High,
                TRIAL_RUN_FAILED,
                format!("The trial run failed: {e}"),
            ));
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}
