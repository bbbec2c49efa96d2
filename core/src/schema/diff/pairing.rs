//! Matching entities (or fields) of the old and new schema by name, then by
//! `renamed_from`. Results are indices into the two name-sorted lists.

use crate::schema::model::EntityDef;
use std::cmp::Ordering;

#[derive(Debug, Default)]
pub(super) struct Matched {
    /// `(old index, new index)`.
    pub pairs: Vec<(usize, usize)>,
    pub removed: Vec<usize>,
    pub added: Vec<usize>,
}

/// The fields of one entity pair, keeping only pairs whose definitions differ.
pub(super) fn match_fields(old: &EntityDef<'_>, new: &EntityDef<'_>) -> Matched {
    let mut m = match_by_name(&old.fields, &new.fields, |f| f.name, |f| f.renamed_from());
    m.pairs
        .retain(|&(i, j)| !old.fields[i].same_definition(&new.fields[j]));
    m
}

/// Merge-join two name-sorted lists, then resolve `renamed_from` among the
/// leftovers. A rename only counts when its old name is gone from the new list
/// and not already claimed by another rename (first claimant in name order wins).
pub(super) fn match_by_name<T>(
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &str,
    renamed_from: impl Fn(&T) -> Option<&str>,
) -> Matched {
    let mut m = Matched {
        pairs: Vec::with_capacity(new.len()),
        removed: Vec::new(),
        added: Vec::new(),
    };
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let ord = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => name(o).cmp(name(n)),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        if ord != Ordering::Greater {
            if ord == Ordering::Equal {
                m.pairs.push((i, j));
                j += 1;
            } else {
                m.removed.push(i);
            }
            i += 1;
        } else {
            m.added.push(j);
            j += 1;
        }
    }
    if m.removed.is_empty() || m.added.is_empty() {
        return m;
    }
    let mut claimed = vec![false; m.removed.len()];
    let mut still_added = Vec::with_capacity(m.added.len());
    for n in m.added {
        let found = renamed_from(&new[n]).and_then(|from| {
            m.removed
                .binary_search_by(|&o| name(&old[o]).cmp(from))
                .ok()
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_pair_once() {
        let names = |v: &[&str]| {
            v.iter()
                .map(|n| (n.to_string(), None::<String>))
                .collect::<Vec<_>>()
        };
        let old = names(&["a", "b", "c"]);
        let mut new = names(&["c", "x", "y", "z"]);
        new[1].1 = Some("a".into()); // x renamed from a
        new[2].1 = Some("a".into()); // y also claims a: loses, is added
        new[3].1 = Some("c".into()); // z claims c, which still exists: added
        let m = match_by_name(&old, &new, |t| &t.0, |t| t.1.as_deref());
        let pairs: Vec<_> = m
            .pairs
            .iter()
            .map(|&(o, n)| (old[o].0.as_str(), new[n].0.as_str()))
            .collect();
        assert_eq!(pairs, [("c", "c"), ("a", "x")]);
        assert_eq!(
            m.removed
                .iter()
                .map(|&i| old[i].0.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(
            m.added
                .iter()
                .map(|&j| new[j].0.as_str())
                .collect::<Vec<_>>(),
            ["y", "z"]
        );
    }
}
