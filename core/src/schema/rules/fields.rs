//! FIELD_REMOVED, FIELD_ADDED, REQUIRED_FIELD_ADDED.

use crate::schema::change::{Change, ChangeKind};
use serde_json::json;

schema_rule! {
    Fields("fields")

    check_entity(_ctx, e, out) {
        let entity = e.name();
        for f in &e.removed_fields {
            let desc = format!("Field {} was removed from {entity}", f.name);
            // Old readers tolerate a missing optional field (they see null or
            // their default); only a required one makes them fail.
            let mut c = Change::new(ChangeKind::FieldRemoved, entity, Some(f.name), desc)
                .with_breaks(!f.is_optional(), false);
            c.old_type = Some(f.type_name.to_owned());
            if f.deprecated {
                c = c.with_details(
                    json!({"deprecated": true, "removal_version": f.removal_version()}),
                );
            }
            out.push(c);
        }
        for f in &e.added_fields {
            let mut c = if f.is_optional() {
                let desc = format!("Optional field {} was added to {entity}", f.name);
                Change::new(ChangeKind::FieldAdded, entity, Some(f.name), desc)
            } else {
                let desc = format!(
                    "Required field {} (not nullable, no default) was added to {entity}",
                    f.name
                );
                Change::new(ChangeKind::RequiredFieldAdded, entity, Some(f.name), desc)
            };
            c.new_type = Some(f.type_name.to_owned());
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::schema::change::{ChangeKind, Severity};
    use serde_json::json;

    #[test]
    fn removed_field_is_high() {
        let c = diff(
            entity_p(json!({"a": {"type": "text"}, "b": {"type": "text"}})),
            entity_p(json!({"a": {"type": "text"}})),
        );
        assert_eq!(kinds(&c), [ChangeKind::FieldRemoved]);
        assert_eq!(c[0].description, "Field b was removed from P");
        assert_eq!(c[0].severity, Severity::High);
        assert!(!c[0].breaks_readers, "b was nullable");
        let c = diff(
            entity_p(json!({"b": {"type": "text", "nullable": false}})),
            entity_p(json!({})),
        );
        assert!(c[0].breaks_readers && !c[0].breaks_writers);
    }

    #[test]
    fn added_fields_optional_or_required() {
        let new = entity_p(json!({
            "opt": {"type": "text"},
            "with_default": {"type": "text", "nullable": false, "default": "x"},
            "req": {"type": "text", "nullable": false}
        }));
        let c = diff(entity_p(json!({})), new);
        assert_eq!(
            kinds(&c),
            [
                ChangeKind::FieldAdded,
                ChangeKind::RequiredFieldAdded,
                ChangeKind::FieldAdded
            ]
        );
        assert_eq!(
            c.iter()
                .map(|c| c.field.as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["opt", "req", "with_default"]
        );
        assert_eq!(c[1].severity, Severity::High);
        assert!(c[1].breaks_writers && !c[1].breaks_readers);
        assert_eq!(c[0].severity, Severity::Info);
    }
}
