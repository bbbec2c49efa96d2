//! TrialRunCheck (options.trial): run the forward steps statement by statement in a
//! subtransaction, trace what each did (locks, rewrites, rows read, duration), then undo
//! everything. What Eugene does from outside, done from inside; and each trace is
//! compared with the static verdict, so that a rule that is wrong about PostgreSQL shows.
use crate::errors::MeResult;
use crate::parser::parse_step;
use crate::safety::context::parse_search_path;
use crate::safety::{Context, SafetyCheck};
use crate::spi::with_search_path;
use crate::steps::trial_run;
use migration_engine_core::safety::codes::{POTENTIAL_LOCK, TRIAL_RUN_FAILED};
use migration_engine_core::safety::{
    analyze, contradictions, CheckResult, Issue, LockMode, Severity,
};
use serde_json::json;
use std::collections::BTreeSet;

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
        // parsed when the step is reached, as the static analysis parses it
        let path = parse_search_path(&ctx.data_schema)?;
        let split = |step: &migration_engine_core::engine::definition::Step| {
            let script = step.kind.statement_text()?;
            with_search_path(&path, || parse_step(&step.name, script, step.transaction))
                .ok()?
                .ok()
        };
        let trace = trial_run(&ctx.migration, &split)?;
        let mut seen = BTreeSet::new();
        for s in &trace.statements {
            for lock in &s.trace.locks {
                if seen.insert((lock.table.clone(), lock.mode.clone())) {
                    issues.push(observed_lock(&lock.table, &lock.mode, &s.trace.step));
                }
            }
        }
        // the static verdict as the lint gives it: the whole script read in order, over
        // the statements as parsed when the trial reached them
        let parsed: Vec<_> = trace
            .statements
            .iter()
            .filter_map(|s| s.facts.clone())
            .collect();
        let findings = analyze(&parsed);
        for s in &trace.statements {
            issues.push(s.trace.to_issue());
            if let Some(facts) = &s.facts {
                let mine: Vec<_> = findings
                    .iter()
                    .filter(|f| f.step == facts.step && f.statement == facts.sql)
                    .collect();
                issues.extend(contradictions(facts, &mine, &s.trace));
            }
        }
        if let Some(e) = trace.error {
            issues.push(Issue::new(
                Severity::High,
                TRIAL_RUN_FAILED,
                format!("The trial run failed: {e}"),
            ));
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}

fn observed_lock(table: &str, mode: &str, step: &str) -> Issue {
    let parsed = LockMode::parse(mode);
    let severity = match parsed {
        Some(LockMode::AccessExclusive) | Some(LockMode::Exclusive) => Severity::High,
        Some(LockMode::Share) | Some(LockMode::ShareRowExclusive) => Severity::Medium,
        _ => Severity::Low,
    };
    Issue::new(
        severity,
        POTENTIAL_LOCK,
        format!("Trial run took {mode} on {table}"),
    )
    .with_details(
        json!({"observed": true, "table": table, "lock_mode": mode, "step": step,
            "blocks": parsed.map(|m| m.blocks().as_str())}),
    )
}
