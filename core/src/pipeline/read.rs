//! Typed reads of a JSON object that know their own path, so every error says
//! exactly where it happened. JSON `null` counts as absent: clients that
//! serialise optional fields as `null` should not be punished for it.

use super::error::PipelineError;
use super::jsonpath::JsonPath;
use super::names::{FieldPath, QualifiedName};
use serde_json::{Map, Value};

pub(crate) use crate::keys::type_name;

pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
    /// Set while reading a mapping rule: a missing key then reports the rule
    /// and a full example instead of a bare "missing".
    rule: Option<(&'static str, &'static str)>,
}

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, path: impl Into<String>) -> Result<Self, PipelineError> {
        let path = path.into();
        match v {
            Value::Object(map) => Ok(Obj {
                map,
                path,
                rule: None,
            }),
            other => Err(PipelineError::InvalidType {
                path,
                expected: "an object",
                found: type_name(other),
            }),
        }
    }

    /// The same object, read as the rule `rule` whose complete form is `example`.
    pub fn for_rule(&self, rule: &'static str, example: &'static str) -> Self {
        Obj {
            map: self.map,
            path: self.path.clone(),
            rule: Some((rule, example)),
        }
    }

    pub fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Rejects keys outside `allowed`: a misspelt `condition` must not silently
    /// turn a conditional step into one that touches every entity.
    pub fn only(&self, allowed: &[&str]) -> Result<(), PipelineError> {
        match crate::keys::first_unknown(self.map, allowed) {
            None => Ok(()),
            Some(k) => Err(PipelineError::UnknownKey {
                path: self.at(k),
                allowed: allowed.join(", "),
            }),
        }
    }

    pub fn missing(&self, key: &str) -> PipelineError {
        match self.rule {
            Some((rule, example)) => PipelineError::RuleMissingKey {
                path: self.at(key),
                rule,
                example,
            },
            None => PipelineError::MissingField { path: self.at(key) },
        }
    }

    pub fn invalid(&self, key: &str, reason: impl Into<String>) -> PipelineError {
        PipelineError::InvalidValue {
            path: self.at(key),
            reason: reason.into(),
        }
    }

    pub fn wrong(&self, key: &str, expected: &'static str, v: &Value) -> PipelineError {
        PipelineError::InvalidType {
            path: self.at(key),
            expected,
            found: type_name(v),
        }
    }

    pub fn req(&self, key: &str) -> Result<&'a Value, PipelineError> {
        self.get(key).ok_or_else(|| self.missing(key))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, PipelineError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    /// A string that may be empty (a replacement, a separator).
    pub fn req_str(&self, key: &str) -> Result<&'a str, PipelineError> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    /// A string with some non-blank content (names, keywords).
    pub fn req_text(&self, key: &str) -> Result<&'a str, PipelineError> {
        match self.req_str(key)? {
            s if s.trim().is_empty() => Err(self.invalid(key, "must not be empty")),
            s => Ok(s),
        }
    }

    /// A name that keys logs or rows (step names, entity and relation types):
    /// non-blank, at most `MAX_NAME_CHARS` characters, no control characters,
    /// no surrounding whitespace (two names differing only in it look equal).
    pub fn req_name(&self, key: &str) -> Result<&'a str, PipelineError> {
        let s = self.req_text(key)?;
        match crate::ident::name_problem(s) {
            Some(problem) => Err(self.invalid(key, problem)),
            None => Ok(s),
        }
    }

    pub fn opt_name(&self, key: &str) -> Result<Option<&'a str>, PipelineError> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.req_name(key).map(Some),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, PipelineError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "a boolean", v)),
        }
    }

    pub fn req_array(&self, key: &str) -> Result<&'a Vec<Value>, PipelineError> {
        match self.req(key)? {
            Value::Array(a) if a.is_empty() => Err(self.invalid(key, "must not be empty")),
            Value::Array(a) => Ok(a),
            v => Err(self.wrong(key, "an array", v)),
        }
    }

    pub fn req_field(&self, key: &str) -> Result<FieldPath, PipelineError> {
        field_path(self.req(key)?, self.at(key))
    }

    pub fn opt_jsonpath(&self, key: &str) -> Result<Option<JsonPath>, PipelineError> {
        let Some(s) = self.opt_str(key)? else {
            return Ok(None);
        };
        JsonPath::parse(s)
            .map(Some)
            .map_err(|reason| PipelineError::InvalidJsonPath {
                path: self.at(key),
                found: s.into(),
                reason,
            })
    }

    pub fn req_jsonpath(&self, key: &str) -> Result<JsonPath, PipelineError> {
        self.opt_jsonpath(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn req_qualified(&self, key: &str) -> Result<QualifiedName, PipelineError> {
        let s = self.req_text(key)?;
        QualifiedName::parse(s).ok_or_else(|| PipelineError::InvalidIdentifier {
            path: self.at(key),
            found: s.into(),
        })
    }
}

/// A field path from a JSON string at `path`.
pub(crate) fn field_path(v: &Value, path: String) -> Result<FieldPath, PipelineError> {
    let Value::String(s) = v else {
        return Err(PipelineError::InvalidType {
            path,
            expected: "a string (a field path such as \"address.city\")",
            found: type_name(v),
        });
    };
    FieldPath::parse(s).map_err(|reason| PipelineError::InvalidFieldPath {
        path,
        found: s.clone(),
        reason,
    })
}
