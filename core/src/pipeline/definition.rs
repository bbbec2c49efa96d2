//! The pipeline definition as typed values, parsed from its JSON form
//! (camelCase, as users write it). Parsing rejects everything the compiler
//! could not turn into safe SQL, with the JSON path of the offending value.

use super::error::PipelineError;
use super::jsonpath::JsonPath;
use super::read::Obj;
use super::step::parse_step;
use serde_json::Value;

pub use super::step::{ErrorHandling, Step, StepAction, StepKind, DEFAULT_RETRIES};

/// The reference engine processes 1000 items per batch; small enough to keep
/// row locks and WAL per transaction modest.
pub const DEFAULT_BATCH_SIZE: u32 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub name: String,
    pub source: Source,
    pub steps: Vec<Step>,
    pub batch_size: u32,
    /// Whether batches may run concurrently; the shell decides how.
    pub parallel: bool,
    pub validation: Validation,
}

/// Which entities the pipeline reads: current versions of `entity_type`,
/// optionally narrowed by `filter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub entity_type: String,
    pub filter: Option<JsonPath>,
}

/// Conditions every item must meet before the first step and after the last.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Validation {
    pub input: Option<JsonPath>,
    pub output: Option<JsonPath>,
}

/// Parses a pipeline definition.
pub fn parse_pipeline(v: &Value) -> Result<Pipeline, PipelineError> {
    let o = Obj::new(v, "$")?;
    o.only(&[
        "name",
        "description",
        "source",
        "steps",
        "batchSize",
        "parallel",
        "validation",
    ])?;
    let name = o.req_name("name")?.to_string();
    let source = Obj::new(o.req("source")?, o.at("source"))?;
    source.only(&["entityType", "filter"])?;
    let steps = match o.req("steps")? {
        Value::Array(a) if a.is_empty() => {
            return Err(PipelineError::EmptySteps {
                path: o.at("steps"),
            })
        }
        Value::Array(a) => a,
        v => return Err(o.wrong("steps", "an array", v)),
    };
    let steps = steps
        .iter()
        .enumerate()
        .map(|(i, s)| parse_step(s, format!("{}[{i}]", o.at("steps"))))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, s) in steps.iter().enumerate() {
        if let Some(j) = steps[..i].iter().position(|t| t.name == s.name) {
            return Err(PipelineError::DuplicateStepName {
                path: format!("$.steps[{i}].name"),
                name: s.name.clone(),
                first: format!("$.steps[{j}].name"),
            });
        }
    }
    let validation = match o.get("validation") {
        None => Validation::default(),
        Some(v) => {
            let val = Obj::new(v, o.at("validation"))?;
            val.only(&["input", "output"])?;
            Validation {
                input: val.opt_jsonpath("input")?,
                output: val.opt_jsonpath("output")?,
            }
        }
    };
    Ok(Pipeline {
        name,
        source: Source {
            entity_type: source.req_name("entityType")?.to_string(),
            filter: source.opt_jsonpath("filter")?,
        },
        steps,
        batch_size: batch_size(&o)?,
        parallel: o.opt_bool("parallel")?.unwrap_or(false),
        validation,
    })
}

fn batch_size(o: &Obj<'_>) -> Result<u32, PipelineError> {
    match o.get("batchSize") {
        None => Ok(DEFAULT_BATCH_SIZE),
        Some(v) => match v.as_i64() {
            // Batch sizes end up in LIMIT clauses and Postgres `integer` settings.
            Some(n) if n >= 1 && n <= i64::from(i32::MAX) => Ok(n as u32),
            _ => Err(PipelineError::InvalidBatchSize {
                path: o.at("batchSize"),
                found: v.to_string(),
            }),
        },
    }
}
