//! Every way a pipeline definition can be rejected. Each variant carries the JSON
//! path of the offending value (`$.steps[1].config.mappingRules[0].field`) and its
//! message says what to do; `code()` is stable and meant for machines.

use super::compile::builtin::BuiltinName;
use super::compile::RuleType;
use super::definition::{ErrorHandling, StepKind};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineError {
    /// A required key is absent (or JSON `null`).
    MissingField {
        path: String,
    },
    /// A mapping rule (or a built-in transformation) lacks one of its keys; the
    /// message shows a complete example of that rule.
    RuleMissingKey {
        path: String,
        rule: &'static str,
        example: &'static str,
    },
    InvalidType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    /// The value has the right type but is not acceptable.
    InvalidValue {
        path: String,
        reason: String,
    },
    /// A key the pipeline format does not know: most often a typo, and a typo in
    /// `condition` would silently apply a step to every entity.
    UnknownKey {
        path: String,
        allowed: String,
    },
    UnknownStepType {
        path: String,
        found: String,
    },
    UnknownRuleType {
        path: String,
        found: String,
    },
    UnknownTransformation {
        path: String,
        found: String,
    },
    UnknownErrorHandling {
        path: String,
        found: String,
    },
    /// Any other closed set: merge strategy, onMissing, aggregate function.
    UnknownOption {
        path: String,
        found: String,
        allowed: String,
    },
    /// Function and table names must be `name` or `schema.name` with plain identifiers.
    InvalidIdentifier {
        path: String,
        found: String,
    },
    InvalidFieldPath {
        path: String,
        found: String,
        reason: &'static str,
    },
    InvalidJsonPath {
        path: String,
        found: String,
        reason: &'static str,
    },
    EmptySteps {
        path: String,
    },
    InvalidBatchSize {
        path: String,
        found: String,
    },
    /// Step names key the progress and error logs; duplicates would make them ambiguous.
    DuplicateStepName {
        path: String,
        name: String,
        first: String,
    },
}

impl PipelineError {
    /// Stable machine-readable code; never renamed once released.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingField { .. } => "MISSING_FIELD",
            Self::RuleMissingKey { .. } => "RULE_MISSING_KEY",
            Self::InvalidType { .. } => "INVALID_TYPE",
            Self::InvalidValue { .. } => "INVALID_VALUE",
            Self::UnknownKey { .. } => "UNKNOWN_KEY",
            Self::UnknownStepType { .. } => "UNKNOWN_STEP_TYPE",
            Self::UnknownRuleType { .. } => "UNKNOWN_RULE_TYPE",
            Self::UnknownTransformation { .. } => "UNKNOWN_TRANSFORMATION",
            Self::UnknownErrorHandling { .. } => "UNKNOWN_ERROR_HANDLING",
            Self::UnknownOption { .. } => "UNKNOWN_OPTION",
            Self::InvalidIdentifier { .. } => "INVALID_IDENTIFIER",
            Self::InvalidFieldPath { .. } => "INVALID_FIELD_PATH",
            Self::InvalidJsonPath { .. } => "INVALID_JSONPATH",
            Self::EmptySteps { .. } => "EMPTY_STEPS",
            Self::InvalidBatchSize { .. } => "INVALID_BATCH_SIZE",
            Self::DuplicateStepName { .. } => "DUPLICATE_STEP_NAME",
        }
    }

    /// JSON path of the offending value.
    pub fn path(&self) -> &str {
        match self {
            Self::MissingField { path }
            | Self::RuleMissingKey { path, .. }
            | Self::InvalidType { path, .. }
            | Self::InvalidValue { path, .. }
            | Self::UnknownKey { path, .. }
            | Self::UnknownStepType { path, .. }
            | Self::UnknownRuleType { path, .. }
            | Self::UnknownTransformation { path, .. }
            | Self::UnknownErrorHandling { path, .. }
            | Self::UnknownOption { path, .. }
            | Self::InvalidIdentifier { path, .. }
            | Self::InvalidFieldPath { path, .. }
            | Self::InvalidJsonPath { path, .. }
            | Self::EmptySteps { path }
            | Self::InvalidBatchSize { path, .. }
            | Self::DuplicateStepName { path, .. } => path,
        }
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingField { path } => {
                write!(f, "{path} is required but missing; add it to the pipeline")
            }
            Self::RuleMissingKey { path, rule, example } => {
                write!(f, "{path} is required for {rule}; for example {example}")
            }
            Self::InvalidType {
                path,
                expected,
                found,
            } => write!(f, "{path} must be {expected}, found {found}"),
            Self::InvalidValue { path, reason } => write!(f, "{path} {reason}"),
            Self::UnknownKey { path, allowed } => write!(
                f,
                "{path} is not a known key here; check its spelling (known keys: {allowed})"
            ),
            Self::UnknownStepType { path, found } => {
                unknown(f, path, found, "a step type", &StepKind::names())
            }
            Self::UnknownRuleType { path, found } => {
                unknown(f, path, found, "a mapping rule type", &RuleType::names())
            }
            Self::UnknownTransformation { path, found } => unknown(
                f,
                path,
                found,
                "a built-in transformation (or give `expression` instead)",
                &BuiltinName::names(),
            ),
            Self::UnknownErrorHandling { path, found } => {
                unknown(f, path, found, "an error handling mode", &ErrorHandling::names())
            }
            Self::UnknownOption {
                path,
                found,
                allowed,
            } => unknown(f, path, found, "an accepted value", allowed),
            Self::InvalidIdentifier { path, found } => write!(
                f,
                "{path} is {found:?}, which is not `name` or `schema.name` with plain \
                 identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes); rename the object \
                 or wrap it in a view or function with a plain name"
            ),
            Self::InvalidFieldPath {
                path,
                found,
                reason,
            } => write!(f, "{path} is {found:?}, which is not a field path: {reason}"),
            Self::InvalidJsonPath {
                path,
                found,
                reason,
            } => write!(f, "{path} is {found:?}, which is not a usable SQL/JSON path: {reason}"),
            Self::EmptySteps { path } => write!(
                f,
                "{path} has no steps; a pipeline needs at least one step"
            ),
            Self::InvalidBatchSize { path, found } => write!(
                f,
                "{path} is {found}; batchSize must be a positive integer up to 2147483647 (e.g. 1000)"
            ),
            Self::DuplicateStepName { path, name, first } => write!(
                f,
                "{path} repeats step name {name:?} already used at {first}; step names must be unique"
            ),
        }
    }
}

fn unknown(
    f: &mut fmt::Formatter<'_>,
    path: &str,
    found: &str,
    what: &str,
    allowed: &str,
) -> fmt::Result {
    write!(f, "{path} is {found:?}, which is not {what}; use {allowed}")
}

impl std::error::Error for PipelineError {}
