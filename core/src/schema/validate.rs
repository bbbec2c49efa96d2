//! Does an entity's content (a JSON object) satisfy its entity schema?
//!
//! Unknown keys in the content are allowed: a removed field's old values stay
//! readable, and writers may be one version ahead.

use super::model::{parse_entity, EntityDef, SchemaError};
use super::types::{same_value, value_fits_type};
use serde_json::{json, Value};

/// Kinds of violation, each with a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// The content is not a JSON object.
    NotAnObject,
    /// A not-nullable field is absent or null. A default does not excuse it:
    /// defaults are applied when writing, so stored content must hold the value.
    MissingRequiredField,
    /// The value does not fit the field's type (see `value_fits_type`).
    WrongType,
    /// The value is not one of the field's `enum` values.
    EnumViolation,
}

impl ViolationKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotAnObject => "NOT_AN_OBJECT",
            Self::MissingRequiredField => "MISSING_REQUIRED_FIELD",
            Self::WrongType => "WRONG_TYPE",
            Self::EnumViolation => "ENUM_VIOLATION",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub kind: ViolationKind,
    pub field: Option<String>,
    pub message: String,
}

impl Violation {
    pub fn to_json(&self) -> Value {
        json!({"kind": self.kind.code(), "field": self.field, "message": self.message})
    }
}

/// Validate `content` against an entity definition given as JSON
/// (`{"fields": {...}}`). Fails only if the definition itself is invalid.
pub fn validate_content(
    entity_schema: &Value,
    content: &Value,
) -> Result<Vec<Violation>, SchemaError> {
    let entity = parse_entity("entity", entity_schema)?;
    Ok(validate_entity_content(&entity, content))
}

/// Validate `content` against a parsed entity definition. Violations come in
/// field-name order.
pub fn validate_entity_content(entity: &EntityDef<'_>, content: &Value) -> Vec<Violation> {
    let Some(obj) = content.as_object() else {
        let message = format!("content of {} must be a JSON object", entity.name);
        return vec![Violation {
            kind: ViolationKind::NotAnObject,
            field: None,
            message,
        }];
    };
    let mut out = Vec::new();
    for f in &entity.fields {
        let violation = |kind, message: String| Violation {
            kind,
            field: Some(f.name.to_owned()),
            message,
        };
        let value = match obj.get(f.name) {
            None | Some(Value::Null) if !f.nullable => {
                out.push(violation(
                    ViolationKind::MissingRequiredField,
                    format!("field {} is required", f.name),
                ));
                continue;
            }
            None | Some(Value::Null) => continue,
            Some(v) => v,
        };
        if !value_fits_type(value, f.type_name) {
            let message = format!(
                "field {} must be of type {}, got {value}",
                f.name, f.type_name
            );
            out.push(violation(ViolationKind::WrongType, message));
        } else if let Some(allowed) = f.enum_values() {
            if !allowed.iter().any(|a| same_value(a, value)) {
                let message = format!(
                    "field {} must be one of {}, got {value}",
                    f.name,
                    Value::from(allowed)
                );
                out.push(violation(ViolationKind::EnumViolation, message));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Value {
        json!({"fields": {
            "age": {"type": "integer", "nullable": true},
            "email": {"type": "text", "nullable": false, "default": "x"},
            "status": {"type": "text", "enum": ["a", "b"]}
        }})
    }

    fn codes(content: Value) -> Vec<(&'static str, Option<String>)> {
        let v = validate_content(&person(), &content).unwrap();
        v.into_iter().map(|v| (v.kind.code(), v.field)).collect()
    }

    #[test]
    fn valid_content_and_unknown_keys() {
        assert!(codes(json!({"email": "e", "age": null, "extra": [1]})).is_empty());
        assert!(codes(json!({"email": "e", "status": "b", "age": 3})).is_empty());
    }

    #[test]
    fn each_kind() {
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(codes(json!({})), [("MISSING_REQUIRED_FIELD", s("email"))]);
        assert_eq!(
            codes(json!({"email": null})),
            [("MISSING_REQUIRED_FIELD", s("email"))]
        );
        assert_eq!(
            codes(json!({"email": 5, "age": "old", "status": "c"})),
            [
                ("WRONG_TYPE", s("age")),
                ("WRONG_TYPE", s("email")),
                ("ENUM_VIOLATION", s("status"))
            ]
        );
        assert_eq!(codes(json!([])), [("NOT_AN_OBJECT", None)]);
    }

    #[test]
    fn messages_and_json() {
        let v = validate_content(&person(), &json!({"email": "e", "status": "c"})).unwrap();
        assert_eq!(
            v[0].message,
            "field status must be one of [\"a\",\"b\"], got \"c\""
        );
        assert_eq!(v[0].to_json()["kind"], "ENUM_VIOLATION");
        assert!(validate_content(&json!({"fields": 1}), &json!({})).is_err());
    }
}
