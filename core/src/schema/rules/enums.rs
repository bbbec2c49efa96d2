//! ENUM_VALUE_REMOVED, ENUM_VALUE_ADDED, ENUM_CONSTRAINT_ADDED, ENUM_CONSTRAINT_REMOVED.
//!
//! One change per value, so a reviewer sees exactly which values moved.
//! A removed value breaks writers (old rows holding it, old producers sending
//! it are refused); old readers only ever see a subset, so they are fine. An
//! added value is the mirror image: old readers may meet a value they do not
//! know.

use super::{field_change, qualified};
use crate::schema::change::ChangeKind;
use crate::schema::types::same_value;
use serde_json::{json, Value};

schema_rule! {
    Enums("enums")

    check_field(_ctx, e, f, out) {
        let at = qualified(e, f);
        let change = |kind, desc: String, details| {
            field_change(kind, e, f, desc).with_details(details)
        };
        match (f.old.enum_values(), f.new.enum_values()) {
            (Some(old), Some(new)) => {
                for v in only_in(old, new) {
                    let desc = format!("Enum value {v} was removed from {at}");
                    out.push(change(
                        ChangeKind::EnumValueRemoved,
                        desc,
                        json!({"value": v}),
                    ));
                }
                for v in only_in(new, old) {
                    let desc = format!("Enum value {v} was added to {at}");
                    out.push(change(
                        ChangeKind::EnumValueAdded,
                        desc,
                        json!({"value": v}),
                    ));
                }
            }
            (None, Some(new)) => {
                let desc = format!(
                    "Field {at} is now restricted to an enum of {} values",
                    new.len()
                );
                out.push(change(
                    ChangeKind::EnumConstraintAdded,
                    desc,
                    json!({"values": new}),
                ));
            }
            (Some(old), None) => {
                let desc = format!("Field {at} is no longer restricted to an enum");
                out.push(change(
                    ChangeKind::EnumConstraintRemoved,
                    desc,
                    json!({"values": old}),
                ));
            }
            (None, None) => {}
        }
    }
}

/// Values of `a` (first occurrence only, in order) missing from `b`.
fn only_in<'v>(a: &'v [Value], b: &'v [Value]) -> impl Iterator<Item = &'v Value> {
    a.iter().enumerate().filter_map(move |(i, v)| {
        let first = !a[..i].iter().any(|w| same_value(v, w));
        (first && !b.iter().any(|w| same_value(v, w))).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::schema::change::{ChangeKind, Severity};
    use serde_json::json;

    fn enum_change(
        old: serde_json::Value,
        new: serde_json::Value,
    ) -> Vec<crate::schema::change::Change> {
        diff(
            entity_p(json!({"s": {"type": "text", "enum": old}})),
            entity_p(json!({"s": {"type": "text", "enum": new}})),
        )
    }

    #[test]
    fn values_removed_and_added() {
        let c = enum_change(json!(["a", "b", "b"]), json!(["a", "c"]));
        assert_eq!(
            kinds(&c),
            [ChangeKind::EnumValueAdded, ChangeKind::EnumValueRemoved]
        );
        assert_eq!(c[1].description, "Enum value \"b\" was removed from P.s");
        assert_eq!(effect(&c[1]), (Severity::High, false, true));
        assert_eq!(effect(&c[0]), (Severity::Low, true, false));
        assert_eq!(c[0].details, Some(json!({"value": "c"})));
        assert!(enum_change(json!([1, 2]), json!([2.0, 1])).is_empty());
    }

    #[test]
    fn constraint_added_and_removed() {
        let free = entity_p(json!({"s": {"type": "text"}}));
        let bound = entity_p(json!({"s": {"type": "text", "enum": ["a"]}}));
        let c = diff(free.clone(), bound.clone());
        assert_eq!(
            (c[0].kind, c[0].severity),
            (ChangeKind::EnumConstraintAdded, Severity::High)
        );
        let c = diff(bound, free);
        assert_eq!(
            (c[0].kind, c[0].severity),
            (ChangeKind::EnumConstraintRemoved, Severity::Low)
        );
    }
}
