//! Schema versions: registered immutable, checked against the compatibility mode, one
//! active at a time.
use super::schema_error;
use crate::catalog::{activate_version, insert_version, registry_compatibility_mode, NewVersion};
pub use crate::catalog::{all_versions, version_exists, Version};
use crate::errors::{MeError, MeResult};
use crate::spi::audit;
use crate::spi::jsonb_arg::JsonArg;
use migration_engine_core::schema::{
    check_against_history, compatible_with, detect_breaking_changes, parse_schema,
    CompatibilityMode,
};
use pgrx::prelude::*;
use pgrx::Uuid;
use serde_json::{json, Value};

use crate::errors::PgResult;

/// The active version, if any.
pub fn active_version() -> MeResult<Option<Version>> {
    Ok(all_versions()?
        .into_iter()
        .find(|(_, active)| *active)
        .map(|(v, _)| v))
}

pub fn require_active() -> MeResult<Version> {
    active_version()?.ok_or_else(|| {
        MeError::prerequisite("there is no active schema version")
            .hint("Register one with migration_engine.register_schema_version(version_number, schema_definition).")
    })
}

pub(crate) fn current_mode() -> MeResult<CompatibilityMode> {
    registry_compatibility_mode()
}

/// Register a version (inactive unless it is the first one, or `activate`).
pub fn register(
    number: &str,
    definition: &Value,
    description: Option<&str>,
    changelog: Option<&str>,
    activate: bool,
) -> MeResult<Uuid> {
    if number.trim().is_empty() || number.len() > 200 {
        return Err(MeError::invalid_parameter(
            "version_number must be 1 to 200 characters",
        ));
    }
    if let Some(problem) = migration_engine_core::ident::name_problem(number) {
        return Err(MeError::invalid_parameter(format!(
            "version_number {problem}"
        )));
    }
    parse_schema(definition).map_err(|e| schema_error("invalid schema_definition", e))?;
    if version_exists(number)? {
        return Err(MeError::duplicate_object(format!(
            "schema version {number:?} is already registered"
        ))
        .hint("Versions are immutable: register the change under a new version number."));
    }
    let history = all_versions()?;
    let mode = current_mode()?;
    let previous: Vec<&Value> = history.iter().map(|(v, _)| &v.definition).collect();
    let refused = check_against_history(mode, definition, &previous)
        .map_err(|e| schema_error("stored schema version", e))?;
    if !refused.is_empty() {
        let listed: Vec<Value> = refused
            .iter()
            .map(|v| {
                let mut c = v.change.to_json();
                c["against_version"] = json!(history[v.against].0.number);
                c
            })
            .collect();
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
            format!(
                "schema version {number:?} violates the {} compatibility mode with {} change(s): {}",
                mode.as_str(),
                refused.len(),
                refused.iter().map(|v| v.change.description.clone()).collect::<Vec<_>>().join("; ")
            ),
        )
        .detail(Value::Array(listed).to_string())
        .hint("Make the change compatible (optional fields, widening types, deprecate before removing), or change the mode with migration_engine.set_compatibility_mode(mode)."));
    }
    let active = history.iter().find(|(_, a)| *a).map(|(v, _)| v);
    let breaking = match active {
        Some(a) => detect_breaking_changes(&a.definition, definition)
            .map_err(|e| schema_error("stored schema version", e))?,
        None => Vec::new(),
    };
    let mut backward = Vec::new();
    let mut forward = Vec::new();
    for (v, _) in &history {
        let changes = detect_breaking_changes(&v.definition, definition)
            .map_err(|e| schema_error("stored schema version", e))?;
        let (b, f) = compatible_with(&changes);
        if b {
            backward.push(v.number.clone());
        }
        if f {
            forward.push(v.number.clone());
        }
    }
    let make_active = activate || history.is_empty();
    let id = insert_version(NewVersion {
        number,
        definition,
        active: make_active,
        backward_compatible_with: backward,
        forward_compatible_with: forward,
        breaking_changes: Value::Array(breaking.iter().map(|c| c.to_json()).collect()),
        description,
        changelog,
    })?;
    audit(
        "schema_version_registered",
        "schema_version",
        number,
        json!({"version_id": id.to_string(), "active": make_active, "mode": mode.as_str(), "changes": breaking.len()}),
    )?;
    Ok(id)
}

/// Register a schema version: validated, compared with the active one (breaking_changes),
/// checked against the compatibility mode. The first version becomes active; later ones
/// are activated with activate_schema_version.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn register_schema_version(
    version_number: Option<&str>,
    schema_definition: Option<JsonArg>,
    description: default!(Option<&str>, "NULL"),
    changelog: default!(Option<&str>, "NULL"),
) -> PgResult<Uuid> {
    crate::required!(version_number, schema_definition);
    Ok(register(
        version_number,
        &schema_definition.0,
        description,
        changelog,
        false,
    )?)
}

pub fn activate(number: &str) -> MeResult<()> {
    let previous = active_version()?.map(|v| v.number);
    if !version_exists(number)? {
        return Err(MeError::undefined_object(format!(
            "schema version {number:?} is not registered"
        ))
        .hint("Register it first with migration_engine.register_schema_version()."));
    }
    activate_version(number)?;
    audit(
        "schema_version_activated",
        "schema_version",
        number,
        json!({"previous": previous}),
    )
}

/// Make a registered version the one active version (atomically; audited).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn activate_schema_version(version_number: Option<&str>) -> PgResult<()> {
    crate::required!(version_number);
    Ok(activate(version_number)?)
}

/// Set the compatibility mode new versions must respect; returns the previous one.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn set_compatibility_mode(mode: Option<&str>) -> PgResult<String> {
    crate::required!(mode);
    let parsed: CompatibilityMode = mode.parse().map_err(|_| {
        MeError::invalid_parameter(format!("unknown compatibility mode {mode:?}")).hint(
            "Use NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE.",
        )
    })?;
    let previous = current_mode()?;
    crate::catalog::store_compatibility_mode(parsed)?;
    audit(
        "compatibility_mode_set",
        "registry",
        "compatibility_mode",
        json!({"from": previous.as_str(), "to": parsed.as_str()}),
    )?;
    Ok(previous.as_str().to_string())
}

/// The active compatibility mode.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn compatibility_mode() -> PgResult<String> {
    Ok(current_mode()?.as_str().to_string())
}
