//! FIELD_TRANSFORM: rewrite one field with a built-in transformation
//! (`"transformation": "upper"`) or a trusted SQL `expression` over `$1`.
//!
//! A missing field leaves the item unchanged (except for `default_if_null`,
//! whose purpose is to fill it). The new value is never SQL NULL: `jsonb_set`
//! with a NULL value returns NULL and would wipe the whole content.

use super::builtin::{Builtin, BuiltinName, PARAM_KEYS};
use super::expression::Expression;
use super::path::{get, set};
use super::{CompileError, CompileRule, Context, ParseRule};
use crate::pipeline::error::PipelineError;
use crate::pipeline::names::FieldPath;
use crate::pipeline::read::Obj;

#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    pub field: FieldPath,
    pub how: How,
}

#[derive(Debug, Clone, PartialEq)]
pub enum How {
    Builtin(Builtin),
    /// Trusted SQL: see [`Expression`].
    Expression(Expression),
}

const KEYS: [&str; 8] = [
    "field",
    "transformation",
    "expression",
    "value",
    "pattern",
    "replacement",
    "flags",
    "separator",
];

impl ParseRule for Transform {
    const KEYS: &'static [&'static str] = &KEYS;
    const EXAMPLE: &'static str =
        r#"{"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"}"#;

    fn parse(o: &Obj<'_>) -> Result<Self, PipelineError> {
        let field = o.req_field("field")?;
        let how = match (o.opt_str("transformation")?, o.opt_str("expression")?) {
            (Some(_), Some(_)) => {
                return Err(o.invalid(
                    "expression",
                    "cannot be combined with `transformation`; keep one",
                ))
            }
            (None, None) => return Err(o.missing("transformation")),
            (Some(name), None) => match BuiltinName::from_name(name) {
                Some(name) => How::Builtin(Builtin::parse(name, o)?),
                None => {
                    return Err(PipelineError::UnknownTransformation {
                        path: o.at("transformation"),
                        found: name.into(),
                    })
                }
            },
            (None, Some(sql)) => {
                if let Some(k) = PARAM_KEYS.iter().find(|k| o.get(k).is_some()) {
                    return Err(o.invalid(k, "only applies to built-in transformations; remove it"));
                }
                How::Expression(Expression::parse(sql).map_err(|r| o.invalid("expression", r))?)
            }
        };
        Ok(Self { field, how })
    }
}

impl CompileRule for Transform {
    fn compile(&self, input: &str, _original: &str, cx: &Context) -> Result<String, CompileError> {
        let v = get(input, &self.field, cx)?;
        let new_value = match &self.how {
            How::Builtin(b) => b.to_sql(&v, cx)?,
            // to_jsonb accepts jsonb (unchanged) or any castable value; a NULL
            // result becomes JSON null rather than erasing the item.
            How::Expression(e) => {
                format!("coalesce(to_jsonb(({})), 'null'::jsonb)", e.substitute(&v))
            }
        };
        let updated = set(input, &self.field, &new_value, cx)?;
        Ok(match &self.how {
            How::Builtin(b) if b.applies_to_missing() => updated,
            _ => format!("CASE WHEN {v} IS NULL THEN {input} ELSE {updated} END"),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::compile::{parse_rule, sql_of};
    use serde_json::json;

    fn builtin(name: &str, extra: serde_json::Value) -> String {
        let mut rule = json!({"type": "FIELD_TRANSFORM", "field": "f", "transformation": name});
        rule.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sql_of(rule)
    }

    const V: &str = "(x #> '{f}'::text[])";

    fn wrapped(new_value: &str) -> String {
        format!("CASE WHEN {V} IS NULL THEN x ELSE jsonb_set(x, '{{f}}'::text[], {new_value}, true) END")
    }

    #[test]
    fn text_functions_apply_to_strings_only() {
        let text = |call: &str| {
            wrapped(&format!(
                "CASE WHEN jsonb_typeof({V}) = 'string' THEN to_jsonb({call}) ELSE {V} END"
            ))
        };
        let t = format!("({V} #>> '{{}}')");
        assert_eq!(builtin("upper", json!({})), text(&format!("upper({t})")));
        assert_eq!(builtin("trim", json!({})), text(&format!("btrim({t})")));
        assert_eq!(
            builtin("replace", json!({"pattern": "it's", "replacement": "\\"})),
            text(&format!("replace({t}, 'it''s', E'\\\\')"))
        );
        assert_eq!(
            builtin(
                "regex_replace",
                json!({"pattern": "[^0-9]", "replacement": "", "flags": "g"})
            ),
            text(&format!("regexp_replace({t}, '[^0-9]', '', 'g')"))
        );
        assert_eq!(
            builtin("split", json!({"separator": ","})),
            text(&format!("string_to_array({t}, ',')"))
        );
    }

    #[test]
    fn conversions_cast_and_keep_null() {
        assert_eq!(
            builtin("to_integer", json!({})),
            wrapped(&format!("CASE WHEN jsonb_typeof({V}) = 'null' THEN {V} ELSE to_jsonb(CAST(({V} #>> '{{}}') AS bigint)) END"))
        );
        assert!(builtin("to_timestamptz", json!({})).contains("AS timestamptz"));
    }

    #[test]
    fn default_if_null_also_fills_missing_fields() {
        assert_eq!(
            builtin("default_if_null", json!({"value": {"k": "O'Neil"}})),
            format!("jsonb_set(x, '{{f}}'::text[], coalesce(nullif({V}, 'null'::jsonb), '{{\"k\":\"O''Neil\"}}'::jsonb), true)")
        );
    }

    #[test]
    fn expressions_are_spliced_with_the_field_value() {
        let sql = sql_of(
            json!({"type": "FIELD_TRANSFORM", "field": "a.b", "expression": "to_jsonb(length($1 #>> '{}'))"}),
        );
        assert!(sql.starts_with("CASE WHEN (x #> '{a,b}'::text[]) IS NULL THEN x ELSE "));
        assert!(sql.contains("coalesce(to_jsonb((to_jsonb(length(((x #> '{a,b}'::text[])) #>> '{}')))), 'null'::jsonb)"), "{sql}");
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let err = |v| parse_rule(v).unwrap_err();
        let e =
            err(json!({"type": "FIELD_TRANSFORM", "field": "f", "transformation": "uppercase"}));
        assert_eq!(
            (e.code(), e.path()),
            ("UNKNOWN_TRANSFORMATION", "$.r.transformation")
        );
        assert!(e.to_string().contains("\"upper\""));
        let e = err(
            json!({"type": "FIELD_TRANSFORM", "field": "f", "transformation": "replace", "pattern": "a"}),
        );
        assert_eq!(
            (e.code(), e.path()),
            ("RULE_MISSING_KEY", "$.r.replacement")
        );
        assert!(e.to_string().contains("the replace transformation"), "{e}");
        let e = err(
            json!({"type": "FIELD_TRANSFORM", "field": "f", "transformation": "upper", "value": 1}),
        );
        assert_eq!((e.code(), e.path()), ("INVALID_VALUE", "$.r.value"));
        let e = err(
            json!({"type": "FIELD_TRANSFORM", "field": "f", "transformation": "regex_replace", "pattern": "a", "replacement": "", "flags": "gz"}),
        );
        assert_eq!(e.path(), "$.r.flags");
        let e = err(json!({"type": "FIELD_TRANSFORM", "field": "f"}));
        assert_eq!(
            (e.code(), e.path()),
            ("RULE_MISSING_KEY", "$.r.transformation")
        );
        let e = err(json!({"type": "FIELD_TRANSFORM", "field": "f", "expression": "$1; select 1"}));
        assert_eq!((e.code(), e.path()), ("INVALID_VALUE", "$.r.expression"));
    }
}
