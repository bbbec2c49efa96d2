//! Why compiling a parsed pipeline can still fail. Parsing already rejects
//! these inputs, so reaching one means a value was built by hand or a check was
//! lost: the compiler reports it instead of emitting unsafe SQL.

use crate::pipeline::definition::StepKind;
use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// Only plain identifiers are quoted; anything else is refused.
    InvalidIdentifier { found: String },
    /// PostgreSQL text and jsonb cannot hold NUL characters.
    NulCharacter { text: String },
    /// AGGREGATE and JOIN read other entities; they cannot be part of a
    /// per-item expression (see `plan`).
    NotSetBased { step: String, kind: StepKind },
    /// A segment range outside the pipeline's steps.
    NoSuchSteps { steps: Range<usize>, count: usize },
}

impl CompileError {
    /// Stable machine-readable code; never renamed once released.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidIdentifier { .. } => "INVALID_IDENTIFIER",
            Self::NulCharacter { .. } => "NUL_CHARACTER",
            Self::NotSetBased { .. } => "NOT_SET_BASED",
            Self::NoSuchSteps { .. } => "NO_SUCH_STEPS",
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidIdentifier { found } => write!(
                f,
                "{found:?} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes); \
                 use a plain name for the table or function"
            ),
            Self::NulCharacter { text } => write!(
                f,
                "text starting {text:?} contains a NUL character, which PostgreSQL cannot store; remove it"
            ),
            Self::NotSetBased { step, kind } => write!(
                f,
                "step {step:?} is a {kind} step and cannot be compiled into a per-item expression; \
                 run it as its own segment (see the pipeline plan)"
            ),
            Self::NoSuchSteps { steps, count } => write!(
                f,
                "steps {steps:?} do not exist in a pipeline of {count} steps; use the ranges of its plan"
            ),
        }
    }
}

impl std::error::Error for CompileError {}
