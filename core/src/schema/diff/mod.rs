//! Breaking-change detection: pair up the two schemas once, then let every
//! registered rule (see `rules`) look at the pairs.
//!
//! Pairing is where renames are resolved, so no rule has to think about them:
//! an entity or field is matched by name first; an unmatched new one declaring
//! `renamed_from: X` is matched with the unmatched old `X`. Only what is left
//! over is "removed" or "added", which is why a rename never also shows up as
//! a removal plus an addition.

use super::change::Change;
use super::model::{parse_schema, EntityDef, FieldDef, SchemaDoc, SchemaError};
use super::rules;
use pairing::{match_by_name, match_fields, Matched};
use serde_json::Value;

mod binary;
mod fused;
mod pairing;

pub use binary::detect_breaking_changes_binary;

/// Both schemas, paired up. Only what differs is listed: entities and field
/// pairs whose parsed definitions are identical are left out, since no rule
/// can find a difference there, and large, mostly unchanged schemas stay cheap.
/// Rules needing the full picture can still read `old` and `new`.
pub struct DiffContext<'a> {
    pub old: &'a SchemaDoc<'a>,
    pub new: &'a SchemaDoc<'a>,
    /// Old entities with no counterpart in the new schema.
    pub removed_entities: Vec<&'a EntityDef<'a>>,
    /// New entities with no counterpart in the old schema.
    pub added_entities: Vec<&'a EntityDef<'a>>,
    /// Entities in both (same name or renamed) whose definitions differ.
    pub entities: Vec<EntityPair<'a>>,
}

/// An entity present in both schemas, with its fields paired the same way.
pub struct EntityPair<'a> {
    pub old: &'a EntityDef<'a>,
    pub new: &'a EntityDef<'a>,
    /// Fields in both versions whose definitions differ (or that were renamed).
    pub fields: Vec<FieldPair<'a>>,
    pub removed_fields: Vec<&'a FieldDef<'a>>,
    pub added_fields: Vec<&'a FieldDef<'a>>,
}

/// A field present in both versions of an entity (same name or renamed).
pub struct FieldPair<'a> {
    pub old: &'a FieldDef<'a>,
    pub new: &'a FieldDef<'a>,
}

impl EntityPair<'_> {
    /// The name changes are reported under: the new one.
    pub fn name(&self) -> &str {
        self.new.name
    }
    pub fn is_rename(&self) -> bool {
        self.old.name != self.new.name
    }
}

impl FieldPair<'_> {
    pub fn name(&self) -> &str {
        self.new.name
    }
    pub fn is_rename(&self) -> bool {
        self.old.name != self.new.name
    }
}

impl<'a> DiffContext<'a> {
    pub fn new(old: &'a SchemaDoc<'a>, new: &'a SchemaDoc<'a>) -> DiffContext<'a> {
        Self::with_field_matches(old, new, &[])
    }

    /// `known[j]`, when present, is the field matching of new entity `j` with
    /// old entity `known[j].0`, computed earlier (see `fused.rs`).
    fn with_field_matches(
        old: &'a SchemaDoc<'a>,
        new: &'a SchemaDoc<'a>,
        known: &[Option<(usize, Matched)>],
    ) -> DiffContext<'a> {
        let m = match_by_name(&old.entities, &new.entities, |e| e.name, |e| e.renamed_from);
        let mut entities = Vec::new();
        for (i, j) in m.pairs {
            let (o, n) = (&old.entities[i], &new.entities[j]);
            let computed;
            let f = match known.get(j) {
                Some(Some((k, f))) if *k == i => f,
                _ => {
                    computed = match_fields(o, n);
                    &computed
                }
            };
            let same_entity = o.name == n.name
                && o.identity == n.identity
                && o.description == n.description
                && o.renamed_from == n.renamed_from;
            if same_entity && f.pairs.is_empty() && f.removed.is_empty() && f.added.is_empty() {
                continue;
            }
            entities.push(EntityPair {
                old: o,
                new: n,
                fields: f
                    .pairs
                    .iter()
                    .map(|&(a, b)| FieldPair {
                        old: &o.fields[a],
                        new: &n.fields[b],
                    })
                    .collect(),
                removed_fields: f.removed.iter().map(|&a| &o.fields[a]).collect(),
                added_fields: f.added.iter().map(|&b| &n.fields[b]).collect(),
            });
        }
        DiffContext {
            old,
            new,
            removed_entities: m.removed.iter().map(|&i| &old.entities[i]).collect(),
            added_entities: m.added.iter().map(|&j| &new.entities[j]).collect(),
            entities,
        }
    }
}

/// Parse both documents and list every change from `old` to `new`, sorted
/// stably by (entity, field, type code). Identical schemas give an empty list.
pub fn detect_breaking_changes(old: &Value, new: &Value) -> Result<Vec<Change>, SchemaError> {
    let parsed = match fused::parse_and_match(old, new) {
        Ok(p) => p,
        Err(first) => return Err(canonical_error(old, new).unwrap_or(first)),
    };
    let ctx = DiffContext::with_field_matches(&parsed.old, &parsed.new, &parsed.field_matches);
    Ok(run_rules(&ctx))
}

/// The fused parse meets errors in entity order across both documents; report
/// the one a plain parse of `old`, then `new`, would report.
fn canonical_error(old: &Value, new: &Value) -> Option<SchemaError> {
    parse_schema(old)
        .map_err(|e| which(e, "old"))
        .and_then(|_| parse_schema(new).map_err(|e| which(e, "new")))
        .err()
}

/// [`detect_breaking_changes`] as the JSON array the SQL function returns.
pub fn detect_breaking_changes_json(old: &Value, new: &Value) -> Result<Value, SchemaError> {
    let changes = detect_breaking_changes(old, new)?;
    Ok(Value::Array(changes.iter().map(Change::to_json).collect()))
}

/// Diff two already parsed documents.
pub fn diff_docs(old: &SchemaDoc<'_>, new: &SchemaDoc<'_>) -> Vec<Change> {
    run_rules(&DiffContext::new(old, new))
}

fn run_rules(ctx: &DiffContext<'_>) -> Vec<Change> {
    let mut out = Vec::new();
    rules::run_all(ctx, &mut out);
    // Stable: changes with equal keys keep the order their rule produced them in.
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// Both documents share the `$` root, so say which one was wrong.
fn which(mut e: SchemaError, doc: &str) -> SchemaError {
    e.message = format!("{} (in the {doc} schema)", e.message);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identical_schemas_have_no_changes() {
        let s =
            json!({"entities": {"P": {"fields": {"a": {"type": "text"}}}, "Q": {"fields": {}}}});
        assert!(detect_breaking_changes(&s, &s).unwrap().is_empty());
        assert_eq!(detect_breaking_changes_json(&s, &s).unwrap(), json!([]));
    }

    #[test]
    fn errors_say_which_document() {
        let good = json!({"entities": {}});
        let bad = json!({"entities": {"P": {"fields": {"a": {"type": 1}}}}});
        let e = detect_breaking_changes(&good, &bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "$.entities.P.fields.a.type: must be a string, found number (in the new schema)"
        );
        assert!(detect_breaking_changes(&bad, &good)
            .unwrap_err()
            .message
            .ends_with("(in the old schema)"));
    }
}
