//! Pure document transforms behind `add_field` and `deprecate_field`: schema in,
//! new schema out. The shell stores the result and runs the data migration.

use super::model::{is_plain_identifier, parse_field_at, parse_schema, Loc, SchemaError};
use super::types::{same_value, value_fits_type};
use super::version::compare_versions;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;

pub use super::version::next_version;

/// Why a transform was refused. Every variant names what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum EvolveError {
    /// The stored schema document itself is invalid.
    InvalidSchema(SchemaError),
    UnknownEntity { entity: String },
    UnknownField { entity: String, field: String },
    FieldExists { entity: String, field: String },
    InvalidIdentifier { name: String },
    InvalidFieldSchema(SchemaError),
    InvalidDefault { field: String, type_name: String, reason: String },
    RequiredWithoutDefault { entity: String, field: String },
    AlreadyDeprecated { entity: String, field: String },
    InvalidRemovalVersion { removal_version: String, current_version: String },
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

/// Add `field` to `entity`. With `default`, it is stored as the field's
/// `default` (the shell backfills existing entities with it). A not-nullable
/// field needs a default, from the argument or from `field_schema`.
pub fn add_field(
    schema: &Value,
    entity: &str,
    field: &str,
    field_schema: &Value,
    default: Option<&Value>,
) -> Result<Value, EvolveError> {
    let doc = parse_schema(schema).map_err(EvolveError::InvalidSchema)?;
    for name in [entity, field] {
        if !is_plain_identifier(name) {
            return Err(EvolveError::InvalidIdentifier { name: name.to_owned() });
        }
    }
    let e = doc.entity(entity).ok_or_else(|| EvolveError::UnknownEntity { entity: entity.to_owned() })?;
    if e.field(field).is_some() {
        return Err(EvolveError::FieldExists { entity: entity.to_owned(), field: field.to_owned() });
    }
    let mut new_field = field_schema.clone();
    if let (Some(d), Some(obj)) = (default.filter(|d| !d.is_null()), new_field.as_object_mut()) {
        obj.insert("default".into(), d.clone());
    }
    // Errors point where the field would live: `$.entities.Person.fields.email.type`.
    let (root, entities_key) = (Loc::ROOT, "entities");
    let at_entities = root.child(entities_key);
    let at_entity = at_entities.child(entity);
    let at_fields = at_entity.child("fields");
    let at_field = at_fields.child(field);
    let parsed = parse_field_at(field, &new_field, &at_field).map_err(EvolveError::InvalidFieldSchema)?;
    if let Some(d) = parsed.default {
        check_default(field, parsed.type_name, parsed.enum_values, d)?;
    } else if !parsed.nullable {
        return Err(EvolveError::RequiredWithoutDefault { entity: entity.to_owned(), field: field.to_owned() });
    }
    let mut out = schema.clone();
    fields_mut(&mut out, entity)?.insert(field.to_owned(), new_field);
    Ok(out)
}

fn check_default(field: &str, type_name: &str, allowed: Option<&[Value]>, d: &Value) -> Result<(), EvolveError> {
    let invalid = |reason: String| EvolveError::InvalidDefault {
        field: field.to_owned(),
        type_name: type_name.to_owned(),
        reason,
    };
    if !value_fits_type(d, type_name) {
        return Err(invalid(format!("{d} is not a valid {type_name} value")));
    }
    match allowed {
        Some(values) if !values.iter().any(|v| same_value(v, d)) => Err(invalid(format!("{d} is not one of the enum values"))),
        _ => Ok(()),
    }
}

/// Mark `field` deprecated, as the seed does: `deprecated`, a message
/// (default "Field is deprecated"), `removal_version` when given, and
/// `deprecated_at` (the shell passes `now()::text`).
pub fn deprecate_field(
    schema: &Value,
    entity: &str,
    field: &str,
    message: Option<&str>,
    removal_version: Option<&str>,
    deprecated_at: &str,
) -> Result<Value, EvolveError> {
    let doc = parse_schema(schema).map_err(EvolveError::InvalidSchema)?;
    let e = doc.entity(entity).ok_or_else(|| EvolveError::UnknownEntity { entity: entity.to_owned() })?;
    let f = e.field(field).ok_or_else(|| EvolveError::UnknownField { entity: entity.to_owned(), field: field.to_owned() })?;
    if f.deprecated {
        return Err(EvolveError::AlreadyDeprecated { entity: entity.to_owned(), field: field.to_owned() });
    }
    // A removal version at or before the current one would make the field
    // "overdue" the moment it is deprecated.
    if let (Some(rv), Some(cur)) = (removal_version, doc.version) {
        if compare_versions(rv, cur).is_some_and(|o| o != Ordering::Greater) {
            return Err(EvolveError::InvalidRemovalVersion { removal_version: rv.to_owned(), current_version: cur.to_owned() });
        }
    }
    let mut out = schema.clone();
    let def = fields_mut(&mut out, entity)?
        .get_mut(field)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| EvolveError::UnknownField { entity: entity.to_owned(), field: field.to_owned() })?;
    def.insert("deprecated".into(), true.into());
    def.insert("deprecation_message".into(), message.unwrap_or("Field is deprecated").into());
    if let Some(rv) = removal_version {
        def.insert("removal_version".into(), rv.into());
    }
    def.insert("deprecated_at".into(), deprecated_at.into());
    Ok(out)
}

/// `$.entities.<entity>.fields` of a document that has already been validated.
fn fields_mut<'v>(doc: &'v mut Value, entity: &str) -> Result<&'v mut Map<String, Value>, EvolveError> {
    doc.get_mut("entities")
        .and_then(|e| e.get_mut(entity))
        .and_then(|e| e.get_mut("fields"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| EvolveError::UnknownEntity { entity: entity.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"version": "1.0.0", "x-keep": true, "entities": {"Person": {"fields": {
            "age": {"type": "integer"},
            "old": {"type": "text", "deprecated": true}
        }}}})
    }

    fn add(field: &str, fs: Value, d: Option<Value>) -> Result<Value, EvolveError> {
        add_field(&schema(), "Person", field, &fs, d.as_ref())
    }

    #[test]
    fn adds_a_field_and_keeps_everything_else() {
        let out = add("email", json!({"type": "text", "nullable": false}), Some(json!("x"))).unwrap();
        assert_eq!(out["entities"]["Person"]["fields"]["email"], json!({"type": "text", "nullable": false, "default": "x"}));
        assert_eq!(out["x-keep"], true);
        assert_eq!(out["entities"]["Person"]["fields"]["age"], json!({"type": "integer"}));
        let out = add("nick", json!({"type": "text"}), None).unwrap();
        assert_eq!(out["entities"]["Person"]["fields"]["nick"], json!({"type": "text"}));
    }

    #[test]
    fn add_field_errors_and_codes() {
        use EvolveErrorCode::*;
        let unknown = add_field(&schema(), "Robot", "x", &json!({"type": "text"}), None).unwrap_err();
        assert_eq!((unknown.code(), unknown.code().sqlstate()), (UndefinedObject, "42704"));
        let cases = [
            (add("age", json!({"type": "text"}), None), DuplicateObject),
            (add("bad name", json!({"type": "text"}), None), InvalidName),
            (add("x", json!({"type": 5}), None), InvalidParameterValue),
            (add("x", json!({"type": "integer"}), Some(json!("five"))), InvalidParameterValue),
            (add("x", json!({"type": "text", "enum": ["a"]}), Some(json!("b"))), InvalidParameterValue),
            (add("x", json!({"type": "text", "nullable": false}), None), InvalidParameterValue),
        ];
        for (result, code) in cases {
            assert_eq!(result.unwrap_err().code(), code);
        }
        let e = add("x", json!({"type": 5}), None).unwrap_err();
        assert_eq!(e.to_string(), "invalid field schema: $.entities.Person.fields.x.type: must be a string, found number");
        let e = add("x", json!({"type": "integer"}), Some(json!("five"))).unwrap_err();
        assert!(matches!(e, EvolveError::InvalidDefault { .. }), "{e}");
    }

    #[test]
    fn deprecates_like_the_seed() {
        let out = deprecate_field(&schema(), "Person", "age", None, Some("2.0.0"), "2024-01-01 00:00:00+00").unwrap();
        let age = &out["entities"]["Person"]["fields"]["age"];
        assert_eq!(
            age,
            &json!({"type": "integer", "deprecated": true, "deprecation_message": "Field is deprecated",
                    "removal_version": "2.0.0", "deprecated_at": "2024-01-01 00:00:00+00"})
        );
        let out = deprecate_field(&schema(), "Person", "age", Some("use birthday"), None, "t").unwrap();
        assert_eq!(out["entities"]["Person"]["fields"]["age"]["deprecation_message"], "use birthday");
        assert!(out["entities"]["Person"]["fields"]["age"].get("removal_version").is_none());
    }

    #[test]
    fn deprecate_errors() {
        let err = |e: &str, f: &str, rv: Option<&str>| deprecate_field(&schema(), e, f, None, rv, "t").unwrap_err();
        assert!(matches!(err("Robot", "age", None), EvolveError::UnknownEntity { .. }));
        assert!(matches!(err("Person", "nope", None), EvolveError::UnknownField { .. }));
        assert_eq!(err("Person", "old", None).code(), EvolveErrorCode::ObjectNotInPrerequisiteState);
        assert!(matches!(err("Person", "age", Some("1.0")), EvolveError::InvalidRemovalVersion { .. }));
        let bad = json!({"entities": []});
        assert!(matches!(deprecate_field(&bad, "P", "a", None, None, "t"), Err(EvolveError::InvalidSchema(_))));
    }
}
