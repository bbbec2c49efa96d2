//! The FUNCTION step's payload: which function, with which arguments. Names are
//! validated here so that the shell only ever quotes known-plain identifiers.

use super::error::DefinitionError;
use super::read::{type_name, Obj};
use serde_json::{Map, Value};
use std::fmt;

/// A function named as `name` or `schema.name`. Only plain identifiers are
/// accepted so that the shell can quote each part safely; the shell resolves the
/// name the way unquoted SQL would (PostgreSQL folds it to lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionName {
    pub schema: Option<String>,
    pub name: String,
}

/// Arguments of a FUNCTION step: an object means named notation (`arg => value`),
/// an array positional notation.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionArgs {
    Named(Map<String, Value>),
    Positional(Vec<Value>),
}

/// PostgreSQL truncates identifiers longer than NAMEDATALEN-1 bytes silently; a
/// truncated name would call a different function than the one written.
const MAX_IDENT_BYTES: usize = 63;

pub(crate) fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= MAX_IDENT_BYTES
}

impl FunctionName {
    pub fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split('.').collect();
        if !parts.iter().all(|p| is_plain_ident(p)) {
            return None;
        }
        match parts.as_slice() {
            [name] => Some(Self {
                schema: None,
                name: name.to_string(),
            }),
            [schema, name] => Some(Self {
                schema: Some(schema.to_string()),
                name: name.to_string(),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

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
