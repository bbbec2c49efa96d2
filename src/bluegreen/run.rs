//! One blue-green run: copy, migrate, validate, catch up, then switch (or, for a canary,
//! start keeping the target in sync); and how a failed run is recorded.
use super::capture::{raise_fence, Replayer};
use super::copy::{self, copy_schema};
use super::switch::{switch, CatchUpPhase};
use super::sync::start_sync;
use super::transforms::apply_transforms;
use super::{schema_exists, Purpose};
use crate::catalog::RunId;
use crate::catalog::{self, MigrationRow};
use crate::engine::record_all;
use crate::errors::{MeError, MeResult};
use crate::spi::subxact::{atomically, Aborted};
use crate::spi::{audit, first_value, quoted_ident, with_data_schema};
use crate::steps::{
    execute_step as execute_forward_step, execute_validation as execute_validation_rules,
    RunOptions, StepResult,
};
use crate::timing::elapsed_ms;
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::engine::state::StepStatus;
use migration_engine_core::rollout::blue_green::{catch_up_step, BlueGreenOptions, CatchUp};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Map, Value};
use std::time::Instant;

pub(super) struct Run<'a> {
    row: &'a MigrationRow,
    run_id: RunId,
    source: &'a str,
    target: &'a str,
    o: &'a BlueGreenOptions,
    opts: &'a RunOptions,
    clock: Instant,
    timings: Map<String, Value>,
    pub(super) steps: Vec<StepResult>,
    pub(super) validation: Vec<StepResult>,
    integrity: Value,
    /// pipelines of the TRANSFORM steps that ran: replayed writes go through them too
    transforms: Vec<Value>,
    /// the catch-up's replay, continued by the switch
    replayer: Option<Replayer>,
    /// where the target's sequences started (see check_headroom)
    sequence_starts: Value,
}

fn over_budget(clock: &Instant, o: &BlueGreenOptions, phase: &str) -> MeResult<()> {
    if clock.elapsed().as_millis() as u64 > o.timeout_ms {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_QUERY_CANCELED,
            format!(
                "blue-green migration exceeded its timeout of {} ms during {phase}",
                o.timeout_ms
            ),
        )
        .hint("Raise options.timeout, or run it when there is less traffic."));
    }
    Ok(())
}

impl<'a> Run<'a> {
    pub(super) fn new(
        row: &'a MigrationRow,
        run_id: RunId,
        source: &'a str,
        target: &'a str,
        o: &'a BlueGreenOptions,
        opts: &'a RunOptions,
        clock: Instant,
    ) -> Self {
        Run {
            row,
            run_id,
            source,
            target,
            o,
            opts,
            clock,
            timings: Map::new(),
            steps: Vec::new(),
            validation: Vec::new(),
            integrity: Value::Null,
            transforms: Vec::new(),
            replayer: None,
            sequence_starts: Value::Null,
        }
    }

    fn time<R>(&mut self, phase: &str, f: impl FnOnce(&mut Self) -> MeResult<R>) -> MeResult<R> {
        over_budget(&self.clock, self.o, phase)?;
        let t = Instant::now();
        let r = f(self);
        self.timings
            .insert(format!("{phase}_ms"), json!(elapsed_ms(t)));
        r
    }

    pub(super) fn go(&mut self, purpose: Purpose) -> MeResult<Value> {
        let fence_waits = raise_fence(self.o)?;
        let (source, target) = (self.source.to_string(), self.target.to_string());
        let copied = self.time("copy", |_| {
            atomically(|| copy_schema(&source, &target, self.o.sequence_headroom)).map_err(aborted)
        })?;
        let copied_rows: u64 = copied.values().filter_map(Value::as_u64).sum();
        self.sequence_starts = copy::sequence_starts(&target)?;
        self.time("migrate", |r| r.migrate())?;
        self.time("validate", |r| r.validate())?;
        let (replayed, rounds) = self.time("catch_up", |r| r.catch_up())?;
        if purpose == Purpose::Canary {
            let o = self.o;
            self.time("start_sync", |_| start_sync(&source, &target, o))?;
            return Ok(json!({
                "success": true,
                "migration_id": self.row.id.to_string(),
                "old_schema": source,
                "new_schema": target,
                "timings_ms": self.timings,
                "rows": {"copied": copied_rows, "copied_per_table": copied, "replayed_before_start": replayed, "catch_up_rounds": rounds},
                "steps": self.steps.iter().map(StepResult::to_json).collect::<Vec<_>>(),
                "validation": self.validation.iter().map(StepResult::to_json).collect::<Vec<_>>(),
                "integrity": self.integrity,
            }));
        }
        let o = self.o;
        let row_id = self.row.id;
        let transforms = self.transforms.clone();
        let starts = self.sequence_starts.clone();
        let mut replayer = match self.replayer.take() {
            Some(r) => r,
            None => Replayer::new(&source, &target, o.replay_batch, !transforms.is_empty())?,
        };
        let switched = self.time("switch", |_| {
            atomically(|| {
                switch(&source, &target, Some(row_id), o, |phase| {
                    // the run's own catch-up rounds came before the switch
                    if phase == CatchUpPhase::BeforeFreeze {
                        return Ok(0);
                    }
                    check_headroom(&source, &starts)?;
                    replayer.run(None, &mut || apply_transforms(&target, &transforms))
                })
            })
            .map_err(aborted)
        })?;
        self.timings.insert(
            "write_freeze_ms".into(),
            switched["write_freeze_ms"].clone(),
        );
        self.timings
            .insert("total_ms".into(), json!(elapsed_ms(self.clock)));
        audit(
            "blue_green_completed",
            "migration",
            &self.row.name,
            json!({"previous_schema": source, "new_schema": target, "run_id": self.run_id.to_string()}),
        )?;
        Ok(json!({
            "success": true,
            "migration_id": self.row.id.to_string(),
            "migration_name": self.row.name,
            "previous_schema": source,
            "new_schema": target,
            "switched_at": switched["switched_at"],
            "timings_ms": self.timings,
            "rows": {
                "copied": copied_rows,
                "copied_per_table": copied,
                "copy_rows_per_second": (copied_rows as f64 / (self.timings["copy_ms"].as_f64().unwrap_or(1.0).max(0.001) / 1000.0)).round(),
                "replayed_before_freeze": replayed,
                "replayed_during_freeze": switched["replayed_during_freeze"],
                "catch_up_rounds": rounds,
            },
            "steps": self.steps.iter().map(StepResult::to_json).collect::<Vec<_>>(),
            "validation": self.validation.iter().map(StepResult::to_json).collect::<Vec<_>>(),
            "integrity": self.integrity,
            "fence_retries": fence_waits,
            "freeze_attempts": switched["freeze_attempts"],
            "not_captured_tables": switched["not_captured_tables"],
        }))
    }

    /// The forward steps, in the target (unqualified names resolve there).
    fn migrate(&mut self) -> MeResult<()> {
        let default_continue = self
            .opts
            .continue_on_error
            .unwrap_or(self.row.definition.options.continue_on_error);
        for (i, step) in self.row.definition.forward.iter().enumerate() {
            let result = with_data_schema(self.target, || {
                execute_forward_step(&self.row.name, i as i32, step, self.target, self.opts)
            });
            let failed = result.status == StepStatus::Failed;
            if let (Some(pipeline), StepStatus::Completed) =
                (step.kind.transform_pipeline(), result.status)
            {
                self.transforms.push(Value::Object(pipeline.clone()));
            }
            let msg = result.error.as_ref().map(|e| e.message.clone());
            self.steps.push(result);
            if failed && !step.continues_on_error(default_continue) {
                return Err(MeError::new(
                    PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
                    format!(
                        "step {} ({}) failed: {}",
                        i,
                        step.name,
                        msg.unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The migration's validation rules, then the data-integrity checks, on the target.
    fn validate(&mut self) -> MeResult<()> {
        self.validation = with_data_schema(self.target, || {
            execute_validation_rules(&self.row.definition.validation, self.target, self.opts)
        });
        let failed: Vec<String> = self
            .validation
            .iter()
            .filter(|v| v.status == StepStatus::Failed)
            .map(|v| {
                format!(
                    "validation {} failed: {}",
                    v.name,
                    v.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")
                )
            })
            .collect();
        if !failed.is_empty() {
            return Err(MeError::new(
                PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                failed.join("; "),
            ));
        }
        if !self.o.skip_integrity {
            let check = crate::safety::integrity_on(self.target, &self.row.name)?;
            self.integrity = serde_json::to_value(&check).unwrap_or(Value::Null);
            if !check.passed {
                return Err(MeError::new(
                    PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
                    "the data-integrity checks found critical issues in the target",
                ));
            }
        }
        Ok(())
    }

    /// Replay while writes go on, until the backlog is under the lag bound.
    fn catch_up(&mut self) -> MeResult<(i64, u32)> {
        let mut replayed = 0;
        let mut rounds = 0;
        let (source, target, transforms) = (self.source, self.target, &self.transforms);
        let mut replayer =
            Replayer::new(source, target, self.o.replay_batch, !transforms.is_empty())?;
        loop {
            over_budget(&self.clock, self.o, "catch-up")?;
            let waiting = replayer.backlog()?.max(0) as u64;
            match catch_up_step(waiting, rounds, self.o) {
                CatchUp::Freeze => {
                    self.replayer = Some(replayer);
                    return Ok((replayed, rounds));
                }
                CatchUp::GiveUp => {
                    return Err(MeError::new(
                        PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE,
                        format!("the catch-up backlog stayed above {} changes after {rounds} rounds ({waiting} waiting)", self.o.max_lag_rows),
                    )
                    .hint("Writes arrive faster than they are replayed: retry when there is less traffic, or raise maxLagRows / maxCatchUpRounds."))
                }
                CatchUp::Replay => {
                    check_headroom(source, &self.sequence_starts)?;
                    replayed += atomically(|| {
                        replayer.run(Some(1), &mut || apply_transforms(target, transforms))
                    })
                    .map_err(aborted)?;
                    rounds += 1;
                }
            }
        }
    }

    /// Record the failure; drop the half-built target unless asked to keep it.
    pub(super) fn fail(&mut self, e: MeError) -> MeResult<Value> {
        let mut dropped = false;
        if !self.o.keep_target_on_failure && schema_exists(self.target)? {
            Spi::run(&format!(
                "DROP SCHEMA {} CASCADE",
                quoted_ident("target schema", self.target)?
            ))?;
            dropped = true;
        }
        catalog::mark_blue_green_ended()?;
        record_all(self.row, self.run_id, &self.steps, &self.validation)?;
        let running = MigrationRow {
            status: MigrationStatus::Running,
            ..self.row.clone()
        };
        catalog::set_status(
            &running,
            MigrationStatus::Failed,
            "execute_blue_green_migration",
            Some(&e.message),
            json!({"run_id": self.run_id.to_string(), "target_schema": self.target}),
        )?;
        audit(
            "blue_green_failed",
            "migration",
            &self.row.name,
            json!({"error": e.message, "target_schema": self.target, "target_dropped": dropped}),
        )?;
        self.timings
            .insert("total_ms".into(), json!(elapsed_ms(self.clock)));
        Ok(json!({
            "success": false,
            "migration_id": self.row.id.to_string(),
            "migration_name": self.row.name,
            "status": MigrationStatus::Failed.as_str(),
            "error": e.message,
            "sqlstate": crate::spi::subxact::sqlstate_text(e.code),
            "hint": e.hint,
            "previous_schema": self.source,
            "new_schema": Value::Null,
            "switched_at": Value::Null,
            "active_schema": self.source,
            "target_schema": self.target,
            "target_dropped": dropped,
            "timings_ms": self.timings,
            "steps": self.steps.iter().map(StepResult::to_json).collect::<Vec<_>>(),
            "validation": self.validation.iter().map(StepResult::to_json).collect::<Vec<_>>(),
            "integrity": self.integrity,
        }))
    }
}

fn aborted(a: Aborted<MeError>) -> MeError {
    match a {
        Aborted::Returned(e) => e,
        Aborted::Raised(e) => MeError::new(e.code, e.message),
    }
}

/// Rows the migration created in the target took identity values from `headroom` above
/// the source's; writes to the source must not have used that many since, or replayed
/// rows would collide with them.
fn check_headroom(source: &str, starts: &Value) -> MeResult<()> {
    let overrun = first_value::<String>(
        "SELECT string_agg(f.sequencename, ', ') FROM pg_catalog.pg_sequences f \
         WHERE f.schemaname = $1 AND f.last_value >= ($2::jsonb ->> f.sequencename::text)::bigint",
        &[source.into(), JsonB(starts.clone()).into()],
    )?;
    match overrun {
        Some(list) => Err(MeError::prerequisite(format!(
            "more rows were written to {source:?} during the migration than sequenceHeadroom allows (sequences: {list})"
        ))
        .hint("Retry with a larger options.sequenceHeadroom.")),
        None => Ok(()),
    }
}
