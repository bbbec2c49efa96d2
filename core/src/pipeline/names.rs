//! Names users write in a pipeline: field paths inside the jsonb content
//! (`address.city`) and database objects (`schema.table`, `schema.fn`).

use std::fmt;

/// Long enough for any sane nesting; short enough that a runaway value (a whole
/// document pasted as a field name) is caught with a clear message.
const MAX_FIELD_PATH_CHARS: usize = 1000;

pub(crate) use crate::ident::is_plain_identifier as is_plain_ident;

/// A dotted path to a value inside an entity's content: `"address.city"` is the
/// key `city` of the object under `address`. Keys may hold any character except
/// `.` (the separator) and NUL (which jsonb cannot store); quoting makes the rest
/// safe. A segment of digits addresses an array element, as in `#>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    segments: Vec<String>,
}

impl FieldPath {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            return Err("it is empty; name a field, e.g. \"email\" or \"address.city\"");
        }
        if s.chars().count() > MAX_FIELD_PATH_CHARS {
            return Err("it is longer than 1000 characters");
        }
        if s.contains('\0') {
            return Err("it contains a NUL character, which jsonb keys cannot hold");
        }
        let segments: Vec<String> = s.split('.').map(str::to_string).collect();
        if segments.iter().any(String::is_empty) {
            return Err("it has an empty segment; remove the leading, trailing or doubled `.`");
        }
        Ok(Self { segments })
    }

    pub fn segments(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    /// The key the value is stored under, e.g. `city` for `address.city`.
    pub fn last(&self) -> &str {
        self.segments.last().map_or("", String::as_str)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

pub use crate::ident::QualifiedName;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths() {
        let p = FieldPath::parse("address.city").unwrap();
        assert_eq!(p.segments(), ["address", "city"]);
        assert_eq!(p.last(), "city");
        assert_eq!(p.to_string(), "address.city");
        assert_eq!(
            FieldPath::parse("it's \\ odd").unwrap().segments(),
            ["it's \\ odd"]
        );
        for bad in ["", ".a", "a.", "a..b", "a\0"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn qualified_names_fold_like_unquoted_sql() {
        let n = QualifiedName::parse("Ref.Country_Codes").unwrap();
        assert_eq!(n.schema.as_deref(), Some("ref"));
        assert_eq!(n.to_string(), "ref.country_codes");
        assert_eq!(QualifiedName::parse("fn").unwrap().schema, None);
        for bad in ["", "a.b.c", "a b", "x;drop", "\"q\"", "1x", &"x".repeat(64)] {
            assert!(QualifiedName::parse(bad).is_none(), "{bad:?}");
        }
    }
}
