//! create_migration: a definition checked by the core, stored whole with its checksum.
use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::{audit, first_value};
use migration_engine_core::engine::definition::{checksum, MigrationDefinition};
use migration_engine_core::engine::state::MigrationStatus;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::json;

/// Store a migration definition (the seed's `MigrationDefinition`, camelCase keys).
/// Returns its id. Refuses malformed definitions, unknown dependencies and duplicate names.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn create_migration(definition: Option<JsonArg>) -> Result<Uuid, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(definition);
    Ok(create(&definition.0)?)
}

pub(super) fn create(definition: &serde_json::Value) -> MeResult<Uuid> {
    let def = MigrationDefinition::parse(definition).map_err(|e| {
        MeError::invalid_parameter(format!("invalid migration definition: {e}"))
            .detail(format!("code {} at {}", e.code(), e.path()))
            .hint("See docs/ENGINE.md for the definition format (name, version, type, dependsOn, forward, rollback, validation).")
    })?;
    crate::steps::require_expressions(&def)?;
    crate::pipeline::check_transform_pipelines(&def)?;
    let sum = checksum(definition);
    if let Some((existing_id, existing_sum, status)) = existing(&def.name)? {
        // the same definition again (a deploy tool's re-deploy, a revert then deploy):
        // nothing to do, the migration is the one that exists
        if existing_sum.as_deref() == Some(sum.as_str()) {
            return Ok(existing_id);
        }
        let msg = if status != MigrationStatus::Pending.as_str() {
            format!(
                "migration {:?} was already run ({status}) with a different definition (checksum mismatch)",
                def.name
            )
        } else {
            format!(
                "migration {:?} already exists with a different definition",
                def.name
            )
        };
        return Err(MeError::duplicate_object(msg).hint(
            "Migrations are immutable once created: give the changed migration a new name (and make it depend on the old one).",
        ));
    }
    let mut dep_ids = Vec::new();
    for dep in &def.depends_on {
        let id = first_value::<Uuid>(
            "SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = $1",
            &[dep.as_str().into()],
        )?
        .ok_or_else(|| {
            MeError::undefined_object(format!("migration {:?} depends on unknown migration {dep:?}", def.name))
                .hint("Create the migrations it depends on first.")
        })?;
        dep_ids.push(id);
    }
    let validation_script = (!def.validation.is_empty()).then(|| {
        def.validation
            .iter()
            .map(|r| format!("-- {}\nSELECT ({})::boolean;", r.name, r.script))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let id = Spi::get_one_with_args::<Uuid>(
        "INSERT INTO migration_engine.knowledge_migrations \
           (migration_name, version, description, migration_type, forward_script, rollback_script, \
            validation_script, depends_on, priority, metadata, definition, checksum) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING migration_id",
        &[
            def.name.as_str().into(),
            def.version.as_str().into(),
            def.description.clone().into(),
            def.migration_type.as_str().into(),
            def.forward_script().into(),
            def.rollback_script().into(),
            validation_script.into(),
            dep_ids.into(),
            def.priority.into(),
            JsonB(serde_json::Value::Object(def.metadata.clone())).into(),
            JsonB(definition.clone()).into(),
            sum.as_str().into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("insert returned no id"))?;
    audit(
        "migration_created",
        "migration",
        &def.name,
        json!({"migration_id": id.to_string(), "checksum": sum, "version": def.version}),
    )?;
    Ok(id)
}

/// The migration named `name`: its id, checksum and status.
fn existing(name: &str) -> MeResult<Option<(Uuid, Option<String>, String)>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT migration_id, checksum, status FROM migration_engine.knowledge_migrations WHERE migration_name = $1",
            Some(1),
            &[name.into()],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok::<_, pgrx::spi::Error>(Some((
            row.get::<Uuid>(1)?.expect("migration_id is NOT NULL"),
            row.get::<String>(2)?,
            row.get::<String>(3)?.unwrap_or_default(),
        )))
    })
    .map_err(MeError::from)
}
