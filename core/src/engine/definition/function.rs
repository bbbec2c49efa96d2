//! The FUNCTION step's payload: which function, with which arguments. Names are
//! validated here so that the shell only ever quotes known-plain identifiers.

use super::error::DefinitionError;
use super::read::{type_name, Obj};
use crate::pipeline::{CompileError, Quoter};
use serde_json::{Map, Value};

/// A function named as `name` or `schema.name` (plain identifiers, folded to lower case
/// the way unquoted SQL resolves it; the shell quotes each part).
pub use crate::ident::QualifiedName as FunctionName;

/// Arguments of a FUNCTION step: an object means named notation (`arg => value`),
/// an array positional notation.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionArgs {
    Named(Map<String, Value>),
    Positional(Vec<Value>),
}

pub(crate) use crate::ident::is_plain_identifier as is_plain_ident;

pub(crate) fn parse_args(o: &Obj<'_>) -> Result<FunctionArgs, DefinitionError> {
    match o.get("parameters") {
        None => Ok(FunctionArgs::Positional(Vec::new())),
        Some(Value::Array(a)) => Ok(FunctionArgs::Positional(a.clone())),
        Some(Value::Object(m)) => {
            // Named arguments become `name => $n` in the call; only plain
            // identifiers can be spliced there after quoting without surprises.
            if let Some(bad) = m.keys().find(|k| !is_plain_ident(k)) {
                return Err(DefinitionError::InvalidValue {
                    path: format!("{}.{bad}", o.at("parameters")),
                    reason: "is not a plain identifier; parameter names must match [A-Za-z_][A-Za-z0-9_]*".into(),
                });
            }
            Ok(FunctionArgs::Named(m.clone()))
        }
        Some(v) => Err(DefinitionError::InvalidType {
            path: o.at("parameters"),
            expected: "an object or an array",
            found: type_name(v),
        }),
    }
}

/// The statement that runs a FUNCTION step, and the text stored for it in
/// `forward_script` (one builder, so what is stored is what runs):
/// `SELECT "schema"."fn"("param" => 'value', ...)`. Names are quoted; each value is a
/// literal of unknown type (NULL stays NULL, anything else is its text: a string as
/// written, a number, boolean or object as JSON), so Postgres coerces it to the
/// parameter's type exactly as it would a literal written by hand.
pub fn call_sql(function: &FunctionName, args: &FunctionArgs) -> Result<String, CompileError> {
    let q = Quoter;
    let name = match &function.schema {
        Some(schema) => format!("{}.{}", q.ident(schema)?, q.ident(&function.name)?),
        None => q.ident(&function.name)?,
    };
    let literal = |v: &Value| match v {
        Value::Null => Ok("NULL".to_string()),
        Value::String(s) => q.literal(s),
        other => q.literal(&other.to_string()),
    };
    let rendered = match args {
        FunctionArgs::Positional(values) => {
            values.iter().map(literal).collect::<Result<Vec<_>, _>>()?
        }
        FunctionArgs::Named(map) => map
            .iter()
            .map(|(k, v)| Ok(format!("{} => {}", q.ident(k)?, literal(v)?)))
            .collect::<Result<Vec<_>, CompileError>>()?,
    };
    Ok(format!("SELECT {name}({})", rendered.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::super::step::parse_step;
    use super::*;
    use serde_json::json;

    #[test]
    fn function_names_are_plain_identifiers() {
        for ok in ["f", "public.backfill_v2", "_s._f"] {
            assert!(FunctionName::parse(ok).is_some(), "{ok}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "a.b.c",
            "a;drop",
            "1f",
            "a.",
            "\"q\".f",
            "f()",
            long.as_str(),
        ] {
            assert!(FunctionName::parse(bad).is_none(), "{bad}");
        }
        let step = |v: Value| parse_step(&v, "$.forward[0]".into()).unwrap_err();
        let e = step(json!({"name": "a", "type": "FUNCTION", "function": "x; drop table t"}));
        assert_eq!(e.code(), "INVALID_FUNCTION_NAME");
        let e = step(
            json!({"name": "a", "type": "FUNCTION", "function": "f", "parameters": {"a b": 1}}),
        );
        assert_eq!(e.path(), "$.forward[0].parameters.a b");
    }

    #[test]
    fn the_call_quotes_names_and_passes_values_as_untyped_literals() {
        let f = FunctionName::parse("Public.Fill").unwrap();
        let mut named = Map::new();
        named.insert("batch".into(), json!(10));
        named.insert("label".into(), json!("it's \\ here"));
        named.insert("opts".into(), json!({"x": [1]}));
        named.insert("none".into(), Value::Null);
        assert_eq!(
            call_sql(&f, &FunctionArgs::Named(named)).unwrap(),
            r#"SELECT "public"."fill"("batch" => '10', "label" => E'it''s \\ here', "none" => NULL, "opts" => '{"x":[1]}')"#
        );
        let g = FunctionName::parse("g").unwrap();
        assert_eq!(
            call_sql(
                &g,
                &FunctionArgs::Positional(vec![json!(true), Value::Null])
            )
            .unwrap(),
            r#"SELECT "g"('true', NULL)"#
        );
        assert_eq!(
            call_sql(&g, &FunctionArgs::Positional(vec![])).unwrap(),
            r#"SELECT "g"()"#
        );
        // text PostgreSQL cannot hold is refused before anything runs
        assert!(call_sql(&g, &FunctionArgs::Positional(vec![json!("a\u{0}b")])).is_err());
    }
}
