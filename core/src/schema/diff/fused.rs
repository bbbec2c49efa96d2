//! Parse both documents entity by entity, and match the fields of each
//! same-named entity pair right after parsing it.
//!
//! Why: on large schemas the cost is reading memory, not computing. Comparing
//! two entities needs their field names and type strings, which were just read
//! by the parser and are still in the CPU cache; done afterwards, over the
//! whole documents, every one of those reads misses the cache again. The
//! result is the same as `parse_schema` twice plus `DiffContext::new` (a
//! property test checks that).

use super::pairing::{match_fields, Matched};
use crate::schema::model::{parse_entity_at, parse_header, Loc, SchemaDoc, SchemaError};
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub(super) struct Parsed<'a> {
    pub old: SchemaDoc<'a>,
    pub new: SchemaDoc<'a>,
    /// For each new entity: its same-named old entity's index and field matching.
    pub field_matches: Vec<Option<(usize, Matched)>>,
}

/// Errors are reported in the order met, which may differ from a plain parse:
/// callers wanting the canonical error re-parse on failure.
pub(super) fn parse_and_match<'a>(
    old: &'a Value,
    new: &'a Value,
) -> Result<Parsed<'a>, SchemaError> {
    let (mut old_doc, old_map) = parse_header(old)?;
    let (mut new_doc, new_map) = parse_header(new)?;
    let (olds, news) = (sorted(old_map), sorted(new_map));
    old_doc.entities.reserve_exact(olds.len());
    new_doc.entities.reserve_exact(news.len());
    let mut field_matches = Vec::with_capacity(news.len());
    let root = Loc::ROOT;
    let at = root.child("entities");
    let (mut i, mut j) = (0, 0);
    // Merge in name order, so both entity lists come out sorted.
    while i < olds.len() || j < news.len() {
        let ord = match (olds.get(i), news.get(j)) {
            (Some(o), Some(n)) => o.0.cmp(n.0),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        if ord != Ordering::Greater {
            let (name, def) = olds[i];
            old_doc
                .entities
                .push(parse_entity_at(name, def, &at.child(name))?);
            i += 1;
        }
        if ord != Ordering::Less {
            let (name, def) = news[j];
            let entity = parse_entity_at(name, def, &at.child(name))?;
            // On equal names the old entity was pushed just above.
            let known = (ord == Ordering::Equal).then(|| {
                let k = old_doc.entities.len() - 1;
                (k, match_fields(&old_doc.entities[k], &entity))
            });
            new_doc.entities.push(entity);
            field_matches.push(known);
            j += 1;
        }
    }
    Ok(Parsed {
        old: old_doc,
        new: new_doc,
        field_matches,
    })
}

/// Entries by name, whatever the map's own iteration order.
fn sorted(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut v: Vec<_> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    v.sort_unstable_by(|a, b| a.0.cmp(b.0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::parse_schema;
    use serde_json::json;

    #[test]
    fn same_documents_as_plain_parse() {
        let old =
            json!({"entities": {"B": {"fields": {"x": {"type": "text"}}}, "A": {"fields": {}}}});
        let new = json!({"version": "2", "entities": {"C": {"fields": {}}, "B": {"fields": {"x": {"type": "int"}}}}});
        let p = parse_and_match(&old, &new).unwrap();
        fn names(d: &SchemaDoc<'_>) -> Vec<String> {
            d.entities.iter().map(|e| e.name.to_owned()).collect()
        }
        assert_eq!(names(&p.old), names(&parse_schema(&old).unwrap()));
        assert_eq!(names(&p.new), names(&parse_schema(&new).unwrap()));
        assert_eq!(p.new.version, Some("2"));
        assert!(p.field_matches[0]
            .as_ref()
            .is_some_and(|(k, m)| *k == 1 && m.pairs == [(0, 0)]));
        assert!(p.field_matches[1].is_none());
    }
}
