//! Running a pipeline: a run row, keyset batches through the batch statement, the error
//! policy (FAIL / RETRY with backoff / SKIP item by item into the dead-letter table),
//! progress counters, and AGGREGATE steps once the batches are done.
use super::aggregate::run_aggregates;
use super::statement::{build, Mode};
use crate::errors::{MeError, MeResult};
use crate::spi::subxact::{atomically, Aborted};
use crate::spi::{data_schema, first_value, quoted_ident};
use migration_engine_core::pipeline::{
    compile_segment, parse_pipeline, plan, OnError, Pipeline, StepAction,
};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::time::Instant;

/// The options execute_pipeline takes; pipeline_begin (CALL run_pipeline) also takes
/// `resume`.
pub const EXECUTE_OPTION_KEYS: &[&str] =
    &["mode", "trackChanges", "batchSize", "preview", "dryRun"];
pub const BEGIN_OPTION_KEYS: &[&str] = &["mode", "trackChanges", "batchSize", "resume"];

/// A run's stored options were checked by the call that started it.
fn stored_option_keys() -> Vec<&'static str> {
    [EXECUTE_OPTION_KEYS, BEGIN_OPTION_KEYS].concat()
}

pub struct PipelineOptions {
    pub mode: Mode,
    pub track: bool,
    pub batch_size: Option<u32>,
}

impl PipelineOptions {
    /// `known`: the keys the calling function takes (see `EXECUTE_OPTION_KEYS`).
    pub fn parse(v: &Value, known: &[&str]) -> MeResult<Self> {
        let obj = crate::spi::args::options_object(v, known)?;
        let mode = match obj.get("mode").and_then(Value::as_str) {
            None | Some("history") => Mode::History,
            Some("patch") => Mode::Patch,
            Some(other) => {
                return Err(MeError::invalid_parameter(format!(
                    "options.mode must be \"history\" or \"patch\", not {other:?}"
                )))
            }
        };
        let track = match obj.get("trackChanges") {
            None | Some(Value::Null) => mode == Mode::Patch,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(MeError::invalid_parameter(
                    "options.trackChanges must be true or false",
                ))
            }
        };
        let batch_size = match obj.get("batchSize") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| *n > 0 && *n <= 1_000_000)
                    .ok_or_else(|| {
                        MeError::invalid_parameter(
                            "options.batchSize must be a whole number from 1 to 1000000",
                        )
                    })? as u32,
            ),
        };
        Ok(PipelineOptions {
            mode,
            track,
            batch_size,
        })
    }
}

pub fn parse(pipeline: &Value) -> MeResult<Pipeline> {
    let p = parse_pipeline(pipeline).map_err(|e| {
        MeError::invalid_parameter(format!("invalid pipeline: {e}")).detail(format!(
            "code {} at {}",
            e.code(),
            e.path()
        ))
    })?;
    quoted_ident("entity type", &p.source.entity_type)?;
    validate_jsonpaths(pipeline)?;
    Ok(p)
}

/// Every jsonpath of the pipeline, parsed by Postgres before anything is written.
fn validate_jsonpaths(v: &Value) -> MeResult<()> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}.{k}");
                    match (k.as_str(), x) {
                        ("filter" | "condition" | "input" | "output", Value::String(s)) => {
                            out.push((p, s.clone()))
                        }
                        _ => walk(x, &p, out),
                    }
                }
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), out)),
            _ => {}
        }
    }
    let mut paths = Vec::new();
    walk(v, "$", &mut paths);
    for (at, text) in paths {
        let parsed = atomically(|| {
            Spi::get_one_with_args::<bool>(
                "SELECT $1::jsonpath IS NOT NULL",
                &[text.as_str().into()],
            )
        });
        if parsed.is_err() {
            return Err(MeError::invalid_parameter(format!(
                "{at}: {text:?} is not a valid SQL/JSON path"
            ))
            .hint(
                "Write a jsonpath predicate such as '$.age > 65' or '$.email like_regex \"@\"'.",
            ));
        }
    }
    Ok(())
}

/// Start a run: its row, with the number of rows it will read (for progress and ETA).
pub fn begin(
    pipeline: &Value,
    opts: &PipelineOptions,
    options: &Value,
    migration_id: Option<Uuid>,
) -> MeResult<Uuid> {
    let p = parse(pipeline)?;
    build(&p, &data_schema()?, opts.mode, true, opts.track)?; // compiles, or refuses before anything is written
    let schema = data_schema()?;
    let total = first_value::<i64>(
        &format!(
            "SELECT count(*) FROM {}.temporal_entities WHERE entity_type = $1 AND valid_to = 'infinity' AND NOT is_deleted",
            quoted_ident("data schema", &schema)?
        ),
        &[p.source.entity_type.as_str().into()],
    )?;
    let mode = if opts.mode == Mode::History {
        "history"
    } else {
        "patch"
    };
    first_value::<Uuid>(
        "INSERT INTO migration_engine.pipeline_runs (pipeline_name, definition, options, mode, data_schema, entity_type, total_rows, migration_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING run_id",
        &[
            p.name.as_str().into(),
            JsonB(pipeline.clone()).into(),
            JsonB(options.clone()).into(),
            mode.into(),
            schema.as_str().into(),
            p.source.entity_type.as_str().into(),
            total.into(),
            migration_id.into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("no run id"))
}

struct Run {
    pipeline: Pipeline,
    definition: Value,
    mode: Mode,
    track: bool,
    batch_size: u32,
    schema: String,
    last: Option<Uuid>,
    status: String,
}

fn load(run_id: Uuid) -> MeResult<Run> {
    let row = first_value::<JsonB>(
        "SELECT jsonb_build_object('definition', definition, 'options', options, 'mode', mode, 'schema', data_schema, \
                'last', last_entity_id, 'status', status) FROM migration_engine.pipeline_runs WHERE run_id = $1 FOR UPDATE",
        &[run_id.into()],
    )?
    .ok_or_else(|| MeError::undefined_object(format!("pipeline run {run_id} does not exist")))?
    .0;
    let pipeline = parse(&row["definition"])?;
    let opts = PipelineOptions::parse(&row["options"], &stored_option_keys())?;
    Ok(Run {
        batch_size: opts.batch_size.unwrap_or(pipeline.batch_size),
        pipeline,
        definition: row["definition"].clone(),
        mode: if row["mode"] == "patch" {
            Mode::Patch
        } else {
            Mode::History
        },
        track: opts.track,
        schema: row["schema"].as_str().unwrap_or("kg").to_string(),
        last: row["last"].as_str().and_then(|s| {
            Spi::get_one_with_args::<Uuid>("SELECT $1::uuid", &[s.into()])
                .ok()
                .flatten()
        }),
        status: row["status"].as_str().unwrap_or_default().to_string(),
    })
}

/// The policy for item errors of the set-based steps: FAIL wins (data safety first),
/// then RETRY (then skip), then SKIP.
fn policy(p: &Pipeline) -> OnError {
    let segs = plan(p).segments;
    if segs.iter().any(|s| s.on_error == OnError::Fail) {
        OnError::Fail
    } else if let Some(r) = segs
        .iter()
        .find(|s| matches!(s.on_error, OnError::Retry { .. }))
    {
        r.on_error
    } else {
        OnError::SkipFailedItems
    }
}

struct BatchOutcome {
    last: Option<Uuid>,
    /// items the batch selected (a batch smaller than the batch size is the last one)
    selected: i64,
    /// [min, max] version_id of the rows the batch wrote (history undo finds them by it)
    written_range: Value,
    counts: Vec<i64>,
    changed: i64,
    written: i64,
}

fn run_statement(sql: &str, run: &Run, run_id: Uuid, only: Option<Uuid>) -> MeResult<BatchOutcome> {
    let args = [
        run.pipeline.source.entity_type.as_str().into(),
        run.last.into(),
        (run.batch_size as i64).into(),
        run_id.into(),
        only.into(),
    ];
    let (last, counts, changed, written, inbad, outbad, range) = Spi::connect_mut(|c| {
        let t = c.update(sql, Some(1), &args)?;
        let r = t.first();
        Ok::<_, pgrx::spi::Error>((
            r.get::<Uuid>(1)?,
            r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
            r.get::<i64>(3)?.unwrap_or(0),
            r.get::<i64>(4)?.unwrap_or(0),
            r.get::<Vec<String>>(5)?,
            r.get::<Vec<String>>(6)?,
            r.get::<JsonB>(7)?.map(|j| j.0).unwrap_or(Value::Null),
        ))
    })?;
    if let Some(ids) = inbad {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!(
                "validation.input does not hold for entities {}",
                ids.join(", ")
            ),
        ));
    }
    if let Some(ids) = outbad {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!(
                "validation.output does not hold for entities {}",
                ids.join(", ")
            ),
        ));
    }
    let counts: Vec<i64> = counts
        .as_array()
        .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(0)).collect())
        .unwrap_or_default();
    Ok(BatchOutcome {
        last,
        selected: counts.first().copied().unwrap_or(0),
        written_range: range,
        counts,
        changed,
        written,
    })
}

fn error_text(e: Aborted<MeError>) -> (String, String) {
    match e {
        Aborted::Raised(c) => (c.message.clone(), c.sqlstate()),
        Aborted::Returned(m) => (
            m.message.clone(),
            crate::spi::subxact::sqlstate_text(m.code),
        ),
    }
}

/// The first step that raises for this item (dead letters name it).
fn failing_step(p: &Pipeline, content: &Value) -> Option<String> {
    for k in 0..p.steps.len() {
        if matches!(
            p.steps[k].action,
            StepAction::Join(_) | StepAction::Aggregate(_)
        ) {
            continue;
        }
        let expr = compile_segment(p, 0..k + 1, "$1::jsonb").ok()?;
        let r = atomically(|| {
            Spi::get_one_with_args::<JsonB>(
                &format!("SELECT {expr}"),
                &[JsonB(content.clone()).into()],
            )
        });
        if r.is_err() {
            return Some(p.steps[k].name.clone());
        }
    }
    None
}

/// SKIP: the batch again, item by item; failing items go to the dead-letter table.
fn skip_items(sql: &str, run: &Run, run_id: Uuid) -> MeResult<(BatchOutcome, i64)> {
    let table = format!(
        "{}.temporal_entities",
        quoted_ident("data schema", &run.schema)?
    );
    // the same items the batch statement selected: same keyset, same source filter
    let filter = migration_engine_core::pipeline::compile_pipeline(&run.pipeline, "content")
        .map_err(|e| MeError::invalid_parameter(e.to_string()))?
        .source_filter_sql
        .map(|f| format!(" AND ({f})"))
        .unwrap_or_default();
    let items = Spi::connect(|c| {
        let rows = c.select(
            &format!(
                "SELECT entity_id, version_id, content FROM {table} WHERE entity_type = $1 AND valid_to = 'infinity' \
                 AND NOT is_deleted AND ($2::uuid IS NULL OR entity_id > $2){filter} ORDER BY entity_id LIMIT $3"
            ),
            None,
            &[run.pipeline.source.entity_type.as_str().into(), run.last.into(), (run.batch_size as i64).into()],
        )?;
        let mut out = Vec::new();
        for r in rows {
            out.push((
                r.get::<Uuid>(1)?.expect("id"),
                r.get::<i64>(2)?,
                r.get::<JsonB>(3)?.map(|j| j.0).unwrap_or(Value::Null),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })?;
    let mut total = BatchOutcome {
        last: items.last().map(|i| i.0),
        selected: items.len() as i64,
        written_range: json!([null, null]),
        counts: Vec::new(),
        changed: 0,
        written: 0,
    };
    let mut failed = 0;
    for (id, version, content) in items {
        let solo = Run {
            last: None,
            batch_size: 1,
            ..clone_run(run)
        };
        match atomically(|| run_statement(sql, &solo, run_id, Some(id))) {
            Ok(o) => {
                total.written_range = widen(&total.written_range, &o.written_range);
                total.changed += o.changed;
                total.written += o.written;
                if total.counts.len() < o.counts.len() {
                    total.counts.resize(o.counts.len(), 0);
                }
                for (a, b) in total.counts.iter_mut().zip(o.counts) {
                    *a += b;
                }
            }
            Err(e) => {
                failed += 1;
                let (message, sqlstate) = error_text(e);
                Spi::run_with_args(
                    "INSERT INTO migration_engine.pipeline_dead_letters \
                       (run_id, pipeline_name, step_name, entity_id, version_id, error, sqlstate, original_content) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        run_id.into(),
                        run.pipeline.name.as_str().into(),
                        failing_step(&run.pipeline, &content).into(),
                        id.into(),
                        version.into(),
                        message.as_str().into(),
                        sqlstate.as_str().into(),
                        JsonB(content).into(),
                    ],
                )?;
            }
        }
    }
    Ok((total, failed))
}

fn widen(a: &Value, b: &Value) -> Value {
    let pick = |i: usize, f: fn(i64, i64) -> i64| match (a[i].as_i64(), b[i].as_i64()) {
        (Some(x), Some(y)) => json!(f(x, y)),
        (Some(x), None) | (None, Some(x)) => json!(x),
        _ => Value::Null,
    };
    json!([pick(0, i64::min), pick(1, i64::max)])
}

fn clone_run(r: &Run) -> Run {
    Run {
        pipeline: r.pipeline.clone(),
        definition: r.definition.clone(),
        mode: r.mode,
        track: r.track,
        batch_size: r.batch_size,
        schema: r.schema.clone(),
        last: r.last,
        status: r.status.clone(),
    }
}

/// Run the next batch of `run_id` and record its progress. Returns the run's state.
pub fn batch(run_id: Uuid) -> MeResult<Value> {
    let run = load(run_id)?;
    // history mode closes versions and inserts the next (allowed as it is); patch mode
    // rewrites current versions in place, which history protection stands aside for
    let _rewriting = (run.mode == Mode::Patch).then(crate::graph::history::RewritingHistory::enter);
    if run.status != "RUNNING" {
        return state(run_id, true);
    }
    let sql = build(&run.pipeline, &run.schema, run.mode, true, run.track)?.sql;
    let clock = Instant::now();
    let mut attempt = 0;
    let outcome = loop {
        match atomically(|| run_statement(&sql, &run, run_id, None)) {
            Ok(o) => break Ok((o, 0)),
            Err(e) => match policy(&run.pipeline) {
                OnError::Retry { times } if attempt < times => {
                    attempt += 1;
                    // back off: 50 ms, 100 ms, 200 ms, ... (transient errors: locks, serialization)
                    Spi::run_with_args(
                        "SELECT pg_sleep($1)",
                        &[(0.05 * 2f64.powi(attempt as i32 - 1)).into()],
                    )?;
                }
                OnError::Fail => break Err(error_text(e)),
                _ => break skip_items(&sql, &run, run_id).map_err(|m| (m.message, "XX000".into())),
            },
        }
    };
    let ms = clock.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Err((message, sqlstate)) => {
            Spi::run_with_args(
                "UPDATE migration_engine.pipeline_runs SET status = 'FAILED', error = $2, finished_at = clock_timestamp() WHERE run_id = $1",
                &[run_id.into(), format!("{message} (SQLSTATE {sqlstate})").into()],
            )?;
            state(run_id, true)
        }
        Ok((o, failed)) => {
            let rows = o.counts.first().copied().unwrap_or(0);
            let finished = o.last.is_none() || o.selected < run.batch_size as i64;
            Spi::run_with_args(
                "WITH b AS (INSERT INTO migration_engine.pipeline_batches (run_id, batch_no, written_at, rows, changed, duration_ms, \
                     min_version_id, max_version_id) \
                   SELECT $1, batches + 1, now(), $3, $4, $6, ($8::jsonb ->> 0)::bigint, ($8::jsonb ->> 1)::bigint \
                   FROM migration_engine.pipeline_runs WHERE run_id = $1 RETURNING 1) \
                 UPDATE migration_engine.pipeline_runs SET last_entity_id = coalesce($2, last_entity_id), \
                   rows_done = rows_done + $3 + $5, rows_changed = rows_changed + $4, rows_failed = rows_failed + $5, \
                   batches = batches + 1, longest_batch_ms = greatest(longest_batch_ms, $6), \
                   step_counts = coalesce((SELECT jsonb_object_agg(k, coalesce((step_counts ->> k)::bigint, 0) + coalesce(($7::jsonb ->> k)::bigint, 0)) \
                                  FROM jsonb_object_keys(step_counts || $7::jsonb) k), '{}') \
                 WHERE run_id = $1",
                &[
                    run_id.into(),
                    o.last.into(),
                    rows.into(),
                    o.written.into(),
                    failed.into(),
                    ms.into(),
                    JsonB(json!(o.counts.iter().enumerate().map(|(i, c)| (i.to_string(), *c)).collect::<std::collections::BTreeMap<_, _>>())).into(),
                    JsonB(o.written_range.clone()).into(),
                ],
            )?;
            if finished {
                run_aggregates(&run.pipeline, &run.schema)?;
                Spi::run_with_args(
                    "UPDATE migration_engine.pipeline_runs SET status = 'COMPLETED', finished_at = clock_timestamp() WHERE run_id = $1",
                    &[run_id.into()],
                )?;
            }
            state(run_id, finished)
        }
    }
}

/// The run as the functions report it.
pub fn state(run_id: Uuid, finished: bool) -> MeResult<Value> {
    let mut v = first_value::<JsonB>(
        "SELECT to_jsonb(p) || jsonb_build_object('step_counts', r.step_counts, 'definition', r.definition) \
         FROM migration_engine.pipeline_progress p JOIN migration_engine.pipeline_runs r USING (run_id) WHERE run_id = $1",
        &[run_id.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({}));
    v["finished"] = json!(finished);
    Ok(v)
}

/// Re-run a run's pipeline for the items it dead-lettered (after the data or the
/// pipeline was fixed): each item in its own subtransaction, as a new run; items that
/// succeed are marked replayed, the others stay with their new error.
pub fn replay(run_id: Uuid) -> MeResult<Value> {
    let source = load(run_id)?;
    let options = first_value::<JsonB>(
        "SELECT options FROM migration_engine.pipeline_runs WHERE run_id = $1",
        &[run_id.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({}));
    let letters: Vec<(i64, Uuid)> = Spi::connect(|c| {
        let mut out = Vec::new();
        for r in c.select(
            "SELECT dead_letter_id, entity_id FROM migration_engine.pipeline_dead_letters \
             WHERE run_id = $1 AND replayed_at IS NULL ORDER BY dead_letter_id",
            None,
            &[run_id.into()],
        )? {
            out.push((
                r.get::<i64>(1)?.unwrap_or(0),
                r.get::<Uuid>(2)?.expect("entity_id"),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })?;
    let opts = PipelineOptions::parse(&options, &stored_option_keys())?;
    let new_run = begin(&source.definition, &opts, &options, None)?;
    let run = Run {
        last: None,
        batch_size: 1,
        ..load(new_run)?
    };
    let sql = build(&run.pipeline, &run.schema, run.mode, true, run.track)?.sql;
    let (mut replayed, mut failed) = (0i64, Vec::new());
    for (letter, entity) in letters {
        match atomically(|| run_statement(&sql, &run, new_run, Some(entity))) {
            Ok(_) => {
                replayed += 1;
                Spi::run_with_args(
                    "UPDATE migration_engine.pipeline_dead_letters SET replayed_at = clock_timestamp() WHERE dead_letter_id = $1",
                    &[letter.into()],
                )?;
            }
            Err(e) => {
                failed.push(json!({"entity_id": entity.to_string(), "error": error_text(e).0}))
            }
        }
    }
    Spi::run_with_args(
        "UPDATE migration_engine.pipeline_runs SET status = 'COMPLETED', finished_at = clock_timestamp(), \
           rows_done = $2, rows_changed = $2, rows_failed = $3 WHERE run_id = $1",
        &[new_run.into(), replayed.into(), (failed.len() as i64).into()],
    )?;
    Ok(json!({"run_id": new_run.to_string(), "replayed": replayed, "still_failing": failed}))
}
