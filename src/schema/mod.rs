//! Schema registry and evolution shell: breaking-change detection, versions with a
//! compatibility mode, add/deprecate field with backfill, validation of entities.
//! The rules live in the core's `schema` module.
pub(crate) mod backfill;
mod data_compat;
mod diff;
mod evolve;
pub(crate) mod registry;
pub(crate) mod validate;

use crate::errors::MeError;
use migration_engine_core::schema::{EvolveError, SchemaError};
use pgrx::PgSqlErrorCode;

/// A malformed schema document: the error names the JSON path of the problem.
pub fn schema_error(what: &str, e: SchemaError) -> MeError {
    MeError::invalid_parameter(format!("{what}: {e}"))
        .hint("Schema documents look like {\"entities\": {\"Person\": {\"fields\": {\"age\": {\"type\": \"integer\", \"nullable\": true}}}}}; see docs/schema-definition.schema.json.")
}

pub fn evolve_error(e: EvolveError) -> MeError {
    let code = match e.code().sqlstate() {
        "42704" => PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
        "42710" => PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
        "42602" => PgSqlErrorCode::ERRCODE_INVALID_NAME,
        "55000" => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
    };
    MeError::new(code, e.to_string())
}
