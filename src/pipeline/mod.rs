//! Data transformation pipelines (MAP / FILTER / AGGREGATE / JOIN / CUSTOM) over the
//! current versions of an entity type, compiled by the core to set-based SQL and run in
//! keyset batches. See docs/PIPELINES.md.
mod aggregate;
mod batch;
mod compiled;
mod dead_letters;
mod execution;
mod options;
mod outcome;
mod parse;
mod statement;
mod undo;

use crate::catalog::MigrationId;
use crate::catalog::PipelineRunId;
use crate::errors::{MeError, MeResult};
use crate::spi::data_schema;
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::subxact::{atomically, Aborted};
use batch::batch;
use compiled::{begin, compile, Compiled};
use migration_engine_core::engine::definition::MigrationDefinition;
use migration_engine_core::pipeline::Pipeline;
use options::{preview_rows, PipelineOptions, BEGIN_OPTION_KEYS, EXECUTE_OPTION_KEYS};
use outcome::{Outcome, Report, RunStatus};
use parse::parse;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::rc::Rc;
use std::time::Instant;

pub use undo::undo_migration_runs;

use crate::errors::PgResult;

fn preview(pipeline: &Value, n: i64) -> MeResult<Value> {
    let p = parse(pipeline)?;
    let sql = statement::preview_sql(&p, &data_schema()?)?;
    let pairs = Spi::get_one_with_args::<JsonB>(
        &sql,
        &[
            p.source.entity_type.as_str().into(),
            Option::<Uuid>::None.into(),
            n.into(),
            Option::<Uuid>::None.into(),
            Option::<Uuid>::None.into(),
        ],
    )?
    .map(|j| j.0)
    .unwrap_or(json!([]));
    Ok(
        json!({"success": true, "dry_run": true, "preview": pairs, "message": "nothing was written"}),
    )
}

/// Run a whole pipeline in this transaction. FAIL leaves the data exactly as before
/// (everything runs in one subtransaction); the failed run is still recorded. The
/// pipeline is parsed, checked and compiled here, once; the batches run that statement.
pub fn execute(
    pipeline: &Value,
    opts: &PipelineOptions,
    options: &Value,
    migration_id: Option<MigrationId>,
) -> MeResult<Outcome> {
    // a bad pipeline is an error before anything runs, not a failed run
    let compiled = compile(parse(pipeline)?, opts)?;
    let clock = Instant::now();
    let run = atomically(
        || -> Result<(PipelineRunId, Rc<Compiled>), Option<String>> {
            let (run_id, c) =
                begin(compiled, pipeline, options, migration_id).map_err(|e| Some(e.message))?;
            loop {
                let progress = batch(run_id).map_err(|e| Some(e.message))?;
                if progress.finished {
                    if progress.status == RunStatus::Failed {
                        return Err(progress.error);
                    }
                    return Ok((run_id, c));
                }
            }
        },
    );
    match run {
        Ok((run_id, c)) => {
            let ms = clock.elapsed().as_secs_f64() * 1000.0;
            Ok(Outcome::Finished(Report::read(run_id, &c.pipeline, ms)?))
        }
        Err(Aborted::Returned(error)) => {
            record_failed(
                pipeline,
                options,
                error.as_deref().unwrap_or("failed"),
                migration_id,
            )?;
            Ok(Outcome::RolledBack { error })
        }
        Err(Aborted::Raised(e)) => {
            record_failed(pipeline, options, &e.message, migration_id)?;
            Err(MeError::new(e.code, e.message))
        }
    }
}

fn record_failed(
    pipeline: &Value,
    options: &Value,
    error: &str,
    migration_id: Option<MigrationId>,
) -> MeResult<()> {
    crate::catalog::insert_failed_pipeline_run(&crate::catalog::FailedPipelineRun {
        name: pipeline["name"].as_str().unwrap_or("pipeline"),
        definition: pipeline,
        options,
        data_schema: &data_schema()?,
        entity_type: pipeline["source"]["entityType"].as_str().unwrap_or(""),
        error,
        migration_id,
    })
}

/// `{success, step_results: [{step_name, input_count, output_count, error_count, duration_ms}],
/// metrics: {rows_per_second, ...}, errors_sample}`.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn execute_pipeline(
    pipeline: Option<JsonArg>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(pipeline, options);
    let opts = PipelineOptions::parse(&options.0, EXECUTE_OPTION_KEYS)?;
    if let Some(n) = preview_rows(&options.0)? {
        return Ok(JsonB(preview(&pipeline.0, n)?));
    }
    // the JSON is written here, for SQL callers; Rust callers read the Outcome
    Ok(JsonB(
        execute(&pipeline.0, &opts, &options.0, None)?.to_json(),
    ))
}

/// First half of CALL run_pipeline: start (or, with {"resume": run_id}, reopen) a run.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn pipeline_begin(
    pipeline: Option<JsonArg>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(pipeline, options);
    let opts = PipelineOptions::parse(&options.0, BEGIN_OPTION_KEYS)?;
    let resume = match options.0.get("resume") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(MeError::invalid_parameter(format!(
                "options.resume must be the run_id of a failed run (a uuid string), not {other}"
            ))
            .into())
        }
    };
    // the arguments' own errors first, then where the call is made
    let start = match resume {
        None => Start::New(parse(&pipeline.0)?),
        Some(resume) => Start::Resume(
            Spi::get_one_with_args::<Uuid>("SELECT $1::uuid", &[resume.into()])
                .map(|id| id.map(PipelineRunId))
                .map_err(MeError::from)?
                .ok_or_else(|| MeError::invalid_parameter("options.resume must be a run_id"))?,
        ),
    };
    crate::spi::args::refuse_transaction_block(
        "CALL migration_engine.run_pipeline",
        "SELECT migration_engine.execute_pipeline(pipeline)",
    )?;
    let id = match start {
        Start::Resume(id) => {
            crate::catalog::reopen_failed_pipeline_run(id)?;
            id
        }
        // compiled here, once: the run's batches bind their bounds to the stored statement
        Start::New(p) => begin(compile(p, &opts)?, &pipeline.0, &options.0, None)?.0,
    };
    Ok(JsonB(json!({"run_id": id.to_string()})))
}

/// What pipeline_begin was asked for.
enum Start {
    New(Pipeline),
    Resume(PipelineRunId),
}

/// One batch of a run (what CALL run_pipeline loops over, committing each).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn pipeline_batch(run_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(run_id);
    let run_id = PipelineRunId(run_id);
    let progress = batch(run_id)?;
    Ok(JsonB(batch::state(run_id, progress.finished)?))
}

/// Undo a run: the entities' content becomes what it was before it (conflicts reported).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn undo_pipeline_run(run_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(run_id);
    Ok(JsonB(undo::undo(PipelineRunId(run_id))?))
}

/// Re-run a run's pipeline for its dead-lettered items, as a new run (items that now
/// succeed are marked replayed).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn replay_dead_letters(run_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(run_id);
    Ok(JsonB(dead_letters::replay(PipelineRunId(run_id))?))
}

/// Every TRANSFORM step's pipeline checked by the parser execute_pipeline uses, so a
/// migration whose pipeline could never run is refused when it is created, not an hour
/// into its run.
pub fn check_transform_pipelines(def: &MigrationDefinition) -> MeResult<()> {
    let lists = [("forward", &def.forward), ("rollback", &def.rollback)];
    for (list, steps) in lists {
        for (i, step) in steps.iter().enumerate() {
            if let Some(pipeline) = step.kind.transform_pipeline() {
                parse(&Value::Object(pipeline.clone())).map_err(|e| MeError {
                    message: format!("$.{list}[{i}] (step {:?}): {}", step.name, e.message),
                    hint: Some("A TRANSFORM step's pipeline takes the format of execute_pipeline (docs/PIPELINES.md).".into()),
                    ..e
                })?;
            }
        }
    }
    Ok(())
}

/// The TRANSFORM step of a migration: the pipeline in the step's subtransaction.
pub fn run_transform_step(
    pipeline: &Value,
    batch_size: Option<u32>,
    migration_id: Option<MigrationId>,
) -> MeResult<i64> {
    let mut options = json!({});
    if let Some(b) = batch_size {
        options["batchSize"] = json!(b);
    }
    let opts = PipelineOptions::parse(&options, EXECUTE_OPTION_KEYS)?;
    match execute(pipeline, &opts, &options, migration_id)? {
        Outcome::Finished(report) => Ok(report.rows_changed),
        Outcome::RolledBack { error } => Err(MeError::new(
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!(
                "TRANSFORM pipeline failed: {}",
                error.as_deref().unwrap_or("unknown error")
            ),
        )),
    }
}

/// Apply a TRANSFORM step's pipeline (history mode, as the step ran) to the current
/// versions of `entities` in `schema`: blue-green replays the migration's
/// transformation on what was written while it ran. Items the pipeline's checks refuse
/// are an error. Returns the versions written.
pub fn transform_entities(pipeline: &Value, schema: &str, entities: &[Uuid]) -> MeResult<i64> {
    if entities.is_empty() {
        return Ok(0);
    }
    let p = parse(pipeline)?;
    let sql = statement::build_for_entities(&p, schema, statement::Mode::History)?.sql;
    let row = Spi::connect_mut(|c| {
        let t = c.update(
            &sql,
            Some(1),
            &[
                p.source.entity_type.as_str().into(),
                None::<Uuid>.into(),
                (entities.len() as i64).into(),
                None::<Uuid>.into(),
                entities.to_vec().into(),
            ],
        )?;
        let r = t.first();
        Ok::<_, pgrx::spi::Error>((
            r.get::<i64>(4)?,
            r.get::<Vec<String>>(5)?,
            r.get::<Vec<String>>(6)?,
        ))
    })?;
    let (written, in_bad, out_bad) = row;
    if let Some(bad) = in_bad.or(out_bad).filter(|b| !b.is_empty()) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!(
                "the transformation {:?} refuses entities written during the migration: {}",
                p.name,
                bad.join(", ")
            ),
        ));
    }
    Ok(written.unwrap_or(0))
}
