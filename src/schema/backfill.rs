//! Backfilling a field's default into the current versions of one entity type, in
//! keyset batches (never OFFSET, never one statement over the whole table). Each batch
//! commits its keyset position with its rows, so an interrupted backfill resumes.
//!
//! Backfills patch the current versions in place rather than writing new temporal
//! versions: adding a defaulted field is a schema change, not a new fact about an
//! entity. Closed versions are never touched, so `entity_as_of` for earlier times
//! still returns the content as it was.
use crate::errors::{MeError, MeResult};
use crate::spi::quoted_ident;
use crate::spi::temporal::{current_of, qualified, ENTITIES, LIVE};
use migration_engine_core::engine::state::BackfillStatus;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::time::Instant;

/// Batches aim at this duration, so that no batch holds its row locks for long
/// (GitLab's batched background migrations adapt the same way).
const TARGET_BATCH_MS: f64 = 200.0;
const MIN_BATCH: i32 = 500;
const MAX_BATCH: i32 = 50_000;

struct Job {
    schema: String,
    entity_type: String,
    field: String,
    default: Value,
    last_entity_id: Option<Uuid>,
    batch_size: i32,
    finished: bool,
}

fn load(id: i64) -> MeResult<Job> {
    Spi::connect_mut(|client| {
        let t = client.update(
            "SELECT data_schema, entity_type, field_name, default_value, last_entity_id, batch_size, status = $2 \
             FROM migration_engine.field_backfills WHERE backfill_id = $1 FOR UPDATE",
            Some(1),
            &[id.into(), BackfillStatus::Completed.as_str().into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let r = t.first();
        Ok::<_, pgrx::spi::Error>(Some(Job {
            schema: r.get::<String>(1)?.unwrap_or_default(),
            entity_type: r.get::<String>(2)?.unwrap_or_default(),
            field: r.get::<String>(3)?.unwrap_or_default(),
            default: r.get::<JsonB>(4)?.map(|j| j.0).unwrap_or(Value::Null),
            last_entity_id: r.get::<Uuid>(5)?,
            batch_size: r.get::<i32>(6)?.unwrap_or(2000),
            finished: r.get::<bool>(7)?.unwrap_or(false),
        }))
    })?
    .ok_or_else(|| MeError::undefined_object(format!("backfill {id} does not exist")))
}

/// Run one batch of backfill `id`; `batch_size` 0 adapts the size to ~200 ms batches.
pub fn run_batch(id: i64, batch_size: i32) -> MeResult<Value> {
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    let job = load(id)?;
    if job.finished {
        return state(id, true);
    }
    let size = if batch_size > 0 {
        batch_size
    } else {
        job.batch_size
    };
    let table = qualified(&quoted_ident("data schema", &job.schema)?, ENTITIES);
    // The UPDATE re-checks "current and still lacking the field" on the latest row
    // version, so a version closed by a concurrent writer is never patched.
    let current = current_of("t");
    let sql = format!(
        "WITH batch AS ( \
             SELECT version_id, entity_id FROM {table} \
             WHERE entity_type = $1 AND {LIVE} \
               AND ($2::uuid IS NULL OR entity_id > $2) \
             ORDER BY entity_id LIMIT $3), \
         upd AS ( \
             UPDATE {table} t SET content = t.content || jsonb_build_object($4::text, $5::jsonb) \
             FROM batch b WHERE t.version_id = b.version_id AND {current} AND NOT (t.content ? $4) \
             RETURNING 1) \
         SELECT (SELECT entity_id FROM batch ORDER BY entity_id DESC LIMIT 1), \
                (SELECT count(*) FROM batch), (SELECT count(*) FROM upd)"
    );
    let clock = Instant::now();
    let (last, scanned, updated) = Spi::connect_mut(|client| {
        let t = client.update(
            &sql,
            Some(1),
            &[
                job.entity_type.as_str().into(),
                job.last_entity_id.into(),
                (size as i64).into(),
                job.field.as_str().into(),
                JsonB(job.default.clone()).into(),
            ],
        )?;
        let r = t.first();
        Ok::<_, pgrx::spi::Error>((
            r.get::<Uuid>(1)?,
            r.get::<i64>(2)?.unwrap_or(0),
            r.get::<i64>(3)?.unwrap_or(0),
        ))
    })?;
    let ms = clock.elapsed().as_secs_f64() * 1000.0;
    let next_size = if batch_size > 0 {
        batch_size
    } else {
        let scaled = size as f64 * (TARGET_BATCH_MS / ms.max(1.0)).clamp(0.5, 2.0);
        (scaled as i32).clamp(MIN_BATCH, MAX_BATCH)
    };
    let finished = scanned < size as i64;
    Spi::run_with_args(
        "UPDATE migration_engine.field_backfills SET \
             last_entity_id = coalesce($2, last_entity_id), rows_scanned = rows_scanned + $3, \
             rows_updated = rows_updated + $4, batches = batches + 1, \
             longest_batch_ms = greatest(longest_batch_ms, $5), batch_size = $6, \
             status = CASE WHEN $7 THEN $8 ELSE $9 END, \
             completed_at = CASE WHEN $7 THEN clock_timestamp() END \
         WHERE backfill_id = $1",
        &[
            id.into(),
            last.into(),
            scanned.into(),
            updated.into(),
            ms.into(),
            next_size.into(),
            finished.into(),
            BackfillStatus::Completed.as_str().into(),
            BackfillStatus::Running.as_str().into(),
        ],
    )?;
    state(id, finished)
}

fn state(id: i64, finished: bool) -> MeResult<Value> {
    let row = Spi::get_one_with_args::<JsonB>(
        "SELECT jsonb_build_object('backfill_id', backfill_id, 'rows_scanned', rows_scanned, \
             'rows_updated', rows_updated, 'batches', batches, 'longest_batch_ms', round(longest_batch_ms::numeric, 3), \
             'status', status, 'entity_type', entity_type, 'field_name', field_name) \
         FROM migration_engine.field_backfills WHERE backfill_id = $1",
        &[id.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({}));
    let mut v = row;
    v["finished"] = json!(finished);
    Ok(v)
}

/// Create a backfill job for the current versions of `entity_type` lacking `field`.
pub fn create(
    migration_id: Uuid,
    schema: &str,
    entity_type: &str,
    field: &str,
    default: &Value,
) -> MeResult<i64> {
    Spi::get_one_with_args::<i64>(
        "INSERT INTO migration_engine.field_backfills (migration_id, data_schema, entity_type, field_name, default_value) \
         VALUES ($1, $2, $3, $4, $5) RETURNING backfill_id",
        &[migration_id.into(), schema.into(), entity_type.into(), field.into(), JsonB(default.clone()).into()],
    )?
    .ok_or_else(|| MeError::internal("insert returned no backfill id"))
}

/// Run every remaining batch in this transaction.
pub fn run_all(id: i64, batch_size: i32) -> MeResult<Value> {
    loop {
        let s = run_batch(id, batch_size)?;
        if s["finished"].as_bool().unwrap_or(true) {
            return Ok(s);
        }
    }
}

/// One batch of a backfill (what CALL run_backfill loops over, committing each).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn backfill_batch(
    backfill_id: Option<i64>,
    batch_size: default!(Option<i32>, 0),
) -> Result<JsonB, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(backfill_id, batch_size);
    if batch_size < 0 {
        return Err(
            MeError::invalid_parameter("batch_size must be 0 (adaptive) or positive").into(),
        );
    }
    Ok(JsonB(run_batch(backfill_id, batch_size)?))
}
