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
use serde_json::Value;
use std::cmp::Ordering;

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
        let m = match_by_name(&old.entities, &new.entities, |e| e.name, |e| e.renamed_from);
        let entities = m
            .pairs
            .into_iter()
            .filter_map(|(o, n)| {
                let f = match_by_name(&o.fields, &n.fields, |f| f.name, |f| f.renamed_from);
                let fields: Vec<_> = f
                    .pairs
                    .into_iter()
                    .filter(|(a, b)| !a.same_definition(b))
                    .map(|(old, new)| FieldPair { old, new })
                    .collect();
                let same_entity = o.name == n.name
                    && o.identity == n.identity
                    && o.description == n.description
                    && o.renamed_from == n.renamed_from;
                let unchanged = same_entity && fields.is_empty() && f.removed.is_empty() && f.added.is_empty();
                (!unchanged).then_some(EntityPair { old: o, new: n, fields, removed_fields: f.removed, added_fields: f.added })
            })
            .collect();
        DiffContext { old, new, removed_entities: m.removed, added_entities: m.added, entities }
    }
}

struct Matched<'a, T> {
    pairs: Vec<(&'a T, &'a T)>,
    removed: Vec<&'a T>,
    added: Vec<&'a T>,
}

/// Merge-join two name-sorted lists, then resolve `renamed_from` among the
/// leftovers. A rename only counts when its old name is gone from the new list
/// and not already claimed by another rename (first claimant in name order wins).
fn match_by_name<'a, T>(
    old: &'a [T],
    new: &'a [T],
    name: impl Fn(&T) -> &str,
    renamed_from: impl Fn(&T) -> Option<&str>,
) -> Matched<'a, T> {
    let mut m = Matched { pairs: Vec::with_capacity(new.len()), removed: Vec::new(), added: Vec::new() };
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let ord = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => name(o).cmp(name(n)),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        if ord != Ordering::Greater {
            if ord == Ordering::Equal {
                m.pairs.push((&old[i], &new[j]));
                j += 1;
            } else {
                m.removed.push(&old[i]);
            }
            i += 1;
        } else {
            m.added.push(&new[j]);
            j += 1;
        }
    }
    if m.removed.is_empty() || m.added.is_empty() {
        return m;
    }
    let mut claimed = vec![false; m.removed.len()];
    let mut still_added = Vec::with_capacity(m.added.len());
    for n in m.added {
        let found = renamed_from(n).and_then(|from| m.removed.binary_search_by(|o| name(o).cmp(from)).ok());
        match found {
            Some(k) if !claimed[k] => {
                claimed[k] = true;
                m.pairs.push((m.removed[k], n));
            }
            _ => still_added.push(n),
        }
    }
    m.added = still_added;
    let mut claimed = claimed.into_iter();
    m.removed.retain(|_| !claimed.next().unwrap_or(false));
    m
}

/// Parse both documents and list every change from `old` to `new`, sorted
/// stably by (entity, field, type code). Identical schemas give an empty list.
pub fn detect_breaking_changes(old: &Value, new: &Value) -> Result<Vec<Change>, SchemaError> {
    let old_doc = parse_schema(old).map_err(|e| which(e, "old"))?;
    let new_doc = parse_schema(new).map_err(|e| which(e, "new"))?;
    Ok(diff_docs(&old_doc, &new_doc))
}

/// [`detect_breaking_changes`] as the JSON array the SQL function returns.
pub fn detect_breaking_changes_json(old: &Value, new: &Value) -> Result<Value, SchemaError> {
    let changes = detect_breaking_changes(old, new)?;
    Ok(Value::Array(changes.iter().map(Change::to_json).collect()))
}

/// Diff two already parsed documents.
pub fn diff_docs(old: &SchemaDoc<'_>, new: &SchemaDoc<'_>) -> Vec<Change> {
    let ctx = DiffContext::new(old, new);
    let mut out = Vec::new();
    rules::run_all(&ctx, &mut out);
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
        let s = json!({"entities": {"P": {"fields": {"a": {"type": "text"}}}, "Q": {"fields": {}}}});
        assert!(detect_breaking_changes(&s, &s).unwrap().is_empty());
        assert_eq!(detect_breaking_changes_json(&s, &s).unwrap(), json!([]));
    }

    #[test]
    fn errors_say_which_document() {
        let good = json!({"entities": {}});
        let bad = json!({"entities": {"P": {"fields": {"a": {"type": 1}}}}});
        let e = detect_breaking_changes(&good, &bad).unwrap_err();
        assert_eq!(e.to_string(), "$.entities.P.fields.a.type: must be a string, found number (in the new schema)");
        assert!(detect_breaking_changes(&bad, &good).unwrap_err().message.ends_with("(in the old schema)"));
    }

    /// 1,000 entities × 50 fields, every 20th field changed in some way.
    fn big_pair() -> (Value, Value) {
        let types = ["integer", "text", "varchar(20)", "boolean", "timestamptz"];
        let mut old = serde_json::Map::new();
        let mut new = serde_json::Map::new();
        for e in 0..1000 {
            let (mut of, mut nf) = (serde_json::Map::new(), serde_json::Map::new());
            for f in 0..50 {
                let def = json!({"type": types[f % 5], "nullable": f % 3 != 0, "description": "some text"});
                of.insert(format!("field_{f}"), def.clone());
                let changed = match (e * 50 + f) % 20 {
                    0 => json!({"type": "bigint", "nullable": f % 3 != 0}),
                    10 => json!({"type": types[f % 5], "nullable": false, "default": null}),
                    _ => def,
                };
                nf.insert(format!("field_{f}"), changed);
            }
            old.insert(format!("Entity_{e}"), json!({"fields": of}));
            new.insert(format!("Entity_{e}"), json!({"fields": nf}));
        }
        (json!({"entities": old}), json!({"entities": new}))
    }

    /// Correctness at size; the timing budget (well under 20 ms in release on
    /// ordinary hardware) is checked by the ignored test below.
    #[test]
    fn large_schemas_report_every_change() {
        let (old, new) = big_pair();
        let changes = detect_breaking_changes(&old, &new).unwrap();
        // 50,000 fields, one in 20 changes type and one in 20 loses nullability
        // (only the two thirds that were nullable count).
        let types = changes.iter().filter(|c| c.kind == crate::schema::ChangeKind::FieldTypeChanged).count();
        assert_eq!(types, 2500);
        assert!(changes.windows(2).all(|w| w[0].sort_key() <= w[1].sort_key()));
    }

    /// `cargo test --release -- --ignored large_schemas_are_fast --nocapture`
    #[test]
    #[ignore = "timing; run in release"]
    fn large_schemas_are_fast() {
        let (old, new) = big_pair();
        let best = (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(detect_breaking_changes(&old, &new).unwrap());
                start.elapsed()
            })
            .min()
            .unwrap();
        eprintln!("detect_breaking_changes, 1000 entities x 50 fields, 5% changed: best of 5 {best:?}");
        assert!(best.as_millis() < 20, "{best:?}");
    }

    #[test]
    fn renames_pair_once() {
        let names = |v: &[&str]| v.iter().map(|n| (n.to_string(), None::<String>)).collect::<Vec<_>>();
        let old = names(&["a", "b", "c"]);
        let mut new = names(&["c", "x", "y", "z"]);
        new[1].1 = Some("a".into()); // x renamed from a
        new[2].1 = Some("a".into()); // y also claims a: loses, is added
        new[3].1 = Some("c".into()); // z claims c, which still exists: added
        let m = match_by_name(&old, &new, |t| &t.0, |t| t.1.as_deref());
        let pairs: Vec<_> = m.pairs.iter().map(|(o, n)| (o.0.as_str(), n.0.as_str())).collect();
        assert_eq!(pairs, [("c", "c"), ("a", "x")]);
        assert_eq!(m.removed.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["b"]);
        assert_eq!(m.added.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["y", "z"]);
    }
}
