//! `deprecate_field`: mark a field deprecated, as the seed does.

use super::{fields_mut, EvolveError};
use crate::schema::model::parse_schema;
use crate::schema::version::compare_versions;
use serde_json::Value;
use std::cmp::Ordering;

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
    let e = doc
        .entity(entity)
        .ok_or_else(|| EvolveError::UnknownEntity {
            entity: entity.to_owned(),
        })?;
    let f = e.field(field).ok_or_else(|| EvolveError::UnknownField {
        entity: entity.to_owned(),
        field: field.to_owned(),
    })?;
    if f.deprecated {
        return Err(EvolveError::AlreadyDeprecated {
            entity: entity.to_owned(),
            field: field.to_owned(),
        });
    }
    // A removal version at or before the current one would make the field
    // "overdue" the moment it is deprecated.
    if let (Some(rv), Some(cur)) = (removal_version, doc.version) {
        if compare_versions(rv, cur).is_some_and(|o| o != Ordering::Greater) {
            return Err(EvolveError::InvalidRemovalVersion {
                removal_version: rv.to_owned(),
                current_version: cur.to_owned(),
            });
        }
    }
    let mut out = schema.clone();
    let def = fields_mut(&mut out, entity)?
        .get_mut(field)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| EvolveError::UnknownField {
            entity: entity.to_owned(),
            field: field.to_owned(),
        })?;
    def.insert("deprecated".into(), true.into());
    def.insert(
        "deprecation_message".into(),
        message.unwrap_or("Field is deprecated").into(),
    );
    if let Some(rv) = removal_version {
        def.insert("removal_version".into(), rv.into());
    }
    def.insert("deprecated_at".into(), deprecated_at.into());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{fixture as schema, EvolveErrorCode};
    use super::*;
    use serde_json::json;

    #[test]
    fn deprecates_like_the_seed() {
        let out = deprecate_field(
            &schema(),
            "Person",
            "age",
            None,
            Some("2.0.0"),
            "2024-01-01 00:00:00+00",
        )
        .unwrap();
        let age = &out["entities"]["Person"]["fields"]["age"];
        assert_eq!(
            age,
            &json!({"type": "integer", "deprecated": true, "deprecation_message": "Field is deprecated",
                    "removal_version": "2.0.0", "deprecated_at": "2024-01-01 00:00:00+00"})
        );
        let out =
            deprecate_field(&schema(), "Person", "age", Some("use birthday"), None, "t").unwrap();
        assert_eq!(
            out["entities"]["Person"]["fields"]["age"]["deprecation_message"],
            "use birthday"
        );
        assert!(out["entities"]["Person"]["fields"]["age"]
            .get("removal_version")
            .is_none());
    }

    #[test]
    fn deprecate_errors() {
        let err = |e: &str, f: &str, rv: Option<&str>| {
            deprecate_field(&schema(), e, f, None, rv, "t").unwrap_err()
        };
        assert!(matches!(
            err("Robot", "age", None),
            EvolveError::UnknownEntity { .. }
        ));
        assert!(matches!(
            err("Person", "nope", None),
            EvolveError::UnknownField { .. }
        ));
        assert_eq!(
            err("Person", "old", None).code(),
            EvolveErrorCode::ObjectNotInPrerequisiteState
        );
        assert!(matches!(
            err("Person", "age", Some("1.0")),
            EvolveError::InvalidRemovalVersion { .. }
        ));
        let bad = json!({"entities": []});
        assert!(matches!(
            deprecate_field(&bad, "P", "a", None, None, "t"),
            Err(EvolveError::InvalidSchema(_))
        ));
    }
}
