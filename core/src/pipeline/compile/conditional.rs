//! CONDITIONAL_TRANSFORM: apply nested rules only to items matching a
//! condition. The condition is evaluated on the item as it was before the MAP
//! step (as the reference engine does), so an earlier rule in the same step
//! cannot change which items match; nested conditionals do the same.

use super::{compose_rules, CompileError, CompileRule, Context, MappingRule, ParseRule};
use crate::pipeline::error::PipelineError;
use crate::pipeline::jsonpath::JsonPath;
use crate::pipeline::read::Obj;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Conditional {
    pub condition: JsonPath,
    /// Applied in order when the condition holds.
    pub rules: Vec<MappingRule>,
}

impl ParseRule for Conditional {
    const KEYS: &'static [&'static str] = &["condition", "transformation"];
    const EXAMPLE: &'static str = r#"{"type": "CONDITIONAL_TRANSFORM", "condition": "$.age > 65", "transformation": {"type": "FIELD_TRANSFORM", "field": "segment", "transformation": "default_if_null", "value": "senior"}}"#;

    fn parse(o: &Obj<'_>) -> Result<Self, PipelineError> {
        let condition = o.req_jsonpath("condition")?;
        let path = o.at("transformation");
        let rules = match o.req("transformation")? {
            Value::Array(a) if a.is_empty() => {
                return Err(o.invalid(
                    "transformation",
                    "must not be an empty array; give at least one rule",
                ))
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| MappingRule::parse(v, format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            v @ Value::Object(_) => vec![MappingRule::parse(v, path)?],
            v => {
                return Err(o.wrong(
                    "transformation",
                    "a mapping rule object or an array of them",
                    v,
                ))
            }
        };
        Ok(Self { condition, rules })
    }
}

impl CompileRule for Conditional {
    fn compile(&self, input: &str, original: &str, cx: &Context) -> Result<String, CompileError> {
        let when = self.condition.to_sql(original, &cx.q)?;
        let then = compose_rules(&self.rules, input, original, cx)?;
        Ok(format!("CASE WHEN {when} THEN {then} ELSE {input} END"))
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::compile::{parse_rule, sql_of};
    use serde_json::json;

    #[test]
    fn condition_reads_the_original_item() {
        let sql = sql_of(json!({
            "type": "CONDITIONAL_TRANSFORM",
            "condition": "$.age > 65",
            "transformation": {"type": "FIELD_RENAME", "source": "a", "target": "b"}
        }));
        assert_eq!(
            sql,
            "CASE WHEN coalesce(jsonb_path_match(o, '$.age > 65'::jsonpath, silent => true), false) \
             THEN CASE WHEN (x #> '{a}'::text[]) IS NULL THEN x ELSE jsonb_set((x #- '{a}'::text[]), \
             '{b}'::text[], (x #> '{a}'::text[]), true) END ELSE x END"
        );
    }

    #[test]
    fn an_array_of_rules_is_chained() {
        let sql = sql_of(json!({
            "type": "CONDITIONAL_TRANSFORM",
            "condition": "$.tags[*] ? (@ == \"vip\")",
            "transformation": [
                {"type": "FIELD_TRANSFORM", "field": "name", "transformation": "upper"},
                {"type": "FIELD_RENAME", "source": "name", "target": "NAME"}
            ]
        }));
        assert!(sql.starts_with(
            "CASE WHEN coalesce(jsonb_path_exists(o, '$.tags[*] ? (@ == \"vip\")'::jsonpath"
        ));
        assert!(
            sql.contains("THEN (SELECT CASE WHEN (_pl1.v #> '{name}'::text[]) IS NULL THEN _pl1.v"),
            "{sql}"
        );
        assert!(sql.ends_with("AS v OFFSET 0) AS _pl1) ELSE x END"), "{sql}");
    }

    #[test]
    fn nested_errors_carry_the_nested_path() {
        let e = parse_rule(json!({
            "type": "CONDITIONAL_TRANSFORM", "condition": "$.a > 1",
            "transformation": [{"type": "FIELD_RENAME", "source": "a", "target": "b"}, {"type": "NOPE"}]
        }))
        .unwrap_err();
        assert_eq!(e.path(), "$.r.transformation[1].type");
        let e = parse_rule(json!({"type": "CONDITIONAL_TRANSFORM", "condition": "$.a > 1", "transformation": "upper"})).unwrap_err();
        assert_eq!((e.code(), e.path()), ("INVALID_TYPE", "$.r.transformation"));
        let e = parse_rule(
            json!({"type": "CONDITIONAL_TRANSFORM", "condition": "@.a", "transformation": []}),
        )
        .unwrap_err();
        assert_eq!((e.code(), e.path()), ("INVALID_JSONPATH", "$.r.condition"));
    }
}
