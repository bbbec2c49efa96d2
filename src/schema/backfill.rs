//! Backfilling a field's default into the current versions of one entity type, in
//! keyset batches (never OFFSET, never one statement over the whole table). Each batch
//! commits its keyset position with its rows, so an interrupted backfill resumes.
//!
//! Backfills patch the current versions in place rather than writing new temporal
//! versions: adding a defaulted field is a schema change, not a new fact about an
//! entity. Closed versions are never touched, so `entity_as_of` for earlier times
//! still returns the content as it was.
use crate::catalog::MigrationId;
use crate::catalog::{
    backfill_state, insert_backfill, lock_backfill, record_backfill_batch, BackfillBatch,
};
use crate::errors::{MeError, MeResult};
use crate::spi::quoted_ident;
use crate::spi::temporal::{current_of, qualified, ENTITIES, LIVE};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use std::time::Instant;

/// Batches aim at this duration, so that no batch holds its row locks for long
/// (GitLab's batched background migrations adapt the same way).
const TARGET_BATCH_MS: f64 = 200.0;
const MIN_BATCH: i32 = 500;
const MAX_BATCH: i32 = 50_000;

/// Run one batch of backfill `id`; `batch_size` 0 adapts the size to ~200 ms batches.
pub fn run_batch(id: i64, batch_size: i32) -> MeResult<Value> {
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    let job = lock_backfill(id)?;
    if job.finished {
        return state(id, true);
    }
    let size = if batch_size > 0 {
        batch_size
    } else {
        job.batch_size
    };
    let table = qualified(&quoted_ident("data schema", &job.data_schema)?, ENTITIES);
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
    record_backfill_batch(
        id,
        &BackfillBatch {
            last_entity_id: last,
            scanned,
            updated,
            duration_ms: ms,
            next_batch_size: next_size,
            finished,
        },
    )?;
    state(id, finished)
}

fn state(id: i64, finished: bool) -> MeResult<Value> {
    let mut v = backfill_state(id)?;
    v["finished"] = json!(finished);
    Ok(v)
}

/// Create a backfill job for the current versions of `entity_type` lacking `field`.
pub fn create(
    migration_id: MigrationId,
    schema: &str,
    entity_type: &str,
    field: &str,
    default: &Value,
) -> MeResult<i64> {
    insert_backfill(migration_id, schema, entity_type, field, default)
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
