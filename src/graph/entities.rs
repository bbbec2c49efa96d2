use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::temporal::{CLOSE_AT, CURRENT, ENTITIES, LIVE, OPEN_END};
use crate::spi::{data_schema, data_table, first_value, quoted_ident};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};

/// The data schema that holds the knowledge graph now.
#[pg_extern(stable, parallel_safe)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn active_schema() -> Result<String, pgrx::pg_sys::panic::ErrorReport> {
    Ok(data_schema()?)
}

/// Create an entity (no `entity_id`) or write its next version. An identical write
/// (same content and metadata) creates no version. Returns the entity id.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn upsert_entity(
    entity_type: Option<&str>,
    content: Option<JsonArg>,
    entity_id: default!(Option<Uuid>, "NULL"),
    metadata: default!(Option<JsonArg>, "NULL"),
) -> Result<Uuid, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(entity_type, content);
    let metadata = metadata.map(|j| j.0);
    Ok(upsert(entity_type, content, entity_id, metadata)?)
}

pub(super) fn upsert(
    entity_type: &str,
    content: JsonB,
    entity_id: Option<Uuid>,
    metadata: Option<JsonB>,
) -> MeResult<Uuid> {
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    quoted_ident("entity type", entity_type)?;
    if !content.0.is_object() {
        return Err(
            MeError::invalid_parameter("entity content must be a JSON object")
                .hint("Pass content such as '{\"name\": \"Ada\"}'::jsonb."),
        );
    }
    if matches!(&metadata, Some(m) if !m.0.is_object()) {
        return Err(MeError::invalid_parameter(
            "entity metadata must be a JSON object",
        ));
    }
    let table = data_table(ENTITIES)?;
    let Some(id) = entity_id else {
        let sql = format!(
            "INSERT INTO {table} (entity_type, content, metadata) \
             VALUES ($1, $2, coalesce($3, '{{}}'::jsonb)) RETURNING entity_id"
        );
        return Spi::get_one_with_args::<Uuid>(
            &sql,
            &[entity_type.into(), content.into(), metadata.into()],
        )?
        .ok_or_else(|| MeError::internal("insert returned no entity id"));
    };
    for _ in 0..5 {
        if let Some(id) = upsert_round(&table, entity_type, &content, id, &metadata)? {
            return Ok(id);
        }
    }
    Err(MeError::new(
        PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
        format!("entity {id} kept changing while it was being written"),
    )
    .hint("Retry the transaction."))
}

/// One attempt: close the current version and write the next; `None` when a concurrent
/// writer made a version current after this statement's snapshot.
fn upsert_round(
    table: &str,
    entity_type: &str,
    content: &JsonB,
    id: Uuid,
    metadata: &Option<JsonB>,
) -> MeResult<Option<Uuid>> {
    let current = Spi::connect(|client| {
        let sql = format!(
            "SELECT version_id, entity_type, \
                    (content = $2 AND metadata = coalesce($3, metadata) AND NOT is_deleted) \
             FROM {table} WHERE entity_id = $1 AND {CURRENT} FOR UPDATE"
        );
        let rows = client.select(
            &sql,
            Some(1),
            &[
                id.into(),
                JsonB(content.0.clone()).into(),
                metadata.as_ref().map(|m| JsonB(m.0.clone())).into(),
            ],
        )?;
        match rows.into_iter().next() {
            None => Ok::<_, pgrx::spi::Error>(None),
            Some(row) => Ok(Some((
                row.get::<i64>(1)?.unwrap_or_default(),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<bool>(3)?.unwrap_or(false),
            ))),
        }
    })?;
    let outcome = match current {
        Some((_, existing_type, _)) if existing_type != entity_type => {
            Err(MeError::invalid_parameter(format!(
                "entity {id} is a {existing_type}, not a {entity_type}"
            ))
            .hint("An entity keeps its type; create a new entity for another type."))
        }
        Some((_, _, true)) => Ok(Some(id)),
        Some((version_id, _, false)) => {
            Spi::run_with_args(
                &format!("UPDATE {table} SET valid_to = {CLOSE_AT} WHERE version_id = $1"),
                &[version_id.into()],
            )?;
            Spi::run_with_args(
                &format!(
                    "INSERT INTO {table} (entity_id, entity_type, content, metadata, valid_from) \
                     SELECT $1, $2, $3, coalesce($4, metadata), valid_to FROM {table} WHERE version_id = $5"
                ),
                &[
                    id.into(),
                    entity_type.into(),
                    JsonB(content.0.clone()).into(),
                    metadata.as_ref().map(|m| JsonB(m.0.clone())).into(),
                    version_id.into(),
                ],
            )?;
            Ok(Some(id))
        }
        // Nothing current in this statement's snapshot. Another session may have just
        // made a version current (its commit came after our snapshot): then nothing is
        // inserted and the next round reads again, with a new snapshot.
        None => Ok(first_value::<Uuid>(
            &format!(
                "INSERT INTO {table} (entity_id, entity_type, content, metadata) \
                 VALUES ($1, $2, $3, coalesce($4, '{{}}'::jsonb)) \
                 ON CONFLICT (entity_id) WHERE {CURRENT} DO NOTHING RETURNING entity_id"
            ),
            &[
                id.into(),
                entity_type.into(),
                JsonB(content.0.clone()).into(),
                metadata.as_ref().map(|m| JsonB(m.0.clone())).into(),
            ],
        )?),
    };
    outcome
}

/// Soft-delete an entity: its current version is closed and a deleted version (same
/// content) becomes current, so its history stays readable. False when there was
/// nothing current to delete.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn delete_entity(entity_id: Option<Uuid>) -> Result<bool, pgrx::pg_sys::panic::ErrorReport> {
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    crate::required!(entity_id);
    let table = data_table(ENTITIES)?;
    let sql = format!(
        "WITH closed AS ( \
             UPDATE {table} SET valid_to = {CLOSE_AT} \
             WHERE entity_id = $1 AND {LIVE} \
             RETURNING entity_id, entity_type, content, metadata, valid_to) \
         INSERT INTO {table} (entity_id, entity_type, content, metadata, is_deleted, valid_from) \
         SELECT entity_id, entity_type, content, metadata, true, valid_to FROM closed \
         RETURNING true"
    );
    Ok(first_value::<bool>(&sql, &[entity_id.into()])?.unwrap_or(false))
}

/// A version as clients read it: `valid_to` is NULL for the current version (stored as
/// 'infinity', which several client drivers cannot load), and `is_current` says so.
type VersionRow = (
    Uuid,
    String,
    JsonB,
    JsonB,
    TimestampWithTimeZone,
    Option<TimestampWithTimeZone>,
    bool,
    bool,
);

fn versions(
    where_clause: &str,
    args: Vec<pgrx::datum::DatumWithOid<'static>>,
) -> MeResult<Vec<VersionRow>> {
    let table = data_table(ENTITIES)?;
    let sql = format!(
        "SELECT entity_id, entity_type, content, metadata, valid_from, \
                NULLIF(valid_to, {OPEN_END}), is_deleted, {CURRENT} \
         FROM {table} WHERE {where_clause} ORDER BY valid_from, version_id"
    );
    Spi::connect(|client| {
        let mut out = Vec::new();
        for row in client.select(&sql, None, &args)? {
            out.push((
                row.get::<Uuid>(1)?.expect("entity_id is NOT NULL"),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<JsonB>(3)?.unwrap_or(JsonB(serde_json::json!({}))),
                row.get::<JsonB>(4)?.unwrap_or(JsonB(serde_json::json!({}))),
                row.get::<TimestampWithTimeZone>(5)?
                    .expect("valid_from is NOT NULL"),
                row.get::<TimestampWithTimeZone>(6)?,
                row.get::<bool>(7)?.unwrap_or(false),
                row.get::<bool>(8)?.unwrap_or(false),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .map_err(MeError::from)
}

/// The version of an entity that was current at `as_of` (half-open periods
/// [valid_from, valid_to)); no row when it did not exist or was deleted then.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn entity_as_of(
    entity_id: Uuid,
    as_of: default!(TimestampWithTimeZone, "now()"),
) -> Result<
    TableIterator<
        'static,
        (
            name!(entity_id, Uuid),
            name!(entity_type, String),
            name!(content, JsonB),
            name!(metadata, JsonB),
            name!(valid_from, TimestampWithTimeZone),
            name!(valid_to, Option<TimestampWithTimeZone>),
            name!(is_deleted, bool),
            name!(is_current, bool),
        ),
    >,
    pgrx::pg_sys::panic::ErrorReport,
> {
    let mut rows = versions(
        "entity_id = $1 AND valid_from <= $2 AND $2 < valid_to",
        vec![entity_id.into(), as_of.into()],
    )?;
    rows.retain(|r| !r.6);
    Ok(TableIterator::new(rows.into_iter().last()))
}

/// Every version of an entity, oldest first, deleted ones included.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn entity_history(
    entity_id: Uuid,
) -> Result<
    TableIterator<
        'static,
        (
            name!(entity_id, Uuid),
            name!(entity_type, String),
            name!(content, JsonB),
            name!(metadata, JsonB),
            name!(valid_from, TimestampWithTimeZone),
            name!(valid_to, Option<TimestampWithTimeZone>),
            name!(is_deleted, bool),
            name!(is_current, bool),
        ),
    >,
    pgrx::pg_sys::panic::ErrorReport,
> {
    Ok(TableIterator::new(versions(
        "entity_id = $1",
        vec![entity_id.into()],
    )?))
}
