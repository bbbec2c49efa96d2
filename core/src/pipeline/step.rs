//! One step of a pipeline: its kind, what it does, when it applies and what
//! happens when it fails. Parsed from `$.steps[i]`.

use super::compile::MappingRule;
use super::error::PipelineError;
use super::jsonpath::JsonPath;
use super::keyword::keywords;
use super::names::QualifiedName;
use super::read::Obj;
use super::relational::{Aggregate, Join};
use serde_json::Value;

/// Retries of a RETRY step when `retries` is not given (as the reference engine).
pub const DEFAULT_RETRIES: u32 = 3;
/// Retrying more often than this only hides a deterministic failure.
const MAX_RETRIES: i64 = 100;

keywords! {
    /// The `type` of a step.
    pub enum StepKind {
        Map = "MAP",
        Filter = "FILTER",
        Aggregate = "AGGREGATE",
        Join = "JOIN",
        Custom = "CUSTOM",
    }
}

keywords! {
    /// What happens when a step fails on a batch. See `plan::OnError`.
    pub enum ErrorHandling {
        Skip = "SKIP",
        Retry = "RETRY",
        Fail = "FAIL",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub action: StepAction,
    /// The step applies only to items matching it; others pass through unchanged.
    pub condition: Option<JsonPath>,
    pub error_handling: ErrorHandling,
    /// Attempts after the first failure; 0 unless `error_handling` is RETRY.
    pub retries: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepAction {
    /// Mapping rules applied in order.
    Map(Vec<MappingRule>),
    /// Later steps see only matching items; the others are left unchanged.
    Filter(JsonPath),
    Aggregate(Aggregate),
    Join(Join),
    /// A user function `jsonb -> jsonb`, called once per item.
    Custom(QualifiedName),
}

impl Step {
    pub fn kind(&self) -> StepKind {
        match self.action {
            StepAction::Map(_) => StepKind::Map,
            StepAction::Filter(_) => StepKind::Filter,
            StepAction::Aggregate(_) => StepKind::Aggregate,
            StepAction::Join(_) => StepKind::Join,
            StepAction::Custom(_) => StepKind::Custom,
        }
    }
}

pub(crate) fn parse_step(v: &Value, path: String) -> Result<Step, PipelineError> {
    let o = Obj::new(v, path)?;
    o.only(&[
        "name",
        "description",
        "type",
        "config",
        "condition",
        "errorHandling",
        "retries",
    ])?;
    let name = o.req_name("name")?.to_string();
    let found = o.req_text("type")?;
    let kind = StepKind::from_name(found).ok_or_else(|| PipelineError::UnknownStepType {
        path: o.at("type"),
        found: found.into(),
    })?;
    let config = Obj::new(o.req("config")?, o.at("config"))?;
    let action = match kind {
        StepKind::Map => {
            config.only(&["mappingRules"])?;
            let rules = config.req_array("mappingRules")?;
            let base = config.at("mappingRules");
            StepAction::Map(
                rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| MappingRule::parse(r, format!("{base}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        StepKind::Filter => {
            config.only(&["condition"])?;
            StepAction::Filter(config.req_jsonpath("condition")?)
        }
        StepKind::Custom => {
            config.only(&["function"])?;
            StepAction::Custom(config.req_qualified("function")?)
        }
        StepKind::Aggregate => StepAction::Aggregate(Aggregate::parse(&config)?),
        StepKind::Join => StepAction::Join(Join::parse(&config)?),
    };
    let error_handling = match o.opt_str("errorHandling")? {
        None => ErrorHandling::Fail,
        Some(s) => {
            ErrorHandling::from_name(s).ok_or_else(|| PipelineError::UnknownErrorHandling {
                path: o.at("errorHandling"),
                found: s.into(),
            })?
        }
    };
    let retries = match (error_handling, o.get("retries")) {
        (ErrorHandling::Retry, None) => DEFAULT_RETRIES,
        (ErrorHandling::Retry, Some(v)) => match v.as_i64() {
            Some(n) if (1..=MAX_RETRIES).contains(&n) => n as u32,
            _ => {
                return Err(o.invalid(
                    "retries",
                    format!("is {v}; give a whole number from 1 to {MAX_RETRIES}"),
                ))
            }
        },
        (_, None) => 0,
        (_, Some(_)) => {
            return Err(o.invalid(
                "retries",
                "only applies with \"errorHandling\": \"RETRY\"; remove it or set RETRY",
            ))
        }
    };
    Ok(Step {
        name,
        action,
        condition: o.opt_jsonpath("condition")?,
        error_handling,
        retries,
    })
}
