//! Breaking-change rules, one module per rule family.
//!
//! Adding a rule = adding a file with a unit struct implementing [`Rule`], plus
//! one line in [`RULES`]. Change kinds themselves are declared once, in
//! `change.rs`. Renames are already resolved by the pairing in `diff.rs`.

use super::change::Change;
use super::diff::{DiffContext, EntityPair, FieldPair};

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
