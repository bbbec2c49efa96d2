//! detect_breaking_changes and is_type_compatible: thin wrappers over the core rules.
use super::schema_error;
use crate::spi::jsonb_arg::JsonbBytes;
use crate::spi::jsonb_out::JsonbOut;
use migration_engine_core::jsonb::Out;
use migration_engine_core::schema::{
    detect_breaking_changes_binary, is_type_compatible as compatible,
};
use pgrx::prelude::*;

/// The changes between two schema documents, sorted by (entity, field, type): each with
/// `type`, `entity`, `field`, `old_type`/`new_type` where relevant, `severity`,
/// `description`, `breaks_readers`, `breaks_writers`. Identical schemas give `[]`.
#[pg_extern(immutable, parallel_safe)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn detect_breaking_changes(
    old_schema: JsonbBytes,
    new_schema: JsonbBytes,
) -> Result<JsonbOut, pgrx::pg_sys::panic::ErrorReport> {
    // the documents are read in place from their stored form; only what differs is decoded
    let changes = detect_breaking_changes_binary(old_schema.0, new_schema.0).map_err(|e| {
        // a document the reader cannot hold gets the same refusal as any jsonb argument
        crate::spi::jsonb_arg::unreadable(old_schema.0)
            .or_else(|| crate::spi::jsonb_arg::unreadable(new_schema.0))
            .unwrap_or_else(|| schema_error("invalid schema document", e))
    })?;
    // and the result is written in binary, without a trip through JSON text
    Ok(JsonbOut::of(&Out::Arr(
        changes.iter().map(|c| c.to_out()).collect(),
    ))?)
}

/// Whether a field of type `old_type` can become `new_type` without loss (a widening
/// Postgres does in place). Unknown types are never compatible; never an error.
#[pg_extern(immutable, parallel_safe, strict)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn is_type_compatible(old_type: &str, new_type: &str) -> bool {
    compatible(old_type, new_type)
}
