//! Steps and whole pipelines compiled to SQL over an item expression.
//!
//! Compile functions take the item expression (`t.content`) as an argument
//! instead of returning text with a placeholder to substitute: user text ends up
//! inside literals, and a textual replace could reach into them. For display
//! (dry runs) compile with [`ITEM_PLACEHOLDER`].

use super::{bind, compose_rules, CompileError, Context};
use crate::pipeline::definition::{ErrorHandling, Pipeline, Step, StepAction, StepKind};
use serde::Serialize;
use std::ops::Range;

/// Item expression to compile with for display; it is not valid SQL, so
/// displayed SQL cannot be run by mistake.
pub const ITEM_PLACEHOLDER: &str = "$ITEM";

/// One step's SQL, each expression over the item expression given to
/// [`compile_pipeline`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompiledStep {
    pub name: String,
    pub kind: StepKind,
    /// MAP, CUSTOM: the new item (jsonb). For CUSTOM, SQL NULL means "leave this
    /// item unchanged", like a row trigger returning NULL.
    pub apply_sql: Option<String>,
    /// FILTER: boolean, never NULL; false drops the item from later steps.
    pub filter_sql: Option<String>,
    /// The step's `condition`: boolean, never NULL; false passes the item through.
    pub condition_sql: Option<String>,
    pub error_handling: ErrorHandling,
    pub retries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompiledPipeline {
    pub name: String,
    pub entity_type: String,
    pub batch_size: u32,
    /// Boolean over the item: which entities of `entity_type` the pipeline reads.
    pub source_filter_sql: Option<String>,
    /// Boolean every item must satisfy before the first step.
    pub input_check_sql: Option<String>,
    /// Boolean every written item must satisfy after the last step.
    pub output_check_sql: Option<String>,
    pub steps: Vec<CompiledStep>,
}

/// Compiles every step and condition of `p` over `item` (a jsonb expression
/// such as `t.content`).
pub fn compile_pipeline(p: &Pipeline, item: &str) -> Result<CompiledPipeline, CompileError> {
    let cx = Context::new();
    let check = |c: &Option<crate::pipeline::jsonpath::JsonPath>| {
        c.as_ref().map(|c| c.to_sql(item, &cx.q)).transpose()
    };
    Ok(CompiledPipeline {
        name: p.name.clone(),
        entity_type: p.source.entity_type.clone(),
        batch_size: p.batch_size,
        source_filter_sql: check(&p.source.filter)?,
        input_check_sql: check(&p.validation.input)?,
        output_check_sql: check(&p.validation.output)?,
        steps: p
            .steps
            .iter()
            .map(|s| compile_step(s, item, &cx))
            .collect::<Result<_, _>>()?,
    })
}

fn compile_step(step: &Step, item: &str, cx: &Context) -> Result<CompiledStep, CompileError> {
    let mut compiled = CompiledStep {
        name: step.name.clone(),
        kind: step.kind(),
        apply_sql: apply(step, item, cx)?,
        filter_sql: None,
        condition_sql: step
            .condition
            .as_ref()
            .map(|c| c.to_sql(item, &cx.q))
            .transpose()?,
        error_handling: step.error_handling,
        retries: step.retries,
    };
    if let StepAction::Filter(c) = &step.action {
        compiled.filter_sql = Some(c.to_sql(item, &cx.q)?);
    }
    Ok(compiled)
}

/// The new item for MAP and CUSTOM steps; `None` for the others.
fn apply(step: &Step, item: &str, cx: &Context) -> Result<Option<String>, CompileError> {
    Ok(match &step.action {
        StepAction::Map(rules) => {
            // The MAP step's input is also the `original` that conditions read.
            let a = cx.alias();
            let v = format!("{a}.v");
            Some(bind(&compose_rules(rules, &v, &v, cx)?, item, &a))
        }
        StepAction::Custom(f) => {
            let q = &cx.q;
            let name = match &f.schema {
                Some(s) => format!("{}.{}", q.ident(s)?, q.ident(&f.name)?),
                None => q.ident(&f.name)?,
            };
            Some(format!("{name}({item})"))
        }
        StepAction::Filter(_) | StepAction::Aggregate(_) | StepAction::Join(_) => None,
    })
}

/// The steps `steps` of `p` fused into one jsonb expression over `item`: the
/// item after those steps, or SQL NULL when a FILTER dropped it (or a CUSTOM
/// function returned NULL). Only MAP, FILTER and CUSTOM steps can be fused; use
/// the ranges of `plan::plan`'s set-based segments.
///
/// Each step binds its input once, so a NULL dropped early stays NULL: every
/// step maps NULL to NULL, and a later step never runs on a dropped item (it
/// might raise an error on data the FILTER was meant to exclude).
pub fn compile_segment(
    p: &Pipeline,
    steps: Range<usize>,
    item: &str,
) -> Result<String, CompileError> {
    let Some(selected) = p.steps.get(steps.clone()) else {
        return Err(CompileError::NoSuchSteps {
            steps,
            count: p.steps.len(),
        });
    };
    let cx = Context::new();
    let mut expr = item.to_string();
    for step in selected {
        let a = cx.alias();
        let v = format!("{a}.v");
        let when = step
            .condition
            .as_ref()
            .map(|c| c.to_sql(&v, &cx.q))
            .transpose()?;
        let body = match (&step.action, when) {
            (StepAction::Filter(f), None) => {
                format!("CASE WHEN {} THEN {v} END", f.to_sql(&v, &cx.q)?)
            }
            (StepAction::Filter(f), Some(w)) => {
                format!("CASE WHEN NOT {w} OR {} THEN {v} END", f.to_sql(&v, &cx.q)?)
            }
            (StepAction::Aggregate(_) | StepAction::Join(_), _) => {
                return Err(CompileError::NotSetBased {
                    step: step.name.clone(),
                    kind: step.kind(),
                })
            }
            (_, when) => {
                let new = apply(step, &v, &cx)?.unwrap_or_else(|| v.clone());
                match when {
                    None => format!("CASE WHEN {v} IS NULL THEN NULL ELSE {new} END"),
                    Some(w) => {
                        format!("CASE WHEN {v} IS NULL THEN NULL WHEN {w} THEN {new} ELSE {v} END")
                    }
                }
            }
        };
        expr = bind(&body, &expr, &a);
    }
    Ok(expr)
}
