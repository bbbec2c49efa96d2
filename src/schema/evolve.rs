//! add_field_backward_compatible and deprecate_field: a new active schema version, a
//! recorded SCHEMA migration (forward and rollback), and the data work that goes with
//! it (default backfill, deprecation tags).
use super::registry::{all_versions, register, require_active};
use super::{backfill, evolve_error};
use crate::catalog::MigrationId;
use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::temporal::{CURRENT, ENTITIES, LIVE};
use crate::spi::{audit, data_schema, data_table, first_value, quoted_ident};
use migration_engine_core::engine::state::BackfillStatus;
use migration_engine_core::schema::{add_field, deprecate_field as deprecate, next_version};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

use crate::errors::PgResult;

fn unique_version(current: &str, suffix: &str) -> MeResult<String> {
    let taken: std::collections::HashSet<String> =
        all_versions()?.into_iter().map(|(v, _)| v.number).collect();
    Ok(next_version(current, &|v: &str| taken.contains(v), suffix))
}

fn unique_migration_name(base: &str, version: &str) -> MeResult<String> {
    let exists = |n: &str| -> MeResult<bool> { Ok(crate::catalog::migration_id_of(n)?.is_some()) };
    if !exists(base)? {
        return Ok(base.to_string());
    }
    Ok(format!("{base}_{version}"))
}

/// Record a migration the extension has just carried out (COMPLETED), with rollback
/// steps that rollback_migration can run.
fn record_completed_migration(
    name: &str,
    version: &str,
    description: &str,
    forward: Value,
    rollback: Value,
) -> MeResult<MigrationId> {
    let definition = json!({"name": name, "version": version, "description": description, "type": "SCHEMA",
        "forward": forward, "rollback": rollback});
    let script = |steps: &Value| {
        steps
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["script"].as_str())
            .collect::<Vec<_>>()
            .join(";\n")
    };
    let id = crate::catalog::insert_applied_schema_migration(
        &definition,
        &script(&definition["forward"]),
        &script(&definition["rollback"]),
    )?;
    audit(
        "migration_applied",
        "migration",
        name,
        json!({"migration_id": id.to_string(), "description": description}),
    )?;
    Ok(id)
}

/// `<data schema>.entity_<type>`, the typed projection table of an entity type, if any.
fn projection_table(schema: &str, entity_type: &str) -> MeResult<Option<String>> {
    let table = format!("entity_{}", entity_type.to_lowercase());
    let exists = first_value::<bool>(
        "SELECT true FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2",
        &[schema.into(), table.as_str().into()],
    )?;
    Ok(match exists {
        Some(_) => Some(format!(
            "{}.{}",
            quoted_ident("data schema", schema)?,
            quoted_ident("table", &table)?
        )),
        None => None,
    })
}

/// Add a field to an entity type, backward compatibly: a new active schema version, a
/// recorded SCHEMA migration, the column on the type's projection table if there is one,
/// and the default backfilled into current entities that lack the field.
/// `backfill => 'deferred'` records the backfill for `CALL run_backfill(id)` (commits
/// between batches) instead of running its batches in this transaction.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn add_field_backward_compatible(
    entity_type: Option<&str>,
    field_name: Option<&str>,
    field_schema: Option<JsonArg>,
    default_value: default!(Option<JsonArg>, "NULL"),
    backfill: default!(Option<&str>, "'inline'"),
    batch_size: default!(Option<i32>, 0),
) -> PgResult<JsonB> {
    crate::required!(entity_type, field_name, field_schema, backfill, batch_size);
    let default_value = default_value.map(|j| j.0);
    if !matches!(backfill, "inline" | "deferred") {
        return Err(MeError::invalid_parameter(format!(
            "backfill must be 'inline' or 'deferred', not {backfill:?}"
        ))
        .into());
    }
    if batch_size < 0 {
        return Err(
            MeError::invalid_parameter("batch_size must be 0 (adaptive) or positive").into(),
        );
    }
    quoted_ident("entity type", entity_type)?;
    quoted_ident("field name", field_name)?;
    let active = require_active()?;
    let default = default_value.map(|j| j.0).filter(|v| !v.is_null());
    let new_def = add_field(
        &active.definition,
        entity_type,
        field_name,
        &field_schema.0,
        default.as_ref(),
    )
    .map_err(evolve_error)?;
    let version = unique_version(&active.number, "patch")?;
    let schema = data_schema()?;
    let projection = projection_table(&schema, entity_type)?;

    let mut forward = vec![json!({"name": "activate_version", "type": "SQL",
        "script": format!("SELECT migration_engine.activate_schema_version({})", crate::spi::literal(&version))})];
    let mut rollback = vec![json!({"name": "activate_previous_version", "type": "SQL",
        "script": format!("SELECT migration_engine.activate_schema_version({})", crate::spi::literal(&active.number))})];
    if let Some(table) = &projection {
        let column = quoted_ident("field name", field_name)?;
        let default_sql = match &default {
            Some(v) => format!(" DEFAULT {}::jsonb", crate::spi::literal(v.to_string())),
            None => String::new(),
        };
        let add =
            format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} jsonb{default_sql}");
        Spi::run(&add).map_err(MeError::from)?;
        forward.push(json!({"name": "projection_column", "type": "SQL", "script": add}));
        rollback.insert(
            0,
            json!({"name": "drop_projection_column", "type": "SQL",
            "script": format!("ALTER TABLE {table} DROP COLUMN IF EXISTS {column}")}),
        );
    }
    if default.is_some() {
        forward.push(json!({"name": "backfill_default", "type": "SQL",
            "script": format!("-- backfill of the default into current {entity_type} entities (migration_engine.field_backfills)")}));
    }
    let name = unique_migration_name(&format!("add_field_{entity_type}_{field_name}"), &version)?;
    let description = format!("Add field {field_name} to {entity_type}");
    register(&version, &new_def, Some(&description), None, true)?;
    let migration_id = record_completed_migration(
        &name,
        &version,
        &description,
        Value::Array(forward),
        Value::Array(rollback),
    )?;

    let backfill_state = match &default {
        None => Value::Null,
        Some(v) => {
            let id = backfill::create(migration_id, &schema, entity_type, field_name, v)?;
            if backfill == "inline" {
                backfill::run_all(id, batch_size)?
            } else {
                json!({"backfill_id": id, "status": BackfillStatus::Pending.as_str(), "run_with": format!("CALL migration_engine.run_backfill({id})")})
            }
        }
    };
    Ok(JsonB(json!({
        "migration_id": migration_id.to_string(),
        "migration_name": name,
        "version_number": version,
        "previous_version": active.number,
        "projection_column_added": projection.is_some(),
        "backfill": backfill_state,
    })))
}

/// Mark a field deprecated in a new active schema version, record the migration, and tag
/// current entities that still use it (`metadata.deprecated_fields` lists it once).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn deprecate_field(
    entity_type: Option<&str>,
    field_name: Option<&str>,
    deprecation_message: default!(Option<&str>, "NULL"),
    removal_version: default!(Option<&str>, "NULL"),
) -> PgResult<JsonB> {
    crate::required!(entity_type, field_name);
    quoted_ident("entity type", entity_type)?;
    quoted_ident("field name", field_name)?;
    let active = require_active()?;
    let now = Spi::get_one::<String>(
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    )
    .map_err(MeError::from)?
    .unwrap_or_default();
    let new_def = deprecate(
        &active.definition,
        entity_type,
        field_name,
        deprecation_message,
        removal_version,
        &now,
    )
    .map_err(evolve_error)?;
    let version = unique_version(&active.number, "deprecation")?;
    let description = format!("Deprecate field {field_name} in {entity_type}");
    register(
        &version,
        &new_def,
        Some(&description),
        deprecation_message,
        true,
    )?;
    let tagged = mark_deprecated(entity_type, field_name, true)?;
    let marks = |marked: bool| {
        format!(
            "SELECT migration_engine.mark_deprecated_field({}, {}, {marked})",
            crate::spi::literal(entity_type),
            crate::spi::literal(field_name)
        )
    };
    let forward = json!([
        {"name": "activate_version", "type": "SQL", "script": format!("SELECT migration_engine.activate_schema_version({})", crate::spi::literal(&version))},
        {"name": "tag_entities", "type": "SQL", "script": marks(true)}
    ]);
    let rollback = json!([
        {"name": "untag_entities", "type": "SQL", "script": marks(false)},
        {"name": "activate_previous_version", "type": "SQL", "script": format!("SELECT migration_engine.activate_schema_version({})", crate::spi::literal(&active.number))}
    ]);
    let name = unique_migration_name(&format!("deprecate_{entity_type}_{field_name}"), &version)?;
    let migration_id =
        record_completed_migration(&name, &version, &description, forward, rollback)?;
    Ok(JsonB(json!({
        "migration_id": migration_id.to_string(),
        "migration_name": name,
        "version_number": version,
        "previous_version": active.number,
        "entities_tagged": tagged,
    })))
}

/// Add `field_name` to (or, `marked` false, remove it from) `metadata.deprecated_fields`
/// of the current versions of `entity_type`: the marks deprecate_field sets and its
/// rollback removes. An annotation of current versions, written in place by the
/// extension (history protection stands aside for it); returns the versions changed.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn mark_deprecated_field(
    entity_type: Option<&str>,
    field_name: Option<&str>,
    marked: Option<bool>,
) -> PgResult<i64> {
    crate::required!(entity_type, field_name, marked);
    Ok(mark_deprecated(entity_type, field_name, marked)?)
}

fn mark_deprecated(entity_type: &str, field_name: &str, marked: bool) -> MeResult<i64> {
    quoted_ident("entity type", entity_type)?;
    quoted_ident("field name", field_name)?;
    let table = data_table(ENTITIES)?;
    let sql = if marked {
        format!(
            "UPDATE {table} SET metadata = jsonb_set(metadata, '{{deprecated_fields}}', \
                 coalesce(metadata -> 'deprecated_fields', '[]'::jsonb) || to_jsonb($2::text)) \
             WHERE entity_type = $1 AND {LIVE} AND content ? $2 \
               AND NOT coalesce(metadata -> 'deprecated_fields', '[]'::jsonb) ? $2"
        )
    } else {
        format!(
            "UPDATE {table} SET metadata = jsonb_set(metadata, '{{deprecated_fields}}', (metadata -> 'deprecated_fields') - $2) \
             WHERE entity_type = $1 AND {CURRENT} AND metadata -> 'deprecated_fields' ? $2"
        )
    };
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    Spi::connect_mut(|c| {
        c.update(&sql, None, &[entity_type.into(), field_name.into()])
            .map(|t| t.len() as i64)
    })
    .map_err(MeError::from)
}
