//! Compatibility modes, in the sense of Confluent's schema registry, defined on
//! the two flags every [`Change`] carries.
//!
//! | Mode | Guarantee | Refuses a change when |
//! |---|---|---|
//! | `NONE` | nothing | never |
//! | `BACKWARD` | readers on the new schema can read data written with the previous one | `breaks_writers` |
//! | `FORWARD` | readers still on the previous schema can read data written with the new one | `breaks_readers` |
//! | `FULL` | both | either flag |
//! | `*_TRANSITIVE` | the same, against every earlier version, not only the latest | same predicate |
//!
//! So BACKWARD allows removing a field or adding an optional one, and refuses
//! adding a required field, narrowing a type, removing an enum value or making
//! a field not nullable. FORWARD allows adding a required field (old readers
//! ignore it) and refuses removing a required field, widening a type, adding an
//! enum value or making a field nullable. Severity plays no part: it measures
//! operational risk, which is a separate question from who can read what.

use super::change::Change;
use super::diff::diff_docs;
use super::model::{parse_schema, SchemaError};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompatibilityMode {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityMode {
    pub const ALL: [CompatibilityMode; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Does this mode protect new readers reading old data?
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    /// Does this mode protect old readers reading new data?
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    /// Must the new schema be checked against every earlier version?
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    /// Is this change refused under this mode?
    pub fn is_violated_by(self, change: &Change) -> bool {
        (self.checks_backward() && change.breaks_writers)
            || (self.checks_forward() && change.breaks_readers)
    }
}

impl fmt::Display for CompatibilityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown compatibility mode name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModeError(pub String);

impl fmt::Display for UnknownModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = CompatibilityMode::ALL.iter().map(|m| m.as_str()).collect();
        write!(
            f,
            "unknown compatibility mode {:?}; expected one of {}",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownModeError {}

impl FromStr for CompatibilityMode {
    type Err = UnknownModeError;

    /// Case-insensitive; `-` and spaces count as `_` (`full-transitive`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace(['-', ' '], "_");
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| UnknownModeError(s.to_owned()))
    }
}

/// The changes that `mode` refuses.
pub fn violations(mode: CompatibilityMode, changes: &[Change]) -> Vec<&Change> {
    changes.iter().filter(|c| mode.is_violated_by(c)).collect()
}

/// `(backward, forward)`: which guarantees hold for this set of changes.
pub fn compatible_with(changes: &[Change]) -> (bool, bool) {
    (
        !changes.iter().any(|c| c.breaks_writers),
        !changes.iter().any(|c| c.breaks_readers),
    )
}

/// A violation found by [`check_against_history`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryViolation {
    /// Index in the `history` slice of the version the change is relative to.
    pub against: usize,
    pub change: Change,
}

/// Check `new` against earlier versions (`history`, oldest first): the latest
/// only, or all of them for transitive modes. Returns every refused change.
pub fn check_against_history(
    mode: CompatibilityMode,
    new: &Value,
    history: &[&Value],
) -> Result<Vec<HistoryViolation>, SchemaError> {
    let new_doc = parse_schema(new)?;
    let first = if mode.is_transitive() {
        0
    } else {
        history.len().saturating_sub(1)
    };
    let mut out = Vec::new();
    for (i, old) in history.iter().enumerate().skip(first) {
        let old_doc = parse_schema(old).map_err(|mut e| {
            e.message = format!("{} (in history version #{i})", e.message);
            e
        })?;
        let changes = diff_docs(&old_doc, &new_doc);
        out.extend(
            changes
                .into_iter()
                .filter(|c| mode.is_violated_by(c))
                .map(|change| HistoryViolation { against: i, change }),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::change::ChangeKind;
    use crate::schema::diff::detect_breaking_changes;
    use serde_json::json;
    use CompatibilityMode::*;

    fn p(fields: Value) -> Value {
        json!({"entities": {"P": {"fields": fields}}})
    }

    #[test]
    fn parse_and_display() {
        for m in CompatibilityMode::ALL {
            assert_eq!(
                m.to_string().to_lowercase().parse::<CompatibilityMode>(),
                Ok(m)
            );
        }
        assert_eq!("full-transitive".parse(), Ok(FullTransitive));
        assert!("sideways"
            .parse::<CompatibilityMode>()
            .unwrap_err()
            .to_string()
            .contains("BACKWARD_TRANSITIVE"));
    }

    #[test]
    fn modes_pick_the_right_flag() {
        let old = p(json!({"a": {"type": "integer"}, "gone": {"type": "text"}}));
        let new = p(json!({"a": {"type": "bigint"}, "req": {"type": "text", "nullable": false}}));
        let changes = detect_breaking_changes(&old, &new).unwrap();
        let kinds = |m| {
            violations(m, &changes)
                .iter()
                .map(|c| c.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(None), []);
        assert_eq!(kinds(Backward), [ChangeKind::RequiredFieldAdded]);
        assert_eq!(kinds(Forward), [ChangeKind::FieldTypeChanged]);
        assert_eq!(
            kinds(Full),
            [ChangeKind::FieldTypeChanged, ChangeKind::RequiredFieldAdded]
        );
        assert_eq!(compatible_with(&changes), (false, false));
        assert_eq!(compatible_with(&changes[..1]), (true, false));
        assert_eq!(compatible_with(&[]), (true, true));
    }

    #[test]
    fn transitive_checks_every_version() {
        let v1 = p(json!({"a": {"type": "text", "enum": ["x", "y"]}}));
        let v2 = p(json!({"a": {"type": "text"}}));
        let v3 = p(json!({"a": {"type": "text", "enum": ["x", "y"]}}));
        // Against v2 only, v3 adds an enum constraint (backward violation);
        // against v1, v3 is identical.
        let latest = check_against_history(Backward, &v3, &[&v1, &v2]).unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(
            (latest[0].against, latest[0].change.kind),
            (1, ChangeKind::EnumConstraintAdded)
        );
        let all = check_against_history(BackwardTransitive, &v3, &[&v1, &v2]).unwrap();
        assert_eq!(all.len(), 1);
        let v1_tighter = p(json!({"a": {"type": "text", "enum": ["x"]}}));
        let all = check_against_history(ForwardTransitive, &v3, &[&v1_tighter, &v2]).unwrap();
        assert_eq!(all.iter().map(|v| v.against).collect::<Vec<_>>(), [0]);
        assert!(check_against_history(Full, &v3, &[]).unwrap().is_empty());
    }
}
