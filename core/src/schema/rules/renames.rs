//! ENTITY_RENAMED, FIELD_RENAMED.
//!
//! Declared with `renamed_from` and paired in `diff.rs`, so the pair is not
//! also reported as removed + added. An entity rename breaks both sides until
//! data and clients move to the new name. A field rename breaks what a missing
//! key breaks: old readers when the old field was required (new data lacks the
//! old key), new readers when the new field is required (old data lacks the new
//! key), the same predicate FIELD_REMOVED and REQUIRED_FIELD_ADDED use.

use super::field_change;
use crate::schema::change::{Change, ChangeKind};
use serde_json::json;

schema_rule! {
    Renames("renames")

    check_entity(_ctx, e, out) {
        if e.is_rename() {
            let desc = format!("Entity {} was renamed to {}", e.old.name, e.new.name);
            out.push(
                Change::new(ChangeKind::EntityRenamed, e.name(), None, desc)
                    .with_details(json!({"old_name": e.old.name})),
            );
        }
    }

    check_field(_ctx, e, f, out) {
        if f.is_rename() {
            let desc = format!(
                "Field {} of {} was renamed to {}",
                f.old.name,
                e.name(),
                f.new.name
            );
            let c = field_change(ChangeKind::FieldRenamed, e, f, desc)
                .with_breaks(!f.old.is_optional(), !f.new.is_optional())
                .with_details(json!({"old_name": f.old.name}));
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
    fn field_rename_is_not_remove_plus_add() {
        let old = entity_p(json!({"name": {"type": "varchar(10)"}}));
        let new = entity_p(json!({"full_name": {"type": "text", "renamed_from": "name"}}));
        let c = diff(old, new);
        assert_eq!(
            kinds(&c),
            [ChangeKind::FieldRenamed, ChangeKind::FieldTypeChanged]
        );
        assert_eq!(c[0].description, "Field name of P was renamed to full_name");
        assert_eq!(
            (c[0].severity, c[0].field.as_deref()),
            (Severity::Medium, Some("full_name"))
        );
        assert_eq!(
            c[1].severity,
            Severity::Medium,
            "other rules still compare the renamed pair"
        );
    }

    #[test]
    fn entity_rename_carries_field_changes() {
        let old = json!({"entities": {"People": {"fields": {"a": {"type": "text"}}}}});
        let new = json!({"entities": {"Person": {"renamed_from": "People", "fields": {"b": {"type": "text"}}}}});
        let c = diff(old, new);
        assert_eq!(
            kinds(&c),
            [
                ChangeKind::EntityRenamed,
                ChangeKind::FieldRemoved,
                ChangeKind::FieldAdded
            ]
        );
        assert!(c.iter().all(|c| c.entity == "Person"));
        assert_eq!(c[0].description, "Entity People was renamed to Person");
    }

    #[test]
    fn stale_renamed_from_is_ignored() {
        let s = json!({"entities": {"Person": {"renamed_from": "People", "fields": {}}}});
        assert!(diff(s.clone(), s).is_empty());
    }
}
