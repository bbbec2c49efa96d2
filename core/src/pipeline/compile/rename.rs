//! FIELD_RENAME: move the value at `source` to `target`.
//!
//! A missing source leaves the item unchanged: renaming must not invent a
//! `null` field on entities that never had the source. A source present with
//! JSON `null` is moved like any other value.

use super::path::{get, remove, set};
use super::{CompileError, CompileRule, Context, ParseRule};
use crate::pipeline::error::PipelineError;
use crate::pipeline::names::FieldPath;
use crate::pipeline::read::Obj;

#[derive(Debug, Clone, PartialEq)]
pub struct Rename {
    pub source: FieldPath,
    pub target: FieldPath,
}

impl ParseRule for Rename {
    const KEYS: &'static [&'static str] = &["source", "target"];
    const EXAMPLE: &'static str =
        r#"{"type": "FIELD_RENAME", "source": "fullName", "target": "name"}"#;

    fn parse(o: &Obj<'_>) -> Result<Self, PipelineError> {
        Ok(Self {
            source: o.req_field("source")?,
            target: o.req_field("target")?,
        })
    }
}

impl CompileRule for Rename {
    /// The source is removed before the target is written, so renaming into a
    /// path nested under the source (`a` → `a.b`) keeps the moved value.
    fn compile(&self, input: &str, _original: &str, cx: &Context) -> Result<String, CompileError> {
        let value = get(input, &self.source, cx)?;
        let without = remove(input, &self.source, cx)?;
        let moved = set(&without, &self.target, &value, cx)?;
        Ok(format!(
            "CASE WHEN {value} IS NULL THEN {input} ELSE {moved} END"
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::compile::sql_of;
    use serde_json::json;

    #[test]
    fn top_level() {
        assert_eq!(
            sql_of(json!({"type": "FIELD_RENAME", "source": "fullName", "target": "name"})),
            "CASE WHEN (x #> '{fullName}'::text[]) IS NULL THEN x ELSE \
             jsonb_set((x #- '{fullName}'::text[]), '{name}'::text[], (x #> '{fullName}'::text[]), true) END"
        );
    }

    #[test]
    fn nested_target_creates_parents() {
        let sql =
            sql_of(json!({"type": "FIELD_RENAME", "source": "city", "target": "address.city"}));
        assert!(sql.starts_with("CASE WHEN (x #> '{city}'::text[]) IS NULL THEN x ELSE "));
        assert!(sql.contains(
            "jsonb_set((x #- '{city}'::text[]), '{address}'::text[], jsonb_set(coalesce(nullif(\
             (x #- '{city}'::text[]) #> '{address}'::text[], 'null'::jsonb), '{}'::jsonb), \
             '{city}'::text[], (x #> '{city}'::text[]), true), true)"
        ));
    }

    #[test]
    fn quotes_and_backslashes_in_keys_stay_inside_literals() {
        let sql = sql_of(json!({"type": "FIELD_RENAME", "source": "it's", "target": "a\\b"}));
        assert!(sql.contains("(x #> '{it''s}'::text[])"));
        assert!(sql.contains(r#"E'{"a\\\\b"}'::text[]"#), "{sql}");
    }

    #[test]
    fn bad_paths_are_rejected() {
        use crate::pipeline::compile::parse_rule;
        let e = parse_rule(json!({"type": "FIELD_RENAME", "source": "a..b", "target": "c"}))
            .unwrap_err();
        assert_eq!((e.code(), e.path()), ("INVALID_FIELD_PATH", "$.r.source"));
        let e =
            parse_rule(json!({"type": "FIELD_RENAME", "source": 3, "target": "c"})).unwrap_err();
        assert_eq!(e.code(), "INVALID_TYPE");
    }
}
