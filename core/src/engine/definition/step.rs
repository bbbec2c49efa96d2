//! One step of a migration: what it runs (`StepKind`) and how (condition, batch size,
//! timeout, error policy, transaction). Each kind states its own required payload, so
//! an incomplete step is rejected when the migration is registered, not halfway
//! through executing it.

use super::error::DefinitionError;
use super::function::{parse_args, FunctionArgs, FunctionName};
use super::read::{index_path, Obj};
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepType {
    Sql,
    Function,
    Transform,
    Validate,
}

impl StepType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sql => "SQL",
            Self::Function => "FUNCTION",
            Self::Transform => "TRANSFORM",
            Self::Validate => "VALIDATE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sql, Self::Function, Self::Transform, Self::Validate]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Sql {
        script: String,
    },
    Function {
        function: FunctionName,
        args: FunctionArgs,
    },
    Transform {
        pipeline: Map<String, Value>,
    },
    Validate {
        script: String,
    },
}

/// What the rest of the engine asks of a step's kind, answered here by exhaustive
/// matches: a new kind is a variant above, its parsing in `parse_kind`, its text in
/// `render.rs`, its execution in the shell's `steps/kinds.rs` — and the compiler points
/// at each answer below that it must give.
impl StepKind {
    /// The statement text PostgreSQL runs for the step as written: what the lock
    /// analysis parses, whose tables' lock holders are looked up, what a
    /// `"transaction": false` step hands to the top-level runner. A FUNCTION step runs
    /// code the analysis cannot see into; a TRANSFORM step is a pipeline; a VALIDATE
    /// step's query is a read, checked as an expression (`validation_query`).
    pub fn statement_text(&self) -> Option<&str> {
        match self {
            StepKind::Sql { script } => Some(script),
            StepKind::Function { .. } | StepKind::Transform { .. } | StepKind::Validate { .. } => {
                None
            }
        }
    }

    /// The pipeline of a data transformation: run in batches, replayed into a
    /// blue-green target, undone exactly by a rollback, estimated by the performance
    /// check.
    pub fn transform_pipeline(&self) -> Option<&Map<String, Value>> {
        match self {
            StepKind::Transform { pipeline } => Some(pipeline),
            StepKind::Sql { .. } | StepKind::Function { .. } | StepKind::Validate { .. } => None,
        }
    }

    /// The boolean query a VALIDATE step checks.
    pub fn validation_query(&self) -> Option<&str> {
        match self {
            StepKind::Validate { script } => Some(script),
            StepKind::Sql { .. } | StepKind::Function { .. } | StepKind::Transform { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub kind: StepKind,
    /// SQL boolean expression; the step is SKIPPED when it evaluates to false.
    pub condition: Option<String>,
    pub batch_size: Option<u32>,
    pub timeout_ms: Option<u32>,
    /// `None` means "use the migration's option".
    pub continue_on_error: Option<bool>,
    /// `false` for statements PostgreSQL refuses inside a transaction block
    /// (CREATE INDEX CONCURRENTLY, VACUUM, ...): the shell must run them alone.
    pub transaction: bool,
}

impl Step {
    pub fn step_type(&self) -> StepType {
        match self.kind {
            StepKind::Sql { .. } => StepType::Sql,
            StepKind::Function { .. } => StepType::Function,
            StepKind::Transform { .. } => StepType::Transform,
            StepKind::Validate { .. } => StepType::Validate,
        }
    }

    /// The step's own policy wins over the migration-wide default.
    pub fn continues_on_error(&self, migration_default: bool) -> bool {
        self.continue_on_error.unwrap_or(migration_default)
    }
}

fn parse_kind(o: &Obj<'_>, step_type: StepType) -> Result<StepKind, DefinitionError> {
    let script = |t: StepType| {
        o.opt_text("script")?.map(str::to_string).ok_or_else(|| {
            DefinitionError::StepMissingScript {
                path: o.at("script"),
                step_type: t.as_str(),
            }
        })
    };
    match step_type {
        StepType::Sql => Ok(StepKind::Sql {
            script: script(step_type)?,
        }),
        StepType::Validate => Ok(StepKind::Validate {
            script: script(step_type)?,
        }),
        StepType::Function => {
            let raw =
                o.opt_str("function")?
                    .ok_or_else(|| DefinitionError::StepMissingFunction {
                        path: o.at("function"),
                    })?;
            let function =
                FunctionName::parse(raw).ok_or_else(|| DefinitionError::InvalidFunctionName {
                    path: o.at("function"),
                    found: raw.to_string(),
                })?;
            Ok(StepKind::Function {
                function,
                args: parse_args(o)?,
            })
        }
        StepType::Transform => match (o.opt_object("pipeline")?, o.opt_object("config")?) {
            (Some(_), Some(_)) => Err(o.invalid(
                "config",
                "must not be given together with `pipeline`; keep one",
            )),
            (Some(p), None) | (None, Some(p)) => Ok(StepKind::Transform {
                pipeline: p.clone(),
            }),
            (None, None) => Err(DefinitionError::StepMissingPipeline {
                path: o.at("pipeline"),
            }),
        },
    }
}

/// The keys a step takes (each kind uses its own subset of the payload keys).
pub const STEP_KEYS: &[&str] = &[
    "name",
    "type",
    "description",
    "script",
    "function",
    "parameters",
    "pipeline",
    "config",
    "condition",
    "batchSize",
    "timeout",
    "continueOnError",
    "transaction",
];

pub(crate) fn parse_step(v: &Value, path: String) -> Result<Step, DefinitionError> {
    let o = Obj::new(v, path)?;
    o.only(STEP_KEYS)?;
    let name = o.req_name("name")?.to_string();
    let raw_type = o
        .opt_str("type")?
        .ok_or_else(|| DefinitionError::MissingField { path: o.at("type") })?;
    let step_type = StepType::parse(raw_type).ok_or_else(|| DefinitionError::UnknownStepType {
        path: o.at("type"),
        found: raw_type.to_string(),
    })?;
    let kind = parse_kind(&o, step_type)?;
    if step_type != StepType::Function && o.get("parameters").is_some() {
        parse_args(&o)?; // still type-checked so a typo'd shape is caught early
    }
    let transaction = o.opt_bool("transaction")?.unwrap_or(true);
    // outside a transaction the statements run one by one at the top level, as a client
    // sends them: that is a SQL script, not a function call, a check or a pipeline
    if !transaction && step_type != StepType::Sql {
        return Err(DefinitionError::InvalidValue {
            path: o.at("transaction"),
            reason: format!(
                "can be false for SQL steps only (this is a {} step): write the statements that must run outside a transaction as a SQL step",
                step_type.as_str()
            ),
        });
    }
    Ok(Step {
        name,
        kind,
        condition: o.opt_text("condition")?.map(str::to_string),
        batch_size: o.opt_positive("batchSize")?,
        timeout_ms: o.opt_positive("timeout")?,
        continue_on_error: o.opt_bool("continueOnError")?,
        transaction,
    })
}

/// Parses a list of steps at `path`, rejecting repeated step names.
pub(crate) fn parse_steps(items: &[Value], path: &str) -> Result<Vec<Step>, DefinitionError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut steps = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let step = parse_step(item, index_path(path, i))?;
        if let Some(first) = seen.insert(step.name.clone(), i) {
            return Err(DefinitionError::DuplicateStepName {
                path: format!("{}.name", index_path(path, i)),
                name: step.name,
                first: format!("{}.name", index_path(path, first)),
            });
        }
        steps.push(step);
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(v: Value) -> Result<Step, DefinitionError> {
        parse_step(&v, "$.forward[0]".into())
    }

    #[test]
    fn each_kind_requires_its_payload() {
        let cases = [
            (
                json!({"name": "a", "type": "SQL"}),
                "STEP_MISSING_SCRIPT",
                "$.forward[0].script",
            ),
            (
                json!({"name": "a", "type": "VALIDATE", "script": " "}),
                "INVALID_VALUE",
                "$.forward[0].script",
            ),
            (
                json!({"name": "a", "type": "FUNCTION"}),
                "STEP_MISSING_FUNCTION",
                "$.forward[0].function",
            ),
            (
                json!({"name": "a", "type": "TRANSFORM"}),
                "STEP_MISSING_PIPELINE",
                "$.forward[0].pipeline",
            ),
            (
                json!({"name": "a", "type": "SHELL"}),
                "UNKNOWN_STEP_TYPE",
                "$.forward[0].type",
            ),
            (
                json!({"type": "SQL", "script": "x"}),
                "MISSING_FIELD",
                "$.forward[0].name",
            ),
            (
                json!({"name": "a", "type": "SQL", "script": "x", "batchSize": 0}),
                "INVALID_VALUE",
                "$.forward[0].batchSize",
            ),
            (
                json!({"name": "a", "type": "SQL", "script": "x", "timeout": "5s"}),
                "INVALID_TYPE",
                "$.forward[0].timeout",
            ),
            (
                json!({"name": "a", "type": "FUNCTION", "function": "f", "parameters": 3}),
                "INVALID_TYPE",
                "$.forward[0].parameters",
            ),
        ];
        for (input, code, path) in cases {
            let e = step(input.clone()).unwrap_err();
            assert_eq!((e.code(), e.path()), (code, path), "{input}");
        }
    }

    #[test]
    fn defaults_and_options() {
        let s = step(
            json!({"name": "idx", "type": "SQL", "script": "CREATE INDEX CONCURRENTLY i ON t(a)",
            "transaction": false, "continueOnError": true, "timeout": 5000}),
        )
        .unwrap();
        assert!(!s.transaction && s.continues_on_error(false));
        assert_eq!(s.timeout_ms, Some(5000));
        let s = step(json!({"name": "t", "type": "TRANSFORM", "config": {"rules": []}})).unwrap();
        assert!(s.transaction && !s.continues_on_error(false) && s.continues_on_error(true));
        assert_eq!(s.step_type(), StepType::Transform);
        let e = step(json!({"name": "t", "type": "TRANSFORM", "config": {}, "pipeline": {}}))
            .unwrap_err();
        assert_eq!(e.code(), "INVALID_VALUE");
    }

    #[test]
    fn only_sql_steps_run_outside_a_transaction() {
        for other in [
            json!({"name": "f", "type": "FUNCTION", "function": "public.f", "transaction": false}),
            json!({"name": "v", "type": "VALIDATE", "script": "SELECT true", "transaction": false}),
            json!({"name": "t", "type": "TRANSFORM", "config": {"rules": []}, "transaction": false}),
        ] {
            let e = step(other.clone()).unwrap_err();
            assert_eq!(
                (e.code(), e.path()),
                ("INVALID_VALUE", "$.forward[0].transaction"),
                "{other}"
            );
        }
        assert!(step(json!({"name": "v", "type": "VACUUM", "script": "x"})).is_err());
        let s =
            step(json!({"name": "v", "type": "SQL", "script": "VACUUM t", "transaction": false}))
                .unwrap();
        assert!(!s.transaction);
    }

    #[test]
    fn duplicate_names_point_at_both() {
        let items = [
            json!({"name": "a", "type": "SQL", "script": "x"}),
            json!({"name": "a", "type": "SQL", "script": "y"}),
        ];
        let e = parse_steps(&items, "$.rollback").unwrap_err();
        assert_eq!(e.code(), "DUPLICATE_STEP_NAME");
        assert_eq!(e.path(), "$.rollback[1].name");
        assert!(e.to_string().contains("$.rollback[0].name"));
    }
}
