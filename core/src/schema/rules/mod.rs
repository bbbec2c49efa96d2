//! Breaking-change rules, one module per rule family.
//!
//! Adding a rule = adding a file that declares it with [`schema_rule!`], plus one
//! `mod` line and one line in [`RULES`]. Change kinds themselves are declared once,
//! in `change.rs`. Renames are already resolved by the pairing in `diff.rs`.

use super::change::{Change, ChangeKind};
use super::diff::{DiffContext, EntityPair, FieldPair};

/// Declares a rule family: its unit struct, its name and the hooks it implements
/// (any of the three, in this order), each a block over the named parameters:
///
/// ```text
/// schema_rule! {
///     Family("family")
///     check_schema(ctx, out) { ... }
///     check_entity(ctx, entity, out) { ... }
///     check_field(ctx, entity, field, out) { ... }
/// }
/// ```
macro_rules! schema_rule {
    (
        $name:ident($family:literal)
        $(check_schema($s_ctx:ident, $s_out:ident) $schema:block)?
        $(check_entity($e_ctx:ident, $e_entity:ident, $e_out:ident) $entity:block)?
        $(check_field($f_ctx:ident, $f_entity:ident, $f_field:ident, $f_out:ident) $field:block)?
    ) => {
        pub struct $name;

        impl $crate::schema::rules::Rule for $name {
            fn name(&self) -> &'static str {
                $family
            }

            $(fn check_schema(
                &self,
                $s_ctx: &$crate::schema::diff::DiffContext<'_>,
                $s_out: &mut Vec<$crate::schema::change::Change>,
            ) $schema)?

            $(fn check_entity(
                &self,
                $e_ctx: &$crate::schema::diff::DiffContext<'_>,
                $e_entity: &$crate::schema::diff::EntityPair<'_>,
                $e_out: &mut Vec<$crate::schema::change::Change>,
            ) $entity)?

            $(fn check_field(
                &self,
                $f_ctx: &$crate::schema::diff::DiffContext<'_>,
                $f_entity: &$crate::schema::diff::EntityPair<'_>,
                $f_field: &$crate::schema::diff::FieldPair<'_>,
                $f_out: &mut Vec<$crate::schema::change::Change>,
            ) $field)?
        }
    };
}

mod defaults;
mod deprecation;
mod entities;
mod enums;
mod fields;
mod nullability;
mod renames;
mod types;

/// A rule family. Implement only the hooks you need; each appends to `out`.
pub trait Rule: Sync {
    /// Stable name of the family, for logs and docs.
    fn name(&self) -> &'static str;

    /// Once per diff: entities added or removed.
    fn check_schema(&self, _ctx: &DiffContext<'_>, _out: &mut Vec<Change>) {}

    /// Once per entity present in both schemas whose definition changed:
    /// fields added or removed, entity-level properties.
    fn check_entity(
        &self,
        _ctx: &DiffContext<'_>,
        _entity: &EntityPair<'_>,
        _out: &mut Vec<Change>,
    ) {
    }

    /// Once per field present in both versions whose parsed definition changed
    /// (identical ones are skipped: no rule can find a difference there).
    fn check_field(
        &self,
        _ctx: &DiffContext<'_>,
        _entity: &EntityPair<'_>,
        _field: &FieldPair<'_>,
        _out: &mut Vec<Change>,
    ) {
    }
}

/// The registry. Order does not matter: the output is sorted afterwards.
pub static RULES: &[&dyn Rule] = &[
    &entities::Entities,
    &fields::Fields,
    &types::Types,
    &nullability::Nullability,
    &enums::Enums,
    &defaults::Defaults,
    &deprecation::Deprecation,
    &renames::Renames,
];

/// Run every registered rule over the context.
pub(crate) fn run_all(ctx: &DiffContext<'_>, out: &mut Vec<Change>) {
    for rule in RULES {
        rule.check_schema(ctx, out);
    }
    for entity in &ctx.entities {
        for rule in RULES {
            rule.check_entity(ctx, entity, out);
        }
        for field in &entity.fields {
            for rule in RULES {
                rule.check_field(ctx, entity, field, out);
            }
        }
    }
}

/// A change of `kind` to the field `field` of `entity` (under their new names).
pub(crate) fn field_change(
    kind: ChangeKind,
    entity: &EntityPair<'_>,
    field: &FieldPair<'_>,
    description: String,
) -> Change {
    Change::new(kind, entity.name(), Some(field.name()), description)
}

/// `Person.age`, for descriptions (formatted in place, no extra allocation).
pub(crate) fn qualified<'p>(
    entity: &'p EntityPair<'_>,
    field: &'p FieldPair<'_>,
) -> impl std::fmt::Display + 'p {
    struct Qualified<'p>(&'p str, &'p str);
    impl std::fmt::Display for Qualified<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}.{}", self.0, self.1)
        }
    }
    Qualified(entity.name(), field.name())
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::schema::change::{Change, ChangeKind};
    use crate::schema::diff::detect_breaking_changes;
    use serde_json::{json, Value};

    pub fn diff(old: Value, new: Value) -> Vec<Change> {
        detect_breaking_changes(&old, &new).unwrap()
    }

    /// A schema with one entity `P` holding `fields`.
    pub fn entity_p(fields: Value) -> Value {
        json!({"entities": {"P": {"fields": fields}}})
    }

    pub fn kinds(changes: &[Change]) -> Vec<ChangeKind> {
        changes.iter().map(|c| c.kind).collect()
    }

    /// (severity, breaks readers, breaks writers) of a change.
    pub fn effect(c: &Change) -> (crate::schema::change::Severity, bool, bool) {
        (c.severity, c.breaks_readers, c.breaks_writers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_unique() {
        let mut names: Vec<_> = RULES.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
    }
}
