//! FIELD_DEFAULT_CHANGED.
//!
//! A new default only affects future writes: LOW, nothing breaks. Removing the
//! default of a not-nullable field is MEDIUM and breaks writers: producers
//! that omitted the field, relying on the default, are now refused. Adding a
//! default to a not-nullable field breaks nobody: the store applies defaults
//! when writing, so stored content holds the value and old readers find it.

use super::{field_change, qualified};
use crate::schema::change::{ChangeKind, Severity};
use crate::schema::types::same_value;
use serde_json::{json, Value};

schema_rule! {
    Defaults("defaults")

    check_field(_ctx, e, f, out) {
        let (old, new) = (f.old.default, f.new.default);
        let same = match (old, new) {
            (Some(a), Some(b)) => same_value(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        if same {
            return;
        }
        let show = |v: Option<&Value>| v.map_or_else(|| "no default".to_owned(), Value::to_string);
        let desc = format!(
            "Default of {} changed from {} to {}",
            qualified(e, f),
            show(old),
            show(new)
        );
        let mut c = field_change(ChangeKind::FieldDefaultChanged, e, f, desc)
            .with_details(json!({"old_default": old, "new_default": new}));
        if new.is_none() && !f.new.nullable {
            c = c.with_severity(Severity::Medium).with_breaks(false, true);
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::schema::change::{ChangeKind, Severity};
    use serde_json::json;

    #[test]
    fn changed_default_is_low() {
        let c = diff(
            entity_p(json!({"a": {"type": "text", "default": "x"}})),
            entity_p(json!({"a": {"type": "text", "default": "y"}})),
        );
        assert_eq!(kinds(&c), [ChangeKind::FieldDefaultChanged]);
        assert_eq!(
            c[0].description,
            "Default of P.a changed from \"x\" to \"y\""
        );
        assert_eq!(effect(&c[0]), (Severity::Low, false, false));
    }

    #[test]
    fn dropping_the_default_of_a_required_field_breaks_writers() {
        let c = diff(
            entity_p(json!({"a": {"type": "integer", "nullable": false, "default": 1}})),
            entity_p(json!({"a": {"type": "integer", "nullable": false}})),
        );
        assert_eq!(
            (c[0].severity, c[0].breaks_writers),
            (Severity::Medium, true)
        );
        assert!(diff(
            entity_p(json!({"a": {"type": "integer", "default": 1}})),
            entity_p(json!({"a": {"type": "integer", "default": 1.0}}))
        )
        .is_empty());
    }
}
