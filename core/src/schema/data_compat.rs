//! Compatibility verdicts checked against the stored data.
//!
//! A diff says what *may* break: `breaks_writers` means some content valid under the
//! old schema may be invalid under the new one. Whether any stored entity version is
//! such content is a question for the data. The shell reads the stored versions, each
//! with the schema version that was active when it was written (as-of validation:
//! today's schema does not judge yesterday's writes), and asks [`changes_hit`] which
//! changes of that version's diff the content runs into. [`DataCheck`] counts the hits
//! per change and per version range; a change that breaks writers in theory but is hit
//! by no stored version is reported with `affected_entities: 0` and downgraded.
//!
//! Changes that only break readers (old readers meeting new data) are about data not
//! written yet: no stored version can clear them, and they keep their verdict.

use super::change::{Change, ChangeKind, Severity};
use super::compat::CompatibilityMode;
use super::model::{EntityDef, SchemaDoc};
use super::types::same_value;
use super::validate::{validate_entity_content, ViolationKind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The definition that stored entities of type `stored_type` are read with under
/// `new`: the entity of that name, else the one declared `renamed_from` it.
pub fn successor<'d, 'a>(new: &'d SchemaDoc<'a>, stored_type: &str) -> Option<&'d EntityDef<'a>> {
    new.entity(stored_type).or_else(|| {
        new.entities
            .iter()
            .find(|e| e.renamed_from == Some(stored_type))
    })
}

/// Indices into `changes` (the diff from the schema an entity version was written
/// under to the new one) of the writer-breaking changes this stored content runs into.
/// `old` is its type's definition when it was written; `new` its successor (`None`:
/// the type is gone). A field the content already violated under `old` is not the
/// new schema's doing and is not counted.
pub fn changes_hit(
    changes: &[Change],
    stored_type: &str,
    old: &EntityDef<'_>,
    new: Option<&EntityDef<'_>>,
    content: &Value,
) -> Vec<usize> {
    let matching = |pred: &dyn Fn(&Change) -> bool| -> Vec<usize> {
        changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.breaks_writers && pred(c))
            .map(|(i, _)| i)
            .collect()
    };
    let Some(new) = new else {
        return matching(&|c| c.kind == ChangeKind::EntityRemoved && c.entity == stored_type);
    };
    let mut hits = if new.name != stored_type {
        matching(&|c| c.kind == ChangeKind::EntityRenamed && c.entity == new.name)
    } else {
        Vec::new()
    };
    let already_bad: BTreeSet<Option<String>> = validate_entity_content(old, content)
        .into_iter()
        .map(|v| v.field)
        .collect();
    for v in validate_entity_content(new, content) {
        let Some(field) = v.field.as_deref() else {
            continue;
        };
        if already_bad.contains(&v.field) {
            continue;
        }
        let value = content.get(field);
        hits.extend(matching(&|c| {
            c.entity == new.name && c.field.as_deref() == Some(field) && explains(c, v.kind, value)
        }));
    }
    hits.sort_unstable();
    hits.dedup();
    hits
}

/// Can change `c` be why a value fails with `kind`?
fn explains(c: &Change, kind: ViolationKind, value: Option<&Value>) -> bool {
    use ChangeKind::*;
    match kind {
        ViolationKind::MissingRequiredField => matches!(
            c.kind,
            RequiredFieldAdded | FieldNullabilityChanged | FieldRenamed | FieldDefaultChanged
        ),
        ViolationKind::WrongType => c.kind == FieldTypeChanged,
        ViolationKind::EnumViolation => match c.kind {
            EnumConstraintAdded => true,
            // one change per removed value: the one this value is
            EnumValueRemoved => match (c.details.as_ref().and_then(|d| d.get("value")), value) {
                (Some(removed), Some(v)) => same_value(removed, v),
                _ => true,
            },
            _ => false,
        },
        ViolationKind::NotAnObject => false,
    }
}

/// A period during which one schema version was active.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRange {
    pub version: String,
    /// Timestamps as the server prints them; `-infinity` / `infinity` at the ends.
    pub since: String,
    pub until: String,
}

#[derive(Debug, Default, Clone)]
struct RangeHits {
    entity_versions: u64,
    entities: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Tally {
    change: Change,
    /// Versions whose diff to the new schema reports the change.
    against: Vec<String>,
    /// Range index → hits.
    hits: BTreeMap<usize, RangeHits>,
}

/// The hits of every change, over every version range.
#[derive(Debug, Default)]
pub struct DataCheck {
    ranges: Vec<(VersionRange, u64)>,
    tallies: Vec<Tally>,
    by_key: BTreeMap<String, usize>,
}

fn key(c: &Change) -> String {
    format!(
        "{}|{}|{}|{}",
        c.kind.code(),
        c.entity,
        c.field.as_deref().unwrap_or(""),
        c.details.as_ref().map(Value::to_string).unwrap_or_default()
    )
}

impl DataCheck {
    /// Start range `range` with the diff from its version to the new schema; returns
    /// for each of `changes` its tally slot, for [`DataCheck::hit`].
    pub fn add_range(&mut self, range: VersionRange, changes: &[Change]) -> Vec<usize> {
        let version = range.version.clone();
        self.ranges.push((range, 0));
        changes
            .iter()
            .map(|c| {
                let k = key(c);
                let slot = *self.by_key.entry(k).or_insert_with(|| {
                    self.tallies.push(Tally {
                        change: c.clone(),
                        against: Vec::new(),
                        hits: BTreeMap::new(),
                    });
                    self.tallies.len() - 1
                });
                let t = &mut self.tallies[slot];
                if !t.against.contains(&version) {
                    t.against.push(version.clone());
                }
                slot
            })
            .collect()
    }

    /// One stored entity version of the latest range was read.
    pub fn checked(&mut self, n: u64) {
        if let Some((_, count)) = self.ranges.last_mut() {
            *count += n;
        }
    }

    /// A stored version of `entity_id` in the latest range hits the change in `slot`.
    pub fn hit(&mut self, slot: usize, entity_id: &str) {
        let range = self.ranges.len().saturating_sub(1);
        let h = self.tallies[slot].hits.entry(range).or_default();
        h.entity_versions += 1;
        h.entities.insert(entity_id.to_owned());
    }

    /// The result: each change with what the data says, and the verdict under `mode`.
    pub fn to_json(&self, mode: CompatibilityMode, sample_size: usize) -> Value {
        let mut real = 0;
        let mut theoretical = 0;
        let mut compatible = true;
        let mut changes = Vec::new();
        for t in &self.tallies {
            let mut c = t.change.to_json();
            let testable = t.change.breaks_writers;
            let affected: BTreeSet<&String> =
                t.hits.values().flat_map(|h| h.entities.iter()).collect();
            let versions: u64 = t.hits.values().map(|h| h.entity_versions).sum();
            let mut effective = t.change.clone();
            c["against_versions"] = json!(t.against);
            c["data_checked"] = json!(testable);
            if testable {
                c["affected_entities"] = json!(affected.len());
                c["affected_entity_versions"] = json!(versions);
                c["by_version"] = Value::Array(
                    t.hits
                        .iter()
                        .map(|(r, h)| {
                            let range = &self.ranges[*r].0;
                            json!({
                                "schema_version": range.version,
                                "since": range.since,
                                "until": range.until,
                                "entities": h.entities.len(),
                                "entity_versions": h.entity_versions,
                                "sample_ids": h.entities.iter().take(sample_size).collect::<Vec<_>>(),
                            })
                        })
                        .collect(),
                );
                if affected.is_empty() {
                    theoretical += 1;
                    effective.breaks_writers = false;
                    c["downgraded"] = json!(true);
                    c["original_severity"] = json!(t.change.severity.as_str());
                    c["severity"] = json!(Severity::Low.as_str());
                    c["breaks_writers"] = json!(false);
                    c["verdict"] = json!("THEORETICAL");
                    c["note"] = json!("No stored entity version runs into this change: it breaks no existing data (writers that still send what the old schema allowed are refused from now on).");
                } else {
                    real += 1;
                    c["downgraded"] = json!(false);
                    c["verdict"] = json!("REAL");
                }
            } else {
                c["affected_entities"] = Value::Null;
                c["downgraded"] = json!(false);
                c["verdict"] = json!(if t.change.breaks_readers {
                    "NOT_TESTABLE"
                } else {
                    "COMPATIBLE"
                });
            }
            let refused = mode.is_violated_by(&effective);
            compatible &= !refused;
            c["refused_by_mode"] = json!(refused);
            changes.push(c);
        }
        json!({
            "mode": mode.as_str(),
            "compatible": compatible,
            "real_breaks": real,
            "theoretical_breaks": theoretical,
            "entity_versions_checked": self.ranges.iter().map(|(_, n)| n).sum::<u64>(),
            "ranges": self.ranges.iter().map(|(r, n)| json!({
                "schema_version": r.version, "since": r.since, "until": r.until, "entity_versions": n,
            })).collect::<Vec<_>>(),
            "changes": changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::diff::diff_docs;
    use crate::schema::model::parse_schema;

    fn hits(old: &Value, new: &Value, stored_type: &str, content: Value) -> Vec<&'static str> {
        let (o, n) = (parse_schema(old).unwrap(), parse_schema(new).unwrap());
        let changes = diff_docs(&o, &n);
        let idx = changes_hit(
            &changes,
            stored_type,
            o.entity(stored_type).unwrap(),
            successor(&n, stored_type),
            &content,
        );
        idx.into_iter().map(|i| changes[i].kind.code()).collect()
    }

    #[test]
    fn a_required_field_is_hit_only_by_content_without_it() {
        let old = json!({"entities": {"P": {"fields": {"a": {"type": "text"}}}}});
        let new = json!({"entities": {"P": {"fields": {"a": {"type": "text"}, "b": {"type": "integer", "nullable": false}}}}});
        assert_eq!(
            hits(&old, &new, "P", json!({"a": "x"})),
            ["REQUIRED_FIELD_ADDED"]
        );
        assert!(hits(&old, &new, "P", json!({"a": "x", "b": 3})).is_empty());
    }

    #[test]
    fn an_enum_value_removed_is_hit_by_that_value_only() {
        let old = json!({"entities": {"P": {"fields": {"s": {"type": "text", "enum": ["x", "y", "z"]}}}}});
        let new = json!({"entities": {"P": {"fields": {"s": {"type": "text", "enum": ["x"]}}}}});
        let (o, n) = (parse_schema(&old).unwrap(), parse_schema(&new).unwrap());
        let changes = diff_docs(&o, &n);
        assert_eq!(changes.len(), 2);
        let idx = changes_hit(
            &changes,
            "P",
            o.entity("P").unwrap(),
            successor(&n, "P"),
            &json!({"s": "z"}),
        );
        assert_eq!(idx.len(), 1);
        assert_eq!(changes[idx[0]].details.as_ref().unwrap()["value"], "z");
        assert!(hits(&old, &new, "P", json!({"s": "x"})).is_empty());
        assert!(hits(&old, &new, "P", json!({})).is_empty());
    }

    #[test]
    fn narrowing_is_hit_by_values_that_do_not_fit() {
        let old = json!({"entities": {"P": {"fields": {"n": {"type": "bigint"}}}}});
        let new = json!({"entities": {"P": {"fields": {"n": {"type": "integer"}}}}});
        assert_eq!(
            hits(&old, &new, "P", json!({"n": 5_000_000_000i64})),
            ["FIELD_TYPE_CHANGED"]
        );
        assert!(hits(&old, &new, "P", json!({"n": 5})).is_empty());
    }

    #[test]
    fn removed_and_renamed_types_are_hit_by_every_version() {
        let old = json!({"entities": {"P": {"fields": {}}, "Q": {"fields": {}}}});
        let removed = json!({"entities": {"P": {"fields": {}}}});
        assert_eq!(hits(&old, &removed, "Q", json!({})), ["ENTITY_REMOVED"]);
        let renamed = json!({"entities": {"P": {"fields": {}}, "Queue": {"renamed_from": "Q", "fields": {}}}});
        assert_eq!(hits(&old, &renamed, "Q", json!({})), ["ENTITY_RENAMED"]);
        assert!(hits(&old, &renamed, "P", json!({})).is_empty());
    }

    #[test]
    fn content_that_was_already_invalid_is_not_the_new_schemas_doing() {
        let old =
            json!({"entities": {"P": {"fields": {"a": {"type": "text", "nullable": false}}}}});
        let new = json!({"entities": {"P": {"fields": {"a": {"type": "text", "nullable": false, "enum": ["x"]}}}}});
        assert!(
            hits(&old, &new, "P", json!({})).is_empty(),
            "missing before and after"
        );
        assert_eq!(
            hits(&old, &new, "P", json!({"a": "y"})),
            ["ENUM_CONSTRAINT_ADDED"]
        );
    }

    #[test]
    fn tallies_downgrade_theoretical_breaks_and_count_real_ones_per_range() {
        let old = json!({"entities": {"P": {"fields": {"a": {"type": "text"}}}}});
        let new = json!({"entities": {"P": {"fields": {"a": {"type": "text", "nullable": false}, "b": {"type": "text", "nullable": false}}}}});
        let (o, n) = (parse_schema(&old).unwrap(), parse_schema(&new).unwrap());
        let changes = diff_docs(&o, &n);
        let mut check = DataCheck::default();
        let range = |v: &str| VersionRange {
            version: v.into(),
            since: "-infinity".into(),
            until: "infinity".into(),
        };
        let slots = check.add_range(range("1"), &changes);
        for (id, content) in [
            ("e1", json!({"a": "x", "b": "y"})),
            ("e2", json!({"a": "x"})),
            ("e2", json!({"a": "x"})),
        ] {
            check.checked(1);
            for i in changes_hit(
                &changes,
                "P",
                o.entity("P").unwrap(),
                successor(&n, "P"),
                &content,
            ) {
                check.hit(slots[i], id);
            }
        }
        let out = check.to_json(CompatibilityMode::Backward, 5);
        assert_eq!(out["entity_versions_checked"], 3);
        let by_field = |f: &str| {
            out["changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["field"] == f)
                .unwrap()
                .clone()
        };
        let a = by_field("a");
        assert_eq!(
            (a["verdict"].as_str(), a["affected_entities"].as_u64()),
            (Some("THEORETICAL"), Some(0))
        );
        assert_eq!(
            (a["downgraded"].as_bool(), a["severity"].as_str()),
            (Some(true), Some("LOW"))
        );
        let b = by_field("b");
        assert_eq!(
            (b["verdict"].as_str(), b["affected_entities"].as_u64()),
            (Some("REAL"), Some(1))
        );
        assert_eq!(b["affected_entity_versions"], 2);
        assert_eq!(b["by_version"][0]["sample_ids"], json!(["e2"]));
        assert_eq!(out["compatible"], false, "b is a real break under BACKWARD");
        assert_eq!(
            (
                out["real_breaks"].as_u64(),
                out["theoretical_breaks"].as_u64()
            ),
            (Some(1), Some(1))
        );
        assert_eq!(
            check.to_json(CompatibilityMode::None, 5)["compatible"],
            true
        );
    }

    #[test]
    fn reader_only_changes_are_not_testable_and_keep_their_verdict() {
        let old = json!({"entities": {"P": {"fields": {"n": {"type": "integer"}}}}});
        let new = json!({"entities": {"P": {"fields": {"n": {"type": "bigint"}}}}});
        let (o, n) = (parse_schema(&old).unwrap(), parse_schema(&new).unwrap());
        let mut check = DataCheck::default();
        check.add_range(
            VersionRange {
                version: "1".into(),
                since: "-infinity".into(),
                until: "infinity".into(),
            },
            &diff_docs(&o, &n),
        );
        let out = check.to_json(CompatibilityMode::Forward, 5);
        assert_eq!(out["changes"][0]["verdict"], "NOT_TESTABLE");
        assert_eq!(out["changes"][0]["affected_entities"], Value::Null);
        assert_eq!(out["compatible"], false);
        assert_eq!(
            check.to_json(CompatibilityMode::Backward, 5)["compatible"],
            true
        );
    }

    #[test]
    fn a_change_reported_against_two_versions_is_one_tally() {
        let v1 = json!({"entities": {"P": {"fields": {}}}});
        let new =
            json!({"entities": {"P": {"fields": {"b": {"type": "text", "nullable": false}}}}});
        let (o, n) = (parse_schema(&v1).unwrap(), parse_schema(&new).unwrap());
        let changes = diff_docs(&o, &n);
        let mut check = DataCheck::default();
        for v in ["1", "2"] {
            let slots = check.add_range(
                VersionRange {
                    version: v.into(),
                    since: "-infinity".into(),
                    until: "infinity".into(),
                },
                &changes,
            );
            check.hit(slots[0], "e1");
        }
        let out = check.to_json(CompatibilityMode::Backward, 5);
        assert_eq!(out["changes"].as_array().unwrap().len(), 1);
        assert_eq!(out["changes"][0]["against_versions"], json!(["1", "2"]));
        assert_eq!(
            out["changes"][0]["affected_entities"], 1,
            "distinct entities over both ranges"
        );
        assert_eq!(out["changes"][0]["by_version"].as_array().unwrap().len(), 2);
    }
}
