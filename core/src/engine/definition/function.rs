//! The FUNCTION step's payload: which function, with which arguments. Names are
//! validated here so that the shell only ever quotes known-plain identifiers.

use super::error::DefinitionError;
use super::read::{type_name, Obj};
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
}
