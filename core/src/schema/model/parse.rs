//! Parsing: one pass over each object's keys, checking the JSON type of every
//! known key and leaving unknown keys alone.

use super::keys::{as_object, opt_bool, opt_enum, opt_name, opt_str, opt_str_array};
use super::{is_plain_identifier, EntityDef, FieldDef, Loc, SchemaDoc, SchemaError};
use serde_json::{Map, Value};

/// Parse and validate a whole schema document.
pub fn parse_schema(value: &Value) -> Result<SchemaDoc<'_>, SchemaError> {
    let (mut doc, entities) = parse_header(value)?;
    let root = Loc::ROOT;
    let here = root.child("entities");
    doc.entities.reserve_exact(entities.len());
    for (name, def) in entities {
        doc.entities
            .push(parse_entity_at(name, def, &here.child(name))?);
    }
    // serde_json maps are usually sorted already (then this is linear), but a
    // build with `preserve_order` would not be: sort so output never depends on it.
    doc.entities.sort_unstable_by(|a, b| a.name.cmp(b.name));
    Ok(doc)
}

/// The top level with `entities` still unparsed: a document with no entities
/// yet, and the entity map. Entity paths are `$.entities.<name>`.
pub(crate) fn parse_header(
    value: &Value,
) -> Result<(SchemaDoc<'_>, &Map<String, Value>), SchemaError> {
    let root = Loc::ROOT;
    let obj = as_object(value, &root)?;
    let (mut version, mut description, mut entities) = (None, None, None);
    for (key, v) in obj {
        let here = root.child(key);
        match key.as_str() {
            "version" => version = opt_str(v, &here)?,
            "description" => description = opt_str(v, &here)?,
            "entities" => entities = Some(as_object(v, &here)?),
            _ => {}
        }
    }
    let entities = entities.ok_or_else(|| root.error("missing required key \"entities\""))?;
    let doc = SchemaDoc {
        raw: value,
        version,
        description,
        entities: Vec::new(),
    };
    Ok((doc, entities))
}

/// Parse one entity definition on its own (paths start at `$`).
pub fn parse_entity<'a>(name: &'a str, value: &'a Value) -> Result<EntityDef<'a>, SchemaError> {
    parse_entity_at(name, value, &Loc::ROOT)
}

/// Parse one field definition on its own (paths start at `$`).
pub fn parse_field<'a>(name: &'a str, value: &'a Value) -> Result<FieldDef<'a>, SchemaError> {
    parse_field_at(name, value, &Loc::ROOT)
}

pub(crate) fn parse_entity_at<'a>(
    name: &'a str,
    value: &'a Value,
    loc: &Loc<'_>,
) -> Result<EntityDef<'a>, SchemaError> {
    check_name(name, "entity", loc)?;
    let obj = as_object(value, loc)?;
    let mut e = EntityDef {
        name,
        raw: value,
        fields: Vec::new(),
        identity: Vec::new(),
        description: None,
        renamed_from: None,
    };
    let mut fields = None;
    for (key, v) in obj {
        let here = loc.child(key);
        match key.as_str() {
            "fields" => fields = Some(as_object(v, &here)?),
            "identity" => e.identity = opt_str_array(v, &here)?,
            "description" => e.description = opt_str(v, &here)?,
            "renamed_from" => e.renamed_from = opt_name(v, &here)?,
            _ => {}
        }
    }
    let fields = fields.ok_or_else(|| loc.error("missing required key \"fields\""))?;
    let here = loc.child("fields");
    e.fields.reserve_exact(fields.len());
    for (fname, def) in fields {
        e.fields
            .push(parse_field_at(fname, def, &here.child(fname))?);
    }
    e.fields.sort_unstable_by(|a, b| a.name.cmp(b.name));
    for (i, id) in e.identity.iter().enumerate() {
        if e.field(id).is_none() {
            let idx = i.to_string();
            return Err(loc
                .child("identity")
                .child(&idx)
                .error(format!("identity names unknown field \"{id}\"")));
        }
    }
    Ok(e)
}

pub(crate) fn parse_field_at<'a>(
    name: &'a str,
    value: &'a Value,
    loc: &Loc<'_>,
) -> Result<FieldDef<'a>, SchemaError> {
    check_name(name, "field", loc)?;
    let obj = as_object(value, loc)?;
    let mut f = FieldDef {
        name,
        raw: value,
        type_name: "",
        nullable: true,
        default: None,
        enum_values: None,
        deprecated: false,
        has_removal_version: false,
        has_renamed_from: false,
    };
    let mut type_name = None;
    for (key, v) in obj {
        let here = loc.child(key);
        match key.as_str() {
            "type" => type_name = opt_str(v, &here)?,
            "nullable" => f.nullable = opt_bool(v, &here)?.unwrap_or(true),
            "default" => f.default = (!v.is_null()).then_some(v),
            "enum" => f.enum_values = opt_enum(v, &here)?,
            "deprecated" => f.deprecated = opt_bool(v, &here)?.unwrap_or(false),
            "deprecation_message" | "deprecated_at" | "description" => _ = opt_str(v, &here)?,
            "removal_version" => f.has_removal_version = opt_str(v, &here)?.is_some(),
            "renamed_from" => f.has_renamed_from = opt_name(v, &here)?.is_some(),
            _ => {}
        }
    }
    f.type_name = match type_name {
        Some(t) if !t.trim().is_empty() => t,
        Some(_) => return Err(loc.child("type").error("must not be empty")),
        None => return Err(loc.error("missing required key \"type\"")),
    };
    Ok(f)
}

fn check_name(name: &str, what: &str, loc: &Loc<'_>) -> Result<(), SchemaError> {
    if is_plain_identifier(name) {
        return Ok(());
    }
    Err(loc.error(format!(
        "{what} name {name:?} is not a plain identifier (letters, digits, _; not starting with a digit; at most 63 bytes)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        parse_schema(&v).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_example_document() {
        let v = json!({"version": "1.0.0", "x-extra": 1, "entities": {"Person": {
            "fields": {
                "age": {"type": "integer", "nullable": true},
                "email": {"type": "text", "nullable": false, "default": "x"},
                "status": {"type": "text", "enum": ["a", "b"], "removal_version": null}
            },
            "identity": ["email"]}}});
        let doc = parse_schema(&v).unwrap();
        assert_eq!(doc.version, Some("1.0.0"));
        let p = doc.entity("Person").unwrap();
        assert_eq!(
            p.fields.iter().map(|f| f.name).collect::<Vec<_>>(),
            ["age", "email", "status"]
        );
        assert_eq!(p.identity, ["email"]);
        let email = p.field("email").unwrap();
        assert!(!email.nullable && email.is_optional());
        assert_eq!(email.default, Some(&json!("x")));
        assert_eq!(p.field("status").unwrap().enum_values().unwrap().len(), 2);
        assert!(p.field("age").unwrap().nullable);
        assert!(doc.entity("Nobody").is_none());
    }

    #[test]
    fn reports_json_paths() {
        let cases = [
            (json!([]), "$: must be an object, found array"),
            (json!({}), "$: missing required key \"entities\""),
            (
                json!({"entities": {"P": {}}}),
                "$.entities.P: missing required key \"fields\"",
            ),
            (
                json!({"entities": {"P": {"fields": {"a": {}}}}}),
                "$.entities.P.fields.a: missing required key \"type\"",
            ),
            (
                json!({"entities": {"P": {"fields": {"age": {"type": 3}}}}}),
                "$.entities.P.fields.age.type: must be a string, found number",
            ),
            (
                json!({"entities": {"P": {"fields": {"a": {"type": "text", "nullable": "no"}}}}}),
                "$.entities.P.fields.a.nullable: must be a boolean, found string",
            ),
            (
                json!({"entities": {"P": {"fields": {"a": {"type": "text", "enum": "x"}}}}}),
                "$.entities.P.fields.a.enum: must be an array, found string",
            ),
            (
                json!({"entities": {"P": {"fields": {"a": {"type": "text"}}, "identity": ["b"]}}}),
                "$.entities.P.identity.0: identity names unknown field \"b\"",
            ),
            (
                json!({"entities": {"P": {"fields": {}, "identity": [1]}}}),
                "$.entities.P.identity.0: must be a string, found number",
            ),
            (
                json!({"entities": {}, "version": 2}),
                "$.version: must be a string, found number",
            ),
        ];
        for (doc, expected) in cases {
            assert_eq!(err(doc), expected);
        }
    }

    #[test]
    fn rejects_non_plain_names() {
        let e = err(json!({"entities": {"bad name": {"fields": {}}}}));
        assert!(e.starts_with("$.entities.bad name: entity name"), "{e}");
        let e = err(json!({"entities": {"P": {"fields": {"1x": {"type": "text"}}}}}));
        assert!(e.starts_with("$.entities.P.fields.1x: field name"), "{e}");
        let e = err(
            json!({"entities": {"P": {"fields": {"a": {"type": "text", "renamed_from": "a b"}}}}}),
        );
        assert!(e.starts_with("$.entities.P.fields.a.renamed_from:"), "{e}");
    }

    #[test]
    fn standalone_entity_and_field() {
        let f = json!({"type": " ", "nullable": false});
        assert_eq!(
            parse_field("a", &f).unwrap_err().to_string(),
            "$.type: must not be empty"
        );
        let e = json!({"fields": {"a": {"type": "text", "deprecated": true}}});
        assert!(parse_entity("E", &e).unwrap().fields[0].deprecated);
    }

    /// The published JSON Schema's examples must parse here too.
    #[test]
    fn published_json_schema_examples_parse() {
        let text = include_str!("../../../../docs/schema-definition.schema.json");
        let doc: Value = serde_json::from_str(text).unwrap();
        for example in doc["examples"].as_array().unwrap() {
            parse_schema(example).unwrap();
        }
    }
}
