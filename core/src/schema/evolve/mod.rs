//! Pure document transforms behind `add_field` and `deprecate_field`: schema in,
//! new schema out. The shell stores the result and runs the data migration.

use super::model::SchemaError;
use serde_json::{Map, Value};
use std::fmt;

mod add_field;
mod deprecate_field;

pub use super::version::next_version;
pub use add_field::add_field;
pub use deprecate_field::deprecate_field;

/// Why a transform was refused. Every variant names what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum EvolveError {
    /// The stored schema document itself is invalid.
    InvalidSchema(SchemaError),
    UnknownEntity {
        entity: String,
    },
    UnknownField {
        entity: String,
        field: String,
    },
    FieldExists {
        entity: String,
        field: String,
    },
    InvalidIdentifier {
        name: String,
    },
    InvalidFieldSchema(SchemaError),
    InvalidDefault {
        field: String,
        type_name: String,
        reason: String,
    },
    RequiredWithoutDefault {
        entity: String,
        field: String,
    },
    AlreadyDeprecated {
        entity: String,
        field: String,
    },
    InvalidRemovalVersion {
        removal_version: String,
        current_version: String,
    },
}

/// Stable error kinds for the shell, which maps them to SQLSTATEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvolveErrorCode {
    UndefinedObject,
    DuplicateObject,
    InvalidName,
    InvalidParameterValue,
    ObjectNotInPrerequisiteState,
}

impl EvolveErrorCode {
    /// The SQLSTATE this kind is reported with.
    pub fn sqlstate(self) -> &'static str {
        match self {
            Self::UndefinedObject => "42704",
            Self::DuplicateObject => "42710",
            Self::InvalidName => "42602",
            Self::InvalidParameterValue => "22023",
            Self::ObjectNotInPrerequisiteState => "55000",
        }
    }
}

impl EvolveError {
    pub fn code(&self) -> EvolveErrorCode {
        use EvolveErrorCode::*;
        match self {
            Self::UnknownEntity { .. } | Self::UnknownField { .. } => UndefinedObject,
            Self::FieldExists { .. } => DuplicateObject,
            Self::InvalidIdentifier { .. } => InvalidName,
            Self::AlreadyDeprecated { .. } => ObjectNotInPrerequisiteState,
            Self::InvalidSchema(_)
            | Self::InvalidFieldSchema(_)
            | Self::InvalidDefault { .. }
            | Self::RequiredWithoutDefault { .. }
            | Self::InvalidRemovalVersion { .. } => InvalidParameterValue,
        }
    }
}

impl fmt::Display for EvolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSchema(e) => write!(f, "the current schema is invalid: {e}"),
            Self::UnknownEntity { entity } => write!(f, "entity type {entity:?} does not exist in the schema"),
            Self::UnknownField { entity, field } => write!(f, "field {field:?} does not exist in entity type {entity:?}"),
            Self::FieldExists { entity, field } => write!(f, "field {field:?} already exists in entity type {entity:?}"),
            Self::InvalidIdentifier { name } => write!(
                f,
                "{name:?} is not a valid name: use letters, digits and _, not starting with a digit, at most 63 bytes"
            ),
            Self::InvalidFieldSchema(e) => write!(f, "invalid field schema: {e}"),
            Self::InvalidDefault { field, type_name, reason } => {
                write!(f, "default for field {field:?} (type {type_name}) is invalid: {reason}")
            }
            Self::RequiredWithoutDefault { entity, field } => write!(
                f,
                "field {field:?} of {entity:?} is not nullable and has no default: existing entities could not be \
                 backfilled; give a default or make it nullable"
            ),
            Self::AlreadyDeprecated { entity, field } => write!(f, "field {field:?} of {entity:?} is already deprecated"),
            Self::InvalidRemovalVersion { removal_version, current_version } => write!(
                f,
                "removal version {removal_version:?} must be later than the current schema version {current_version:?}"
            ),
        }
    }
}

impl std::error::Error for EvolveError {}

/// `$.entities.<entity>.fields` of a document that has already been validated.
pub(super) fn fields_mut<'v>(
    doc: &'v mut Value,
    entity: &str,
) -> Result<&'v mut Map<String, Value>, EvolveError> {
    doc.get_mut("entities")
        .and_then(|e| e.get_mut(entity))
        .and_then(|e| e.get_mut("fields"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| EvolveError::UnknownEntity {
            entity: entity.to_owned(),
        })
}

/// The document the tests of both transforms start from.
#[cfg(test)]
pub(super) fn fixture() -> Value {
    serde_json::json!({"version": "1.0.0", "x-keep": true, "entities": {"Person": {"fields": {
        "age": {"type": "integer"},
        "old": {"type": "text", "deprecated": true}
    }}}})
}
