//! A run's batch statement, compiled once: when the run begins it is built and stored on
//! the run's row (`pipeline_runs.batch_sql`, its SHA-256 in `batch_sql_hash`), and every
//! batch only binds its keyset bounds to that text. Nothing is parsed, compiled or
//! validated per batch. A backend also keeps the statement of the run it last began or
//! ran, so the loop of CALL run_pipeline does not even read it again.
use super::options::{stored_option_keys, PipelineOptions};
use super::parse::parse_definition;
use super::statement::{build, items_sql, Mode};
use crate::catalog::MigrationId;
use crate::catalog::PipelineRunId;
use crate::catalog::{insert_pipeline_run, store_batch_sql, NewPipelineRun, PipelineRun};
use crate::errors::{MeError, MeResult};
use crate::spi::temporal::{qualified, ENTITIES, LIVE};
use crate::spi::{data_schema, first_value, quoted_ident};
use migration_engine_core::pipeline::{plan, statement_hash, OnError, Pipeline};
use pgrx::prelude::*;
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
    static LAST: RefCell<Option<(PipelineRunId, Rc<Compiled>)>> = const { RefCell::new(None) };
}

fn remember(run_id: PipelineRunId, c: &Rc<Compiled>) {
    LAST.with(|l| *l.borrow_mut() = Some((run_id, Rc::clone(c))));
}

/// Start a run: its row, with its statement and the number of rows it will read (for
/// progress and ETA). This backend keeps the statement for the run's batches.
pub fn begin(
    c: Compiled,
    definition: &Value,
    options: &Value,
    migration_id: Option<MigrationId>,
) -> MeResult<(PipelineRunId, Rc<Compiled>)> {
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
    let run_id = insert_pipeline_run(&NewPipelineRun {
        name: &c.pipeline.name,
        definition,
        options,
        mode,
        data_schema: &c.schema,
        entity_type: &c.pipeline.source.entity_type,
        total_rows: total,
        migration_id,
        batch_sql: &c.sql,
        batch_sql_hash: &c.hash,
    })?;
    let c = Rc::new(c);
    remember(run_id, &c);
    Ok((run_id, c))
}

/// The statement of `run` (its row as the batch locked it): this backend's copy when
/// it is that one, else the row's (checked against its hash) and kept.
pub fn for_run(run: &PipelineRun) -> MeResult<Rc<Compiled>> {
    let hash = run.batch_sql_hash.as_deref();
    let kept = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(id, c)| *id == run.run_id && Some(c.hash.as_str()) == hash)
            .map(|(_, c)| Rc::clone(c))
    });
    if let Some(c) = kept {
        return Ok(c);
    }
    let c = Rc::new(load(run)?);
    remember(run.run_id, &c);
    Ok(c)
}

/// A run's statement from its row, for a backend that did not begin the run (a resume,
/// a batch called by hand).
fn load(run: &PipelineRun) -> MeResult<Compiled> {
    let run_id = run.run_id;
    let opts = PipelineOptions::parse(&run.options, &stored_option_keys())?;
    let mode = if run.mode == "patch" {
        Mode::Patch
    } else {
        Mode::History
    };
    // The stored statement is never trusted on its own: pipeline_runs is writable by
    // migration_admin, and a statement run by whoever resumes the run (a superuser,
    // say) must be no more than what the run's definition compiles to. So it is
    // compiled again here (the core's reading; the definition was checked in full when
    // the run began) and compared: the stored text is a record of what runs and this
    // backend's cache key, not a source of SQL.
    let c = Compiled::new(
        parse_definition(&run.definition)?,
        mode,
        opts.track,
        opts.batch_size,
        run.data_schema.clone(),
    )?;
    match (run.batch_sql.as_deref(), run.batch_sql_hash.as_deref()) {
        (Some(sql), Some(hash)) if sql == c.sql && hash == c.hash => Ok(c),
        (None, _) => {
            // a run begun before 0.2.0 has no statement: kept now, once
            store_batch_sql(run_id, &c.sql, &c.hash)?;
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
