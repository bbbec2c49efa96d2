use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::temporal::{CLOSE_AT, CURRENT, ENTITIES, LIVE, RELATIONS};
use crate::spi::{data_table, first_value, quoted_ident};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};

/// Create a relation (no `relation_id`) or write its next version; an identical write
/// creates no version. Returns the relation id.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn upsert_relation(
    relation_type: Option<&str>,
    source_entity_id: Option<Uuid>,
    target_entity_id: Option<Uuid>,
    properties: default!(Option<JsonArg>, "'{}'::jsonb"),
    relation_id: default!(Option<Uuid>, "NULL"),
) -> Result<Uuid, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(
        relation_type,
        source_entity_id,
        target_entity_id,
        properties
    );
    Ok(upsert(
        relation_type,
        source_entity_id,
        target_entity_id,
        properties,
        relation_id,
    )?)
}

/// Both ends of an edge are current entities: an edge to nothing is refused, not
/// stored. Their current versions are locked FOR SHARE until the write commits, so a
/// concurrent delete_entity waits for it instead of leaving the edge dangling.
fn require_endpoints(source: Uuid, target: Uuid) -> MeResult<()> {
    let entities = data_table(ENTITIES)?;
    let missing = first_value::<Vec<String>>(
        &format!(
            "WITH e AS (SELECT entity_id FROM {entities} \
                        WHERE entity_id IN ($1, $2) AND {LIVE} FOR SHARE) \
             SELECT coalesce(array_agg(x::text), '{{}}') FROM unnest(ARRAY[$1, $2]) x \
             WHERE x NOT IN (SELECT entity_id FROM e)"
        ),
        &[source.into(), target.into()],
    )?
    .unwrap_or_default();
    if missing.is_empty() {
        return Ok(());
    }
    Err(MeError::new(
        PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
        format!("a relation needs two current entities; no current entity has id {}", missing.join(", ")),
    )
    .hint("Create the entity first with migration_engine.upsert_entity (a deleted entity takes no new edges)."))
}

fn upsert(
    relation_type: &str,
    source: Uuid,
    target: Uuid,
    properties: JsonB,
    relation_id: Option<Uuid>,
) -> MeResult<Uuid> {
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    quoted_ident("relation type", relation_type)?;
    if !properties.0.is_object() {
        return Err(MeError::invalid_parameter(
            "relation properties must be a JSON object",
        ));
    }
    let table = data_table(RELATIONS)?;
    require_endpoints(source, target)?;
    let id = match relation_id {
        Some(id) => id,
        None => {
            let sql = format!(
                "INSERT INTO {table} (relation_type, source_entity_id, target_entity_id, properties) \
                 VALUES ($1, $2, $3, $4) RETURNING relation_id"
            );
            return Spi::get_one_with_args::<Uuid>(
                &sql,
                &[
                    relation_type.into(),
                    source.into(),
                    target.into(),
                    properties.into(),
                ],
            )?
            .ok_or_else(|| MeError::internal("insert returned no relation id"));
        }
    };
    // Close the current version unless it is identical, then write the next one. Two
    // statements: in one, the unique "one current version" index would see the new row
    // before the old one is closed.
    let unchanged = first_value::<bool>(
        &format!(
            "SELECT relation_type = $2 AND source_entity_id = $3 AND target_entity_id = $4 \
                    AND properties = $5 AND NOT is_deleted \
             FROM {table} WHERE relation_id = $1 AND {CURRENT} FOR UPDATE"
        ),
        &[
            id.into(),
            relation_type.into(),
            source.into(),
            target.into(),
            JsonB(properties.0.clone()).into(),
        ],
    )?;
    if unchanged == Some(true) {
        return Ok(id);
    }
    let closed_at = first_value::<TimestampWithTimeZone>(
        &format!(
            "UPDATE {table} SET valid_to = {CLOSE_AT} WHERE relation_id = $1 AND {CURRENT} RETURNING valid_to"
        ),
        &[id.into()],
    )?;
    Spi::run_with_args(
        &format!(
            "INSERT INTO {table} (relation_id, relation_type, source_entity_id, target_entity_id, properties, valid_from) \
             VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))"
        ),
        &[id.into(), relation_type.into(), source.into(), target.into(), properties.into(), closed_at.into()],
    )?;
    Ok(id)
}

/// Soft-delete a relation, keeping its history. False when nothing current was deleted.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn delete_relation(relation_id: Option<Uuid>) -> Result<bool, pgrx::pg_sys::panic::ErrorReport> {
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    crate::required!(relation_id);
    let table = data_table(RELATIONS)?;
    let sql = format!(
        "WITH closed AS ( \
             UPDATE {table} SET valid_to = {CLOSE_AT} \
             WHERE relation_id = $1 AND {LIVE} \
             RETURNING relation_id, relation_type, source_entity_id, target_entity_id, properties, valid_to) \
         INSERT INTO {table} (relation_id, relation_type, source_entity_id, target_entity_id, properties, is_deleted, valid_from) \
         SELECT relation_id, relation_type, source_entity_id, target_entity_id, properties, true, valid_to FROM closed \
         RETURNING true"
    );
    Ok(first_value::<bool>(&sql, &[relation_id.into()])?.unwrap_or(false))
}
