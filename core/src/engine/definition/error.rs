//! Every way a migration definition can be rejected. Each variant carries the JSON
//! path of the offending value (`$.forward[2].type`) so that a user editing a large
//! definition can go straight to it; `code()` is stable and meant for machines.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionError {
    /// A required key is absent (or JSON `null`).
    MissingField {
        path: String,
    },
    /// The value has the wrong JSON type.
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
    UnknownMigrationType {
        path: String,
        found: String,
    },
    UnknownStepType {
        path: String,
        found: String,
    },
    /// SQL and VALIDATE steps run their `script`; without one they would do nothing.
    StepMissingScript {
        path: String,
        step_type: &'static str,
    },
    StepMissingFunction {
        path: String,
    },
    StepMissingPipeline {
        path: String,
    },
    InvalidFunctionName {
        path: String,
        found: String,
    },
    EmptyForward {
        path: String,
    },
    /// Step names key the execution log; two equal names would make it ambiguous.
    DuplicateStepName {
        path: String,
        name: String,
        first: String,
    },
    DuplicateRuleName {
        path: String,
        name: String,
        first: String,
    },
    SelfDependency {
        path: String,
        name: String,
    },
    /// A key the object does not take; a typo ignored would change what runs
    /// (`depends_on` for `dependsOn` let a migration run before its dependency).
    UnknownKey {
        path: String,
        message: String,
    },
}

impl DefinitionError {
    /// Stable machine-readable code; never renamed once released.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingField { .. } => "MISSING_FIELD",
            Self::InvalidType { .. } => "INVALID_TYPE",
            Self::InvalidValue { .. } => "INVALID_VALUE",
            Self::UnknownMigrationType { .. } => "UNKNOWN_MIGRATION_TYPE",
            Self::UnknownStepType { .. } => "UNKNOWN_STEP_TYPE",
            Self::StepMissingScript { .. } => "STEP_MISSING_SCRIPT",
            Self::StepMissingFunction { .. } => "STEP_MISSING_FUNCTION",
            Self::StepMissingPipeline { .. } => "STEP_MISSING_PIPELINE",
            Self::InvalidFunctionName { .. } => "INVALID_FUNCTION_NAME",
            Self::EmptyForward { .. } => "EMPTY_FORWARD",
            Self::DuplicateStepName { .. } => "DUPLICATE_STEP_NAME",
            Self::DuplicateRuleName { .. } => "DUPLICATE_RULE_NAME",
            Self::SelfDependency { .. } => "SELF_DEPENDENCY",
            Self::UnknownKey { .. } => "UNKNOWN_KEY",
        }
    }

    /// JSON path of the offending value.
    pub fn path(&self) -> &str {
        match self {
            Self::MissingField { path }
            | Self::InvalidType { path, .. }
            | Self::InvalidValue { path, .. }
            | Self::UnknownMigrationType { path, .. }
            | Self::UnknownStepType { path, .. }
            | Self::StepMissingScript { path, .. }
            | Self::StepMissingFunction { path }
            | Self::StepMissingPipeline { path }
            | Self::InvalidFunctionName { path, .. }
            | Self::EmptyForward { path }
            | Self::DuplicateStepName { path, .. }
            | Self::DuplicateRuleName { path, .. }
            | Self::SelfDependency { path, .. }
            | Self::UnknownKey { path, .. } => path,
        }
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingField { path } => {
                write!(f, "{path} is required but missing; add it to the definition")
            }
            Self::InvalidType {
                path,
                expected,
                found,
            } => write!(f, "{path} must be {expected}, found {found}"),
            Self::InvalidValue { path, reason } => write!(f, "{path} {reason}"),
            Self::UnknownMigrationType { path, found } => write!(
                f,
                "{path} is {found:?}, which is not a migration type; use SCHEMA, DATA or HYBRID"
            ),
            Self::UnknownStepType { path, found } => write!(
                f,
                "{path} is {found:?}, which is not a step type; use SQL, FUNCTION, TRANSFORM or VALIDATE"
            ),
            Self::StepMissingScript { path, step_type } => write!(
                f,
                "{path} is required for a {step_type} step; give the SQL it should run"
            ),
            Self::StepMissingFunction { path } => write!(
                f,
                "{path} is required for a FUNCTION step; give the function name, e.g. \"public.backfill\""
            ),
            Self::StepMissingPipeline { path } => write!(
                f,
                "{path} is required for a TRANSFORM step; give a `pipeline` (or `config`) object"
            ),
            Self::InvalidFunctionName { path, found } => write!(
                f,
                "{path} is {found:?}, which is not a function name; use `name` or `schema.name` \
                 with plain identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes)"
            ),
            Self::EmptyForward { path } => write!(
                f,
                "{path} has no steps; a migration needs at least one forward step"
            ),
            Self::DuplicateStepName { path, name, first } => write!(
                f,
                "{path} repeats step name {name:?} already used at {first}; step names must be unique within a list"
            ),
            Self::DuplicateRuleName { path, name, first } => write!(
                f,
                "{path} repeats validation rule name {name:?} already used at {first}; rename one"
            ),
            Self::SelfDependency { path, name } => write!(
                f,
                "{path}: migration {name:?} depends on itself; remove it from dependsOn"
            ),
            Self::UnknownKey { path, message } => write!(
                f,
                "{path}: {message}; put annotations under metadata"
            ),
        }
    }
}

impl std::error::Error for DefinitionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_path_and_remedy() {
        let e = DefinitionError::UnknownStepType {
            path: "$.forward[2].type".into(),
            found: "SHELL".into(),
        };
        let s = e.to_string();
        assert!(s.contains("$.forward[2].type") && s.contains("SHELL") && s.contains("SQL"));
        assert_eq!(e.code(), "UNKNOWN_STEP_TYPE");
        assert_eq!(e.path(), "$.forward[2].type");
    }
}
