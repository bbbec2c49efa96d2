//! A run's batch statement, compiled once: when the run begins it is built and stored on
//! the run's row (`pipeline_runs.batch_sql`, its SHA-256 in `batch_sql_hash`), and every
//! batch only binds its keyset bounds to that text. Nothing is parsed, compiled or
//! validated per batch. A backend also keeps the statement of the run it last began or
//! ran, so the loop of CALL run_pipeline does not even read it again.
use super::options::{stored_option_keys, PipelineOptions};
use super::parse::parse_definition;
use super::statement::{build, items_sql, Mode};
use crate::errors::{MeError, MeResult};
use crate::spi::temporal::{qualified, ENTITIES, LIVE};
use crate::spi::{data_schema, first_value, quoted_ident};
use migration_engine_core::pipeline::{plan, statement_hash, OnError, Pipeline};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;

/// What a batch needs of its run; fixed when the run begins.
pub struct Compiled {
    pub pipeline: Pipeline,
    pub mode: Mode,
    /// options.batchSize, else the pipeline's own
    pub batch_size: u32,
    pub schema: String,
    /// $1 entity type, $2 last entity id (keyset), $3 batch size, $4 run id, $5 only
    /// this entity (see `statement::build`)
    pub sql: String,
    pub hash: String,
    /// SKIP's reading of a batch's items, made with the statement so a failing batch
    /// compiles nothing either
    pub items_sql: String,
    pub policy: OnError,
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

impl Compiled {
    fn with_sql(
        pipeline: Pipeline,
        mode: Mode,
        batch_size: Option<u32>,
        schema: String,
        sql: String,
        hash: String,
    ) -> MeResult<Self> {
        let items_sql = items_sql(&pipeline, &schema)?;
        let policy = policy(&pipeline);
        let batch_size = batch_size.unwrap_or(pipeline.batch_size);
        Ok(Compiled {
            pipeline,
            mode,
            batch_size,
            schema,
            sql,
            hash,
            items_sql,
            policy,
        })
    }

    fn new(
        pipeline: Pipeline,
        mode: Mode,
        track: bool,
        batch_size: Option<u32>,
        schema: String,
    ) -> MeResult<Self> {
        let sql = build(&pipeline, &schema, mode, true, track)?.sql;
        let hash = statement_hash(&sql);
        Self::with_sql(pipeline, mode, batch_size, schema, sql, hash)
    }
}

/// The statement of a run of `pipeline` (parsed and checked) with `opts`, over the data
/// schema now; refused before anything is written when it cannot be compiled.
pub fn compile(pipeline: Pipeline, opts: &PipelineOptions) -> MeResult<Compiled> {
    Compiled::new(
        pipeline,
        opts.mode,
        opts.track,
        opts.batch_size,
        data_schema()?,
    )
}

thread_local! {
    /// The run this backend last began or ran a batch of, and its statement. One slot:
    /// the loops (CALL run_pipeline, execute_pipeline, a TRANSFORM step) run one run at a
    /// time, and another run only costs one read of its row. Plain Rust values, so it
    /// outlives the transactions the procedure commits.
    static LAST: RefCell<Option<(Uuid, Rc<Compiled>)>> = const { RefCell::new(None) };
}

fn remember(run_id: Uuid, c: &Rc<Compiled>) {
    LAST.with(|l| *l.borrow_mut() = Some((run_id, Rc::clone(c))));
}

/// Start a run: its row, with its statement and the number of rows it will read (for
/// progress and ETA). This backend keeps the statement for the run's batches.
pub fn begin(
    c: Compiled,
    definition: &Value,
    options: &Value,
    migration_id: Option<Uuid>,
) -> MeResult<(Uuid, Rc<Compiled>)> {
    let total = first_value::<i64>(
        &format!(
            "SELECT count(*) FROM {} WHERE entity_type = $1 AND {LIVE}",
            qualified(&quoted_ident("data schema", &c.schema)?, ENTITIES)
        ),
        &[c.pipeline.source.entity_type.as_str().into()],
    )?;
    let mode = match c.mode {
        Mode::History => "history",
        Mode::Patch => "patch",
    };
    let run_id = first_value::<Uuid>(
        "INSERT INTO migration_engine.pipeline_runs (pipeline_name, definition, options, mode, data_schema, entity_type, total_rows, \
           migration_id, batch_sql, batch_sql_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING run_id",
        &[
            c.pipeline.name.as_str().into(),
            JsonB(definition.clone()).into(),
            JsonB(options.clone()).into(),
            mode.into(),
            c.schema.as_str().into(),
            c.pipeline.source.entity_type.as_str().into(),
            total.into(),
            migration_id.into(),
            c.sql.as_str().into(),
            c.hash.as_str().into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("no run id"))?;
    let c = Rc::new(c);
    remember(run_id, &c);
    Ok((run_id, c))
}

/// The statement of `run_id`, whose row holds `hash` now: this backend's copy when it
/// is that one, else the row's (checked against its hash) and kept.
pub fn for_run(run_id: Uuid, hash: Option<&str>) -> MeResult<Rc<Compiled>> {
    let kept = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(id, c)| *id == run_id && Some(c.hash.as_str()) == hash)
            .map(|(_, c)| Rc::clone(c))
    });
    if let Some(c) = kept {
        return Ok(c);
    }
    let c = Rc::new(load(run_id)?);
    remember(run_id, &c);
    Ok(c)
}

/// A run's statement from its row, for a backend that did not begin the run (a resume,
/// a batch called by hand).
fn load(run_id: Uuid) -> MeResult<Compiled> {
    let row = crate::spi::first_row(
        "SELECT definition, options, mode, data_schema, batch_sql, batch_sql_hash \
             FROM migration_engine.pipeline_runs WHERE run_id = $1",
        &[run_id.into()],
        |r| {
            Ok((
                r.get::<JsonB>(1)?.map(|j| j.0).unwrap_or(Value::Null),
                r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
                r.get::<String>(3)?,
                r.get::<String>(4)?,
                r.get::<String>(5)?,
                r.get::<String>(6)?,
            ))
        },
    )?
    .ok_or_else(|| MeError::undefined_object(format!("pipeline run {run_id} does not exist")))?;
    let (definition, options, mode, schema, sql, hash) = row;
    let opts = PipelineOptions::parse(&options, &stored_option_keys())?;
    let mode = if mode.as_deref() == Some("patch") {
        Mode::Patch
    } else {
        Mode::History
    };
    let schema = schema.unwrap_or_else(|| "kg".into());
    // The stored statement is never trusted on its own: pipeline_runs is writable by
    // migration_admin, and a statement run by whoever resumes the run (a superuser,
    // say) must be no more than what the run's definition compiles to. So it is
    // compiled again here (the core's reading; the definition was checked in full when
    // the run began) and compared: the stored text is a record of what runs and this
    // backend's cache key, not a source of SQL.
    let c = Compiled::new(
        parse_definition(&definition)?,
        mode,
        opts.track,
        opts.batch_size,
        schema,
    )?;
    match (sql, hash) {
        (Some(sql), Some(hash)) if sql == c.sql && hash == c.hash => Ok(c),
        (None, _) => {
            // a run begun before 0.2.0 has no statement: kept now, once
            Spi::run_with_args(
                "UPDATE migration_engine.pipeline_runs SET batch_sql = $2, batch_sql_hash = $3 WHERE run_id = $1",
                &[run_id.into(), c.sql.as_str().into(), c.hash.as_str().into()],
            )?;
            Ok(c)
        }
        _ => Err(MeError::new(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("pipeline run {run_id}: its stored batch statement (pipeline_runs.batch_sql, batch_sql_hash) is not what its definition compiles to"),
        )
        .hint(format!(
            "The row was changed by hand, or the run was begun by another version. To compile the statement again from the run's definition: \
             UPDATE migration_engine.pipeline_runs SET batch_sql = NULL, batch_sql_hash = NULL WHERE run_id = '{run_id}'"
        ))),
    }
}
