//! One step of a canary: evaluate, then advance by stepPercentage (finalizing with the
//! atomic switch at 100), roll back, or pause, as the core's decision says; and the
//! ways a rollout ends, each ending the migration too.
use super::score::{round3, score};
use crate::bluegreen;
use crate::catalog::MigrationId;
use crate::catalog::{self, MigrationRow, Rollout, StepRecord};
use crate::errors::MeResult;
use crate::spi::audit;
use migration_engine_core::engine::state::{MigrationStatus, StepStatus};
use migration_engine_core::rollout::canary::{CanaryDecision, RolloutStatus};
use serde_json::{json, Value};

/// Route `pct` percent from now on, as a step of the canary (recorded and audited).
pub(super) fn set_percentage(r: &Rollout, pct: i32, why: &str) -> MeResult<i32> {
    let step = r.step + 1;
    catalog::set_rollout_percentage(r.id, pct, step)?;
    record_step(r.id, step, pct, why)?;
    audit(
        "canary_percentage",
        "migration",
        &r.name,
        json!({"from": r.percentage, "to": pct, "step": step, "reason": why}),
    )?;
    Ok(step)
}

/// Each percentage a canary routes is a step of its migration's record.
pub(super) fn record_step(id: MigrationId, step: i32, pct: i32, why: &str) -> MeResult<()> {
    let now = catalog::now_epoch();
    StepRecord {
        migration_id: id,
        // a canary's percentages are recorded under its migration's id as the run id;
        // canary_status shows those since the rollout started
        run_id: catalog::RunId(id.0),
        direction: "canary",
        step_number: step,
        step_name: &format!("SetCanaryPercentage{pct}"),
        step_type: "CANARY",
        status: StepStatus::Completed,
        started_epoch: now,
        finished_epoch: Some(now),
        error: None,
        retry_count: 0,
        new_value: Some(json!({"canary_percentage": pct, "reason": why})),
    }
    .write()
}

/// The name of a decision in advance_canary's result.
fn decision_name(decision: &CanaryDecision) -> &'static str {
    match decision {
        CanaryDecision::Advance(_) => "ADVANCE",
        CanaryDecision::Finalize => "FINALIZE",
        CanaryDecision::Rollback { .. } => "ROLLBACK",
        CanaryDecision::Pause { .. } => "PAUSE",
    }
}

pub(crate) fn advance(name: &str) -> MeResult<Value> {
    let r = catalog::load_rollout(name, true)?;
    if r.status != RolloutStatus::Running {
        return Ok(
            json!({"success": false, "status": r.status.as_str(), "percentage": r.percentage, "decision": "NONE",
            "message": format!("the canary is {}: nothing to advance", r.status)}),
        );
    }
    let row = catalog::load(name, false)?;
    let transforms = bluegreen::transforms_of(&row);
    let replayed = bluegreen::sync(&r.old_schema, &r.new_schema, &transforms)?;
    let (ev, _) = score(&r, true)?;
    let evaluation =
        json!({"success": ev.success, "score": round3(ev.score), "details": ev.details.clone()});
    catalog::set_rollout_score(r.id, ev.score, evaluation)?;
    let current = r.percentage.clamp(0, 100) as u8;
    let decision = match r.config.next_step(current, &ev, r.elapsed_minutes) {
        CanaryDecision::Advance(100) => CanaryDecision::Finalize,
        d => d,
    };
    let (status, pct, reason) = match decision {
        CanaryDecision::Advance(p) => {
            set_percentage(&r, i32::from(p), "metrics passed")?;
            (RolloutStatus::Running, i32::from(p), None)
        }
        CanaryDecision::Finalize => {
            if r.percentage < 100 {
                set_percentage(&r, 100, "metrics passed: finalize")?;
            }
            let switched = bluegreen::finalize(&r.old_schema, &r.new_schema, r.id, &transforms)?;
            finish(
                &r,
                &row,
                RolloutStatus::Completed,
                None,
                json!({"switch": switched}),
            )?;
            (RolloutStatus::Completed, 100, None)
        }
        CanaryDecision::Rollback { reason } => {
            roll_back(&r, &row, RolloutStatus::RolledBack, reason.code())?;
            (RolloutStatus::RolledBack, 0, Some(reason.code()))
        }
        CanaryDecision::Pause { reason } => {
            catalog::transition_rollout(&r, RolloutStatus::Paused, Some(reason.code()))?;
            audit(
                "canary_paused",
                "migration",
                &r.name,
                json!({"reason": reason.code()}),
            )?;
            (RolloutStatus::Paused, r.percentage, Some(reason.code()))
        }
    };
    Ok(json!({
        "success": ev.success,
        "score": round3(ev.score),
        "details": ev.details,
        "decision": decision_name(&decision),
        "status": status.as_str(),
        "percentage": pct,
        "previous_percentage": r.percentage,
        "reason": reason,
        "replayed": replayed,
    }))
}

/// Everyone back on the old version: percentage 0, the sync stopped, the new version's
/// schema kept for inspection, the migration ROLLED_BACK.
pub(super) fn roll_back(
    r: &Rollout,
    row: &MigrationRow,
    ending: RolloutStatus,
    reason: &str,
) -> MeResult<()> {
    if r.percentage != 0 {
        set_percentage(r, 0, reason)?;
    }
    bluegreen::stop_sync(&r.old_schema)?;
    finish(
        r,
        row,
        ending,
        Some(reason),
        json!({"kept_schema": r.new_schema}),
    )
}

/// End the rollout as `ending` and its migration with it (COMPLETED when the canary
/// was finalized, ROLLED_BACK otherwise), audited as `canary_<ending>`.
fn finish(
    r: &Rollout,
    row: &MigrationRow,
    ending: RolloutStatus,
    reason: Option<&str>,
    detail: Value,
) -> MeResult<()> {
    catalog::transition_rollout(r, ending, reason)?;
    let migration = if ending == RolloutStatus::Completed {
        MigrationStatus::Completed
    } else {
        MigrationStatus::RolledBack
    };
    // the migration has been live (RUNNING) for the whole rollout
    let running = MigrationRow {
        status: MigrationStatus::Running,
        ..row.clone()
    };
    catalog::set_status(&running, migration, "canary", reason, detail.clone())?;
    audit(
        &format!("canary_{}", ending.as_str().to_lowercase()),
        "migration",
        &r.name,
        detail,
    )
}
