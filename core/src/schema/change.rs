//! What the diff reports: one `Change` per difference between two schemas.
//!
//! Two flags say who is hurt, and `compat` builds the compatibility modes on them:
//! - `breaks_writers`: data valid under the OLD schema (already stored, or still
//!   written by producers on the old schema) may be invalid for the NEW schema.
//!   New-schema readers may fail on old data: a BACKWARD violation.
//! - `breaks_readers`: data valid under the NEW schema may be unreadable for
//!   consumers still on the OLD schema: a FORWARD violation.
//!
//! Severity is the operational risk (data loss, failed writes) and is a separate
//! axis: removing an optional field is HIGH (its values are lost) although no
//! reader or writer fails on it.

use crate::jsonb::Out;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// How risky a change is. Ordered `Info < Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }
}

/// Declares every change kind once: code, default severity, default
/// `(breaks_readers, breaks_writers)` and documentation. Rules may override the
/// defaults for a particular change (e.g. a compatible type change is MEDIUM).
macro_rules! change_kinds {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $code:literal, $sev:ident, readers: $r:literal, writers: $w:literal; )+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ChangeKind { $( $(#[doc = $doc])+ $variant, )+ }

        impl ChangeKind {
            pub const ALL: &'static [ChangeKind] = &[$(ChangeKind::$variant),+];

            /// Stable code, the `type` key of the JSON output.
            pub fn code(self) -> &'static str {
                match self { $(ChangeKind::$variant => $code,)+ }
            }
            pub fn default_severity(self) -> Severity {
                match self { $(ChangeKind::$variant => Severity::$sev,)+ }
            }
            /// Default `(breaks_readers, breaks_writers)`.
            pub fn default_breaks(self) -> (bool, bool) {
                match self { $(ChangeKind::$variant => ($r, $w),)+ }
            }
            pub fn doc(self) -> &'static str {
                match self { $(ChangeKind::$variant => concat!($($doc, "\n"),+),)+ }
            }
            pub fn from_code(code: &str) -> Option<ChangeKind> {
                ChangeKind::ALL.iter().copied().find(|k| k.code() == code)
            }
        }
    };
}

change_kinds! {
    /// An entity type disappeared: its stored entities have no schema, so readers on the
    /// new schema cannot read old data. Data written with the new schema holds no such
    /// entity, so old readers are not hurt (as removing a branch of a union in Avro).
    EntityRemoved = "ENTITY_REMOVED", High, readers: false, writers: true;
    /// A new entity type: existing data is unaffected, but readers still on the previous
    /// schema meet entities of a type they do not know (as adding a branch to a union).
    EntityAdded = "ENTITY_ADDED", Info, readers: true, writers: false;
    /// Entity declared with `renamed_from`: both sides must use the new name (or an alias).
    EntityRenamed = "ENTITY_RENAMED", Medium, readers: true, writers: true;
    /// A field disappeared. Its values are lost; old readers fail if they required it
    /// (the rule clears `breaks_readers` when the old field was optional).
    FieldRemoved = "FIELD_REMOVED", High, readers: true, writers: false;
    /// An optional field (nullable or with a default) was added: old data stays valid.
    FieldAdded = "FIELD_ADDED", Info, readers: false, writers: false;
    /// A not-nullable field without default was added: old data lacks it.
    RequiredFieldAdded = "REQUIRED_FIELD_ADDED", High, readers: false, writers: true;
    /// Type changed: MEDIUM when `is_type_compatible(old, new)`, else HIGH. Flags come
    /// from compatibility in each direction.
    FieldTypeChanged = "FIELD_TYPE_CHANGED", High, readers: true, writers: true;
    /// Nullable → not nullable is HIGH and breaks writers (old nulls); not null →
    /// nullable is LOW and breaks readers (new nulls). The rule sets both.
    FieldNullabilityChanged = "FIELD_NULLABILITY_CHANGED", High, readers: false, writers: true;
    /// An allowed value was removed: old rows holding it no longer validate, old
    /// writers sending it are refused. Readers on the old schema only see a subset.
    EnumValueRemoved = "ENUM_VALUE_REMOVED", High, readers: false, writers: true;
    /// A value was allowed: old readers may meet a value they do not know.
    EnumValueAdded = "ENUM_VALUE_ADDED", Low, readers: true, writers: false;
    /// A field without `enum` got one: old data may hold any value.
    EnumConstraintAdded = "ENUM_CONSTRAINT_ADDED", High, readers: false, writers: true;
    /// A field lost its `enum`: old readers may meet any value.
    EnumConstraintRemoved = "ENUM_CONSTRAINT_REMOVED", Low, readers: true, writers: false;
    /// Default changed. Removing the default of a not-nullable field is MEDIUM and
    /// breaks writers that relied on it. Adding one breaks nobody: defaults are applied
    /// when writing, so stored content always holds the value.
    FieldDefaultChanged = "FIELD_DEFAULT_CHANGED", Low, readers: false, writers: false;
    /// A deprecated field with a `removal_version` was removed before that version
    /// (reported next to its FIELD_REMOVED, with the same flags).
    DeprecatedFieldRemovedEarly = "DEPRECATED_FIELD_REMOVED_EARLY", High, readers: true, writers: false;
    /// A field was marked deprecated: a warning for its users, nothing breaks yet.
    FieldDeprecated = "FIELD_DEPRECATED", Info, readers: false, writers: false;
    /// Field declared with `renamed_from`: old data and old readers use the old key. It
    /// breaks readers when the old field was required (old readers miss it in new data)
    /// and writers when the new one is (old data lacks it); an optional field renamed to
    /// an optional one breaks neither, though readers without the alias see nulls.
    FieldRenamed = "FIELD_RENAMED", Medium, readers: true, writers: true;
}

impl Serialize for ChangeKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// One difference between two schemas.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    /// Entity name (the new name for entities present in both).
    pub entity: String,
    pub field: Option<String>,
    pub old_type: Option<String>,
    pub new_type: Option<String>,
    pub severity: Severity,
    pub description: String,
    pub breaks_readers: bool,
    pub breaks_writers: bool,
    pub details: Option<Value>,
}

impl Change {
    /// A change with the kind's default severity and flags.
    pub fn new(kind: ChangeKind, entity: &str, field: Option<&str>, description: String) -> Change {
        let (breaks_readers, breaks_writers) = kind.default_breaks();
        Change {
            kind,
            entity: entity.to_owned(),
            field: field.map(str::to_owned),
            old_type: None,
            new_type: None,
            severity: kind.default_severity(),
            description,
            breaks_readers,
            breaks_writers,
            details: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Change {
        self.severity = severity;
        self
    }

    pub fn with_breaks(mut self, readers: bool, writers: bool) -> Change {
        self.breaks_readers = readers;
        self.breaks_writers = writers;
        self
    }

    pub fn with_types(mut self, old: &str, new: &str) -> Change {
        self.old_type = Some(old.to_owned());
        self.new_type = Some(new.to_owned());
        self
    }

    pub fn with_details(mut self, details: Value) -> Change {
        self.details = Some(details);
        self
    }

    /// The order of the diff output: entity, then field (entity-level first), then code.
    pub fn sort_key(&self) -> (&str, Option<&str>, &'static str) {
        (&self.entity, self.field.as_deref(), self.kind.code())
    }

    /// The seed's object shape (`type`, `entity`, `field`, `old_type`, `new_type`,
    /// `severity`, `description`) plus the two flags and `details`. Keys that do
    /// not apply are omitted.
    pub fn to_json(&self) -> Value {
        self.to_out().to_value()
    }
}

impl Change {
    /// [`Change::to_json`]'s object, borrowing this change's text instead of
    /// copying it (a result of thousands of changes is written straight to
    /// jsonb with `jsonb::jsonb_varlena_of`).
    pub fn to_out(&self) -> Out<'_> {
        let mut pairs = Vec::with_capacity(10);
        pairs.push(("type", Out::Str(self.kind.code())));
        pairs.push(("entity", Out::Str(&self.entity)));
        let optional = [
            ("field", &self.field),
            ("old_type", &self.old_type),
            ("new_type", &self.new_type),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                pairs.push((key, Out::Str(v)));
            }
        }
        pairs.push(("severity", Out::Str(self.severity.as_str())));
        pairs.push(("description", Out::Str(&self.description)));
        pairs.push(("breaks_readers", Out::Bool(self.breaks_readers)));
        pairs.push(("breaks_writers", Out::Bool(self.breaks_writers)));
        if let Some(d) = &self.details {
            pairs.push(("details", Out::Json(d)));
        }
        Out::object(pairs)
    }
}

impl Serialize for Change {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_code(k.code()), Some(*k));
            assert!(!k.doc().trim().is_empty());
        }
        let mut codes: Vec<_> = ChangeKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ChangeKind::ALL.len());
        assert_eq!(ChangeKind::from_code("NOPE"), None);
    }

    #[test]
    fn json_shape_omits_what_does_not_apply() {
        let c = Change::new(
            ChangeKind::EntityRemoved,
            "Person",
            None,
            "Entity Person was removed".into(),
        );
        assert_eq!(
            c.to_json(),
            json!({"type": "ENTITY_REMOVED", "entity": "Person", "severity": "HIGH",
                   "description": "Entity Person was removed", "breaks_readers": false, "breaks_writers": true})
        );
        let t = Change::new(ChangeKind::FieldTypeChanged, "P", Some("age"), "d".into())
            .with_types("integer", "bigint")
            .with_severity(Severity::Medium)
            .with_details(json!({"compatible": true}));
        let j = serde_json::to_value(&t).unwrap();
        assert_eq!(j["old_type"], "integer");
        assert_eq!(j["severity"], "MEDIUM");
        assert_eq!(j["details"]["compatible"], true);
        assert_eq!(serde_json::to_value(Severity::Info).unwrap(), "INFO");
        assert!(Severity::High > Severity::Medium && Severity::Low > Severity::Info);
    }
}
