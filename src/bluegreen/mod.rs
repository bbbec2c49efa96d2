//! Blue-green migrations: copy the active data schema, migrate and validate the copy,
//! replay the writes that arrived meanwhile, switch atomically with pg_notify.
//!
//! Everything runs in the caller's transaction (so a test's ROLLBACK undoes it and the
//! notification goes out only on COMMIT). Concurrent writers are not blocked while the
//! copy is built: their changes are logged by the capture trigger and replayed; writes
//! wait only for the final catch-up and the switch.
//!
//! Files: `copy` (the schema copy), `capture` (change log, fence, replay), `run` (one
//! run, phase by phase), `switch` (the atomic switch), `sync` (keeping a canary's target
//! in sync), `admin` (switch_active_schema, switch_back, drop_inactive_schema).
mod admin;
mod back;
mod capture;
mod copy;
mod run;
mod switch;
mod sync;
mod transforms;

use crate::catalog::MigrationId;
use crate::spi::jsonb_arg::JsonArg;
use run::Run;
pub(crate) use sync::{finalize, stop_sync, sync, transforms_of};

use crate::catalog::{self, MigrationRow};
use crate::engine::record_all;
use crate::errors::{MeError, MeResult};
use crate::spi::{data_schema, first_value, quietly, quoted_ident};
use crate::steps::RunOptions;
use capture::{discard, set_capture, try_claim_run};
use copy::tables;
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::rollout::blue_green::BlueGreenOptions;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::time::Instant;

use crate::errors::PgResult;

fn in_progress_error() -> MeError {
    MeError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
        "a blue-green migration or canary is already in progress",
    )
    .hint("Wait for it to finish (see migration_engine.blue_green_status), then retry.")
}

/// No other blue-green operation may run, now or in this transaction.
fn claim_exclusive() -> MeResult<()> {
    let flagged = catalog::lock_blue_green_flag()?;
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

/// Copy the active data schema to `target_schema`, run the migration there, validate it,
/// replay concurrent writes, and switch atomically. Returns `{success, previous_schema,
/// new_schema, switched_at, timings_ms, rows, ...}`; a failed migration returns
/// success false (recorded FAILED, nothing switched) instead of raising.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn execute_blue_green_migration(
    migration_id: Option<Uuid>,
    target_schema: default!(Option<&str>, "'green'"),
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(migration_id, target_schema, options);
    Ok(JsonB(quietly(|| {
        blue_green(MigrationId(migration_id), target_schema, &options.0)
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

fn blue_green(migration_id: MigrationId, target: &str, options: &Value) -> MeResult<Value> {
    prepare(migration_id, target, options, Purpose::Switch)
}

/// Copy, migrate, validate and catch up; then switch, or (a canary) keep the target in
/// sync: the source's writes are logged from now on and replayed by each canary tick.
pub(crate) fn prepare(
    migration_id: MigrationId,
    target: &str,
    options: &Value,
    purpose: Purpose,
) -> MeResult<Value> {
    let clock = Instant::now();
    let o = BlueGreenOptions::parse(options).map_err(MeError::invalid_parameter)?;
    quoted_ident("target schema", target)?;
    if migration_engine_core::ident::is_reserved_schema(target) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_RESERVED_NAME,
            format!("{target:?} cannot be the target of a blue-green migration: the name is reserved"),
        )
        .hint("Name a new schema, for example 'green'; pg_*, information_schema, public, migration_engine and kg_live are taken."));
    }
    require_read_committed()?;
    let name = catalog::migration_name_of(migration_id)?.ok_or_else(|| {
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
    // the same safety gate as execute_migration: the steps run on a copy, but the
    // data checks, the rollback checks and the hidden-SQL findings hold as much
    if let Some(refusal) = crate::safety::gate(&row, o.force)? {
        return Ok(refusal);
    }
    let opts = RunOptions {
        migration_id: Some(row.id),
        // the target takes no traffic until the switch: concurrent forms are not needed
        target_without_traffic: true,
        ..opts
    };
    let run_id = catalog::new_run_id();
    catalog::mark_blue_green_started(row.id)?;
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

    let mut run = Run::new(&row, run_id, &source, target, &o, &opts, clock);
    let outcome = run.go(purpose);
    let result = match outcome {
        Ok(v) if purpose == Purpose::Canary => v,
        Ok(mut v) => {
            record_all(&row, run_id, &run.steps, &run.validation)?;
            let running = MigrationRow {
                status: MigrationStatus::Running,
                ..row.clone()
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
