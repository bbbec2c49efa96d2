//! FIELD_NULLABILITY_CHANGED.
//!
//! Nullable → not nullable: rows and writers with nulls are refused (HIGH,
//! breaks writers). Not nullable → nullable: old readers may now meet nulls
//! (LOW, breaks readers).

use super::{field_change, qualified};
use crate::schema::change::{ChangeKind, Severity};

schema_rule! {
    Nullability("nullability")

    check_field(_ctx, e, f, out) {
        let c = match (f.old.nullable, f.new.nullable) {
            (true, false) => {
                let desc = format!("Field {} is no longer nullable", qualified(e, f));
                field_change(ChangeKind::FieldNullabilityChanged, e, f, desc)
            }
            (false, true) => {
                let desc = format!("Field {} became nullable", qualified(e, f));
                field_change(ChangeKind::FieldNullabilityChanged, e, f, desc)
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
        assert_eq!(effect(&c[0]), (Severity::High, false, true));
        assert_eq!(c[0].description, "Field P.a is no longer nullable");
        let c = diff(required, nullable);
        assert_eq!(effect(&c[0]), (Severity::Low, true, false));
    }

    #[test]
    fn absent_means_nullable() {
        let explicit = entity_p(json!({"a": {"type": "text", "nullable": true}}));
        assert!(diff(entity_p(json!({"a": {"type": "text"}})), explicit).is_empty());
    }
}
