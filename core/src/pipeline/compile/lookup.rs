//! LOOKUP_TRANSFORM: store at `targetField` the value found for `keyField` in
//! an inline map (`{"de": "Germany"}`) or in a table or view with columns
//! `key` (text) and `value` (any type; converted with `to_jsonb`).
//!
//! An item without the key field is left unchanged. A key with no entry is
//! handled by `onMissing`: `keep` (default: a migration should not destroy a
//! value just because the lookup table is incomplete), `null`, or `error`
//! (raised through [`RAISE_FUNCTION`], so the step's error handling applies).

use super::path::{get_text, set};
use super::{CompileError, CompileRule, Context, ParseRule};
use crate::pipeline::error::PipelineError;
use crate::pipeline::keyword::keywords;
use crate::pipeline::names::{FieldPath, QualifiedName};
use crate::pipeline::read::Obj;
use serde_json::{Map, Value};

/// A function the shell installs: `(message text) RETURNS jsonb`, VOLATILE (so
/// the planner never evaluates it early), raising `message` as an error with
/// SQLSTATE 22023. Plain SQL has no way to raise an error with a chosen message.
pub const RAISE_FUNCTION: &str = "migration_engine.pipeline_raise";

keywords! {
    /// What to do when the lookup has no entry for the item's key.
    pub enum OnMissing {
        Null = "null",
        Keep = "keep",
        Error = "error",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LookupTable {
    Inline(Map<String, Value>),
    /// Queried by `key`; several rows for one key make the statement fail.
    Table(QualifiedName),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub table: LookupTable,
    pub key: FieldPath,
    pub target: FieldPath,
    pub on_missing: OnMissing,
}

impl ParseRule for Lookup {
    const KEYS: &'static [&'static str] = &["lookupTable", "keyField", "targetField", "onMissing"];
    const EXAMPLE: &'static str = r#"{"type": "LOOKUP_TRANSFORM", "lookupTable": {"de": "Germany"}, "keyField": "cc", "targetField": "country", "onMissing": "keep"}"#;

    fn parse(o: &Obj<'_>) -> Result<Self, PipelineError> {
        let table = match o.req("lookupTable")? {
            Value::Object(m) => LookupTable::Inline(m.clone()),
            Value::String(_) => LookupTable::Table(o.req_qualified("lookupTable")?),
            v => {
                return Err(o.wrong(
                    "lookupTable",
                    "an object (inline map) or a string (schema.table)",
                    v,
                ))
            }
        };
        let on_missing = match o.opt_str("onMissing")? {
            None => OnMissing::Keep,
            Some(s) => OnMissing::from_name(s).ok_or_else(|| PipelineError::UnknownOption {
                path: o.at("onMissing"),
                found: s.into(),
                allowed: OnMissing::names(),
            })?,
        };
        Ok(Self {
            table,
            key: o.req_field("keyField")?,
            target: o.req_field("targetField")?,
            on_missing,
        })
    }
}

impl CompileRule for Lookup {
    fn compile(&self, input: &str, _original: &str, cx: &Context) -> Result<String, CompileError> {
        let q = &cx.q;
        let key = get_text(input, &self.key, cx)?;
        let (found, source) = match &self.table {
            LookupTable::Inline(map) => (
                format!("({} -> {key})", q.jsonb(&Value::Object(map.clone()))?),
                "the inline lookupTable".to_string(),
            ),
            LookupTable::Table(name) => {
                let table = match &name.schema {
                    Some(s) => format!("{}.{}", q.ident(s)?, q.ident(&name.name)?),
                    None => q.ident(&name.name)?,
                };
                let a = cx.alias();
                let (k, v) = (q.ident("key")?, q.ident("value")?);
                (
                    format!("(SELECT to_jsonb({a}.{v}) FROM {table} AS {a} WHERE {a}.{k} = {key})"),
                    name.to_string(),
                )
            }
        };
        let updated = match self.on_missing {
            OnMissing::Null => set(
                input,
                &self.target,
                &format!("coalesce({found}, 'null'::jsonb)"),
                cx,
            )?,
            // jsonb_set is strict: a NULL value yields NULL, and coalesce then
            // falls back to the unchanged item.
            OnMissing::Keep => format!(
                "coalesce({}, {input})",
                set(input, &self.target, &found, cx)?
            ),
            OnMissing::Error => {
                let message = format!(
                    "concat({}, quote_literal({key}))",
                    q.literal(&format!("LOOKUP_TRANSFORM: {source} has no entry for key "))?
                );
                set(
                    input,
                    &self.target,
                    &format!("coalesce({found}, {RAISE_FUNCTION}({message}))"),
                    cx,
                )?
            }
        };
        Ok(format!(
            "CASE WHEN {key} IS NULL THEN {input} ELSE {updated} END"
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::compile::{parse_rule, sql_of};
    use serde_json::json;

    const GUARD: &str = "CASE WHEN (x #>> '{cc}'::text[]) IS NULL THEN x ELSE ";

    #[test]
    fn inline_map_keeps_by_default() {
        let sql = sql_of(
            json!({"type": "LOOKUP_TRANSFORM", "lookupTable": {"de": "Germany", "ie": "Éire's \\"}, "keyField": "cc", "targetField": "country"}),
        );
        assert_eq!(
            sql,
            format!("{GUARD}coalesce(jsonb_set(x, '{{country}}'::text[], (E'{{\"de\":\"Germany\",\"ie\":\"Éire''s \\\\\\\\\"}}'::jsonb -> (x #>> '{{cc}}'::text[])), true), x) END")
        );
    }

    #[test]
    fn table_lookup_with_null_and_error() {
        let rule = |on_missing: &str| json!({"type": "LOOKUP_TRANSFORM", "lookupTable": "Ref.Countries", "keyField": "cc", "targetField": "geo.country", "onMissing": on_missing});
        let found = "(SELECT to_jsonb(_pl1.\"value\") FROM \"ref\".\"countries\" AS _pl1 WHERE _pl1.\"key\" = (x #>> '{cc}'::text[]))";
        let sql = sql_of(rule("null"));
        assert!(
            sql.starts_with(GUARD) && sql.contains(&format!("coalesce({found}, 'null'::jsonb)")),
            "{sql}"
        );
        let sql = sql_of(rule("error"));
        assert!(sql.contains(&format!("coalesce({found}, migration_engine.pipeline_raise(concat('LOOKUP_TRANSFORM: ref.countries has no entry for key ', quote_literal((x #>> '{{cc}}'::text[])))))")), "{sql}");
    }

    #[test]
    fn table_names_must_be_plain_identifiers() {
        for bad in ["a.b.c", "x; drop table y", "\"Quoted\"", ""] {
            let e = parse_rule(json!({"type": "LOOKUP_TRANSFORM", "lookupTable": bad, "keyField": "k", "targetField": "t"})).unwrap_err();
            assert_eq!(e.path(), "$.r.lookupTable", "{bad}");
        }
        let e = parse_rule(json!({"type": "LOOKUP_TRANSFORM", "lookupTable": {}, "keyField": "k", "targetField": "t", "onMissing": "drop"})).unwrap_err();
        assert_eq!((e.code(), e.path()), ("UNKNOWN_OPTION", "$.r.onMissing"));
    }
}
