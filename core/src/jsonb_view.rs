//! A borrowed, allocation-free view of PostgreSQL's binary `jsonb` format.
//!
//! [`crate::jsonb_binary::decode`] builds a whole `serde_json::Value` tree;
//! this module reads the same bytes in place instead: strings are `&str`
//! slices of the input, numbers stay raw `numeric` datums until asked for,
//! and object members are found by binary search (jsonb stores keys sorted
//! by length, then bytewise). See `jsonb_binary` for the format.
//!
//! The view checks only what it reads, lazily: every accessor returns a
//! `Result`, and reading malformed bytes yields a [`DecodeError`], never a
//! panic or an out-of-bounds read. [`JsonbRef::validate`] checks a whole
//! subtree without allocating; it succeeds exactly when
//! [`JsonbRef::to_value`] (i.e. `decode`) would.
//!
//! A container's value depends only on its own bytes (all offsets and
//! alignment padding in the format are relative to the container), so two
//! children with equal [`JsonbRef::raw_bytes`] and equal kinds decode to
//! equal values: [`JsonbRef::same_bytes`].

use crate::jsonb_binary::{
    int_align, jentry_at, numeric, read_u32, DecodeError, DecodeErrorKind, Decoder, JB_CMASK,
    JB_FARRAY, JB_FOBJECT, JB_FSCALAR, JENTRY_HAS_OFF, JENTRY_ISBOOL_FALSE, JENTRY_ISBOOL_TRUE,
    JENTRY_ISCONTAINER, JENTRY_ISNULL, JENTRY_ISNUMERIC, JENTRY_ISSTRING, JENTRY_OFFLENMASK,
    JENTRY_TYPEMASK, MAX_DEPTH,
};
use serde_json::{Number, Value};
use std::cmp::Ordering;

fn err<T>(offset: usize, kind: DecodeErrorKind) -> Result<T, DecodeError> {
    Err(DecodeError { offset, kind })
}

/// One jsonb value, borrowed from the datum's bytes.
#[derive(Debug, Clone, Copy)]
pub enum JsonbRef<'a> {
    Null,
    Bool(bool),
    String(&'a str),
    Number(JsonbNumber<'a>),
    Array(JsonbContainer<'a>),
    Object(JsonbContainer<'a>),
}

/// A `numeric` datum, not yet converted.
#[derive(Debug, Clone, Copy)]
pub struct JsonbNumber<'a> {
    /// From the (aligned) start of the datum to the end of the child.
    bytes: &'a [u8],
    /// Absolute offset of `bytes[0]`, for errors.
    offset: usize,
}

/// An array or object container: header, JEntry array, data.
#[derive(Debug, Clone, Copy)]
pub struct JsonbContainer<'a> {
    /// The container's own bytes, `[start, end)`.
    bytes: &'a [u8],
    /// Absolute offset of `bytes[0]` in the payload, for errors.
    offset: usize,
    count: usize,
    is_object: bool,
    /// Nesting depth (the root container is 1).
    depth: u32,
}

/// Orders keys the way jsonb stores them: by length, then bytewise
/// (`lengthCompareJsonbStringValue`).
#[inline]
pub fn jsonb_key_cmp(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

impl<'a> JsonbRef<'a> {
    /// The root value of a datum's payload (the bytes [`crate::jsonb_binary::decode`]
    /// takes). Raw scalars (`'5'::jsonb`) come out as scalars.
    pub fn from_payload(bytes: &'a [u8]) -> Result<JsonbRef<'a>, DecodeError> {
        let header = match read_u32(bytes, 0) {
            Some(h) => h,
            None => return err(0, DecodeErrorKind::Truncated),
        };
        if header & JB_FSCALAR != 0 {
            if header & (JB_FARRAY | JB_FOBJECT) != JB_FARRAY || header & JB_CMASK != 1 {
                return err(0, DecodeErrorKind::InvalidContainerHeader(header));
            }
            let entry = match read_u32(bytes, 4) {
                Some(e) => e,
                None => return err(4, DecodeErrorKind::Truncated),
            };
            let data = &bytes[8..];
            let end = child_end(8, data.len(), 0, entry)?;
            return child(data, 8, entry, 0, end, 1);
        }
        JsonbContainer::parse(bytes, 0, 1).map(JsonbContainer::into_ref)
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            JsonbRef::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            JsonbRef::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, JsonbRef::Null)
    }

    pub fn as_object(&self) -> Option<JsonbContainer<'a>> {
        match self {
            JsonbRef::Object(c) => Some(*c),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<JsonbContainer<'a>> {
        match self {
            JsonbRef::Array(c) => Some(*c),
            _ => None,
        }
    }

    /// The bytes that determine this value (empty for null and booleans).
    pub fn raw_bytes(&self) -> &'a [u8] {
        match self {
            JsonbRef::Null | JsonbRef::Bool(_) => &[],
            JsonbRef::String(s) => s.as_bytes(),
            JsonbRef::Number(n) => n.bytes,
            JsonbRef::Array(c) | JsonbRef::Object(c) => c.bytes,
        }
    }

    /// Same kind and same bytes, hence the same decoded value. (Different
    /// bytes may still mean equal values, e.g. `1.0` and `1.00`.)
    pub fn same_bytes(&self, other: &JsonbRef<'_>) -> bool {
        match (self, other) {
            (JsonbRef::Null, JsonbRef::Null) => true,
            (JsonbRef::Bool(a), JsonbRef::Bool(b)) => a == b,
            (JsonbRef::String(a), JsonbRef::String(b)) => a == b,
            (JsonbRef::Number(a), JsonbRef::Number(b)) => a.bytes == b.bytes,
            (JsonbRef::Array(a), JsonbRef::Array(b))
            | (JsonbRef::Object(a), JsonbRef::Object(b)) => a.bytes == b.bytes,
            _ => false,
        }
    }

    /// Checks the whole subtree as [`JsonbRef::to_value`] would, without
    /// building it: `validate()` is `Ok` exactly when `to_value()` is.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            JsonbRef::Null | JsonbRef::Bool(_) | JsonbRef::String(_) => Ok(()),
            JsonbRef::Number(n) => n.to_number().map(drop),
            JsonbRef::Array(c) | JsonbRef::Object(c) => c.validate(),
        }
    }

    /// The `serde_json::Value` `decode` produces for this subtree.
    pub fn to_value(&self) -> Result<Value, DecodeError> {
        Ok(match self {
            JsonbRef::Null => Value::Null,
            JsonbRef::Bool(b) => Value::Bool(*b),
            JsonbRef::String(s) => Value::String((*s).to_owned()),
            JsonbRef::Number(n) => Value::Number(n.to_number()?),
            JsonbRef::Array(c) | JsonbRef::Object(c) => c.decode_value()?,
        })
    }
}

impl JsonbNumber<'_> {
    /// The number `decode` produces (`numeric_out` text read by serde).
    pub fn to_number(&self) -> Result<Number, DecodeError> {
        numeric(self.bytes, self.offset)
    }
}

impl<'a> JsonbContainer<'a> {
    /// Reads the container header at the start of `bytes` (its whole region).
    fn parse(
        bytes: &'a [u8],
        offset: usize,
        depth: u32,
    ) -> Result<JsonbContainer<'a>, DecodeError> {
        if depth > MAX_DEPTH {
            return err(offset, DecodeErrorKind::DepthLimitExceeded);
        }
        let header = match read_u32(bytes, 0) {
            Some(h) => h,
            None => return err(offset, DecodeErrorKind::Truncated),
        };
        let count = (header & JB_CMASK) as usize;
        let is_object = match header & (JB_FARRAY | JB_FOBJECT | JB_FSCALAR) {
            JB_FARRAY => false,
            JB_FOBJECT => true,
            _ => return err(offset, DecodeErrorKind::InvalidContainerHeader(header)),
        };
        let n_entries = if is_object { count * 2 } else { count };
        match n_entries.checked_mul(4) {
            Some(len) if len <= bytes.len() - 4 => {}
            _ => return err(offset, DecodeErrorKind::Truncated),
        }
        Ok(JsonbContainer {
            bytes,
            offset,
            count,
            is_object,
            depth,
        })
    }

    fn into_ref(self) -> JsonbRef<'a> {
        if self.is_object {
            JsonbRef::Object(self)
        } else {
            JsonbRef::Array(self)
        }
    }

    /// Members of an object, elements of an array.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn is_object(&self) -> bool {
        self.is_object
    }

    /// The container's bytes: equal bytes, equal values.
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn n_entries(&self) -> usize {
        if self.is_object {
            self.count * 2
        } else {
            self.count
        }
    }

    #[inline]
    fn entry(&self, i: usize) -> u32 {
        jentry_at(&self.bytes[4 + 4 * i..])
    }

    /// Relative offset of the data region, and the region.
    #[inline]
    fn data(&self) -> (usize, &'a [u8]) {
        let start = 4 + 4 * self.n_entries();
        (start, &self.bytes[start..])
    }

    /// Start offset (relative to the data region) of child `i`:
    /// `getJsonbOffset`.
    fn child_offset(&self, i: usize) -> usize {
        let mut off = 0usize;
        for k in (0..i).rev() {
            let e = self.entry(k);
            off = off.wrapping_add((e & JENTRY_OFFLENMASK) as usize);
            if e & JENTRY_HAS_OFF != 0 {
                break;
            }
        }
        off
    }

    /// Child `i` of the JEntry array (keys first, then values, in an object).
    fn child_at(&self, i: usize) -> Result<JsonbRef<'a>, DecodeError> {
        let (data_at, data) = self.data();
        let off = self.child_offset(i);
        let entry = self.entry(i);
        let at = self.offset + data_at;
        let end = child_end(at, data.len(), off, entry)?;
        child(data, at, entry, off, end, self.depth)
    }

    fn key_at(&self, i: usize) -> Result<&'a str, DecodeError> {
        let (data_at, data) = self.data();
        let off = self.child_offset(i);
        let entry = self.entry(i);
        let at = self.offset + data_at;
        let end = child_end(at, data.len(), off, entry)?;
        if entry & JENTRY_TYPEMASK != JENTRY_ISSTRING {
            return err(at + off, DecodeErrorKind::NonStringKey(entry));
        }
        string(&data[off..end], at + off)
    }

    /// Element `i` of an array (`None` past the end or on an object).
    pub fn index(&self, i: usize) -> Result<Option<JsonbRef<'a>>, DecodeError> {
        if self.is_object || i >= self.count {
            return Ok(None);
        }
        self.child_at(i).map(Some)
    }

    /// The value of `key` in an object (`None` if absent or on an array):
    /// binary search over the keys, which jsonb keeps sorted (see
    /// [`jsonb_key_cmp`]). On a malformed object whose keys are not sorted
    /// the answer may be wrong, but it is never a panic.
    pub fn get(&self, key: &str) -> Result<Option<JsonbRef<'a>>, DecodeError> {
        if !self.is_object {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = self.key_at(mid)?;
            match jsonb_key_cmp(k, key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return self.child_at(self.count + mid).map(Some),
            }
        }
        Ok(None)
    }

    /// An object's members in storage order (an array yields nothing).
    pub fn iter_object(&self) -> ObjectIter<'a> {
        let count = if self.is_object { self.count } else { 0 };
        // Values' data follows all keys' data: find where the keys end, as
        // the decoder does.
        let mut value_off = 0usize;
        for i in 0..count {
            let entry = self.entry(i);
            let field = (entry & JENTRY_OFFLENMASK) as usize;
            value_off = if entry & JENTRY_HAS_OFF != 0 {
                field
            } else {
                value_off.wrapping_add(field)
            };
        }
        ObjectIter {
            c: *self,
            i: 0,
            count,
            key_off: 0,
            value_off,
        }
    }

    /// An array's elements in order (an object yields nothing).
    pub fn iter_array(&self) -> ArrayIter<'a> {
        ArrayIter {
            c: *self,
            i: 0,
            count: if self.is_object { 0 } else { self.count },
            off: 0,
        }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        if self.is_object {
            for member in self.iter_object() {
                member?.1.validate()?;
            }
        } else {
            for elem in self.iter_array() {
                elem?.validate()?;
            }
        }
        Ok(())
    }

    fn decode_value(&self) -> Result<Value, DecodeError> {
        // Decoding is position-independent, so decode the slice on its own
        // and shift error offsets back.
        Decoder { buf: self.bytes }
            .container(0, self.bytes.len(), self.depth)
            .map_err(|e| DecodeError {
                offset: e.offset + self.offset,
                kind: e.kind,
            })
    }
}

/// Iterator over an object's `(key, value)` pairs; stops after an error.
pub struct ObjectIter<'a> {
    c: JsonbContainer<'a>,
    i: usize,
    count: usize,
    key_off: usize,
    value_off: usize,
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = Result<(&'a str, JsonbRef<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.count {
            return None;
        }
        let result = self.step();
        self.i = if result.is_ok() {
            self.i + 1
        } else {
            self.count
        };
        Some(result)
    }
}

impl<'a> ObjectIter<'a> {
    fn step(&mut self) -> Result<(&'a str, JsonbRef<'a>), DecodeError> {
        let (data_at, data) = self.c.data();
        let at = self.c.offset + data_at;
        let kentry = self.c.entry(self.i);
        let key_end = child_end(at, data.len(), self.key_off, kentry)?;
        if kentry & JENTRY_TYPEMASK != JENTRY_ISSTRING {
            return err(at + self.key_off, DecodeErrorKind::NonStringKey(kentry));
        }
        let key = string(&data[self.key_off..key_end], at + self.key_off)?;
        let ventry = self.c.entry(self.c.count + self.i);
        let value_end = child_end(at, data.len(), self.value_off, ventry)?;
        let value = child(data, at, ventry, self.value_off, value_end, self.c.depth)?;
        self.key_off = key_end;
        self.value_off = value_end;
        Ok((key, value))
    }
}

/// Iterator over an array's elements; stops after an error.
pub struct ArrayIter<'a> {
    c: JsonbContainer<'a>,
    i: usize,
    count: usize,
    off: usize,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Result<JsonbRef<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.count {
            return None;
        }
        let (data_at, data) = self.c.data();
        let at = self.c.offset + data_at;
        let entry = self.c.entry(self.i);
        let result = child_end(at, data.len(), self.off, entry)
            .and_then(|end| child(data, at, entry, self.off, end, self.c.depth).map(|v| (v, end)));
        match result {
            Ok((v, end)) => {
                self.off = end;
                self.i += 1;
                Some(Ok(v))
            }
            Err(e) => {
                self.i = self.count;
                Some(Err(e))
            }
        }
    }
}

/// End offset of a child starting at `off` in a data region of `data_len`
/// bytes at absolute `at` (the decoder's `region_end`).
#[inline]
fn child_end(at: usize, data_len: usize, off: usize, entry: u32) -> Result<usize, DecodeError> {
    let field = (entry & JENTRY_OFFLENMASK) as usize;
    let end = if entry & JENTRY_HAS_OFF != 0 {
        field
    } else {
        off.wrapping_add(field)
    };
    if end < off || end > data_len {
        return err(at.wrapping_add(off), DecodeErrorKind::InvalidChildRange);
    }
    Ok(end)
}

/// The child with JEntry `entry` occupying `data[off..end]` (validated to lie
/// in `data`), `data` starting at absolute `at`, in a container at `depth`.
#[inline]
fn child<'a>(
    data: &'a [u8],
    at: usize,
    entry: u32,
    off: usize,
    end: usize,
    depth: u32,
) -> Result<JsonbRef<'a>, DecodeError> {
    Ok(match entry & JENTRY_TYPEMASK {
        JENTRY_ISSTRING => JsonbRef::String(string(&data[off..end], at + off)?),
        JENTRY_ISNULL => JsonbRef::Null,
        JENTRY_ISBOOL_TRUE => JsonbRef::Bool(true),
        JENTRY_ISBOOL_FALSE => JsonbRef::Bool(false),
        JENTRY_ISNUMERIC => {
            let start = int_align(off);
            if start > end {
                return err(at + off, DecodeErrorKind::InvalidChildRange);
            }
            JsonbRef::Number(JsonbNumber {
                bytes: &data[start..end],
                offset: at + start,
            })
        }
        JENTRY_ISCONTAINER => {
            let start = int_align(off);
            if start > end {
                return err(at + off, DecodeErrorKind::InvalidChildRange);
            }
            JsonbContainer::parse(&data[start..end], at + start, depth + 1)?.into_ref()
        }
        _ => return err(at + off, DecodeErrorKind::InvalidJEntry(entry)),
    })
}

#[inline]
fn string(bytes: &[u8], at: usize) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError {
        offset: at,
        kind: DecodeErrorKind::InvalidUtf8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonb_binary::decode;
    use crate::jsonb_binary::tests::{Encoder, Jb};
    use proptest::prelude::*;
    use serde_json::json;

    fn payload(v: &Value) -> Vec<u8> {
        Encoder::payload(&Jb::from_value(v))
    }

    #[test]
    fn reads_in_place() {
        let v = json!({"b": [1, "x", null, true, 2.5], "aa": {"k": false}, "c": "ü"});
        let bytes = payload(&v);
        let root = JsonbRef::from_payload(&bytes).unwrap();
        let obj = root.as_object().unwrap();
        assert_eq!(obj.len(), 3);
        let keys: Vec<&str> = obj.iter_object().map(|m| m.unwrap().0).collect();
        assert_eq!(keys, ["b", "c", "aa"]);
        assert_eq!(obj.get("c").unwrap().unwrap().as_str(), Some("ü"));
        assert!(obj.get("zz").unwrap().is_none());
        let aa = obj.get("aa").unwrap().unwrap().as_object().unwrap();
        assert_eq!(aa.get("k").unwrap().unwrap().as_bool(), Some(false));
        let b = obj.get("b").unwrap().unwrap().as_array().unwrap();
        assert_eq!(b.index(4).unwrap().unwrap().to_value().unwrap(), json!(2.5));
        assert!(b.index(5).unwrap().is_none());
        assert!(b.index(2).unwrap().unwrap().is_null());
        assert_eq!(root.to_value().unwrap(), v);
        assert!(root.validate().is_ok());
        let five = payload(&json!(5));
        let raw = JsonbRef::from_payload(&five).unwrap();
        assert_eq!(raw.to_value().unwrap(), json!(5));
    }

    #[test]
    fn get_across_strides() {
        let v: Value = (0..200)
            .map(|i| (format!("k{}", "x".repeat(i % 7) + &i.to_string()), json!(i)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let bytes = payload(&v);
        let obj = JsonbRef::from_payload(&bytes).unwrap().as_object().unwrap();
        for (k, val) in v.as_object().unwrap() {
            assert_eq!(&obj.get(k).unwrap().unwrap().to_value().unwrap(), val);
        }
        assert!(obj.get("k").unwrap().is_none());
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1_000_000i64..1_000_000).prop_map(|m| json!(m as f64 / 64.0)),
            "[a-z_]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 128, 40, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..40).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{0,6}", inner, 0..40)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The view agrees with the decoder, and `validate` with decoding,
        /// on valid and on corrupted images.
        #[test]
        fn agrees_with_decode(
            value in arb_value(),
            corruptions in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        ) {
            let mut bytes = payload(&value);
            for (index, byte) in &corruptions {
                let i = index.index(bytes.len());
                bytes[i] = *byte;
            }
            let decoded = decode(&bytes);
            let view = JsonbRef::from_payload(&bytes);
            match &view {
                Ok(v) => {
                    prop_assert_eq!(v.validate().is_ok(), decoded.is_ok());
                    prop_assert_eq!(v.to_value().ok(), decoded.clone().ok());
                    // Binary search needs sorted keys, which corruption may break.
                    let intact = corruptions.is_empty();
                    if let (true, Some(obj), Ok(Value::Object(map))) = (intact, v.as_object(), &decoded) {
                        for (k, val) in map {
                            let got = obj.get(k);
                            prop_assert_eq!(got.map(|g| g.map(|g| g.to_value().ok())), Ok(Some(Some(val.clone()))));
                        }
                    }
                }
                Err(_) => prop_assert!(decoded.is_err()),
            }
            if corruptions.is_empty() {
                prop_assert_eq!(decoded.unwrap(), value);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(v) = JsonbRef::from_payload(&bytes) {
                let _ = v.validate();
                let _ = v.to_value();
                if let Some(c) = v.as_object().or(v.as_array()) {
                    let _ = c.get("a");
                    let _ = c.index(0);
                    let _ = c.iter_object().count();
                    let _ = c.iter_array().count();
                }
            }
        }
    }
}
