//! Data transformation pipelines (MAP / FILTER / AGGREGATE / JOIN / CUSTOM) over the
//! current versions of an entity type, compiled by the core to set-based SQL and run in
//! keyset batches. See docs/PIPELINES.md.
mod aggregate;
mod run;
mod statement;
mod undo;

use crate::errors::{MeError, MeResult};
use crate::spi::data_schema;
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::subxact::{atomically, Aborted};
use migration_engine_core::engine::definition::MigrationDefinition;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use run::{batch, begin, parse, replay, PipelineOptions};
use serde_json::{json, Value};
use std::time::Instant;

pub use undo::undo_migration_runs;

type PgResult<T> = Result<T, pgrx::pg_sys::panic::ErrorReport>;

/// The seed's result shape from a run's state.
fn result(state: &Value, success: bool, clock: Instant, sample: Value) -> Value {
    let steps: Vec<Value> = state["definition"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let counts = &state["step_counts"];
    let n = steps.len().max(1) as f64;
    let ms = clock.elapsed().as_secs_f64() * 1000.0;
    let step_results: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "step_name": s["name"],
                "step_type": s["type"],
                "input_count": counts[i.to_string()].as_i64().unwrap_or(0),
                "output_count": counts[(i + 1).to_string()].as_i64().unwrap_or(0),
                "error_count": if i == 0 { state["rows_failed"].as_i64().unwrap_or(0) } else { 0 },
                // the steps run fused in one statement per batch: the time is shared
                "duration_ms": (ms / n * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    json!({
        "success": success,
        "run_id": state["run_id"],
        "status": state["status"],
        "step_results": step_results,
        "metrics": {
            "rows_per_second": state["rows_per_second"],
            "rows_read": state["rows_done"],
            "rows_changed": state["rows_changed"],
            "rows_failed": state["rows_failed"],
            "batches": state["batches"],
            "longest_batch_ms": state["longest_batch_ms"],
            "duration_ms": (ms * 1000.0).round() / 1000.0,
        },
        "errors_sample": sample,
        "error": state["error"],
    })
}

fn dead_letter_sample(run_id: &Value) -> MeResult<Value> {
    let Some(id) = run_id.as_str() else {
        return Ok(json!([]));
    };
    Ok(Spi::get_one_with_args::<JsonB>(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('entity_id', entity_id, 'step_name', step_name, 'error', error, 'sqlstate', sqlstate) \
                 ORDER BY dead_letter_id), '[]') \
         FROM (SELECT * FROM migration_engine.pipeline_dead_letters WHERE run_id = $1::uuid ORDER BY dead_letter_id LIMIT 10) d",
        &[id.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!([])))
}

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

/// The most rows a preview shows (each is decoded and returned whole).
const MAX_PREVIEW: i64 = 10_000;

/// Run a whole pipeline in this transaction. FAIL leaves the data exactly as before
/// (everything runs in one subtransaction); the failed run is still recorded.
pub fn execute(pipeline: &Value, options: &Value, migration_id: Option<Uuid>) -> MeResult<Value> {
    let opts = PipelineOptions::parse(options, run::EXECUTE_OPTION_KEYS)?;
    match options.get("preview") {
        None | Some(Value::Null) => {}
        Some(v) => {
            match v.as_i64().filter(|n| (0..=MAX_PREVIEW).contains(n)) {
                Some(n) => return preview(pipeline, n),
                None => return Err(MeError::invalid_parameter(format!(
                "options.preview must be a whole number of rows from 0 to {MAX_PREVIEW}, not {v}"
            ))
                .hint(
                    "preview: 10 shows the first ten rows before and after; nothing is written.",
                )),
            }
        }
    }
    match options.get("dryRun") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => return preview(pipeline, 10),
        Some(v) => {
            return Err(MeError::invalid_parameter(format!(
                "options.dryRun must be true or false, not {v}"
            )))
        }
    }
    // a bad pipeline is an error before anything runs, not a failed run
    let p = parse(pipeline)?;
    statement::build(&p, &data_schema()?, opts.mode, true, opts.track)?;
    let clock = Instant::now();
    let outcome = atomically(|| -> Result<Value, Value> {
        let run_id = begin(pipeline, &opts, options, migration_id)
            .map_err(|e| json!({"error": e.message}))?;
        loop {
            let s = batch(run_id).map_err(|e| json!({"error": e.message}))?;
            if s["finished"].as_bool().unwrap_or(true) {
                if s["status"] == "FAILED" {
                    return Err(s);
                }
                return Ok(s);
            }
        }
    });
    match outcome {
        Ok(state) => {
            let sample = dead_letter_sample(&state["run_id"])?;
            Ok(result(&state, true, clock, sample))
        }
        Err(Aborted::Returned(state)) => {
            record_failed(
                pipeline,
                options,
                state["error"].as_str().unwrap_or("failed"),
                migration_id,
            )?;
            Ok(
                json!({"success": false, "status": "FAILED", "error": state["error"], "step_results": [],
                "metrics": {}, "errors_sample": [], "message": "the run was rolled back: the data is as it was"}),
            )
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
    migration_id: Option<Uuid>,
) -> MeResult<()> {
    let name = pipeline["name"].as_str().unwrap_or("pipeline");
    let entity_type = pipeline["source"]["entityType"].as_str().unwrap_or("");
    Spi::run_with_args(
        "INSERT INTO migration_engine.pipeline_runs (pipeline_name, definition, options, mode, data_schema, entity_type, status, error, finished_at, migration_id) \
         VALUES ($1, $2, $3, CASE WHEN $3->>'mode' = 'patch' THEN 'patch' ELSE 'history' END, $4, $5, 'FAILED', $6, clock_timestamp(), $7)",
        &[name.into(), JsonB(pipeline.clone()).into(), JsonB(options.clone()).into(), data_schema()?.into(), entity_type.into(),
          error.into(), migration_id.into()],
    )?;
    Ok(())
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
    Ok(JsonB(execute(&pipeline.0, &options.0, None)?))
}

/// First half of CALL run_pipeline: start (or, with {"resume": run_id}, reopen) a run.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn pipeline_begin(
    pipeline: Option<JsonArg>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(pipeline, options);
    let opts = PipelineOptions::parse(&options.0, run::BEGIN_OPTION_KEYS)?;
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
    let resume_id = match resume {
        None => {
            parse(&pipeline.0)?;
            None
        }
        Some(resume) => Spi::get_one_with_args::<Uuid>("SELECT $1::uuid", &[resume.into()])
            .map_err(MeError::from)?,
    };
    crate::spi::args::refuse_transaction_block(
        "CALL migration_engine.run_pipeline",
        "SELECT migration_engine.execute_pipeline(pipeline)",
    )?;
    if let Some(id) = resume_id {
        Spi::run_with_args(
            "UPDATE migration_engine.pipeline_runs SET status = 'RUNNING', error = NULL, finished_at = NULL WHERE run_id = $1 AND status = 'FAILED'",
            &[id.into()],
        )
        .map_err(MeError::from)?;
        return Ok(JsonB(json!({"run_id": id.to_string()})));
    }
    let id = begin(&pipeline.0, &opts, &options.0, None)?;
    Ok(JsonB(json!({"run_id": id.to_string()})))
}

/// One batch of a run (what CALL run_pipeline loops over, committing each).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn pipeline_batch(run_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(run_id);
    Ok(JsonB(batch(run_id)?))
}

/// Undo a run: the entities' content becomes what it was before it (conflicts reported).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn undo_pipeline_run(run_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(run_id);
    Ok(JsonB(undo::undo(run_id)?))
}

/// Re-run a run's pipeline for its dead-lettered items, as a new run (items that now
/// succeed are marked replayed).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn replay_dead_letters(run_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(run_id);
    Ok(JsonB(replay(run_id)?))
}

/// Every TRANSFORM step's pipeline checked by the parser execute_pipeline uses, so a
/// migration whose pipeline could never run is refused when it is created, not an hour
/// into its run.
pub fn check_transform_pipelines(def: &MigrationDefinition) -> MeResult<()> {
    let lists = [("forward", &def.forward), ("rollback", &def.rollback)];
    for (list, steps) in lists {
        for (i, step) in steps.iter().enumerate() {
            if let Some(pipeline) = step.kind.transform_pipeline() {
                run::parse(&Value::Object(pipeline.clone())).map_err(|e| MeError {
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
    migration_id: Option<Uuid>,
) -> MeResult<i64> {
    let mut options = json!({});
    if let Some(b) = batch_size {
        options["batchSize"] = json!(b);
    }
    let r = execute(pipeline, &options, migration_id)?;
    if r["success"] != json!(true) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!(
                "TRANSFORM pipeline failed: {}",
                r["error"].as_str().unwrap_or("unknown error")
            ),
        ));
    }
    Ok(r["metrics"]["rows_changed"].as_i64().unwrap_or(0))
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
