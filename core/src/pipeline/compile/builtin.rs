//! The built-in transformations of FIELD_TRANSFORM, each compiled to SQL over
//! the field's jsonb value. Two families:
//! - text functions (upper, lower, trim, replace, regex_replace, split) apply to
//!   JSON strings and leave every other value (numbers, null, objects) as it is;
//! - conversions (to_*) cast the value's text and keep JSON null as null. A value
//!   that does not convert (`"abc"` to_integer) raises the cast's error at run
//!   time, so the step's SKIP/RETRY/FAIL decides what happens to the batch.

use super::{CompileError, Context};
use crate::pipeline::error::PipelineError;
use crate::pipeline::keyword::keywords;
use crate::pipeline::read::Obj;
use serde_json::Value;

keywords! {
    /// Names accepted in `"transformation"`.
    pub enum BuiltinName {
        Upper = "upper",
        Lower = "lower",
        Trim = "trim",
        ToInteger = "to_integer",
        ToNumber = "to_number",
        ToText = "to_text",
        ToBoolean = "to_boolean",
        ToTimestamptz = "to_timestamptz",
        DefaultIfNull = "default_if_null",
        Replace = "replace",
        RegexReplace = "regex_replace",
        Split = "split",
    }
}

/// Keys that parameterise some built-in; each built-in rejects those it ignores.
pub(crate) const PARAM_KEYS: &[&str] = &["value", "pattern", "replacement", "flags", "separator"];

/// `regexp_replace` flags PostgreSQL understands; others fail only at run time.
const REGEX_FLAGS: &str = "bceimnpqstwxg";

#[derive(Debug, Clone, PartialEq)]
pub enum Builtin {
    /// A text function applied to JSON strings only.
    Text(TextFn),
    /// A cast of the value's text to `sql_type`; JSON null stays null.
    Cast { sql_type: &'static str },
    /// JSON `null` or a missing field becomes `value`.
    DefaultIfNull(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TextFn {
    Upper,
    Lower,
    Trim,
    Replace {
        pattern: String,
        replacement: String,
    },
    RegexReplace {
        pattern: String,
        replacement: String,
        flags: String,
    },
    Split {
        separator: String,
    },
}

impl Builtin {
    /// Reads the built-in named `name` and its parameters from the rule `o`.
    pub(crate) fn parse(name: BuiltinName, o: &Obj<'_>) -> Result<Self, PipelineError> {
        use BuiltinName as N;
        // Parameters each built-in takes, and how to report one missing.
        let (params, label, example): (&[&str], _, _) = match name {
            N::DefaultIfNull => (
                &["value"],
                "the default_if_null transformation",
                r#"{"type": "FIELD_TRANSFORM", "field": "status", "transformation": "default_if_null", "value": "active"}"#,
            ),
            N::Replace => (
                &["pattern", "replacement"],
                "the replace transformation",
                r#"{"type": "FIELD_TRANSFORM", "field": "phone", "transformation": "replace", "pattern": "-", "replacement": ""}"#,
            ),
            N::RegexReplace => (
                &["pattern", "replacement", "flags"],
                "the regex_replace transformation",
                r#"{"type": "FIELD_TRANSFORM", "field": "phone", "transformation": "regex_replace", "pattern": "[^0-9]", "replacement": "", "flags": "g"}"#,
            ),
            N::Split => (
                &["separator"],
                "the split transformation",
                r#"{"type": "FIELD_TRANSFORM", "field": "tags", "transformation": "split", "separator": ","}"#,
            ),
            _ => (&[], "", ""),
        };
        if let Some(extra) = PARAM_KEYS
            .iter()
            .find(|k| !params.contains(k) && o.get(k).is_some())
        {
            return Err(o.invalid(
                extra,
                format!("does not apply to the {name} transformation; remove it"),
            ));
        }
        let o = o.for_rule(label, example);
        Ok(match name {
            N::Upper => Self::Text(TextFn::Upper),
            N::Lower => Self::Text(TextFn::Lower),
            N::Trim => Self::Text(TextFn::Trim),
            N::ToInteger => Self::Cast { sql_type: "bigint" },
            N::ToNumber => Self::Cast {
                sql_type: "numeric",
            },
            N::ToText => Self::Cast { sql_type: "text" },
            N::ToBoolean => Self::Cast {
                sql_type: "boolean",
            },
            N::ToTimestamptz => Self::Cast {
                sql_type: "timestamptz",
            },
            N::DefaultIfNull => Self::DefaultIfNull(o.req("value")?.clone()),
            N::Replace => Self::Text(TextFn::Replace {
                pattern: non_empty(&o, "pattern")?,
                replacement: o.req_str("replacement")?.to_string(),
            }),
            N::RegexReplace => {
                let flags = o.opt_str("flags")?.unwrap_or("").to_string();
                if let Some(bad) = flags.chars().find(|c| !REGEX_FLAGS.contains(*c)) {
                    let reason = format!(
                        "has {bad:?}, which is not a regexp_replace flag; use letters from \
                         \"{REGEX_FLAGS}\" (\"g\" replaces every match)"
                    );
                    return Err(o.invalid("flags", reason));
                }
                Self::Text(TextFn::RegexReplace {
                    pattern: non_empty(&o, "pattern")?,
                    replacement: o.req_str("replacement")?.to_string(),
                    flags,
                })
            }
            N::Split => Self::Text(TextFn::Split {
                separator: non_empty(&o, "separator")?,
            }),
        })
    }

    /// Whether a missing field gets a value. Only `default_if_null` does: filling
    /// absent fields is its purpose; every other transformation leaves the item
    /// unchanged when the field is absent.
    pub fn applies_to_missing(&self) -> bool {
        matches!(self, Self::DefaultIfNull(_))
    }

    /// The new jsonb value, given `v`, the field's current jsonb value (a cheap
    /// expression; SQL NULL only when `applies_to_missing`).
    pub fn to_sql(&self, v: &str, cx: &Context) -> Result<String, CompileError> {
        let q = &cx.q;
        let text = format!("({v} #>> '{{}}')");
        Ok(match self {
            Self::DefaultIfNull(value) => {
                format!("coalesce(nullif({v}, 'null'::jsonb), {})", q.jsonb(value)?)
            }
            Self::Cast { sql_type } => format!(
                "CASE WHEN jsonb_typeof({v}) = 'null' THEN {v} ELSE to_jsonb(CAST({text} AS {sql_type})) END"
            ),
            Self::Text(f) => {
                let call = match f {
                    TextFn::Upper => format!("upper({text})"),
                    TextFn::Lower => format!("lower({text})"),
                    TextFn::Trim => format!("btrim({text})"),
                    TextFn::Replace { pattern, replacement } => {
                        format!("replace({text}, {}, {})", q.literal(pattern)?, q.literal(replacement)?)
                    }
                    TextFn::RegexReplace { pattern, replacement, flags } => {
                        let flags = match flags.as_str() {
                            "" => String::new(),
                            f => format!(", {}", q.literal(f)?),
                        };
                        let (p, r) = (q.literal(pattern)?, q.literal(replacement)?);
                        format!("regexp_replace({text}, {p}, {r}{flags})")
                    }
                    TextFn::Split { separator } => {
                        format!("string_to_array({text}, {})", q.literal(separator)?)
                    }
                };
                format!("CASE WHEN jsonb_typeof({v}) = 'string' THEN to_jsonb({call}) ELSE {v} END")
            }
        })
    }
}

fn non_empty(o: &Obj<'_>, key: &str) -> Result<String, PipelineError> {
    match o.req_str(key)? {
        "" => Err(o.invalid(key, "must not be empty")),
        s => Ok(s.to_string()),
    }
}
