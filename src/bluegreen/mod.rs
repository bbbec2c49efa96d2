//! Blue-green migrations: copy the active data schema, migrate and validate the copy,
//! replay the writes that arrived meanwhile, switch atomically with pg_notify.
//!
//! Everything runs in the caller's transaction (so a test's ROLLBACK undoes it and the
//! notification goes out only on COMMIT). Concurrent writers are not blocked while the
//! copy is built: their changes are logged by the capture trigger and replayed; writes
//! wait only for the final catch-up and the switch.
mod capture;
mod copy;
mod switch;

use crate::engine::catalog::{self, MigrationRow};
use crate::engine::{execute_forward_step, execute_validation_rules, record_all, RunOptions};
use crate::errors::{MeError, MeResult};
use crate::spi::subxact::{atomically, Aborted};
use crate::spi::{audit, data_schema, first_value, quietly, quoted_ident, with_data_schema};
use capture::{discard, raise_fence, replay, set_capture, try_claim_run, Replayer};
use copy::{copy_schema, tables};
use migration_engine_core::engine::definition::StepKind;
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::rollout::blue_green::{catch_up_step, BlueGreenOptions, CatchUp};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Map, Value};
use std::time::Instant;
use switch::{ms, switch};

type PgResult<T> = Result<T, pgrx::pg_sys::panic::ErrorReport>;

fn in_progress_error() -> MeError {
    MeError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
        "a blue-green migration or canary is already in progress",
    )
    .hint("Wait for it to finish (see migration_engine.blue_green_status), then retry.")
}

/// No other blue-green operation may run, now or in this transaction.
fn claim_exclusive() -> MeResult<()> {
    let flagged = first_value::<bool>(
        "SELECT migration_in_progress FROM migration_engine.active_schema_version WHERE id = 1 FOR UPDATE",
        &[],
    )?
    .unwrap_or(false);
    if flagged || !try_claim_run()? {
        return Err(in_progress_error());
    }
    Ok(())
}

fn require_read_committed() -> MeResult<()> {
    let level = first_value::<String>("SELECT current_setting('transaction_isolation')", &[])?;
    if level.as_deref() != Some("read committed") {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            format!("blue-green operations need READ COMMITTED, not {}", level.unwrap_or_default()),
        )
        .hint("Each catch-up round must see the writes committed meanwhile: run it in a READ COMMITTED transaction."));
    }
    Ok(())
}

fn schema_exists(name: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
        &[name.into()],
    )?
    .unwrap_or(false))
}

/// A schema the graph can live in: its two temporal tables with their key columns.
fn require_data_schema(name: &str) -> MeResult<()> {
    quoted_ident("schema", name)?;
    if !schema_exists(name)? {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_INVALID_SCHEMA_NAME,
            format!("schema {name:?} does not exist"),
        ));
    }
    let ok = first_value::<bool>(
        "SELECT count(*) = 10 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT a.attisdropped AND (c.relname, a.attname) IN ( \
           ('temporal_entities', 'entity_id'), ('temporal_entities', 'entity_type'), ('temporal_entities', 'content'), \
           ('temporal_entities', 'valid_to'), ('temporal_entities', 'is_deleted'), \
           ('temporal_relations', 'relation_id'), ('temporal_relations', 'source_entity_id'), \
           ('temporal_relations', 'target_entity_id'), ('temporal_relations', 'valid_to'), ('temporal_relations', 'is_deleted'))",
        &[name.into()],
    )?
    .unwrap_or(false);
    if !ok {
        return Err(MeError::prerequisite(format!(
            "schema {name:?} is not a data schema: it lacks temporal_entities / temporal_relations with their key columns"
        ))
        .hint("Switch only to a schema built by execute_blue_green_migration (or shaped like kg)."));
    }
    Ok(())
}

fn schema_is_empty(name: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1) \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1) \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1)",
        &[name.into()],
    )?
    .unwrap_or(true))
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

/// Copy the active data schema to `target_schema`, run the migration there, validate it,
/// replay concurrent writes, and switch atomically. Returns `{success, previous_schema,
/// new_schema, switched_at, timings_ms, rows, ...}`; a failed migration returns
/// success false (recorded FAILED, nothing switched) instead of raising.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn execute_blue_green_migration(
    migration_id: Uuid,
    target_schema: default!(&str, "'green'"),
    options: default!(JsonB, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    Ok(JsonB(quietly(|| {
        blue_green(migration_id, target_schema, &options.0)
    })?))
}

/// What the prepared target is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Switch to it at once (execute_blue_green_migration).
    Switch,
    /// Keep it in sync and route part of the traffic to it (a canary).
    Canary,
}

fn blue_green(migration_id: Uuid, target: &str, options: &Value) -> MeResult<Value> {
    prepare(migration_id, target, options, Purpose::Switch)
}

/// Copy, migrate, validate and catch up; then switch, or (a canary) keep the target in
/// sync: the source's writes are logged from now on and replayed by each canary tick.
pub(crate) fn prepare(
    migration_id: Uuid,
    target: &str,
    options: &Value,
    purpose: Purpose,
) -> MeResult<Value> {
    let clock = Instant::now();
    let o = BlueGreenOptions::parse(options).map_err(MeError::invalid_parameter)?;
    quoted_ident("target schema", target)?;
    require_read_committed()?;
    let name = first_value::<String>(
        "SELECT migration_name FROM migration_engine.knowledge_migrations WHERE migration_id = $1",
        &[migration_id.into()],
    )?
    .ok_or_else(|| {
        MeError::undefined_object(format!("no migration has id {migration_id}"))
            .hint("Create it with migration_engine.create_migration(definition); ids are in migration_engine.migration_status.")
    })?;
    let source = data_schema()?;
    if target == source {
        return Err(MeError::invalid_parameter(format!(
            "the target schema {target:?} is the active data schema"
        ))
        .hint("Name a new schema, for example 'green'."));
    }
    claim_exclusive()?;
    if schema_exists(target)? && !schema_is_empty(target)? {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_DUPLICATE_SCHEMA,
            format!("target schema {target:?} exists and is not empty"),
        )
        .hint(
            "Drop it with migration_engine.drop_inactive_schema(name), or name another target.",
        ));
    }
    let source_tables = tables(&source)?;
    let keyless: Vec<&str> = source_tables
        .iter()
        .filter(|t| t.key.is_empty())
        .map(|t| t.name.as_str())
        .collect();
    if !keyless.is_empty() {
        return Err(MeError::prerequisite(format!(
            "tables of {source:?} without a primary key: {} (their concurrent changes could not be replayed)",
            keyless.join(", ")
        ))
        .hint("Add a primary key to each table of the data schema."));
    }
    let opts = RunOptions::parse(&json!({}))?;
    let row = match crate::engine::check_runnable_by_name(&name, &opts)? {
        Ok(row) => row,
        Err(refused) => return Ok(refused),
    };
    let opts = RunOptions {
        migration_id: Some(row.id),
        ..opts
    };
    let run_id = catalog::new_uuid()?;
    Spi::run_with_args(
        "UPDATE migration_engine.active_schema_version SET migration_in_progress = true, migration_id = $1 WHERE id = 1",
        &[row.id.into()],
    )?;
    catalog::set_status(
        &row,
        MigrationStatus::Running,
        "execute_blue_green_migration",
        None,
        json!({"run_id": run_id.to_string(), "target_schema": target}),
    )?;
    // leftovers of an earlier failed run (or a closed switch-back window)
    discard(&source)?;
    // tables the capture trigger does not cover yet (added by hand): covered from now
    // on; their writers wait for this transaction, which loses nothing but blocks them
    let mut capture_installed = Vec::new();
    for t in source_tables.iter().filter(|t| !t.has_capture) {
        set_capture(&source, t, "gated")?;
        capture_installed.push(t.name.clone());
    }

    let mut run = Run {
        row: &row,
        run_id,
        source: &source,
        target,
        o: &o,
        opts: &opts,
        clock,
        timings: Map::new(),
        steps: Vec::new(),
        validation: Vec::new(),
        integrity: Value::Null,
        transforms: Vec::new(),
        replayer: None,
        sequence_starts: Value::Null,
    };
    let outcome = run.go(purpose);
    let result = match outcome {
        Ok(v) if purpose == Purpose::Canary => v,
        Ok(mut v) => {
            record_all(&row, run_id, &run.steps, &run.validation)?;
            let running = MigrationRow {
                status: MigrationStatus::Running,
                ..crate::engine::clone_row(&row)
            };
            catalog::set_status(
                &running,
                MigrationStatus::Completed,
                "execute_blue_green_migration",
                None,
                json!({"run_id": run_id.to_string(), "new_schema": target}),
            )?;
            v["capture_installed_during_run"] = json!(capture_installed);
            v
        }
        Err(e) => run.fail(e)?,
    };
    catalog::append_log(
        row.id,
        json!({"run_id": run_id.to_string(), "action": "blue_green", "success": result["success"],
               "at": catalog::now_epoch(), "target_schema": target, "error": result.get("error")}),
    )?;
    Ok(result)
}

struct Run<'a> {
    row: &'a MigrationRow,
    run_id: Uuid,
    source: &'a str,
    target: &'a str,
    o: &'a BlueGreenOptions,
    opts: &'a RunOptions,
    clock: Instant,
    timings: Map<String, Value>,
    steps: Vec<crate::engine::StepResult>,
    validation: Vec<crate::engine::StepResult>,
    integrity: Value,
    /// pipelines of the TRANSFORM steps that ran: replayed writes go through them too
    transforms: Vec<Value>,
    /// the catch-up's replay, continued by the switch
    replayer: Option<Replayer>,
    /// where the target's sequences started (see check_headroom)
    sequence_starts: Value,
}

/// From now on the source logs every write ('always': the capture fence ends with this
/// transaction) and the target takes no direct writes (only replays): the canary keeps
/// them in sync by replaying at each tick.
fn start_sync(source: &str, target: &str, o: &BlueGreenOptions) -> MeResult<()> {
    for t in tables(source)? {
        capture::with_lock_retries(
            &format!("log every write to {}", t.name),
            o,
            || Ok(()),
            || set_capture(source, &t, "always"),
        )?;
    }
    for t in tables(target)? {
        switch::retire(target, &t, source)?;
    }
    Ok(())
}

/// Replay what the source logged into the target, through the migration's TRANSFORM
/// steps (a canary tick). Returns the changes replayed.
pub(crate) fn sync(source: &str, target: &str, transforms: &[Value]) -> MeResult<i64> {
    let o = BlueGreenOptions::default();
    replay(
        source,
        target,
        o.replay_batch,
        !transforms.is_empty(),
        &mut || apply_transforms(target, transforms),
    )
}

/// The switch that finalizes a canary.
pub(crate) fn finalize(
    source: &str,
    target: &str,
    migration_id: Uuid,
    transforms: &[Value],
) -> MeResult<Value> {
    let o = BlueGreenOptions::default();
    switch(source, target, Some(migration_id), &o, || {
        sync(source, target, transforms)
    })
}

/// Stop syncing after a canary rolled back: the source logs only under a fence again,
/// its log is dropped; the target stays (retired) for inspection.
pub(crate) fn stop_sync(source: &str) -> MeResult<()> {
    let o = BlueGreenOptions::default();
    for t in tables(source)?.iter().filter(|t| !t.key.is_empty()) {
        capture::with_lock_retries(
            &format!("update the capture trigger of {}", t.name),
            &o,
            || Ok(()),
            || set_capture(source, t, "gated"),
        )?;
    }
    discard(source)?;
    Spi::run("UPDATE migration_engine.active_schema_version SET migration_in_progress = false WHERE id = 1")?;
    Ok(())
}

/// The pipelines of a migration's TRANSFORM steps.
pub(crate) fn transforms_of(row: &MigrationRow) -> Vec<Value> {
    row.definition
        .forward
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Transform { pipeline } => Some(Value::Object(pipeline.clone())),
            _ => None,
        })
        .collect()
}

/// The migration's transformation on the entities of this replay round.
fn apply_transforms(target: &str, pipelines: &[Value]) -> MeResult<()> {
    if pipelines.is_empty() {
        return Ok(());
    }
    let ids = first_value::<Vec<Uuid>>(
        &format!(
            "SELECT array_agg(DISTINCT (row_data ->> 'entity_id')::uuid) FROM {} \
             WHERE table_name = 'temporal_entities' AND operation <> 'D' AND row_data ->> 'valid_to' = 'infinity'",
            capture::replay_table()?
        ),
        &[],
    )?
    .unwrap_or_default();
    for p in pipelines {
        crate::pipeline::transform_entities(p, target, &ids)?;
    }
    Ok(())
}

impl Run<'_> {
    fn time<R>(&mut self, phase: &str, f: impl FnOnce(&mut Self) -> MeResult<R>) -> MeResult<R> {
        over_budget(&self.clock, self.o, phase)?;
        let t = Instant::now();
        let r = f(self);
        self.timings.insert(format!("{phase}_ms"), json!(ms(t)));
        r
    }

    fn go(&mut self, purpose: Purpose) -> MeResult<Value> {
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
                "steps": self.steps.iter().map(crate::engine::StepResult::to_json).collect::<Vec<_>>(),
                "validation": self.validation.iter().map(crate::engine::StepResult::to_json).collect::<Vec<_>>(),
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
                switch(&source, &target, Some(row_id), o, || {
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
            .insert("total_ms".into(), json!(ms(self.clock)));
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
            "steps": self.steps.iter().map(crate::engine::StepResult::to_json).collect::<Vec<_>>(),
            "validation": self.validation.iter().map(crate::engine::StepResult::to_json).collect::<Vec<_>>(),
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
                execute_forward_step(i as i32, step, self.target, self.opts)
            });
            let failed = result.status == "FAILED";
            if let (StepKind::Transform { pipeline }, "COMPLETED") = (&step.kind, result.status) {
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
            .filter(|v| v.status == "FAILED")
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
    fn fail(&mut self, e: MeError) -> MeResult<Value> {
        let mut dropped = false;
        if !self.o.keep_target_on_failure && schema_exists(self.target)? {
            Spi::run(&format!(
                "DROP SCHEMA {} CASCADE",
                quoted_ident("target schema", self.target)?
            ))?;
            dropped = true;
        }
        Spi::run("UPDATE migration_engine.active_schema_version SET migration_in_progress = false WHERE id = 1")?;
        record_all(self.row, self.run_id, &self.steps, &self.validation)?;
        let running = MigrationRow {
            status: MigrationStatus::Running,
            ..crate::engine::clone_row(self.row)
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
            .insert("total_ms".into(), json!(ms(self.clock)));
        Ok(json!({
            "success": false,
            "migration_id": self.row.id.to_string(),
            "migration_name": self.row.name,
            "status": "FAILED",
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
            "steps": self.steps.iter().map(crate::engine::StepResult::to_json).collect::<Vec<_>>(),
            "validation": self.validation.iter().map(crate::engine::StepResult::to_json).collect::<Vec<_>>(),
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

/// The atomic switch on its own: make `new_schema` the active data schema. When it is
/// the previous schema (a switch back), the writes made since the last switch are
/// replayed into it first.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn switch_active_schema(
    new_schema: &str,
    options: default!(JsonB, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    Ok(JsonB(quietly(|| switch_to(new_schema, &options.0))?))
}

/// Back to the previous data schema (the rollback of a blue-green migration), with the
/// writes made since the switch replayed into it.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn switch_back(options: default!(JsonB, "'{}'::jsonb")) -> PgResult<JsonB> {
    let previous = first_value::<String>(
        "SELECT previous_schema FROM migration_engine.active_schema_version WHERE id = 1",
        &[],
    )?;
    let Some(previous) = previous else {
        return Err(MeError::prerequisite("there is no previous schema to switch back to")
            .hint("switch_back() undoes a blue-green migration or a schema switch; none has happened.")
            .into());
    };
    if !schema_exists(&previous)? {
        return Err(MeError::prerequisite(format!(
            "the previous schema {previous:?} no longer exists"
        ))
        .hint("It was dropped with drop_inactive_schema(); a switch back is no longer possible.")
        .into());
    }
    Ok(JsonB(quietly(|| switch_to(&previous, &options.0))?))
}

fn switch_to(new_schema: &str, options: &Value) -> MeResult<Value> {
    let clock = Instant::now();
    let o = BlueGreenOptions::parse(options).map_err(MeError::invalid_parameter)?;
    require_data_schema(new_schema)?;
    require_read_committed()?;
    let current = data_schema()?;
    if new_schema == current {
        return Err(MeError::invalid_parameter(format!(
            "{new_schema:?} is already the active data schema"
        )));
    }
    claim_exclusive()?;
    let previous = first_value::<String>(
        "SELECT previous_schema FROM migration_engine.active_schema_version WHERE id = 1",
        &[],
    )?;
    // writes since the last switch are replayed only into the schema they came from
    let replays = previous.as_deref() == Some(new_schema);
    if !replays {
        discard(&current)?;
    }
    let switched = switch(&current, new_schema, None, &o, || {
        if replays {
            replay(&current, new_schema, o.replay_batch, false, &mut || Ok(()))
        } else {
            Ok(0)
        }
    })?;
    Ok(json!({
        "success": true,
        "previous_schema": current,
        "new_schema": new_schema,
        "switched_at": switched["switched_at"],
        "replayed": replays,
        "replayed_rows": switched["replayed_during_freeze"],
        "write_freeze_ms": switched["write_freeze_ms"],
        "total_ms": ms(clock),
        "freeze_attempts": switched["freeze_attempts"],
        "warning": if replays { Value::Null } else {
            json!("writes made to the old schema since the new one was built are not replayed: switch only to a schema you keep in sync")
        },
    }))
}

/// Drop a data schema that is not active (the old side of a blue-green migration).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn drop_inactive_schema(name: &str) -> PgResult<JsonB> {
    Ok(JsonB(quietly(|| drop_schema(name))?))
}

fn drop_schema(name: &str) -> MeResult<Value> {
    require_data_schema(name)?;
    let current = data_schema()?;
    if name == current {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
            format!("{name:?} is the active data schema and cannot be dropped"),
        )
        .hint("Switch to another schema first."));
    }
    claim_exclusive()?;
    let o = BlueGreenOptions::default();
    let was_previous = first_value::<bool>(
        "SELECT previous_schema IS NOT DISTINCT FROM $1 FROM migration_engine.active_schema_version WHERE id = 1",
        &[name.into()],
    )?
    .unwrap_or(false);
    let mut closed_window = 0;
    if was_previous {
        // the switch-back window closes: stop logging writes to the active schema
        closed_window = discard(&current)?;
        for t in tables(&current)?.iter().filter(|t| !t.key.is_empty()) {
            capture::with_lock_retries(
                &format!("update the capture trigger of {}", t.name),
                &o,
                || Ok(()),
                || set_capture(&current, t, "gated"),
            )?;
        }
        Spi::run(
            "UPDATE migration_engine.active_schema_version SET previous_schema = NULL WHERE id = 1",
        )?;
    }
    discard(name)?;
    // objects the extension created (kg itself) are released from it before the drop
    copy::run_generated(
        "SELECT format('ALTER EXTENSION migration_engine DROP %s %s', \
                CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' END, \
                format('%I.%I', n.nspname, c.relname)) \
         FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE d.deptype = 'e' AND n.nspname = $1 AND c.relkind IN ('r', 'v', 'S') \
         UNION ALL \
         SELECT format('ALTER EXTENSION migration_engine DROP SCHEMA %I', n.nspname) \
         FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_namespace n ON n.oid = d.objid AND d.classid = 'pg_namespace'::regclass \
         WHERE d.deptype = 'e' AND n.nspname = $1",
        &[name.into()],
    )?;
    Spi::run(&format!(
        "DROP SCHEMA {} CASCADE",
        quoted_ident("schema", name)?
    ))?;
    audit(
        "schema_dropped",
        "schema",
        name,
        json!({"was_previous": was_previous, "switch_back_changes_discarded": closed_window}),
    )?;
    Ok(
        json!({"success": true, "dropped": name, "switch_back_possible": false, "was_previous": was_previous}),
    )
}
