//! FIELD_NULLABILITY_CHANGED.
//!
//! Nullable → not nullable: rows and writers with nulls are refused (HIGH,
//! breaks writers). Not nullable → nullable: old readers may now meet nulls
//! (LOW, breaks readers).

use super::{qualified, Rule};
use crate::schema::change::{Change, ChangeKind, Severity};
use crate::schema::diff::{DiffContext, EntityPair, FieldPair};

pub struct Nullability;

impl Rule for Nullability {
    fn name(&self) -> &'static str {
        "nullability"
    }

    fn check_field(
        &self,
        _ctx: &DiffContext<'_>,
        e: &EntityPair<'_>,
        f: &FieldPair<'_>,
        out: &mut Vec<Change>,
    ) {
        let c = match (f.old.nullable, f.new.nullable) {
            (true, false) => {
                let desc = format!("Field {} is no longer nullable", qualified(e, f));
                Change::new(
                    ChangeKind::FieldNullabilityChanged,
                    e.name(),
                    Some(f.name()),
                    desc,
                )
            }
            (false, true) => {
                let desc = format!("Field {} became nullable", qualified(e, f));
                Change::new(
                    ChangeKind::FieldNullabilityChanged,
                    e.name(),
                    Some(f.name()),
                    desc,
                )
                .with_severity(Severity::Low)
                .with_breaks(true, false)
            }
            _ => return,
        };
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::schema::change::{ChangeKind, Severity};
    use serde_json::json;

    #[test]
    fn both_directions() {
        let nullable = entity_p(json!({"a": {"type": "text"}}));
        let required = entity_p(json!({"a": {"type": "text", "nullable": false}}));
        let c = diff(nullable.clone(), required.clone());
        assert_eq!(kinds(&c), [ChangeKind::FieldNullabilityChanged]);
        assert_eq!(
            (c[0].severity, c[0].breaks_readers, c[0].breaks_writers),
            (Severity::High, false, true)
        );
        assert_eq!(c[0].description, "Field P.a is no longer nullable");
        let c = diff(required, nullable);
        assert_eq!(
            (c[0].severity, c[0].breaks_readers, c[0].breaks_writers),
            (Severity::Low, true, false)
        );
    }

    #[test]
    fn absent_means_nullable() {
        let explicit = entity_p(json!({"a": {"type": "text", "nullable": true}}));
        assert!(diff(entity_p(json!({"a": {"type": "text"}})), explicit).is_empty());
    }
}
