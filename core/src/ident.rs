//! Plain SQL identifiers and `schema.name` references: the one definition every module
//! (schema documents, FUNCTION steps, pipelines, the shell) uses, so that what is
//! accepted — and how a name is folded — cannot drift between them.
use std::fmt;

/// PostgreSQL truncates identifiers longer than NAMEDATALEN-1 bytes silently; a
/// truncated name would name a different object than the one written.
pub const MAX_IDENT_BYTES: usize = 63;

/// Letters, digits and underscores, not starting with a digit, at most 63 bytes: a name
/// that can be quoted safely and means the same quoted or not (up to case).
pub fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= MAX_IDENT_BYTES
}

/// A table, view or function named as `name` or `schema.name`, each part a plain
/// identifier. Stored folded to lower case, the way PostgreSQL resolves the same text
/// written unquoted in SQL; the shell then always quotes the parts.
/// Longest name (of a migration, step, rule or pipeline) accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// What is wrong with a name that keys rows, logs and graph renderings, if anything:
/// more than `MAX_NAME_CHARS` characters, a control character (would corrupt logs and
/// renderings) or surrounding whitespace (two names differing only in it look equal).
/// The message says what to do; readers attach the JSON path.
pub fn name_problem(s: &str) -> Option<String> {
    if s.chars().count() > MAX_NAME_CHARS {
        Some(format!(
            "is longer than {MAX_NAME_CHARS} characters; shorten it"
        ))
    } else if s.chars().any(char::is_control) {
        Some("contains a control character (newline, tab, ...); remove it".into())
    } else if s.trim() != s {
        Some("has leading or trailing whitespace; trim it".into())
    } else {
        None
    }
}

/// Schemas that can never hold a data schema: Postgres's own (`pg_*`,
/// `information_schema`), the extension's, and `public` (everyone's).
pub fn is_reserved_schema(name: &str) -> bool {
    name.starts_with("pg_")
        || matches!(
            name,
            "information_schema" | "migration_engine" | "kg_live" | "public"
        )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
}

impl QualifiedName {
    pub fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split('.').collect();
        if !parts.iter().all(|p| is_plain_identifier(p)) {
            return None;
        }
        match parts.as_slice() {
            [name] => Some(Self {
                schema: None,
                name: name.to_ascii_lowercase(),
            }),
            [schema, name] => Some(Self {
                schema: Some(schema.to_ascii_lowercase()),
                name: name.to_ascii_lowercase(),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers() {
        for ok in ["a", "_x", "Person", "f_1", &"a".repeat(63)] {
            assert!(is_plain_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "a.b", "\"a\"", "é", &"a".repeat(64)] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn qualified_names_fold_like_unquoted_sql() {
        assert_eq!(
            QualifiedName::parse("Public.Fn").unwrap().to_string(),
            "public.fn"
        );
        assert_eq!(QualifiedName::parse("fn").unwrap().schema, None);
        for bad in ["a.b.c", "a;b", "a.", ".b", "a.b c"] {
            assert!(QualifiedName::parse(bad).is_none(), "{bad}");
        }
    }
}
