//! A borrowed, allocation-free view of PostgreSQL's binary `jsonb` format.
//!
//! [`super::decode()`] builds a whole `serde_json::Value` tree; this module
//! reads the same bytes in place instead: strings are `&str` slices of the
//! input, numbers stay raw `numeric` datums until asked for, and object
//! members are found by binary search (jsonb stores keys sorted by length,
//! then bytewise). See `format.rs` for the format.
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

use super::decode::{err, numeric, DecodeError, DecodeErrorKind, Decoder};
use super::format::{
    int_align, raw_scalar, Child, ContainerHeader, JEntryWalker, JENTRY_ISBOOL_FALSE,
    JENTRY_ISBOOL_TRUE, JENTRY_ISCONTAINER, JENTRY_ISNULL, JENTRY_ISNUMERIC, JENTRY_ISSTRING,
    JENTRY_TYPEMASK, RAW_SCALAR_DATA,
};
use serde_json::{Number, Value};
use std::cmp::Ordering;

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
    header: ContainerHeader,
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
    /// The root value of a datum's payload (the bytes [`super::decode()`]
    /// takes). Raw scalars (`'5'::jsonb`) come out as scalars.
    pub fn from_payload(bytes: &'a [u8]) -> Result<JsonbRef<'a>, DecodeError> {
        match raw_scalar(bytes)? {
            Some(scalar) => child(&bytes[RAW_SCALAR_DATA..], RAW_SCALAR_DATA, scalar, 1),
            None => JsonbContainer::parse(bytes, 0, 1).map(JsonbContainer::into_ref),
        }
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
        let header = ContainerHeader::parse(bytes, offset, depth)?;
        Ok(JsonbContainer {
            bytes,
            offset,
            header,
            depth,
        })
    }

    fn into_ref(self) -> JsonbRef<'a> {
        if self.header.is_object {
            JsonbRef::Object(self)
        } else {
            JsonbRef::Array(self)
        }
    }

    /// Members of an object, elements of an array.
    pub fn len(&self) -> usize {
        self.header.count
    }

    pub fn is_empty(&self) -> bool {
        self.header.count == 0
    }

    pub fn is_object(&self) -> bool {
        self.header.is_object
    }

    /// The container's bytes: equal bytes, equal values.
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Absolute offset of the data region, and the region.
    #[inline]
    fn data(&self) -> (usize, &'a [u8]) {
        let start = self.header.data_start();
        (self.offset + start, &self.bytes[start..])
    }

    /// A walker over the whole JEntry array (keys first, then values, in an
    /// object).
    #[inline]
    fn walker(&self) -> JEntryWalker<'a> {
        self.header.walker(self.bytes, self.offset)
    }

    /// Child `i` of the JEntry array, located; `None` past its end.
    fn locate(&self, i: usize) -> Option<Result<Child, DecodeError>> {
        self.walker().seek(i).next()
    }

    /// Child `i` of the JEntry array (`None` past its end).
    fn child_at(&self, i: usize) -> Result<Option<JsonbRef<'a>>, DecodeError> {
        let (at, data) = self.data();
        self.locate(i)
            .map(|located| located.and_then(|c| child(data, at, c, self.depth)))
            .transpose()
    }

    /// Key `i` of an object (`None` past the JEntry array's end).
    fn key_at(&self, i: usize) -> Result<Option<&'a str>, DecodeError> {
        let (at, data) = self.data();
        self.locate(i)
            .map(|located| located.and_then(|c| read_key(data, at, c)))
            .transpose()
    }

    /// Element `i` of an array (`None` past the end or on an object).
    pub fn index(&self, i: usize) -> Result<Option<JsonbRef<'a>>, DecodeError> {
        if self.header.is_object || i >= self.header.count {
            return Ok(None);
        }
        self.child_at(i)
    }

    /// The value of `key` in an object (`None` if absent or on an array):
    /// binary search over the keys, which jsonb keeps sorted (see
    /// [`jsonb_key_cmp`]). On a malformed object whose keys are not sorted
    /// the answer may be wrong, but it is never a panic.
    pub fn get(&self, key: &str) -> Result<Option<JsonbRef<'a>>, DecodeError> {
        if !self.header.is_object {
            return Ok(None);
        }
        let count = self.header.count;
        let (mut lo, mut hi) = (0usize, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // `mid < count`, so key `mid` exists.
            let Some(k) = self.key_at(mid)? else {
                return Ok(None);
            };
            match jsonb_key_cmp(k, key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return self.child_at(count + mid),
            }
        }
        Ok(None)
    }

    /// An object's members in storage order (an array yields nothing).
    pub fn iter_object(&self) -> ObjectIter<'a> {
        // Values' data follows all keys' data; an array has no keys.
        let n_keys = if self.header.is_object {
            self.header.count
        } else {
            0
        };
        let (keys, values) = self.walker().split(n_keys);
        ObjectIter {
            c: *self,
            keys,
            values,
        }
    }

    /// An array's elements in order (an object yields nothing).
    pub fn iter_array(&self) -> ArrayIter<'a> {
        let mut elems = self.walker();
        if self.header.is_object {
            elems.finish();
        }
        ArrayIter { c: *self, elems }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        if self.header.is_object {
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
    keys: JEntryWalker<'a>,
    values: JEntryWalker<'a>,
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = Result<(&'a str, JsonbRef<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = (self.keys.next()?, self.values.next()?);
        let (at, data) = self.c.data();
        let result = k.and_then(|k| read_key(data, at, k)).and_then(|name| {
            let value = child(data, at, v?, self.c.depth)?;
            Ok((name, value))
        });
        if result.is_err() {
            self.keys.finish();
        }
        Some(result)
    }
}

/// Iterator over an array's elements; stops after an error.
pub struct ArrayIter<'a> {
    c: JsonbContainer<'a>,
    elems: JEntryWalker<'a>,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Result<JsonbRef<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (at, data) = self.c.data();
        let result = self
            .elems
            .next()?
            .and_then(|c| child(data, at, c, self.c.depth));
        if result.is_err() {
            self.elems.finish();
        }
        Some(result)
    }
}

/// The key `located` in `data` (starting at absolute `at`): it must be a
/// string.
#[inline]
fn read_key(data: &[u8], at: usize, located: Child) -> Result<&str, DecodeError> {
    let Child { entry, off, end } = located;
    if entry & JENTRY_TYPEMASK != JENTRY_ISSTRING {
        return err(at + off, DecodeErrorKind::NonStringKey(entry));
    }
    string(&data[off..end], at + off)
}

/// The child `located` in `data` (its range validated to lie in `data`),
/// `data` starting at absolute `at`, in a container at `depth`.
#[inline]
fn child(data: &[u8], at: usize, located: Child, depth: u32) -> Result<JsonbRef<'_>, DecodeError> {
    let Child { entry, off, end } = located;
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
