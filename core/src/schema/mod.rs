//! Schema documents and their evolution: the model, breaking-change rules,
//! compatibility modes, the document transforms behind `add_field` /
//! `deprecate_field`, and content validation. Values in, values out.
//!
//! | Module | What |
//! |---|---|
//! | [`model`] | parse and validate a schema document (borrowing, no copies) |
//! | [`types`] | type-name normalisation, lossless type changes, value checks |
//! | [`change`] | [`Change`], [`ChangeKind`] (declared once), [`Severity`] |
//! | [`diff`] | [`detect_breaking_changes`]: pairing (incl. renames) + rules; [`detect_breaking_changes_binary`] on binary jsonb |
//! | [`rules`] | one module per rule family, registered in [`rules::RULES`] |
//! | [`compat`] | BACKWARD / FORWARD / FULL (+ transitive) on the change flags |
//! | [`evolve`] | `add_field`, `deprecate_field`, `next_version` |
//! | [`validate`] | content against an entity definition |
//! | [`version`] | numeric-aware version comparison |

pub mod change;
pub mod compat;
#[cfg(test)]
mod compat_matrix;
pub mod conformance;
pub mod data_compat;
pub mod diff;
pub mod evolve;
pub mod model;
pub mod rules;
pub mod types;
pub mod validate;
pub mod version;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod scale_tests;

pub use change::{Change, ChangeKind, Severity};
pub use compat::{check_against_history, compatible_with, violations, CompatibilityMode};
pub use diff::{
    detect_breaking_changes, detect_breaking_changes_binary, detect_breaking_changes_json,
};
pub use evolve::{add_field, deprecate_field, next_version, EvolveError, EvolveErrorCode};
pub use model::{is_plain_identifier, parse_schema, SchemaDoc, SchemaError};
pub use types::{is_type_compatible, normalize_type, value_fits_type, COMPATIBILITY_TABLE_DOC};
pub use validate::{validate_content, Violation, ViolationKind};
