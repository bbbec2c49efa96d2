//! The schema document model: a borrowed, validated view of the JSON document.
//!
//! Parsing borrows from the caller's `serde_json::Value` instead of copying it:
//! diffing two schemas of 1,000 entities × 50 fields must stay in the low
//! milliseconds, and most of that data is only ever compared, never changed.
//! Every entity and field keeps its original `Value` (`raw`) so rules can
//! compare whole definitions and so unknown keys survive untouched.
//!
//! JSON `null` on an optional key means "absent": the seed's `deprecate_field`
//! writes `"removal_version": null` when no version is given.

use serde_json::Value;
use std::fmt;

pub use crate::ident::{is_plain_identifier, MAX_IDENT_BYTES as MAX_IDENTIFIER_BYTES};

/// A schema document that failed validation, with the JSON path of the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON path such as `$.entities.Person.fields.age.type`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for SchemaError {}

/// Where in the document we are. A linked list on the stack, so that the path
/// string is only built when there is an error to report.
#[derive(Clone, Copy)]
pub(crate) struct Loc<'p> {
    parent: Option<&'p Loc<'p>>,
    key: &'p str,
}

impl<'p> Loc<'p> {
    pub(crate) const ROOT: Loc<'static> = Loc {
        parent: None,
        key: "$",
    };

    pub(crate) fn child(&'p self, key: &'p str) -> Loc<'p> {
        Loc {
            parent: Some(self),
            key,
        }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> SchemaError {
        let mut keys = vec![self.key];
        let mut cur = self.parent;
        while let Some(l) = cur {
            keys.push(l.key);
            cur = l.parent;
        }
        keys.reverse();
        SchemaError {
            path: keys.join("."),
            message: message.into(),
        }
    }
}

/// A parsed schema document. Entities are sorted by name.
#[derive(Debug, Clone)]
pub struct SchemaDoc<'a> {
    pub raw: &'a Value,
    pub version: Option<&'a str>,
    pub description: Option<&'a str>,
    pub entities: Vec<EntityDef<'a>>,
}

/// One entity type. Fields are sorted by name.
#[derive(Debug, Clone)]
pub struct EntityDef<'a> {
    pub name: &'a str,
    pub raw: &'a Value,
    pub fields: Vec<FieldDef<'a>>,
    pub identity: Vec<&'a str>,
    pub description: Option<&'a str>,
    pub renamed_from: Option<&'a str>,
}

/// One field of an entity type.
///
/// Only what every diff reads is stored; rarer keys are validated by the
/// parser and then read from `raw` on demand. The struct stays at 64 bytes:
/// a diff of two large schemas holds 100,000 of them, and at that size memory
/// traffic, not computation, is the cost.
#[derive(Debug, Clone)]
pub struct FieldDef<'a> {
    pub name: &'a str,
    pub raw: &'a Value,
    pub type_name: &'a str,
    /// Defaults to `true` when the key is absent.
    pub nullable: bool,
    pub deprecated: bool,
    /// `None` when absent or JSON `null`.
    pub default: Option<&'a Value>,
    enum_values: Option<&'a Vec<Value>>,
    has_removal_version: bool,
    has_renamed_from: bool,
}

impl<'a> FieldDef<'a> {
    pub fn enum_values(&self) -> Option<&'a [Value]> {
        self.enum_values.map(Vec::as_slice)
    }
    pub fn removal_version(&self) -> Option<&'a str> {
        self.has_removal_version
            .then(|| self.text("removal_version"))
            .flatten()
    }
    /// The old name of a renamed field.
    pub fn renamed_from(&self) -> Option<&'a str> {
        self.has_renamed_from
            .then(|| self.text("renamed_from"))
            .flatten()
    }
    pub fn description(&self) -> Option<&'a str> {
        self.text("description")
    }
    pub fn deprecation_message(&self) -> Option<&'a str> {
        self.text("deprecation_message")
    }
    pub fn deprecated_at(&self) -> Option<&'a str> {
        self.text("deprecated_at")
    }
    fn text(&self, key: &str) -> Option<&'a str> {
        self.raw.get(key).and_then(Value::as_str)
    }

    /// Writers may omit the field: it is nullable or has a default.
    pub fn is_optional(&self) -> bool {
        self.nullable || self.default.is_some()
    }

    /// Same name and same definition as far as compatibility goes: free text
    /// (`description`, `deprecation_message`, `deprecated_at`) and unknown keys
    /// are not compared. The diff uses this to skip unchanged fields, so it
    /// checks the cheap flags first and reads strings only when it must.
    pub fn same_definition(&self, other: &FieldDef<'_>) -> bool {
        self.nullable == other.nullable
            && self.deprecated == other.deprecated
            && self.has_removal_version == other.has_removal_version
            && self.has_renamed_from == other.has_renamed_from
            && self.name == other.name
            && self.type_name == other.type_name
            && self.default == other.default
            && self.enum_values == other.enum_values
            && (!self.has_removal_version || self.removal_version() == other.removal_version())
            && (!self.has_renamed_from || self.renamed_from() == other.renamed_from())
    }
}

impl<'a> SchemaDoc<'a> {
    pub fn entity(&self, name: &str) -> Option<&EntityDef<'a>> {
        find(&self.entities, name, |e| e.name)
    }
}

impl<'a> EntityDef<'a> {
    pub fn field(&self, name: &str) -> Option<&FieldDef<'a>> {
        find(&self.fields, name, |f| f.name)
    }
}

fn find<'v, T>(items: &'v [T], name: &str, key: impl Fn(&T) -> &str) -> Option<&'v T> {
    items
        .binary_search_by(|x| key(x).cmp(name))
        .ok()
        .map(|i| &items[i])
}

mod keys;
mod parse;
pub use parse::{parse_entity, parse_field, parse_schema};
pub(crate) use parse::{parse_entity_at, parse_field_at, parse_header};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers() {
        for ok in ["a", "_", "Person", "first_name", "x1", &"a".repeat(63)] {
            assert!(is_plain_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "é", "a.b", "\"a\"", &"a".repeat(64)] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn error_display_is_path_colon_message() {
        let root = Loc::ROOT;
        let e = root.child("entities");
        let err = e.child("Person").error("boom");
        assert_eq!(err.to_string(), "$.entities.Person: boom");
        assert_eq!(Loc::ROOT.error("x").path, "$");
    }
}
