//! field_backfills: one row per backfill of a field's default (its keyset position,
//! totals and batch size, committed with each batch so an interrupted backfill
//! resumes), read typed and changed only through here. Its status is the core's
//! `BackfillStatus`.
use super::MigrationId;
use crate::errors::{MeError, MeResult};
use migration_engine_core::engine::state::BackfillStatus;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// One field_backfills row: what the next batch needs.
#[derive(Clone)]
pub struct Backfill {
    pub data_schema: String,
    pub entity_type: String,
    pub field: String,
    pub default: Value,
    pub last_entity_id: Option<Uuid>,
    /// the size the last batch chose for the next (adaptive backfills)
    pub batch_size: i32,
    pub finished: bool,
}

/// Backfill `id`, its row locked (batches of one backfill never overlap).
pub fn lock_backfill(id: i64) -> MeResult<Backfill> {
    crate::spi::first_row(
        "SELECT data_schema, entity_type, field_name, default_value, last_entity_id, batch_size, status = $2 \
         FROM migration_engine.field_backfills WHERE backfill_id = $1 FOR UPDATE",
        &[id.into(), BackfillStatus::Completed.as_str().into()],
        |r| {
            Ok(Backfill {
                data_schema: r.get::<String>(1)?.unwrap_or_default(),
                entity_type: r.get::<String>(2)?.unwrap_or_default(),
                field: r.get::<String>(3)?.unwrap_or_default(),
                default: r.get::<JsonB>(4)?.map(|j| j.0).unwrap_or(Value::Null),
                last_entity_id: r.get::<Uuid>(5)?,
                batch_size: r.get::<i32>(6)?.unwrap_or(2000),
                finished: r.get::<bool>(7)?.unwrap_or(false),
            })
        },
    )?
    .ok_or_else(|| {
        MeError::undefined_object(format!("backfill {id} does not exist"))
            .hint("See migration_engine.field_backfills for the backfills there are.")
    })
}

/// A backfill that is to run (PENDING until its first batch), from the first entity.
pub fn insert_backfill(
    migration_id: MigrationId,
    data_schema: &str,
    entity_type: &str,
    field: &str,
    default: &Value,
) -> MeResult<i64> {
    Spi::get_one_with_args::<i64>(
        "INSERT INTO migration_engine.field_backfills (migration_id, data_schema, entity_type, field_name, default_value) \
         VALUES ($1, $2, $3, $4, $5) RETURNING backfill_id",
        &[
            migration_id.into(),
            data_schema.into(),
            entity_type.into(),
            field.into(),
            JsonB(default.clone()).into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("the backfill's INSERT returned no backfill id"))
}

/// What one batch did, added to the backfill's totals.
pub struct BackfillBatch {
    /// the keyset position after it (None: it read nothing, the position stays)
    pub last_entity_id: Option<Uuid>,
    pub scanned: i64,
    pub updated: i64,
    pub duration_ms: f64,
    pub next_batch_size: i32,
    /// the batch read fewer rows than it asked for: the backfill is COMPLETED
    pub finished: bool,
}

pub fn record_backfill_batch(id: i64, b: &BackfillBatch) -> MeResult<()> {
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
            b.last_entity_id.into(),
            b.scanned.into(),
            b.updated.into(),
            b.duration_ms.into(),
            b.next_batch_size.into(),
            b.finished.into(),
            BackfillStatus::Completed.as_str().into(),
            BackfillStatus::Running.as_str().into(),
        ],
    )?;
    Ok(())
}

/// The backfill as run_backfill reports it (`{}` when there is none).
pub fn backfill_state(id: i64) -> MeResult<Value> {
    Ok(Spi::get_one_with_args::<JsonB>(
        "SELECT jsonb_build_object('backfill_id', backfill_id, 'rows_scanned', rows_scanned, \
             'rows_updated', rows_updated, 'batches', batches, 'longest_batch_ms', round(longest_batch_ms::numeric, 3), \
             'status', status, 'entity_type', entity_type, 'field_name', field_name) \
         FROM migration_engine.field_backfills WHERE backfill_id = $1",
        &[id.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({})))
}
