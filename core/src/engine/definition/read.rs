//! Typed reads of a JSON object that know their own path, so every error can say
//! exactly where it happened. JSON `null` counts as absent: clients that serialise
//! optional fields as `null` should not be punished for it.

use super::error::DefinitionError;
use serde_json::{Map, Value};

pub use crate::ident::MAX_NAME_CHARS;

pub(crate) use crate::keys::type_name;

pub(crate) fn index_path(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, path: impl Into<String>) -> Result<Self, DefinitionError> {
        let path = path.into();
        match v {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(DefinitionError::InvalidType {
                path,
                expected: "an object",
                found: type_name(other),
            }),
        }
    }

    /// Refuses the first key not in `known` (see [`crate::keys`]).
    pub fn only(&self, known: &[&str]) -> Result<(), DefinitionError> {
        match crate::keys::first_unknown(self.map, known) {
            None => Ok(()),
            Some(key) => Err(DefinitionError::UnknownKey {
                path: self.at(key),
                message: crate::keys::unknown_key_message(key, known),
            }),
        }
    }

    pub fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &'static str, v: &Value) -> DefinitionError {
        DefinitionError::InvalidType {
            path: self.at(key),
            expected,
            found: type_name(v),
        }
    }

    pub fn invalid(&self, key: &str, reason: impl Into<String>) -> DefinitionError {
        DefinitionError::InvalidValue {
            path: self.at(key),
            reason: reason.into(),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    /// A string that, when present, must have some non-blank content.
    pub fn opt_text(&self, key: &str) -> Result<Option<&'a str>, DefinitionError> {
        match self.opt_str(key)? {
            Some(s) if s.trim().is_empty() => Err(self.invalid(key, "must not be empty")),
            other => Ok(other),
        }
    }

    pub fn req_text(&self, key: &str) -> Result<&'a str, DefinitionError> {
        self.opt_text(key)?
            .ok_or_else(|| DefinitionError::MissingField { path: self.at(key) })
    }

    /// A name that keys rows and log entries: non-blank, at most `MAX_NAME_CHARS`
    /// characters, no control characters (they would corrupt logs and graph
    /// renderings) and no surrounding whitespace (two names differing only in it
    /// would look identical to a human).
    pub fn req_name(&self, key: &str) -> Result<&'a str, DefinitionError> {
        let s = self.req_text(key)?;
        match crate::ident::name_problem(s) {
            Some(problem) => Err(self.invalid(key, problem)),
            None => Ok(s),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "a boolean", v)),
        }
    }

    pub fn opt_i32(&self, key: &str) -> Result<Option<i32>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_i64().map(i32::try_from) {
                Some(Ok(n)) => Ok(Some(n)),
                Some(Err(_)) => Err(self.invalid(key, "must fit in a 32-bit integer")),
                None => Err(self.wrong(key, "an integer", v)),
            },
        }
    }

    /// A positive integer up to `i32::MAX`: batch sizes and timeouts end up in
    /// Postgres `integer` settings (`statement_timeout` is an int of milliseconds).
    pub fn opt_positive(&self, key: &str) -> Result<Option<u32>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(n) if n >= 1 && n <= i64::from(i32::MAX) => Ok(Some(n as u32)),
                Some(_) => Err(self.invalid(key, "must be a positive integer up to 2147483647")),
                None => Err(self.wrong(key, "a positive integer", v)),
            },
        }
    }

    pub fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(key, "an array", v)),
        }
    }

    pub fn opt_object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.wrong(key, "an object", v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_is_absent_and_types_are_checked() {
        let v = json!({"a": null, "b": 3, "c": "x", "d": 0, "e": 4294967296i64});
        let o = Obj::new(&v, "$").unwrap();
        assert_eq!(o.opt_str("a").unwrap(), None);
        assert_eq!(o.opt_positive("b").unwrap(), Some(3));
        assert_eq!(o.opt_str("b").unwrap_err().code(), "INVALID_TYPE");
        assert_eq!(o.opt_positive("d").unwrap_err().code(), "INVALID_VALUE");
        assert_eq!(o.opt_i32("e").unwrap_err().path(), "$.e");
        assert_eq!(o.req_text("zz").unwrap_err().code(), "MISSING_FIELD");
        assert!(Obj::new(&json!([]), "$").is_err());
        let long = "x".repeat(201);
        let v = json!({"ok": "add_field ünïcode", "nl": "a\nb", "sp": " a", "long": long});
        let o = Obj::new(&v, "$").unwrap();
        assert!(o.req_name("ok").is_ok());
        for k in ["nl", "sp", "long"] {
            assert_eq!(o.req_name(k).unwrap_err().code(), "INVALID_VALUE", "{k}");
        }
    }
}
