//! FIELD_TYPE_CHANGED.
//!
//! Severity follows the seed: MEDIUM when `is_type_compatible(old, new)`, else
//! HIGH. The flags follow compatibility in each direction: if old → new is
//! lossless, old data still fits (writers safe); if new → old is lossless too,
//! old readers can take new data. `int4` → `integer` is no change at all.

use super::{field_change, qualified};
use crate::schema::change::{ChangeKind, Severity};
use crate::schema::types::{compatible, parse_type};

schema_rule! {
    Types("types")

    check_field(_ctx, e, f, out) {
        let (old, new) = (f.old.type_name, f.new.type_name);
        if old == new {
            return;
        }
        let (widening, narrowing) = match (parse_type(old), parse_type(new)) {
            (Some(o), Some(n)) if o == n => return,
            (Some(o), Some(n)) => (compatible(&o, &n), compatible(&n, &o)),
            // Unknown names that differ only in case/spacing are the same type.
            _ if old.trim().eq_ignore_ascii_case(new.trim()) => return,
            _ => (false, false),
        };
        let severity = if widening {
            Severity::Medium
        } else {
            Severity::High
        };
        let desc = format!(
            "Field {} changed type from {old} to {new}{}",
            qualified(e, f),
            if widening { " (lossless widening)" } else { "" }
        );
        let change = field_change(ChangeKind::FieldTypeChanged, e, f, desc)
            .with_types(old, new)
            .with_severity(severity)
            .with_breaks(!narrowing, !widening);
        out.push(change);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::schema::change::Severity;
    use serde_json::json;

    fn type_change(old: &str, new: &str) -> Vec<crate::schema::change::Change> {
        diff(
            entity_p(json!({"a": {"type": old}})),
            entity_p(json!({"a": {"type": new}})),
        )
    }

    #[test]
    fn widening_is_medium_and_only_breaks_old_readers() {
        let c = type_change("integer", "bigint");
        assert_eq!(c.len(), 1);
        assert_eq!(effect(&c[0]), (Severity::Medium, true, false));
        assert_eq!(
            (c[0].old_type.as_deref(), c[0].new_type.as_deref()),
            (Some("integer"), Some("bigint"))
        );
        assert_eq!(
            c[0].description,
            "Field P.a changed type from integer to bigint (lossless widening)"
        );
    }

    #[test]
    fn narrowing_and_unrelated_are_high() {
        let c = type_change("bigint", "integer");
        assert_eq!(effect(&c[0]), (Severity::High, false, true));
        let c = type_change("text", "integer");
        assert_eq!(effect(&c[0]), (Severity::High, true, true));
        assert_eq!(type_change("widget", "gadget")[0].severity, Severity::High);
    }

    #[test]
    fn aliases_are_not_changes() {
        assert!(type_change("int4", "INTEGER").is_empty());
        assert!(type_change("varchar(10)", "character varying (10)").is_empty());
        assert!(type_change("Widget", "widget").is_empty());
    }
}
