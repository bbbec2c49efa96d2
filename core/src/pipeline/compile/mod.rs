//! Compilation of pipeline steps to SQL expressions over a jsonb item.
//!
//! Mapping rules live one per file, each implementing [`ParseRule`] (read it
//! from JSON) and [`CompileRule`] (turn it into SQL), declared once in
//! [`mapping_rules!`] below. Adding a rule = adding a file + one line there.
//!
//! Every rule compiles to a jsonb expression and never turns a non-NULL item into
//! SQL NULL: `jsonb_set` is strict, so a NULL value would silently erase the
//! whole entity's content. Rules that may lack a value guard for it.

pub mod builtin;
mod conditional;
mod error;
pub(crate) mod expression;
mod lookup;
mod merge;
pub(crate) mod path;
mod rename;
mod step;
mod transform;

pub use error::CompileError;
pub use step::{
    compile_pipeline, compile_segment, CompiledPipeline, CompiledStep, ITEM_PLACEHOLDER,
};

use super::error::PipelineError;
use super::keyword::keywords;
use super::quote::Quoter;
use super::read::Obj;
use serde_json::Value;
use std::cell::Cell;

/// Reads one kind of mapping rule from its JSON object.
pub(crate) trait ParseRule: Sized {
    /// Keys the rule accepts besides `type`; anything else is rejected.
    const KEYS: &'static [&'static str];
    /// A complete, valid rule of this kind, shown when a key is missing.
    const EXAMPLE: &'static str;
    fn parse(o: &Obj<'_>) -> Result<Self, PipelineError>;
}

/// Turns one mapping rule into a jsonb SQL expression.
///
/// `input` is the item as left by the previous rule, `original` the item as it
/// was before the MAP step began. Both are cheap, side-effect-free expressions
/// (column references of a binding, see [`bind`]), so a rule may repeat them.
pub trait CompileRule {
    fn compile(&self, input: &str, original: &str, cx: &Context) -> Result<String, CompileError>;
}

/// What a compilation needs besides the rule: the quoting policy and a supply
/// of fresh table aliases for bindings.
#[derive(Debug, Default)]
pub struct Context {
    pub q: Quoter,
    next_alias: Cell<u32>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// `_pl1`, `_pl2`, ...: unique within one compilation, so nested bindings
    /// never shadow each other. The leading underscore keeps clear of the short
    /// aliases (`t`, `e`) a shell query typically uses.
    pub fn alias(&self) -> String {
        let n = self.next_alias.get() + 1;
        self.next_alias.set(n);
        format!("_pl{n}")
    }
}

/// `body` evaluated with `alias.v` bound to `value`, evaluated once.
///
/// Rules mention their input several times; substituting the previous rule's
/// whole expression for each mention would grow the SQL exponentially with the
/// number of rules. A scalar subquery binds it once instead, and `OFFSET 0`
/// stops the planner from pulling the subquery up, which would copy the
/// expression back into every mention.
pub(crate) fn bind(body: &str, value: &str, alias: &str) -> String {
    format!("(SELECT {body} FROM (SELECT {value} AS v OFFSET 0) AS {alias})")
}

/// Rules applied in order, rule i wrapping rule i-1. `input` must be cheap.
pub(crate) fn compose_rules(
    rules: &[MappingRule],
    input: &str,
    original: &str,
    cx: &Context,
) -> Result<String, CompileError> {
    let mut expr: Option<String> = None;
    for rule in rules {
        expr = Some(match expr {
            None => rule.compile(input, original, cx)?,
            Some(previous) => {
                let alias = cx.alias();
                let body = rule.compile(&format!("{alias}.v"), original, cx)?;
                bind(&body, &previous, &alias)
            }
        });
    }
    Ok(expr.unwrap_or_else(|| input.to_string()))
}

/// Declares the mapping rules once: the keyword users write, the variant and
/// the type implementing it. Generates [`RuleType`], [`MappingRule`], parsing
/// by `type` and compile dispatch.
macro_rules! mapping_rules {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $code:literal, )+) => {
        keywords! {
            /// The `type` of a mapping rule.
            pub enum RuleType {
                $( $(#[$doc])* $variant = $code, )+
            }
        }

        /// One parsed mapping rule of a MAP step.
        #[derive(Debug, Clone, PartialEq)]
        pub enum MappingRule {
            $( $(#[$doc])* $variant($ty), )+
        }

        impl MappingRule {
            pub fn rule_type(&self) -> RuleType {
                match self {
                    $( Self::$variant(_) => RuleType::$variant, )+
                }
            }

            pub(crate) fn parse(v: &Value, path: String) -> Result<Self, PipelineError> {
                let o = Obj::new(v, path)?;
                let found = o.req_text("type")?;
                match RuleType::from_name(found) {
                    $( Some(RuleType::$variant) => {
                        let o = o.for_rule(concat!("a ", $code, " rule"), <$ty as ParseRule>::EXAMPLE);
                        o.only(&[&["type"], <$ty as ParseRule>::KEYS].concat())?;
                        <$ty as ParseRule>::parse(&o).map(Self::$variant)
                    } )+
                    None => Err(PipelineError::UnknownRuleType {
                        path: o.at("type"),
                        found: found.to_string(),
                    }),
                }
            }
        }

        impl CompileRule for MappingRule {
            fn compile(&self, input: &str, original: &str, cx: &Context) -> Result<String, CompileError> {
                match self {
                    $( Self::$variant(rule) => rule.compile(input, original, cx), )+
                }
            }
        }
    };
}

mapping_rules! {
    /// Moves a value to another key; a missing source leaves the item unchanged.
    FieldRename(rename::Rename) = "FIELD_RENAME",
    /// Rewrites one field with a built-in transformation or a trusted SQL expression.
    FieldTransform(transform::Transform) = "FIELD_TRANSFORM",
    /// Combines several fields into one.
    FieldMerge(merge::Merge) = "FIELD_MERGE",
    /// Applies nested rules when a condition holds on the item before the MAP step.
    ConditionalTransform(conditional::Conditional) = "CONDITIONAL_TRANSFORM",
    /// Replaces a key by the value found for it in a map or a table.
    LookupTransform(lookup::Lookup) = "LOOKUP_TRANSFORM",
}

/// Parses `v` as the rule at `path`, for rule tests.
#[cfg(test)]
pub(crate) fn parse_rule(v: Value) -> Result<MappingRule, PipelineError> {
    MappingRule::parse(&v, "$.r".into())
}

/// Compiles one rule over `x` (input) and `o` (original), for rule tests.
#[cfg(test)]
pub(crate) fn sql_of(v: Value) -> String {
    parse_rule(v)
        .unwrap()
        .compile("x", "o", &Context::new())
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_chain_through_bindings() {
        let rules: Vec<MappingRule> = [
            json!({"type": "FIELD_RENAME", "source": "a", "target": "b"}),
            json!({"type": "FIELD_RENAME", "source": "b", "target": "c"}),
        ]
        .into_iter()
        .map(|v| parse_rule(v).unwrap())
        .collect();
        let sql = compose_rules(&rules, "x", "o", &Context::new()).unwrap();
        let first = rules[0].compile("x", "o", &Context::new()).unwrap();
        assert!(sql.starts_with("(SELECT CASE WHEN (_pl1.v #> '{b}'::text[]) IS NULL"));
        assert!(sql.ends_with(&format!("FROM (SELECT {first} AS v OFFSET 0) AS _pl1)")));
    }

    #[test]
    fn unknown_rule_type_and_keys_are_reported_with_paths() {
        let e = parse_rule(json!({"type": "FIELD_DELETE"})).unwrap_err();
        assert_eq!((e.code(), e.path()), ("UNKNOWN_RULE_TYPE", "$.r.type"));
        assert!(e.to_string().contains("FIELD_RENAME"));
        let e =
            parse_rule(json!({"type": "FIELD_RENAME", "source": "a", "taget": "b"})).unwrap_err();
        assert_eq!((e.code(), e.path()), ("UNKNOWN_KEY", "$.r.taget"));
        let e = parse_rule(json!({"type": "FIELD_RENAME", "source": "a"})).unwrap_err();
        assert_eq!((e.code(), e.path()), ("RULE_MISSING_KEY", "$.r.target"));
        assert!(e.to_string().contains("\"target\": \"name\""), "{e}");
    }
}
