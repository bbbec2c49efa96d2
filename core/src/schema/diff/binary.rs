//! [`detect_breaking_changes_binary`]: the diff read straight from two binary
//! `jsonb` datums, without decoding them into `serde_json` trees.
//!
//! Decoding two 2.8 MB documents, diffing the trees and dropping them costs
//! far more than the diff itself, and in a typical change almost every field
//! is byte-for-byte the same in both documents. So:
//!
//! 1. Both documents are walked in place with [`crate::jsonb::JsonbRef`], checking
//!    everything `decode` + `parse_schema` would check (any doubt: fall back).
//! 2. Same-named entities, and same-named fields, whose bytes are identical
//!    decode to identical values; the diff skips such pairs anyway (they have
//!    the same definition), so they are left out.
//! 3. What remains (differing fields, fields on one side only, whole
//!    entities on one side only, plus everything rules read besides fields:
//!    the top-level `version`/`description`, each kept entity's `identity`,
//!    `description` and `renamed_from`, and the fields `identity` names) is
//!    decoded into two small documents that go through the ordinary
//!    [`detect_breaking_changes`].
//!
//! Why the result is the same: pairing is by name, then by `renamed_from`
//! among the unmatched; a pair dropped in step 2 is matched by name on both
//! sides, so it is never a rename candidate, and dropping it changes neither
//! the other pairs nor their order (entities and fields are processed in name
//! order, and the output is sorted stably). A property test compares the two
//! paths on random schema pairs.

use super::detect_breaking_changes;
use crate::jsonb::{decode, jsonb_key_cmp, DecodeError, JsonbContainer, JsonbRef, ObjectIter};
use crate::schema::change::Change;
use crate::schema::model::{is_plain_identifier, SchemaError};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// [`detect_breaking_changes`] on two binary `jsonb` datums: `old` and `new`
/// are varlena payloads (the bytes at `VARDATA_ANY`, as
/// [`crate::jsonb::decode()`] takes them), fully detoasted.
///
/// Returns exactly what `detect_breaking_changes(&decode(old)?,
/// &decode(new)?)` returns, errors included; a malformed datum is a
/// [`SchemaError`] at path `$` saying which document it was. Allocates only
/// for the parts of the documents that differ.
pub fn detect_breaking_changes_binary(old: &[u8], new: &[u8]) -> Result<Vec<Change>, SchemaError> {
    match fast_path(old, new) {
        Ok(changes) => Ok(changes),
        // Invalid documents, or a shape the fast path does not handle: the
        // plain path gives the canonical answer (or error).
        Err(Fallback) => slow_path(old, new),
    }
}

/// Decode both datums, then the ordinary diff.
fn slow_path(old: &[u8], new: &[u8]) -> Result<Vec<Change>, SchemaError> {
    let old = decode(old).map_err(|e| malformed(e, "old"))?;
    let new = decode(new).map_err(|e| malformed(e, "new"))?;
    detect_breaking_changes(&old, &new)
}

fn malformed(e: DecodeError, doc: &str) -> SchemaError {
    SchemaError {
        path: "$".to_owned(),
        message: format!("{e} (in the {doc} schema)"),
    }
}

/// The fast path cannot vouch for its answer: take the slow path.
#[derive(Debug)]
struct Fallback;

impl From<DecodeError> for Fallback {
    fn from(_: DecodeError) -> Self {
        Fallback
    }
}

type Fast<T> = Result<T, Fallback>;

fn fast_path(old: &[u8], new: &[u8]) -> Fast<Vec<Change>> {
    let old_doc = Header::read(old)?;
    let new_doc = Header::read(new)?;
    let (mut old_entities, mut new_entities) = (Map::new(), Map::new());
    let mut seen = Seen::default();
    merge(old_doc.entities, new_doc.entities, |name, o, n| {
        check_name(name)?;
        match (o, n) {
            (Some(o), Some(n)) if o.same_bytes(&n) => Entity::read(o)?.validate_fields(&mut seen),
            (Some(o), Some(n)) => {
                let (o, n) = (Entity::read(o)?, Entity::read(n)?);
                let (of, nf) = differing_fields(&o, &n, &mut seen)?;
                old_entities.insert(name.to_owned(), o.reduced(of)?);
                new_entities.insert(name.to_owned(), n.reduced(nf)?);
                Ok(())
            }
            (Some(o), None) => {
                Entity::read(o)?.validate_fields(&mut seen)?;
                old_entities.insert(name.to_owned(), o.to_value()?);
                Ok(())
            }
            (None, Some(n)) => {
                Entity::read(n)?.validate_fields(&mut seen)?;
                new_entities.insert(name.to_owned(), n.to_value()?);
                Ok(())
            }
            (None, None) => Ok(()),
        }
    })?;
    let old = old_doc.reduced(old_entities)?;
    let new = new_doc.reduced(new_entities)?;
    detect_breaking_changes(&old, &new).map_err(|_| Fallback)
}

/// The top level of a document.
struct Header<'a> {
    version: Option<JsonbRef<'a>>,
    description: Option<JsonbRef<'a>>,
    entities: JsonbContainer<'a>,
}

impl<'a> Header<'a> {
    fn read(bytes: &'a [u8]) -> Fast<Header<'a>> {
        let root = JsonbRef::from_payload(bytes)?.as_object().ok_or(Fallback)?;
        let (mut version, mut description, mut entities) = (None, None, None);
        for_each_sorted(root, |key, v| {
            match key {
                "version" => version = Some(opt_str(v)?),
                "description" => description = Some(opt_str(v)?),
                "entities" => entities = Some(v.as_object().ok_or(Fallback)?),
                _ => v.validate()?,
            }
            Ok(())
        })?;
        Ok(Header {
            version,
            description,
            entities: entities.ok_or(Fallback)?,
        })
    }

    /// The document with only `entities` (and the keys rules read).
    fn reduced(&self, entities: Map<String, Value>) -> Fast<Value> {
        let mut doc = Map::new();
        doc.insert("entities".to_owned(), Value::Object(entities));
        insert_opt(&mut doc, "version", self.version)?;
        insert_opt(&mut doc, "description", self.description)?;
        Ok(Value::Object(doc))
    }
}

/// One entity definition, its entity-level keys checked.
struct Entity<'a> {
    fields: JsonbContainer<'a>,
    identity: Option<JsonbRef<'a>>,
    description: Option<JsonbRef<'a>>,
    renamed_from: Option<JsonbRef<'a>>,
}

impl<'a> Entity<'a> {
    fn read(v: JsonbRef<'a>) -> Fast<Entity<'a>> {
        let obj = v.as_object().ok_or(Fallback)?;
        let (mut fields, mut identity, mut description, mut renamed_from) =
            (None, None, None, None);
        for_each_sorted(obj, |key, v| {
            match key {
                "fields" => fields = Some(v.as_object().ok_or(Fallback)?),
                "identity" => {
                    if let Some(a) = v.as_array() {
                        for item in a.iter_array() {
                            item?.as_str().ok_or(Fallback)?;
                        }
                    } else if !v.is_null() {
                        return Err(Fallback);
                    }
                    identity = Some(v);
                }
                "description" => description = Some(opt_str(v)?),
                "renamed_from" => renamed_from = Some(opt_name(v)?),
                _ => v.validate()?,
            }
            Ok(())
        })?;
        let e = Entity {
            fields: fields.ok_or(Fallback)?,
            identity,
            description,
            renamed_from,
        };
        for id in e.identity()? {
            e.fields.get(id)?.ok_or(Fallback)?;
        }
        Ok(e)
    }

    /// The names `identity` lists (validated strings).
    fn identity(&self) -> Fast<Vec<&'a str>> {
        let Some(a) = self.identity.and_then(|v| v.as_array()) else {
            return Ok(Vec::new());
        };
        a.iter_array()
            .map(|item| item?.as_str().ok_or(Fallback))
            .collect()
    }

    /// Checks every field (names and definitions).
    fn validate_fields(&self, seen: &mut Seen<'a>) -> Fast<()> {
        for_each_sorted(self.fields, |name, v| {
            check_name(name)?;
            seen.validate_field(v)
        })
    }

    /// This entity with only `fields` and its entity-level keys.
    fn reduced(&self, fields: Map<String, Value>) -> Fast<Value> {
        let mut e = Map::new();
        e.insert("fields".to_owned(), Value::Object(fields));
        insert_opt(&mut e, "identity", self.identity)?;
        insert_opt(&mut e, "description", self.description)?;
        insert_opt(&mut e, "renamed_from", self.renamed_from)?;
        Ok(Value::Object(e))
    }
}

/// Of two same-named entities: the fields that are not byte-identical on
/// both sides, decoded, plus the fields either side's `identity` names (the
/// parser checks that they exist).
#[allow(clippy::type_complexity)]
fn differing_fields<'a>(
    old: &Entity<'a>,
    new: &Entity<'a>,
    seen: &mut Seen<'a>,
) -> Fast<(Map<String, Value>, Map<String, Value>)> {
    let (mut of, mut nf) = (Map::new(), Map::new());
    merge(old.fields, new.fields, |name, o, n| {
        check_name(name)?;
        match (o, n) {
            (Some(o), Some(n)) if o.same_bytes(&n) => seen.validate_field(o)?,
            _ => {
                for (v, map) in [(o, &mut of), (n, &mut nf)] {
                    if let Some(v) = v {
                        seen.validate_field(v)?;
                        map.insert(name.to_owned(), v.to_value()?);
                    }
                }
            }
        }
        Ok(())
    })?;
    for id in old.identity()?.into_iter().chain(new.identity()?) {
        for (e, map) in [(old, &mut of), (new, &mut nf)] {
            if !map.contains_key(id) {
                if let Some(v) = e.fields.get(id)? {
                    map.insert(id.to_owned(), v.to_value()?);
                }
            }
        }
    }
    Ok((of, nf))
}

/// Field definitions already validated, by their bytes: a small
/// direct-mapped cache. Schemas repeat definitions a lot (`{"type": "text",
/// "nullable": true}`), and whether a definition is valid depends on its
/// bytes alone (see `jsonb/view.rs`), so each distinct one is checked about once.
struct Seen<'a> {
    slots: Vec<&'a [u8]>,
}

impl Default for Seen<'_> {
    fn default() -> Self {
        Seen {
            slots: vec![&[][..]; SEEN_SLOTS],
        }
    }
}

const SEEN_SLOTS: usize = 256;

impl<'a> Seen<'a> {
    fn validate_field(&mut self, v: JsonbRef<'a>) -> Fast<()> {
        let bytes = v.raw_bytes();
        // Empty slots hold `[]`, which no object's bytes equal; but a null or boolean
        // has no data bytes either, and must not pass as seen (found by tests/fuzz.rs:
        // a field `null` in an entity identical on both sides was accepted)
        if bytes.is_empty() {
            return validate_field(v);
        }
        let slot = &mut self.slots[hash(bytes) % SEEN_SLOTS];
        if *slot == bytes {
            return Ok(());
        }
        validate_field(v)?;
        *slot = bytes;
        Ok(())
    }
}

/// FxHash-style, over 8-byte words.
fn hash(bytes: &[u8]) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    (h >> 32) as usize
}

/// Everything `parse_field_at` checks, and that `decode` would succeed.
fn validate_field(v: JsonbRef<'_>) -> Fast<()> {
    let obj = v.as_object().ok_or(Fallback)?;
    let mut has_type = false;
    for_each_sorted(obj, |key, v| {
        match key {
            "type" => match v {
                JsonbRef::String(t) if !t.trim().is_empty() => has_type = true,
                _ => return Err(Fallback),
            },
            "nullable" | "deprecated" => {
                if !matches!(v, JsonbRef::Null | JsonbRef::Bool(_)) {
                    return Err(Fallback);
                }
            }
            "enum" => match v {
                JsonbRef::Null => {}
                JsonbRef::Array(a) if !a.is_empty() => v.validate()?,
                _ => return Err(Fallback),
            },
            "deprecation_message" | "deprecated_at" | "description" | "removal_version" => {
                opt_str(v)?;
            }
            "renamed_from" => {
                opt_name(v)?;
            }
            // `default` and unknown keys: any value.
            _ => v.validate()?,
        }
        Ok(())
    })?;
    if has_type {
        Ok(())
    } else {
        Err(Fallback)
    }
}

/// Null or a string.
fn opt_str(v: JsonbRef<'_>) -> Fast<JsonbRef<'_>> {
    match v {
        JsonbRef::Null | JsonbRef::String(_) => Ok(v),
        _ => Err(Fallback),
    }
}

/// Null or a plain identifier.
fn opt_name(v: JsonbRef<'_>) -> Fast<JsonbRef<'_>> {
    match v {
        JsonbRef::Null => Ok(v),
        JsonbRef::String(s) if is_plain_identifier(s) => Ok(v),
        _ => Err(Fallback),
    }
}

fn check_name(name: &str) -> Fast<()> {
    if is_plain_identifier(name) {
        Ok(())
    } else {
        Err(Fallback)
    }
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, v: Option<JsonbRef<'_>>) -> Fast<()> {
    if let Some(v) = v {
        map.insert(key.to_owned(), v.to_value()?);
    }
    Ok(())
}

/// An object's members, checked to be strictly sorted as jsonb stores them
/// (so keys are unique and merges by name are sound; a malformed datum that
/// is not sorted takes the slow path, which reads it as `decode` does).
struct Sorted<'a> {
    members: ObjectIter<'a>,
    prev: Option<&'a str>,
}

impl<'a> Sorted<'a> {
    fn new(c: JsonbContainer<'a>) -> Sorted<'a> {
        Sorted {
            members: c.iter_object(),
            prev: None,
        }
    }

    fn next(&mut self) -> Fast<Option<(&'a str, JsonbRef<'a>)>> {
        let Some(member) = self.members.next() else {
            return Ok(None);
        };
        let (key, value) = member?;
        if let Some(prev) = self.prev {
            if jsonb_key_cmp(prev, key) != Ordering::Less {
                return Err(Fallback);
            }
        }
        self.prev = Some(key);
        Ok(Some((key, value)))
    }
}

fn for_each_sorted<'a>(
    c: JsonbContainer<'a>,
    mut f: impl FnMut(&'a str, JsonbRef<'a>) -> Fast<()>,
) -> Fast<()> {
    let mut members = Sorted::new(c);
    while let Some((key, value)) = members.next()? {
        f(key, value)?;
    }
    Ok(())
}

/// Merge-joins two objects' members by key (in jsonb's key order).
fn merge<'a>(
    old: JsonbContainer<'a>,
    new: JsonbContainer<'a>,
    mut f: impl FnMut(&'a str, Option<JsonbRef<'a>>, Option<JsonbRef<'a>>) -> Fast<()>,
) -> Fast<()> {
    let (mut a, mut b) = (Sorted::new(old), Sorted::new(new));
    let (mut x, mut y) = (a.next()?, b.next()?);
    loop {
        match (x, y) {
            (None, None) => return Ok(()),
            (Some((k, v)), None) => {
                f(k, Some(v), None)?;
                x = a.next()?;
            }
            (None, Some((k, v))) => {
                f(k, None, Some(v))?;
                y = b.next()?;
            }
            (Some((ka, va)), Some((kb, vb))) => match jsonb_key_cmp(ka, kb) {
                Ordering::Less => {
                    f(ka, Some(va), None)?;
                    x = a.next()?;
                }
                Ordering::Greater => {
                    f(kb, None, Some(vb))?;
                    y = b.next()?;
                }
                Ordering::Equal => {
                    f(ka, Some(va), Some(vb))?;
                    x = a.next()?;
                    y = b.next()?;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests;
