//! FIELD_DEPRECATED, DEPRECATED_FIELD_REMOVED_EARLY.
//!
//! A deprecation with a `removal_version` is a promise to readers: the field
//! stays until that version. Removing it while the new schema's `version` is
//! still lower breaks the promise. When the new schema has no version, or the
//! two versions cannot be compared (`beta` vs `2.0`), we cannot prove the
//! promise was kept, so it is flagged unless both strings are equal. The
//! removal itself is still reported as FIELD_REMOVED; this is the extra fact.

use super::{field_change, qualified};
use crate::schema::change::{Change, ChangeKind};
use crate::schema::version::compare_versions;
use serde_json::json;
use std::cmp::Ordering;

schema_rule! {
    Deprecation("deprecation")

    check_entity(ctx, e, out) {
        let version = ctx.new.version;
        for f in &e.removed_fields {
            let Some(removal) = f.removal_version().filter(|_| f.deprecated) else {
                continue;
            };
            if !removed_early(version, removal) {
                continue;
            }
            let desc = format!(
                "Deprecated field {} was removed from {} in version {} before its announced removal version {removal}",
                f.name,
                e.name(),
                version.unwrap_or("(unknown)")
            );
            let c = Change::new(
                ChangeKind::DeprecatedFieldRemovedEarly,
                e.name(),
                Some(f.name),
                desc,
            )
            .with_breaks(!f.is_optional(), false)
            .with_details(json!({"removal_version": removal, "schema_version": version}));
            out.push(c);
        }
    }

    check_field(_ctx, e, f, out) {
        if f.old.deprecated || !f.new.deprecated {
            return;
        }
        let mut desc = format!("Field {} was deprecated", qualified(e, f));
        if let Some(v) = f.new.removal_version() {
            desc.push_str(&format!(" (removal planned in {v})"));
        }
        if let Some(m) = f.new.deprecation_message() {
            desc.push_str(&format!(": {m}"));
        }
        let details = json!({
            "deprecation_message": f.new.deprecation_message(),
            "removal_version": f.new.removal_version(),
            "deprecated_at": f.new.deprecated_at(),
        });
        out.push(
            field_change(ChangeKind::FieldDeprecated, e, f, desc)
                .with_details(details),
        );
    }
}

fn removed_early(schema_version: Option<&str>, removal: &str) -> bool {
    match schema_version {
        None => true,
        Some(v) => match compare_versions(v, removal) {
            Some(ord) => ord == Ordering::Less,
            None => v.trim() != removal.trim(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::removed_early;
    use crate::schema::change::{ChangeKind, Severity};
    use serde_json::{json, Value};

    fn with_version(version: Option<&str>, fields: Value) -> Value {
        let mut v = entity_p(fields);
        if let Some(ver) = version {
            v["version"] = json!(ver);
        }
        v
    }

    #[test]
    fn deprecating_is_info() {
        let old = entity_p(json!({"a": {"type": "text"}}));
        let new = entity_p(
            json!({"a": {"type": "text", "deprecated": true, "removal_version": "2.0",
                                          "deprecation_message": "use b"}}),
        );
        let c = diff(old, new);
        assert_eq!(kinds(&c), [ChangeKind::FieldDeprecated]);
        assert_eq!(c[0].severity, Severity::Info);
        assert_eq!(
            c[0].description,
            "Field P.a was deprecated (removal planned in 2.0): use b"
        );
    }

    #[test]
    fn early_removal() {
        let dep = json!({"a": {"type": "text", "deprecated": true, "removal_version": "2.0"}, "b": {"type": "text"}});
        let gone = json!({"b": {"type": "text"}});
        let early = diff(
            with_version(Some("1.0"), dep.clone()),
            with_version(Some("1.5"), gone.clone()),
        );
        assert_eq!(
            kinds(&early),
            [
                ChangeKind::DeprecatedFieldRemovedEarly,
                ChangeKind::FieldRemoved
            ]
        );
        assert_eq!(early[0].severity, Severity::High);
        let on_time = diff(
            with_version(Some("1.0"), dep.clone()),
            with_version(Some("2.0.0"), gone.clone()),
        );
        assert_eq!(kinds(&on_time), [ChangeKind::FieldRemoved]);
        let unknown = diff(with_version(None, dep), with_version(None, gone));
        assert_eq!(
            kinds(&unknown),
            [
                ChangeKind::DeprecatedFieldRemovedEarly,
                ChangeKind::FieldRemoved
            ]
        );
    }

    #[test]
    fn version_rules() {
        assert!(removed_early(Some("1.9"), "1.10"));
        assert!(!removed_early(Some("1.10"), "1.10"));
        assert!(!removed_early(Some("next"), "next"));
        assert!(removed_early(Some("next"), "2.0"));
        assert!(removed_early(None, "2.0"));
    }
}
