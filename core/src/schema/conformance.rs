//! Conformance of stored content, read in place from the jsonb binary form.
//!
//! The integrity scan judges every current entity of a large graph: building a
//! `serde_json::Value` of each content (or evaluating a SQL/JSON path over it) costs
//! more than the test itself. An entity definition is compiled once into
//! [`CompiledEntity`]; each content is then read as a [`JsonbRef`]: the declared
//! fields are found by binary search, and only their values are decoded. The verdict
//! is the validator's ([`super::validate::validate_entity_content`]) by construction:
//! the same `value_fits` and enum comparison run on the same decoded field values.

use super::model::{parse_entity, SchemaError};
use super::types::{parse_type, same_value, value_fits, SqlType};
use crate::jsonb::JsonbRef;
use serde_json::Value;

/// One declared field, owned (the definition it came from need not outlive it).
#[derive(Debug, Clone)]
struct CompiledField {
    name: String,
    nullable: bool,
    /// `None` for a type name the registry does not know: then any non-null value fits.
    sql_type: Option<SqlType>,
    enum_values: Option<Vec<Value>>,
}

/// An entity definition ready to judge many contents.
#[derive(Debug, Clone)]
pub struct CompiledEntity {
    fields: Vec<CompiledField>,
}

impl CompiledEntity {
    /// Compiles an entity definition (`{"fields": {...}, ...}`), refused as
    /// [`parse_entity`] refuses it.
    pub fn compile(definition: &Value) -> Result<CompiledEntity, SchemaError> {
        let entity = parse_entity("entity", definition)?;
        let fields = entity
            .fields
            .iter()
            .map(|f| CompiledField {
                name: f.name.to_owned(),
                nullable: f.nullable,
                sql_type: parse_type(f.type_name),
                enum_values: f.enum_values().map(<[Value]>::to_vec),
            })
            .collect();
        Ok(CompiledEntity { fields })
    }

    /// True when the content (a jsonb datum's payload) conforms: it is an object, every
    /// required field holds a non-null value, every present value fits its type and
    /// enum. Bytes that cannot be read (malformed, or a number beyond f64) do not
    /// conform: the caller's validator then explains them.
    pub fn conforms(&self, payload: &[u8]) -> bool {
        let Ok(JsonbRef::Object(object)) = JsonbRef::from_payload(payload) else {
            return false;
        };
        self.fields.iter().all(|f| match object.get(&f.name) {
            Err(_) => false,
            Ok(None | Some(JsonbRef::Null)) => f.nullable,
            Ok(Some(value)) => field_fits(f, &value),
        })
    }
}

fn field_fits(field: &CompiledField, value: &JsonbRef<'_>) -> bool {
    // strings are judged without an owned copy when no enum is declared, and a json or
    // jsonb field takes any non-null value without reading it (however deep it nests)
    if field.enum_values.is_none() {
        if matches!(field.sql_type, Some(SqlType::Json | SqlType::Jsonb)) {
            return true;
        }
        if let (Some(t), JsonbRef::String(s)) = (&field.sql_type, value) {
            if let Some(fits) = string_fits(t, s) {
                return fits;
            }
        }
    }
    let Ok(decoded) = value.to_value() else {
        return false;
    };
    let fits = match &field.sql_type {
        Some(t) => value_fits(&decoded, t),
        None => !decoded.is_null(),
    };
    fits && field
        .enum_values
        .as_ref()
        .is_none_or(|allowed| allowed.iter().any(|a| same_value(a, &decoded)))
}

/// The verdict for a string value of the common text types, when it needs no format
/// parsing (`None`: decode and ask `value_fits`).
fn string_fits(t: &SqlType, _s: &str) -> Option<bool> {
    match t {
        SqlType::Text | SqlType::Varchar(None) | SqlType::Char(None) => Some(true),
        SqlType::SmallInt
        | SqlType::Integer
        | SqlType::BigInt
        | SqlType::Numeric(_)
        | SqlType::Real
        | SqlType::Double
        | SqlType::Boolean
        | SqlType::Array(_) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonb::test_encoder::{Encoder, Jb};
    use crate::schema::validate::validate_content;
    use proptest::prelude::*;
    use serde_json::json;

    fn payload(v: &Value) -> Vec<u8> {
        Encoder::payload(&Jb::from_value(v))
    }

    fn person() -> Value {
        json!({"fields": {
            "name": {"type": "text", "nullable": false},
            "age": {"type": "integer"},
            "code": {"type": "varchar(3)"},
            "born": {"type": "date"},
            "id": {"type": "uuid"},
            "tags": {"type": "text[]"},
            "status": {"type": "text", "enum": ["a", "b"]},
            "level": {"type": "integer", "enum": [1, 2]},
            "extra": {"type": "jsonb"},
            "odd": {"type": "no_such_type"}
        }})
    }

    fn same_verdict(definition: &Value, content: &Value) {
        let compiled = CompiledEntity::compile(definition).unwrap();
        let expected = validate_content(definition, content).unwrap().is_empty();
        assert_eq!(
            compiled.conforms(&payload(content)),
            expected,
            "content {content}"
        );
    }

    #[test]
    fn agrees_with_the_validator_on_each_kind_of_violation() {
        let p = person();
        for content in [
            json!({"name": "Ada"}),
            json!({"name": "Ada", "age": 36, "code": "abc", "born": "1815-12-10"}),
            json!({}),
            json!({"name": null}),
            json!({"name": 5}),
            json!({"name": "Ada", "age": 36.0}),
            json!({"name": "Ada", "age": 36.5}),
            json!({"name": "Ada", "age": 3_000_000_000_i64}),
            json!({"name": "Ada", "age": "36"}),
            json!({"name": "Ada", "code": "abcd"}),
            json!({"name": "Ada", "code": "äöü"}),
            json!({"name": "Ada", "born": "not a date"}),
            json!({"name": "Ada", "id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}),
            json!({"name": "Ada", "id": "nope"}),
            json!({"name": "Ada", "tags": ["x", null]}),
            json!({"name": "Ada", "tags": ["x", 1]}),
            json!({"name": "Ada", "tags": "x"}),
            json!({"name": "Ada", "status": "a"}),
            json!({"name": "Ada", "status": "c"}),
            json!({"name": "Ada", "level": 1.0}),
            json!({"name": "Ada", "level": 3}),
            json!({"name": "Ada", "extra": {"deep": [1, {"x": null}]}}),
            json!({"name": "Ada", "odd": 1}),
            json!({"name": "Ada", "unknown key": true}),
            json!([1, 2]),
            json!("a string"),
            json!(null),
        ] {
            same_verdict(&p, &content);
        }
    }

    #[test]
    fn a_jsonb_field_takes_a_value_too_deep_to_decode() {
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let compiled = CompiledEntity::compile(&person()).unwrap();
        assert!(compiled.conforms(&payload(&json!({"name": "Ada", "extra": deep.clone()}))));
        assert!(!compiled.conforms(&payload(&json!({"name": "Ada", "tags": deep}))));
    }

    #[test]
    fn unreadable_bytes_do_not_conform() {
        let compiled = CompiledEntity::compile(&person()).unwrap();
        assert!(!compiled.conforms(&[]));
        assert!(!compiled.conforms(&[0xff, 0xff, 0xff, 0xff, 1, 2]));
    }

    #[test]
    fn a_bad_definition_is_refused() {
        assert!(CompiledEntity::compile(&json!({"fields": 5})).is_err());
        assert!(CompiledEntity::compile(&json!("x")).is_err());
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-z0-9-]{0,6}".prop_map(Value::from),
            Just(json!("2024-02-29")),
            Just(json!("1b4e28ba-2fa1-11d2-883f-0016d3cca427")),
            Just(json!("a")),
        ]
    }

    fn field_value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// For any content, the in-place verdict is the validator's.
        #[test]
        fn in_place_verdict_is_the_validators(
            values in prop::collection::btree_map(
                prop::sample::select(vec!["name", "age", "code", "born", "id", "tags", "status", "level", "extra", "odd", "other"]),
                field_value(), 0..8)
        ) {
            let content = Value::Object(values.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
            let p = person();
            let compiled = CompiledEntity::compile(&p).unwrap();
            let expected = validate_content(&p, &content).unwrap().is_empty();
            prop_assert_eq!(compiled.conforms(&payload(&content)), expected);
        }
    }
}
