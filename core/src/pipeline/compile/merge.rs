//! FIELD_MERGE: combine several fields into one (`firstName` + `lastName` →
//! `fullName`). Absent and JSON-null sources are skipped by every strategy
//! (`object` keeps present nulls, since a key with null is information); when
//! no source is present at all the item is left unchanged.

use super::path::{get, get_text, remove, set};
use super::{CompileError, CompileRule, Context, ParseRule};
use crate::pipeline::error::PipelineError;
use crate::pipeline::keyword::keywords;
use crate::pipeline::names::FieldPath;
use crate::pipeline::read::{field_path, Obj};

keywords! {
    /// How the source values are combined.
    pub enum MergeStrategy {
        /// Text of each value joined by `separator` (default one space).
        Concat = "concat",
        /// A JSON array of the values, in the order of `sourceFields`.
        Array = "array",
        /// A JSON object keyed by each source's last path segment.
        Object = "object",
        /// The first value that is neither absent nor JSON null.
        FirstNonNull = "first_non_null",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    pub sources: Vec<FieldPath>,
    pub target: FieldPath,
    pub strategy: MergeStrategy,
    pub separator: String,
    /// Remove the source fields after merging (the target survives even when
    /// it is one of the sources).
    pub remove_sources: bool,
}

impl ParseRule for Merge {
    const KEYS: &'static [&'static str] = &[
        "sourceFields",
        "targetField",
        "mergeStrategy",
        "separator",
        "removeSources",
    ];
    const EXAMPLE: &'static str = r#"{"type": "FIELD_MERGE", "sourceFields": ["firstName", "lastName"], "targetField": "fullName", "mergeStrategy": "concat", "separator": " "}"#;

    fn parse(o: &Obj<'_>) -> Result<Self, PipelineError> {
        let sources = o
            .req_array("sourceFields")?
            .iter()
            .enumerate()
            .map(|(i, v)| field_path(v, format!("{}[{i}]", o.at("sourceFields"))))
            .collect::<Result<Vec<_>, _>>()?;
        let found = o.req_text("mergeStrategy")?;
        let strategy =
            MergeStrategy::from_name(found).ok_or_else(|| PipelineError::UnknownOption {
                path: o.at("mergeStrategy"),
                found: found.into(),
                allowed: MergeStrategy::names(),
            })?;
        let separator = match (strategy, o.opt_str("separator")?) {
            (MergeStrategy::Concat, s) => s.unwrap_or(" ").to_string(),
            (_, None) => String::new(),
            (_, Some(_)) => {
                return Err(o.invalid(
                    "separator",
                    "only applies to the concat strategy; remove it",
                ))
            }
        };
        if strategy == MergeStrategy::Object {
            for (i, s) in sources.iter().enumerate() {
                if sources[..i].iter().any(|p| p.last() == s.last()) {
                    return Err(PipelineError::InvalidValue {
                        path: format!("{}[{i}]", o.at("sourceFields")),
                        reason: format!("ends in {:?} like an earlier source; the object strategy keys values by the last segment, so they must differ", s.last()),
                    });
                }
            }
        }
        Ok(Self {
            sources,
            target: o.req_field("targetField")?,
            strategy,
            separator,
            remove_sources: o.opt_bool("removeSources")?.unwrap_or(false),
        })
    }
}

impl CompileRule for Merge {
    fn compile(&self, input: &str, _original: &str, cx: &Context) -> Result<String, CompileError> {
        let values = self
            .sources
            .iter()
            .map(|s| get(input, s, cx))
            .collect::<Result<Vec<_>, _>>()?;
        let merged = match self.strategy {
            MergeStrategy::Concat => {
                let texts = self
                    .sources
                    .iter()
                    .map(|s| get_text(input, s, cx))
                    .collect::<Result<Vec<_>, _>>()?;
                format!(
                    "to_jsonb(concat_ws({}, {}))",
                    cx.q.literal(&self.separator)?,
                    texts.join(", ")
                )
            }
            MergeStrategy::Array => {
                let rows: Vec<String> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("({}, {v})", i + 1))
                    .collect();
                let a = cx.alias();
                format!(
                    "(SELECT coalesce(jsonb_agg({a}.v ORDER BY {a}.i), '[]'::jsonb) FROM (VALUES {}) AS {a}(i, v) \
                     WHERE jsonb_typeof({a}.v) <> 'null')",
                    rows.join(", ")
                )
            }
            MergeStrategy::Object => {
                let rows = self
                    .sources
                    .iter()
                    .zip(&values)
                    .map(|(s, v)| Ok(format!("({}, {v})", cx.q.literal(s.last())?)))
                    .collect::<Result<Vec<_>, CompileError>>()?;
                let a = cx.alias();
                format!(
                    "(SELECT coalesce(jsonb_object_agg({a}.k, {a}.v), '{{}}'::jsonb) FROM (VALUES {}) AS {a}(k, v) \
                     WHERE {a}.v IS NOT NULL)",
                    rows.join(", ")
                )
            }
            MergeStrategy::FirstNonNull => {
                let parts: Vec<String> = values
                    .iter()
                    .map(|v| format!("nullif({v}, 'null'::jsonb)"))
                    .collect();
                format!("coalesce({}, 'null'::jsonb)", parts.join(", "))
            }
        };
        let mut base = input.to_string();
        if self.remove_sources {
            for s in &self.sources {
                base = remove(&base, s, cx)?;
            }
        }
        let none_present: Vec<String> = values.iter().map(|v| format!("{v} IS NULL")).collect();
        let updated = set(&base, &self.target, &merged, cx)?;
        Ok(format!(
            "CASE WHEN {} THEN {input} ELSE {updated} END",
            none_present.join(" AND ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::compile::{parse_rule, sql_of};
    use serde_json::json;

    fn merge(strategy: &str, extra: serde_json::Value) -> String {
        let mut rule = json!({"type": "FIELD_MERGE", "sourceFields": ["first", "it's"], "targetField": "name.full", "mergeStrategy": strategy});
        rule.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sql_of(rule)
    }

    const GUARD: &str = "CASE WHEN (x #> '{first}'::text[]) IS NULL AND (x #> '{it''s}'::text[]) IS NULL THEN x ELSE ";

    #[test]
    fn concat_joins_text_with_the_separator() {
        let sql = merge("concat", json!({"separator": "\\"}));
        assert!(sql.starts_with(GUARD), "{sql}");
        assert!(sql.contains("to_jsonb(concat_ws(E'\\\\', (x #>> '{first}'::text[]), (x #>> '{it''s}'::text[])))"), "{sql}");
        assert!(sql.contains("'{name}'::text[]") && sql.contains("'{full}'::text[]"));
        assert!(merge("concat", json!({})).contains("concat_ws(' ', "));
    }

    #[test]
    fn array_object_and_first_non_null() {
        let sql = merge("array", json!({}));
        assert!(sql.contains("(SELECT coalesce(jsonb_agg(_pl1.v ORDER BY _pl1.i), '[]'::jsonb) FROM (VALUES (1, (x #> '{first}'::text[])), (2, (x #> '{it''s}'::text[]))) AS _pl1(i, v) WHERE jsonb_typeof(_pl1.v) <> 'null')"), "{sql}");
        let sql = merge("object", json!({}));
        assert!(sql.contains("FROM (VALUES ('first', (x #> '{first}'::text[])), ('it''s', (x #> '{it''s}'::text[]))) AS _pl1(k, v) WHERE _pl1.v IS NOT NULL"), "{sql}");
        let sql = merge("first_non_null", json!({}));
        assert!(sql.contains("coalesce(nullif((x #> '{first}'::text[]), 'null'::jsonb), nullif((x #> '{it''s}'::text[]), 'null'::jsonb), 'null'::jsonb)"));
    }

    #[test]
    fn remove_sources_removes_before_writing_the_target() {
        let sql = merge("first_non_null", json!({"removeSources": true}));
        assert!(
            sql.contains(
                "jsonb_set(((x #- '{first}'::text[]) #- '{it''s}'::text[]), '{name}'::text[]"
            ),
            "{sql}"
        );
    }

    #[test]
    fn parse_errors() {
        let rule = |extra: serde_json::Value| {
            let mut r = json!({"type": "FIELD_MERGE", "sourceFields": ["a.x", "b.x"], "targetField": "t", "mergeStrategy": "object"});
            r.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse_rule(r).unwrap_err()
        };
        assert_eq!(rule(json!({})).path(), "$.r.sourceFields[1]");
        let e = rule(json!({"mergeStrategy": "join"}));
        assert_eq!(
            (e.code(), e.path()),
            ("UNKNOWN_OPTION", "$.r.mergeStrategy")
        );
        assert_eq!(rule(json!({"separator": ","})).path(), "$.r.separator");
        assert_eq!(rule(json!({"sourceFields": []})).path(), "$.r.sourceFields");
        assert_eq!(
            rule(json!({"sourceFields": ["a", ""]})).code(),
            "INVALID_FIELD_PATH"
        );
    }
}
