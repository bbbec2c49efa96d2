//! schema_versions and registry_settings: the registered schema versions (immutable,
//! one active at a time) and the compatibility mode new ones must respect, read typed
//! and changed only through here.
use crate::errors::{MeError, MeResult};
use crate::spi::{all_rows, first_value};
use migration_engine_core::schema::CompatibilityMode;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

/// A registered schema version.
#[derive(Clone)]
pub struct Version {
    pub number: String,
    pub definition: Value,
}

/// Every version, oldest first, with its active flag.
pub fn all_versions() -> MeResult<Vec<(Version, bool)>> {
    all_rows(
        "SELECT version_number, schema_definition, coalesce(is_active, false) \
         FROM migration_engine.schema_versions ORDER BY created_at, version_number",
        &[],
        |r| {
            Ok((
                Version {
                    number: r.get::<String>(1)?.unwrap_or_default(),
                    definition: r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
                },
                r.get::<bool>(3)?.unwrap_or(false),
            ))
        },
    )
}

pub fn version_exists(number: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT true FROM migration_engine.schema_versions WHERE version_number = $1",
        &[number.into()],
    )?
    .is_some())
}

/// A version to register, with what it was checked to be compatible with.
pub struct NewVersion<'a> {
    pub number: &'a str,
    pub definition: &'a Value,
    /// it becomes the active version (the one active before is deactivated first)
    pub active: bool,
    pub backward_compatible_with: Vec<String>,
    pub forward_compatible_with: Vec<String>,
    /// the changes from the active version, as detect_breaking_changes reports them
    pub breaking_changes: Value,
    pub description: Option<&'a str>,
    pub changelog: Option<&'a str>,
}

pub fn insert_version(v: NewVersion<'_>) -> MeResult<Uuid> {
    if v.active {
        // two statements: the exclusion constraint allows one active row at any moment
        Spi::run("UPDATE migration_engine.schema_versions SET is_active = false WHERE is_active")?;
    }
    Spi::get_one_with_args::<Uuid>(
        "INSERT INTO migration_engine.schema_versions (version_number, schema_definition, is_active, \
           backward_compatible_with, forward_compatible_with, breaking_changes, description, changelog, activated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $3 THEN clock_timestamp() END) RETURNING version_id",
        &[
            v.number.into(),
            JsonB(v.definition.clone()).into(),
            v.active.into(),
            v.backward_compatible_with.into(),
            v.forward_compatible_with.into(),
            JsonB(v.breaking_changes).into(),
            v.description.into(),
            v.changelog.into(),
        ],
    )?
    .ok_or_else(|| MeError::internal("the schema version's INSERT returned no version id"))
}

/// Makes the registered version `number` the one active version.
pub fn activate_version(number: &str) -> MeResult<()> {
    // two statements: the exclusion constraint allows one active row at any moment
    Spi::run_with_args(
        "UPDATE migration_engine.schema_versions SET is_active = false WHERE is_active AND version_number <> $1",
        &[number.into()],
    )?;
    Spi::run_with_args(
        "UPDATE migration_engine.schema_versions SET is_active = true, activated_at = clock_timestamp() \
         WHERE version_number = $1 AND NOT coalesce(is_active, false)",
        &[number.into()],
    )?;
    Ok(())
}

/// The registry's compatibility mode (BACKWARD when the settings row is missing).
pub fn registry_compatibility_mode() -> MeResult<CompatibilityMode> {
    let text = first_value::<String>(
        "SELECT compatibility_mode FROM migration_engine.registry_settings WHERE id = 1",
        &[],
    )?
    .unwrap_or_else(|| CompatibilityMode::Backward.as_str().into());
    text.parse().map_err(|_| {
        MeError::internal(format!(
            "unknown compatibility mode {text:?} in registry_settings"
        ))
    })
}

pub fn store_compatibility_mode(mode: CompatibilityMode) -> MeResult<()> {
    Spi::run_with_args(
        "UPDATE migration_engine.registry_settings SET compatibility_mode = $1, updated_at = now(), updated_by = current_user",
        &[mode.as_str().into()],
    )?;
    Ok(())
}
