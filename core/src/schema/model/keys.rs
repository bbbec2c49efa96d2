//! Typed access to the values of known keys. JSON `null` on an optional key
//! means "absent" (the seed writes `"removal_version": null`).

use super::{is_plain_identifier, Loc, SchemaError};
use serde_json::{Map, Value};

pub(super) fn as_object<'a>(
    v: &'a Value,
    loc: &Loc<'_>,
) -> Result<&'a Map<String, Value>, SchemaError> {
    v.as_object()
        .ok_or_else(|| loc.error(format!("must be an object, found {}", kind(v))))
}

pub(super) fn opt_str<'a>(v: &'a Value, loc: &Loc<'_>) -> Result<Option<&'a str>, SchemaError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(loc.error(format!("must be a string, found {}", kind(other)))),
    }
}

pub(super) fn opt_name<'a>(v: &'a Value, loc: &Loc<'_>) -> Result<Option<&'a str>, SchemaError> {
    let name = opt_str(v, loc)?;
    match name {
        Some(n) if !is_plain_identifier(n) => {
            Err(loc.error(format!("{n:?} is not a plain identifier")))
        }
        _ => Ok(name),
    }
}

pub(super) fn opt_bool(v: &Value, loc: &Loc<'_>) -> Result<Option<bool>, SchemaError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(loc.error(format!("must be a boolean, found {}", kind(other)))),
    }
}

pub(super) fn opt_enum<'a>(
    v: &'a Value,
    loc: &Loc<'_>,
) -> Result<Option<&'a Vec<Value>>, SchemaError> {
    match v {
        Value::Null => Ok(None),
        // An empty enum would reject every non-null value: almost surely a mistake.
        Value::Array(a) if a.is_empty() => Err(loc.error("must not be empty")),
        Value::Array(a) => Ok(Some(a)),
        other => Err(loc.error(format!("must be an array, found {}", kind(other)))),
    }
}

pub(super) fn opt_str_array<'a>(v: &'a Value, loc: &Loc<'_>) -> Result<Vec<&'a str>, SchemaError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        other => return Err(loc.error(format!("must be an array, found {}", kind(other)))),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let idx = i.to_string();
        out.push(
            opt_str(item, &loc.child(&idx))?
                .ok_or_else(|| loc.child(&idx).error("must be a string"))?,
        );
    }
    Ok(out)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
