//! knowledge_migrations rows being created, and the lookups by name or id that creating,
//! deploying and starting rollouts need: the engine's other reads go through `load`.
use super::MigrationId;
use crate::errors::{MeError, MeResult};
use crate::spi::first_value;
use migration_engine_core::engine::definition::{checksum, MigrationDefinition};
use migration_engine_core::engine::state::MigrationStatus;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

/// The id of migration `name`, if it exists.
pub fn migration_id_of(name: &str) -> MeResult<Option<MigrationId>> {
    first_value::<MigrationId>(
        "SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = $1",
        &[name.into()],
    )
}

/// The name of migration `id`, if it exists.
pub fn migration_name_of(id: MigrationId) -> MeResult<Option<String>> {
    first_value::<String>(
        "SELECT migration_name FROM migration_engine.knowledge_migrations WHERE migration_id = $1",
        &[id.into()],
    )
}

/// The status of migration `id`, if it exists.
pub fn migration_status_of(id: MigrationId) -> MeResult<Option<MigrationStatus>> {
    first_value::<String>(
        "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_id = $1",
        &[id.into()],
    )?
    .map(|s| {
        MigrationStatus::parse(&s)
            .ok_or_else(|| MeError::internal(format!("unknown migration status {s:?}")))
    })
    .transpose()
}

/// A migration that already has the name: its id, checksum and status.
pub struct ExistingMigration {
    pub id: MigrationId,
    pub checksum: Option<String>,
    pub status: MigrationStatus,
}

pub fn existing_migration(name: &str) -> MeResult<Option<ExistingMigration>> {
    let found = crate::spi::first_row(
        "SELECT migration_id, checksum, status FROM migration_engine.knowledge_migrations WHERE migration_name = $1",
        &[name.into()],
        |r| Ok((r.get::<MigrationId>(1)?, r.get::<String>(2)?, r.get::<String>(3)?)),
    )?;
    let Some((Some(id), checksum, Some(status))) = found else {
        return Ok(None);
    };
    let status = MigrationStatus::parse(&status)
        .ok_or_else(|| MeError::internal(format!("unknown migration status {status:?}")))?;
    Ok(Some(ExistingMigration {
        id,
        checksum,
        status,
    }))
}

/// Store a new, PENDING migration: its definition whole (`definition`, the JSON it was
/// parsed from), its checksum, the ids of what it depends on and the text forms of its
/// steps for humans.
pub fn insert_migration(
    def: &MigrationDefinition,
    definition: &Value,
    checksum: &str,
    depends_on: Vec<MigrationId>,
    validation_script: Option<String>,
) -> MeResult<MigrationId> {
    Spi::get_one_with_args::<MigrationId>(
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
            depends_on
                .into_iter()
                .map(|d| d.0)
                .collect::<Vec<Uuid>>()
                .into(),
            def.priority.into(),
            JsonB(Value::Object(def.metadata.clone())).into(),
            JsonB(definition.clone()).into(),
            checksum.into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("insert returned no id"))
}

/// Record a SCHEMA migration the engine has just applied itself (schema evolution):
/// COMPLETED at once, with `definition` (name, version, steps) and its checksum.
pub fn insert_applied_schema_migration(
    definition: &Value,
    forward_script: &str,
    rollback_script: &str,
) -> MeResult<MigrationId> {
    Spi::get_one_with_args::<MigrationId>(
        "INSERT INTO migration_engine.knowledge_migrations (migration_name, version, description, migration_type, \
            status, started_at, completed_at, forward_script, rollback_script, definition, checksum, execution_log) \
         VALUES ($1, $2, $3, 'SCHEMA', $8, clock_timestamp(), clock_timestamp(), $4, $5, $6, $7, \
            jsonb_build_array(jsonb_build_object('action', 'applied by migration_engine', 'at', clock_timestamp()))) \
         RETURNING migration_id",
        &[
            definition["name"].as_str().into(),
            definition["version"].as_str().into(),
            definition["description"].as_str().into(),
            forward_script.into(),
            rollback_script.into(),
            JsonB(definition.clone()).into(),
            checksum(definition).into(),
            MigrationStatus::Completed.as_str().into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("insert returned no migration id"))
}

/// A dry run changed nothing: the migration's status goes back to `status`.
pub fn restore_status_after_dry_run(id: MigrationId, status: MigrationStatus) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.knowledge_migrations SET status = $2, backend_pid = NULL WHERE migration_id = $1",
        &[id.into(), status.as_str().into()],
    )?;
    Ok(())
}

/// The migration that made the active schema, if it is COMPLETED (what switch_back
/// undoes).
pub fn completed_migration_of_active_schema() -> MeResult<Option<String>> {
    first_value::<String>(
        "SELECT m.migration_name FROM migration_engine.active_schema_version a \
         JOIN migration_engine.knowledge_migrations m ON m.migration_id = a.migration_id \
         WHERE a.id = 1 AND m.status = $1",
        &[MigrationStatus::Completed.as_str().into()],
    )
}
