//! Data transformation pipelines: parsed from JSON, compiled to SQL expressions
//! over an entity's jsonb `content`, and cut into segments the shell runs set-
//! based, one statement per batch where possible.
//!
//! ```text
//! parse_pipeline(&json)        -> Pipeline          typed, validated definition
//! compile_pipeline(&p, item)   -> CompiledPipeline  SQL per step over `item`
//! plan(&p)                     -> PipelinePlan      segments and error policies
//! compile_segment(&p, r, item) -> String            fused jsonb expression of a segment
//! statement_hash(&sql)         -> String            SHA-256 hex kept with a compiled statement
//! ```
//!
//! Nothing here touches a database. Identifiers and literals are quoted by
//! [`Quoter`]; the only raw SQL spliced is a FIELD_TRANSFORM `expression`,
//! which is trusted (admin-written) by design.

pub mod compile;
pub mod definition;
pub mod error;
pub mod jsonpath;
mod keyword;
pub mod names;
pub mod plan;
pub mod quote;
mod read;
pub mod relational;
mod statement_hash;
mod step;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use compile::{
    compile_pipeline, compile_segment, CompileError, CompileRule, CompiledPipeline, CompiledStep,
    Context, MappingRule, RuleType, ITEM_PLACEHOLDER,
};
pub use definition::{parse_pipeline, ErrorHandling, Pipeline, Step, StepAction, StepKind};
pub use error::PipelineError;
pub use plan::{plan, OnError, PipelinePlan, Segment, SegmentKind};
pub use quote::Quoter;
pub use statement_hash::statement_hash;
