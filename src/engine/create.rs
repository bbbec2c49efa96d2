//! create_migration: a definition checked by the core, stored whole with its checksum.
use crate::catalog;
use crate::catalog::MigrationId;
use crate::errors::{MeError, MeResult};
use crate::spi::audit;
use crate::spi::jsonb_arg::JsonArg;
use migration_engine_core::engine::definition::{checksum, MigrationDefinition};
use migration_engine_core::engine::state::MigrationStatus;
use pgrx::prelude::*;
use pgrx::Uuid;
use serde_json::json;

/// Store a migration definition (the seed's `MigrationDefinition`, camelCase keys).
/// Returns its id. Refuses malformed definitions, unknown dependencies and duplicate names.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn create_migration(definition: Option<JsonArg>) -> Result<Uuid, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(definition);
    Ok(create(&definition.0)?.0)
}

pub(super) fn create(definition: &serde_json::Value) -> MeResult<MigrationId> {
    let def = MigrationDefinition::parse(definition).map_err(|e| {
        MeError::invalid_parameter(format!("invalid migration definition: {e}"))
            .detail(format!("code {} at {}", e.code(), e.path()))
            .hint("See docs/ENGINE.md for the definition format (name, version, type, dependsOn, forward, rollback, validation).")
    })?;
    crate::steps::require_expressions(&def)?;
    crate::pipeline::check_transform_pipelines(&def)?;
    let sum = checksum(definition);
    if let Some(existing) = catalog::existing_migration(&def.name)? {
        let status = existing.status;
        // the same definition again (a deploy tool's re-deploy, a revert then deploy):
        // nothing to do, the migration is the one that exists
        if existing.checksum.as_deref() == Some(sum.as_str()) {
            return Ok(existing.id);
        }
        let msg = if status != MigrationStatus::Pending {
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
        let id = catalog::migration_id_of(dep)?.ok_or_else(|| {
            MeError::undefined_object(format!(
                "migration {:?} depends on unknown migration {dep:?}",
                def.name
            ))
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
    let id = catalog::insert_migration(&def, definition, &sum, dep_ids, validation_script)?;
    audit(
        "migration_created",
        "migration",
        &def.name,
        json!({"migration_id": id.to_string(), "checksum": sum, "version": def.version}),
    )?;
    Ok(id)
}
