//! `add_field`: a new field in an existing entity type.

use super::{fields_mut, EvolveError};
use crate::schema::model::{is_plain_identifier, parse_field_at, parse_schema, Loc};
use crate::schema::types::{same_value, value_fits_type};
use serde_json::Value;

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
            return Err(EvolveError::InvalidIdentifier {
                name: name.to_owned(),
            });
        }
    }
    let e = doc
        .entity(entity)
        .ok_or_else(|| EvolveError::UnknownEntity {
            entity: entity.to_owned(),
        })?;
    if e.field(field).is_some() {
        return Err(EvolveError::FieldExists {
            entity: entity.to_owned(),
            field: field.to_owned(),
        });
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
    let parsed =
        parse_field_at(field, &new_field, &at_field).map_err(EvolveError::InvalidFieldSchema)?;
    if let Some(d) = parsed.default {
        check_default(field, parsed.type_name, parsed.enum_values(), d)?;
    } else if !parsed.nullable {
        return Err(EvolveError::RequiredWithoutDefault {
            entity: entity.to_owned(),
            field: field.to_owned(),
        });
    }
    let mut out = schema.clone();
    fields_mut(&mut out, entity)?.insert(field.to_owned(), new_field);
    Ok(out)
}

fn check_default(
    field: &str,
    type_name: &str,
    allowed: Option<&[Value]>,
    d: &Value,
) -> Result<(), EvolveError> {
    let invalid = |reason: String| EvolveError::InvalidDefault {
        field: field.to_owned(),
        type_name: type_name.to_owned(),
        reason,
    };
    if !value_fits_type(d, type_name) {
        return Err(invalid(format!("{d} is not a valid {type_name} value")));
    }
    match allowed {
        Some(values) if !values.iter().any(|v| same_value(v, d)) => {
            Err(invalid(format!("{d} is not one of the enum values")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{fixture as schema, EvolveErrorCode};
    use super::*;
    use serde_json::json;

    fn add(field: &str, fs: Value, d: Option<Value>) -> Result<Value, EvolveError> {
        add_field(&schema(), "Person", field, &fs, d.as_ref())
    }

    #[test]
    fn adds_a_field_and_keeps_everything_else() {
        let out = add(
            "email",
            json!({"type": "text", "nullable": false}),
            Some(json!("x")),
        )
        .unwrap();
        assert_eq!(
            out["entities"]["Person"]["fields"]["email"],
            json!({"type": "text", "nullable": false, "default": "x"})
        );
        assert_eq!(out["x-keep"], true);
        assert_eq!(
            out["entities"]["Person"]["fields"]["age"],
            json!({"type": "integer"})
        );
        let out = add("nick", json!({"type": "text"}), None).unwrap();
        assert_eq!(
            out["entities"]["Person"]["fields"]["nick"],
            json!({"type": "text"})
        );
    }

    #[test]
    fn add_field_errors_and_codes() {
        use EvolveErrorCode::*;
        let unknown =
            add_field(&schema(), "Robot", "x", &json!({"type": "text"}), None).unwrap_err();
        assert_eq!(
            (unknown.code(), unknown.code().sqlstate()),
            (UndefinedObject, "42704")
        );
        let cases = [
            (add("age", json!({"type": "text"}), None), DuplicateObject),
            (add("bad name", json!({"type": "text"}), None), InvalidName),
            (add("x", json!({"type": 5}), None), InvalidParameterValue),
            (
                add("x", json!({"type": "integer"}), Some(json!("five"))),
                InvalidParameterValue,
            ),
            (
                add(
                    "x",
                    json!({"type": "text", "enum": ["a"]}),
                    Some(json!("b")),
                ),
                InvalidParameterValue,
            ),
            (
                add("x", json!({"type": "text", "nullable": false}), None),
                InvalidParameterValue,
            ),
        ];
        for (result, code) in cases {
            assert_eq!(result.unwrap_err().code(), code);
        }
        let e = add("x", json!({"type": 5}), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid field schema: $.entities.Person.fields.x.type: must be a string, found number"
        );
        let e = add("x", json!({"type": "integer"}), Some(json!("five"))).unwrap_err();
        assert!(matches!(e, EvolveError::InvalidDefault { .. }), "{e}");
    }
}
