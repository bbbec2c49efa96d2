//! Direct decoder of PostgreSQL's binary `jsonb` format into
//! [`serde_json::Value`].
//!
//! Receiving a `jsonb` argument through pgrx turns it into text
//! (`JsonbToCString`) which `serde_json` then parses; for multi-MB documents
//! that round trip dominates the call. This module reads the detoasted datum
//! directly instead. It is pure Rust and never touches Postgres: the shell
//! hands it bytes.
//!
//! # Input
//!
//! * [`decode`] takes the varlena *payload*, i.e. the `VARSIZE_ANY_EXHDR`
//!   bytes starting at `VARDATA_ANY`: the root `JsonbContainer`, beginning
//!   with its `uint32 header`.
//! * [`decode_varlena`] takes a whole in-line, uncompressed varlena (4-byte
//!   header, or 1-byte "short" header) and decodes its payload. Compressed or
//!   external (TOAST pointer) datums are rejected: detoast first.
//!
//! The datum must be fully detoasted (`pg_detoast_datum` or
//! `pg_detoast_datum_packed`). The slice needs no particular alignment: all
//! alignment padding in the format is relative to the start of a container,
//! and the decoder computes it that way.
//!
//! Multi-byte integers are read in **native byte order**, as Postgres writes
//! them (the jsonb on-disk format is not portable across endianness). Both
//! little- and big-endian varlena header layouts are handled; only
//! little-endian is exercised by the tests.
//!
//! Strings are expected to be UTF-8 (a `UTF8` server encoding); invalid
//! UTF-8 is an error.
//!
//! # Output
//!
//! The result is the value `serde_json::from_str` would produce from the
//! text `JsonbToCString` prints for the same datum, so replacing the text
//! round trip changes no result:
//!
//! * Object members come out in storage order, which only matters if
//!   `serde_json`'s `preserve_order` feature is on: storage order is the
//!   order jsonb itself prints (keys sorted by length, then bytewise).
//! * A `numeric` is rendered as `numeric_out` would (the display scale keeps
//!   trailing zeros, so `1.50` stays a float and `15` an integer), and that
//!   decimal text becomes a [`serde_json::Number`] by serde's own rules:
//!   `u64` for non-negative integers, `i64` for negative ones, otherwise
//!   `f64` parsed by `serde_json` from the exact decimal text. The common
//!   integer case is computed directly from the base-10000 digits without
//!   building text.
//! * A number `serde_json` cannot represent (beyond `f64` range, or a numeric
//!   `NaN`/`±Infinity`, which jsonb never stores as numbers) is an error, as
//!   it is for `serde_json::from_str`.
//! * Containers nested deeper than [`MAX_DEPTH`] (127) are rejected, as
//!   `serde_json`'s recursion limit rejects their text.
//!
//! Malformed input yields a [`DecodeError`]; the decoder never panics and
//! never reads out of bounds, and what it allocates is proportional to the
//! input (chiefly the B-tree nodes of `serde_json`'s maps).
//!
//! Most of the time goes into allocating the `Value` tree (every `String`
//! and B-tree node), which the text path pays as well; see the
//! `bench_decode_vs_serde_text` test for numbers.
//!
//! # Format
//!
//! From `src/include/utils/jsonb.h` and `src/backend/utils/adt/jsonb_util.c`
//! (stable since PostgreSQL 9.4; the tests pin it to byte images captured
//! from PostgreSQL 15):
//!
//! ```text
//! container := header:u32  jentry:u32 * n  data
//!   header  = count & 0x0FFFFFFF | JB_FSCALAR 0x10000000
//!             | JB_FOBJECT 0x20000000 | JB_FARRAY 0x40000000
//!   n       = count (array) or 2 * count (object: all keys, then all values)
//! jentry  := HAS_OFF 0x80000000 | type 0x70000000 | offlen 0x0FFFFFFF
//!   offlen  = end offset of the child's data (HAS_OFF, every 32nd entry)
//!             or its length
//!   type    = STRING 0 | NUMERIC 1 | FALSE 2 | TRUE 3 | NULL 4 | CONTAINER 5
//! ```
//!
//! Offsets are relative to `data`. A numeric or container child begins with
//! zero to three padding bytes that bring it to a 4-byte boundary
//! (`INTALIGN(offset)`); the padding is counted in its length. A numeric is a
//! complete `numeric` varlena (see `NumericParts`). A raw scalar
//! (`'5'::jsonb`) is a one-element array with `JB_FSCALAR` set.

use serde_json::{Map, Number, Value};
use std::fmt;

/// Containers may nest at most this deep (the root container is depth 1).
/// `serde_json::from_str` rejects the text of anything deeper, so this keeps
/// the decoder equivalent to the text path, and it bounds recursion.
pub const MAX_DEPTH: u32 = 127;

pub(crate) const JB_CMASK: u32 = 0x0FFF_FFFF;
pub(crate) const JB_FSCALAR: u32 = 0x1000_0000;
pub(crate) const JB_FOBJECT: u32 = 0x2000_0000;
pub(crate) const JB_FARRAY: u32 = 0x4000_0000;

pub(crate) const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
pub(crate) const JENTRY_TYPEMASK: u32 = 0x7000_0000;
pub(crate) const JENTRY_HAS_OFF: u32 = 0x8000_0000;

pub(crate) const JENTRY_ISSTRING: u32 = 0x0000_0000;
pub(crate) const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
pub(crate) const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
pub(crate) const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
pub(crate) const JENTRY_ISNULL: u32 = 0x4000_0000;
pub(crate) const JENTRY_ISCONTAINER: u32 = 0x5000_0000;

const NUMERIC_SIGN_MASK: u16 = 0xC000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_SHORT: u16 = 0x8000;
const NUMERIC_SPECIAL: u16 = 0xC000;
const NUMERIC_SHORT_SIGN_MASK: u16 = 0x2000;
const NUMERIC_SHORT_DSCALE_MASK: u16 = 0x1F80;
const NUMERIC_SHORT_DSCALE_SHIFT: u16 = 7;
const NUMERIC_SHORT_WEIGHT_SIGN_MASK: u16 = 0x0040;
const NUMERIC_SHORT_WEIGHT_MASK: u16 = 0x003F;
const NUMERIC_DSCALE_MASK: u16 = 0x3FFF;
const NBASE: u16 = 10_000;

/// A numeric whose first base-10000 digit has this weight or more is at
/// least 10^312, beyond `f64`.
const WEIGHT_BEYOND_F64: i32 = 78;

/// Why a byte image is not a decodable jsonb datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset into the slice given to [`decode`] (for
    /// [`decode_varlena`]: into its slice, header included) where the
    /// offending structure starts.
    pub offset: usize,
    /// What is wrong there.
    pub kind: DecodeErrorKind,
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// A header, JEntry array or varlena runs past the end of its enclosing
    /// region.
    Truncated,
    /// A container header with neither or both of `JB_FARRAY`/`JB_FOBJECT`,
    /// or `JB_FSCALAR` anywhere but on a one-element root array.
    InvalidContainerHeader(u32),
    /// A JEntry with an unknown type (`0x6…`/`0x7…`).
    InvalidJEntry(u32),
    /// An object key whose JEntry is not a string.
    NonStringKey(u32),
    /// A child's end offset lies before its start or past its container.
    InvalidChildRange,
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// A `numeric` datum that violates its format.
    InvalidNumeric(&'static str),
    /// A number `serde_json` cannot hold: numeric `NaN`/`±Infinity`, or a
    /// magnitude beyond `f64`.
    NumberOutOfRange,
    /// Containers nested deeper than [`MAX_DEPTH`].
    DepthLimitExceeded,
    /// A compressed or external (TOAST pointer) varlena, or a varlena length
    /// that does not fit its slice.
    UnsupportedVarlena(&'static str),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("data runs past the end of its region"),
            Self::InvalidContainerHeader(h) => write!(f, "invalid container header {h:#010x}"),
            Self::InvalidJEntry(e) => write!(f, "invalid JEntry {e:#010x}"),
            Self::NonStringKey(e) => write!(f, "object key is not a string (JEntry {e:#010x})"),
            Self::InvalidChildRange => f.write_str("child offset/length out of range"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::InvalidNumeric(why) => write!(f, "invalid numeric: {why}"),
            Self::NumberOutOfRange => {
                f.write_str("number is NaN, infinite or beyond the range of f64")
            }
            Self::DepthLimitExceeded => {
                write!(f, "containers nested deeper than {MAX_DEPTH}")
            }
            Self::UnsupportedVarlena(why) => write!(f, "unsupported varlena: {why}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed jsonb at byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for DecodeError {}

fn err<T>(offset: usize, kind: DecodeErrorKind) -> Result<T, DecodeError> {
    Err(DecodeError { offset, kind })
}

/// Decodes a jsonb datum's payload: the bytes at `VARDATA_ANY`, without the
/// varlena header, starting with the root container's `uint32` header.
/// Trailing bytes after the root's data are ignored.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let header = match read_u32(bytes, 0) {
        Some(h) => h,
        None => return err(0, DecodeErrorKind::Truncated),
    };
    let decoder = Decoder { buf: bytes };
    if header & JB_FSCALAR != 0 {
        // Raw scalar: a one-element pseudo-array that does not count as a
        // nesting level.
        if header & (JB_FARRAY | JB_FOBJECT) != JB_FARRAY || header & JB_CMASK != 1 {
            return err(0, DecodeErrorKind::InvalidContainerHeader(header));
        }
        let entry = match read_u32(bytes, 4) {
            Some(e) => e,
            None => return err(4, DecodeErrorKind::Truncated),
        };
        let end = decoder.region_end(8, bytes.len() - 8, 0, entry)?;
        return decoder.child(entry, 8, 0, end, 1);
    }
    decoder.container(0, bytes.len(), 1)
}

/// Decodes a complete in-line, uncompressed jsonb varlena: a 4-byte header
/// (or a 1-byte short header) followed by the payload [`decode`] takes.
/// Bytes after `VARSIZE` are ignored; error offsets count from the start of
/// `bytes`.
pub fn decode_varlena(bytes: &[u8]) -> Result<Value, DecodeError> {
    let (hdr, total) = varlena_header(bytes).map_err(|kind| DecodeError { offset: 0, kind })?;
    decode(&bytes[hdr..total]).map_err(|e| DecodeError {
        offset: e.offset + hdr,
        kind: e.kind,
    })
}

/// Reads a varlena header at the start of `bytes`: returns (header length,
/// total length including the header), with the total checked against
/// `bytes.len()`.
fn varlena_header(bytes: &[u8]) -> Result<(usize, usize), DecodeErrorKind> {
    use DecodeErrorKind::{Truncated, UnsupportedVarlena};
    let first = *bytes.first().ok_or(Truncated)?;
    // VARATT_IS_1B / VARATT_IS_1B_E / VARATT_IS_4B_U and the sizes, as in
    // postgres.h (varatt.h) for each byte order.
    #[cfg(target_endian = "little")]
    let (is_1b, is_external, short_len) = (first & 0x01 == 0x01, first == 0x01, first >> 1);
    #[cfg(target_endian = "big")]
    let (is_1b, is_external, short_len) = (first & 0x80 == 0x80, first == 0x80, first & 0x7F);
    let (hdr, total) = if is_1b {
        if is_external {
            return Err(UnsupportedVarlena("external TOAST pointer"));
        }
        (1, usize::from(short_len))
    } else {
        let word = read_u32(bytes, 0).ok_or(Truncated)?;
        #[cfg(target_endian = "little")]
        let (compressed, len) = (word & 0x03 == 0x02, word >> 2);
        #[cfg(target_endian = "big")]
        let (compressed, len) = (word & 0x4000_0000 != 0, word & 0x3FFF_FFFF);
        if compressed {
            return Err(UnsupportedVarlena("compressed"));
        }
        (4, len as usize)
    };
    if total < hdr {
        return Err(UnsupportedVarlena("length smaller than its header"));
    }
    if total > bytes.len() {
        return Err(Truncated);
    }
    Ok((hdr, total))
}

#[inline]
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

#[inline]
pub(crate) fn jentry_at(chunk: &[u8]) -> u32 {
    u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])
}

/// `INTALIGN`.
#[inline]
pub(crate) fn int_align(x: usize) -> usize {
    (x + 3) & !3
}

pub(crate) struct Decoder<'a> {
    pub(crate) buf: &'a [u8],
}

impl Decoder<'_> {
    /// Decodes the container occupying absolute `[start, end)`.
    pub(crate) fn container(
        &self,
        start: usize,
        end: usize,
        depth: u32,
    ) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return err(start, DecodeErrorKind::DepthLimitExceeded);
        }
        let region = &self.buf[start..end];
        let header = match read_u32(region, 0) {
            Some(h) => h,
            None => return err(start, DecodeErrorKind::Truncated),
        };
        let count = (header & JB_CMASK) as usize;
        let is_object = match header & (JB_FARRAY | JB_FOBJECT | JB_FSCALAR) {
            JB_FARRAY => false,
            JB_FOBJECT => true,
            _ => return err(start, DecodeErrorKind::InvalidContainerHeader(header)),
        };
        let n_entries = if is_object { count * 2 } else { count };
        // The JEntry array must fit in the region; this also bounds every
        // allocation below by the input size.
        let entries_len = match n_entries.checked_mul(4) {
            Some(len) if len <= region.len() - 4 => len,
            _ => return err(start, DecodeErrorKind::Truncated),
        };
        let entries = &region[4..4 + entries_len];
        let data = start + 4 + entries_len;
        let data_len = end - data;

        if !is_object {
            let mut elems = Vec::with_capacity(count);
            let mut off = 0usize;
            for chunk in entries.chunks_exact(4) {
                let entry = jentry_at(chunk);
                let child_end = self.region_end(data, data_len, off, entry)?;
                elems.push(self.child(entry, data, off, child_end, depth)?);
                off = child_end;
            }
            return Ok(Value::Array(elems));
        }

        let (keys, values) = entries.split_at(count * 4);
        // Values' data follows all keys' data: find where the keys end.
        // Wrapping arithmetic only avoids overflow panics on garbage; every
        // range is validated when used.
        let mut value_off = 0usize;
        for chunk in keys.chunks_exact(4) {
            let entry = jentry_at(chunk);
            let field = (entry & JENTRY_OFFLENMASK) as usize;
            value_off = if entry & JENTRY_HAS_OFF != 0 {
                field
            } else {
                value_off.wrapping_add(field)
            };
        }
        let mut key_off = 0usize;
        let mut map = Map::new();
        // Small objects: insert directly. Large ones: collect and let
        // `FromIterator` sort once and bulk-build the tree, which beats
        // repeated inserts.
        let mut pairs = if count > SMALL_OBJECT {
            Vec::with_capacity(count)
        } else {
            Vec::new()
        };
        for (kchunk, vchunk) in keys.chunks_exact(4).zip(values.chunks_exact(4)) {
            let kentry = jentry_at(kchunk);
            let key_end = self.region_end(data, data_len, key_off, kentry)?;
            if kentry & JENTRY_TYPEMASK != JENTRY_ISSTRING {
                return err(data + key_off, DecodeErrorKind::NonStringKey(kentry));
            }
            let key = self.string(data + key_off, data + key_end)?;
            let ventry = jentry_at(vchunk);
            let value_end = self.region_end(data, data_len, value_off, ventry)?;
            let value = self.child(ventry, data, value_off, value_end, depth)?;
            if count > SMALL_OBJECT {
                pairs.push((key, value));
            } else {
                map.insert(key, value);
            }
            key_off = key_end;
            value_off = value_end;
        }
        if count > SMALL_OBJECT {
            map = pairs.into_iter().collect();
        }
        Ok(Value::Object(map))
    }

    /// The end offset of the child with JEntry `entry` whose data starts at
    /// `off`, both relative to a data region at absolute `data` of length
    /// `data_len`: `getJsonbLength` without the backward walk, since `off`
    /// is carried along (`JBE_ADVANCE_OFFSET`).
    #[inline]
    fn region_end(
        &self,
        data: usize,
        data_len: usize,
        off: usize,
        entry: u32,
    ) -> Result<usize, DecodeError> {
        let field = (entry & JENTRY_OFFLENMASK) as usize;
        let end = if entry & JENTRY_HAS_OFF != 0 {
            field
        } else {
            off.wrapping_add(field)
        };
        if end < off || end > data_len {
            return err(data.wrapping_add(off), DecodeErrorKind::InvalidChildRange);
        }
        Ok(end)
    }

    /// Decodes the child with JEntry `entry` whose data is the relative
    /// range `[off, end)` of the data region starting at absolute `data`
    /// (already validated to lie in the buffer).
    #[inline]
    fn child(
        &self,
        entry: u32,
        data: usize,
        off: usize,
        end: usize,
        depth: u32,
    ) -> Result<Value, DecodeError> {
        Ok(match entry & JENTRY_TYPEMASK {
            JENTRY_ISSTRING => Value::String(self.string(data + off, data + end)?),
            JENTRY_ISNULL => Value::Null,
            JENTRY_ISBOOL_TRUE => Value::Bool(true),
            JENTRY_ISBOOL_FALSE => Value::Bool(false),
            JENTRY_ISNUMERIC => {
                let start = int_align(off);
                if start > end {
                    return err(data + off, DecodeErrorKind::InvalidChildRange);
                }
                Value::Number(numeric(&self.buf[data + start..data + end], data + start)?)
            }
            JENTRY_ISCONTAINER => {
                let start = int_align(off);
                if start > end {
                    return err(data + off, DecodeErrorKind::InvalidChildRange);
                }
                self.container(data + start, data + end, depth + 1)?
            }
            _ => return err(data + off, DecodeErrorKind::InvalidJEntry(entry)),
        })
    }

    #[inline]
    fn string(&self, start: usize, end: usize) -> Result<String, DecodeError> {
        match std::str::from_utf8(&self.buf[start..end]) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => err(start, DecodeErrorKind::InvalidUtf8),
        }
    }
}

/// Objects with more members than this are built with one sort and a bulk
/// build instead of member-by-member inserts: up to this many fit one B-tree
/// leaf (std's node capacity), so inserts never split nodes and no temporary
/// vector is needed; beyond it, bulk building was measurably faster (and
/// yields a more compact tree that is also faster to drop).
const SMALL_OBJECT: usize = 11;

/// The fields of a `numeric` datum (`src/backend/utils/adt/numeric.c`).
///
/// ```text
/// varlena header (4 bytes, or 1 if packed)
/// n_header:u16
///   & 0xC000 == 0x8000  NumericShort: sign 0x2000, dscale 0x1F80 >> 7,
///                       weight 0x003F with sign bit 0x0040 (-64..=63)
///   & 0xC000 == 0xC000  special: 0xC000 NaN, 0xD000 +Inf, 0xF000 -Inf
///   otherwise           NumericLong: sign 0x4000, dscale & 0x3FFF,
///                       followed by n_weight:i16
/// digits: i16 * n, base 10000, each 0..=9999; value =
///   sum(digits[i] * 10000^(weight - i))
/// ```
#[derive(Debug, Clone, Copy)]
struct NumericParts<'a> {
    negative: bool,
    weight: i32,
    dscale: usize,
    /// Base-10000 digits as raw native-endian `i16` pairs, validated.
    digits: &'a [u8],
}

impl NumericParts<'_> {
    /// Digit `i` (weight `weight - i`); zero outside the stored digits.
    #[inline]
    fn digit(&self, i: i64) -> u16 {
        if i < 0 {
            return 0;
        }
        match self.digits.get(i as usize * 2..i as usize * 2 + 2) {
            Some(d) => u16::from_ne_bytes([d[0], d[1]]),
            None => 0,
        }
    }
}

/// Parses the `numeric` varlena at the start of `bytes` (which may extend
/// past it; the varlena's own length counts). `at` is its absolute offset,
/// for errors.
fn numeric_parts(bytes: &[u8], at: usize) -> Result<NumericParts<'_>, DecodeError> {
    let (hdr, total) = varlena_header(bytes).map_err(|kind| DecodeError { offset: at, kind })?;
    let body = &bytes[hdr..total];
    if body.len() < 2 {
        return err(at, DecodeErrorKind::InvalidNumeric("missing header"));
    }
    let h = u16::from_ne_bytes([body[0], body[1]]);
    let (negative, weight, dscale, digits) = match h & NUMERIC_SIGN_MASK {
        NUMERIC_SPECIAL => return err(at, DecodeErrorKind::NumberOutOfRange),
        NUMERIC_SHORT => {
            let magnitude = i32::from(h & NUMERIC_SHORT_WEIGHT_MASK);
            let weight = if h & NUMERIC_SHORT_WEIGHT_SIGN_MASK != 0 {
                magnitude - i32::from(NUMERIC_SHORT_WEIGHT_MASK) - 1
            } else {
                magnitude
            };
            let dscale = (h & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
            (h & NUMERIC_SHORT_SIGN_MASK != 0, weight, dscale, &body[2..])
        }
        sign => {
            if body.len() < 4 {
                return err(at, DecodeErrorKind::InvalidNumeric("missing weight"));
            }
            let weight = i32::from(i16::from_ne_bytes([body[2], body[3]]));
            (
                sign == NUMERIC_NEG,
                weight,
                h & NUMERIC_DSCALE_MASK,
                &body[4..],
            )
        }
    };
    if digits.len() % 2 != 0 {
        return err(at, DecodeErrorKind::InvalidNumeric("odd digit bytes"));
    }
    if digits
        .chunks_exact(2)
        .any(|d| u16::from_ne_bytes([d[0], d[1]]) >= NBASE)
    {
        return err(at, DecodeErrorKind::InvalidNumeric("digit out of range"));
    }
    Ok(NumericParts {
        negative,
        weight,
        dscale: usize::from(dscale),
        digits,
    })
}

/// Converts a `numeric` datum into the [`Number`] `serde_json` parses from
/// its `numeric_out` text.
pub(crate) fn numeric(bytes: &[u8], at: usize) -> Result<Number, DecodeError> {
    let n = numeric_parts(bytes, at)?;
    if n.weight > 0 && n.digit(0) == 0 {
        // numeric_out would print a leading zero ("01234", or "00000" for a
        // zero that make_result did not normalize), which is not JSON.
        return err(at, DecodeErrorKind::InvalidNumeric("leading zero digit"));
    }
    if n.weight >= WEIGHT_BEYOND_F64 {
        return err(at, DecodeErrorKind::NumberOutOfRange);
    }
    if n.dscale == 0 {
        // Integer text: the digits of weight >= 0 only.
        let mut magnitude: u64 = 0;
        let mut fits = true;
        for i in 0..=i64::from(n.weight) {
            match magnitude
                .checked_mul(u64::from(NBASE))
                .and_then(|m| m.checked_add(u64::from(n.digit(i))))
            {
                Some(m) => magnitude = m,
                None => {
                    fits = false;
                    break;
                }
            }
        }
        if fits {
            return Ok(integer_number(n.negative, magnitude));
        }
    }
    let text = numeric_text(&n);
    match serde_json::from_str::<Number>(&text) {
        Ok(number) => Ok(number),
        Err(_) => err(at, DecodeErrorKind::NumberOutOfRange),
    }
}

/// What `serde_json` makes of an integer literal that fits `u64`
/// (`Deserializer::parse_number`).
#[inline]
fn integer_number(negative: bool, magnitude: u64) -> Number {
    if !negative {
        return Number::from(magnitude);
    }
    let negated = (magnitude as i64).wrapping_neg();
    if negated >= 0 {
        // Below i64::MIN, or "-0": serde_json falls back to f64.
        Number::from_f64(-(magnitude as f64)).unwrap_or_else(|| Number::from(0u64))
    } else {
        Number::from(negated)
    }
}

/// `numeric_out` (`get_str_from_var`): the decimal text with exactly
/// `dscale` fractional digits.
fn numeric_text(n: &NumericParts<'_>) -> String {
    let int_groups = if n.weight >= 0 {
        n.weight as usize + 1
    } else {
        1
    };
    let mut out = String::with_capacity(int_groups * 4 + n.dscale + 6);
    if n.negative {
        out.push('-');
    }
    let mut d: i64;
    if n.weight < 0 {
        d = i64::from(n.weight) + 1;
        out.push('0');
    } else {
        for i in 0..=i64::from(n.weight) {
            let dig = n.digit(i);
            if i == 0 {
                // First group without leading zeros.
                let mut buf = itoa_u16(dig);
                let digits = buf.iter().position(|&c| c != b'0').unwrap_or(3);
                push_ascii(&mut out, &mut buf[digits..]);
            } else {
                push_ascii(&mut out, &mut itoa_u16(dig));
            }
        }
        d = i64::from(n.weight) + 1;
    }
    if n.dscale > 0 {
        out.push('.');
        let end = out.len() + n.dscale;
        let mut written = 0;
        while written < n.dscale {
            push_ascii(&mut out, &mut itoa_u16(n.digit(d)));
            d += 1;
            written += 4;
        }
        out.truncate(end);
    }
    out
}

/// The four decimal digits of `x < 10000`, zero-padded.
#[inline]
fn itoa_u16(x: u16) -> [u8; 4] {
    [
        b'0' + (x / 1000) as u8,
        b'0' + (x / 100 % 10) as u8,
        b'0' + (x / 10 % 10) as u8,
        b'0' + (x % 10) as u8,
    ]
}

#[inline]
fn push_ascii(out: &mut String, digits: &mut [u8]) {
    for &c in digits.iter() {
        out.push(char::from(c));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The encoder below mirrors PostgreSQL's `convertToJsonb` (jsonb_util.c)
    //! and `numeric_in`/`make_result` (numeric.c), and `Jb::text` mirrors
    //! `JsonbToCString`, so properties can compare the decoder with the text
    //! path it replaces. Byte images captured from a real PostgreSQL 15 pin
    //! the encoder (and the decoder) to the real format.

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::time::{Duration, Instant};

    // ---------------------------------------------------------------
    // Model of the PostgreSQL side.
    // ---------------------------------------------------------------

    /// A `NumericVar` after `make_result`'s normalisation.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct NumVar {
        negative: bool,
        pub(crate) weight: i32,
        dscale: i32,
        digits: Vec<u16>,
    }

    impl NumVar {
        /// `set_var_from_str` for JSON number text, then `make_result`'s
        /// stripping of leading/trailing zero digits.
        fn parse(text: &str) -> NumVar {
            let (negative, rest) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let (mantissa, exp) = match rest.find(['e', 'E']) {
                Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().unwrap()),
                None => (rest, 0),
            };
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            let dec: Vec<u16> = int
                .bytes()
                .chain(frac.bytes())
                .map(|c| u16::from(c - b'0'))
                .collect();
            let dweight = int.len() as i32 - 1 + exp;
            let dscale = (frac.len() as i32 - exp).max(0);
            let weight = if dweight >= 0 {
                (dweight + 1 + 3) / 4 - 1
            } else {
                -((-dweight - 1) / 4 + 1)
            };
            let offset = ((weight + 1) * 4 - (dweight + 1)) as usize;
            let ndigits = (dec.len() + offset).div_ceil(4);
            let mut padded = vec![0u16; offset];
            padded.extend(&dec);
            padded.resize(ndigits * 4, 0);
            let digits = padded
                .chunks(4)
                .map(|c| c.iter().fold(0u16, |acc, &d| acc * 10 + d))
                .collect();
            NumVar {
                negative,
                weight,
                dscale,
                digits,
            }
            .normalized()
        }

        fn normalized(mut self) -> Self {
            let lead = self.digits.iter().take_while(|&&d| d == 0).count();
            self.digits.drain(..lead);
            self.weight -= lead as i32;
            while self.digits.last() == Some(&0) {
                self.digits.pop();
            }
            if self.digits.is_empty() {
                self.weight = 0;
                self.negative = false;
            }
            self
        }

        /// `make_result`: NumericShort when dscale and weight fit, else
        /// NumericLong; with a 4-byte varlena header, or a 1-byte one if
        /// `packed` (as in a heap tuple).
        fn datum(&self, packed: bool) -> Vec<u8> {
            let short = self.dscale <= 63 && (-64..=63).contains(&self.weight);
            let mut body = Vec::new();
            if short {
                let header: u16 = 0x8000
                    | if self.negative { 0x2000 } else { 0 }
                    | ((self.dscale as u16) << 7)
                    | if self.weight < 0 { 0x40 } else { 0 }
                    | (self.weight as u16 & 0x3F);
                body.extend(header.to_ne_bytes());
            } else {
                let header: u16 =
                    if self.negative { 0x4000 } else { 0 } | (self.dscale as u16 & 0x3FFF);
                body.extend(header.to_ne_bytes());
                body.extend((self.weight as i16).to_ne_bytes());
            }
            for &d in &self.digits {
                body.extend((d as i16).to_ne_bytes());
            }
            let mut out = Vec::new();
            if packed {
                out.push((((body.len() + 1) as u8) << 1) | 1);
            } else {
                out.extend((((body.len() + 4) as u32) << 2).to_ne_bytes());
            }
            out.extend(body);
            out
        }

        /// `numeric_out`, written independently of the decoder's version.
        fn text(&self) -> String {
            let mut s = String::new();
            if self.negative {
                s.push('-');
            }
            let digit = |i: i32| -> u16 {
                if i < 0 {
                    0
                } else {
                    self.digits.get(i as usize).copied().unwrap_or(0)
                }
            };
            if self.weight < 0 {
                s.push('0');
            } else {
                let int: String = (0..=self.weight)
                    .map(|i| format!("{:04}", digit(i)))
                    .collect();
                let trimmed = int.trim_start_matches('0');
                s.push_str(if trimmed.is_empty() { "0" } else { trimmed });
            }
            if self.dscale > 0 {
                let mut frac = String::new();
                let mut group = 1;
                while frac.len() < self.dscale as usize {
                    frac += &format!("{:04}", digit(self.weight + group));
                    group += 1;
                }
                frac.truncate(self.dscale as usize);
                s.push('.');
                s.push_str(&frac);
            }
            s
        }
    }

    /// A `JsonbValue` tree, objects in storage order.
    #[derive(Debug, Clone)]
    pub(crate) enum Jb {
        Null,
        Bool(bool),
        Str(String),
        Num(NumVar),
        Arr(Vec<Jb>),
        Obj(Vec<(String, Jb)>),
    }

    impl Jb {
        pub(crate) fn from_value(v: &Value) -> Jb {
            match v {
                Value::Null => Jb::Null,
                Value::Bool(b) => Jb::Bool(*b),
                Value::String(s) => Jb::Str(s.clone()),
                Value::Number(n) => Jb::Num(NumVar::parse(&n.to_string())),
                Value::Array(a) => Jb::Arr(a.iter().map(Jb::from_value).collect()),
                Value::Object(o) => {
                    let mut pairs: Vec<(String, Jb)> = o
                        .iter()
                        .map(|(k, v)| (k.clone(), Jb::from_value(v)))
                        .collect();
                    // lengthCompareJsonbStringValue
                    pairs.sort_by(|a, b| {
                        (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes()))
                    });
                    Jb::Obj(pairs)
                }
            }
        }

        /// Parses JSON text the way `jsonb_in` does, keeping each number's
        /// exact decimal text (so `12.50` keeps its display scale, which a
        /// `serde_json::Value` would lose). Test inputs only: no error
        /// handling, no duplicate keys.
        fn parse_text(text: &str) -> Jb {
            fn skip_ws(s: &[u8], i: &mut usize) {
                while s[*i].is_ascii_whitespace() {
                    *i += 1;
                }
            }
            fn value(s: &[u8], i: &mut usize) -> Jb {
                skip_ws(s, i);
                match s[*i] {
                    b'{' => {
                        *i += 1;
                        let mut pairs = Vec::new();
                        loop {
                            skip_ws(s, i);
                            match s[*i] {
                                b'}' => break,
                                b',' => *i += 1,
                                _ => {
                                    let Jb::Str(key) = value(s, i) else { panic!() };
                                    skip_ws(s, i);
                                    assert_eq!(s[*i], b':');
                                    *i += 1;
                                    pairs.push((key, value(s, i)));
                                }
                            }
                        }
                        *i += 1;
                        pairs.sort_by(|a: &(String, Jb), b| {
                            (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes()))
                        });
                        Jb::Obj(pairs)
                    }
                    b'[' => {
                        *i += 1;
                        let mut elems = Vec::new();
                        loop {
                            skip_ws(s, i);
                            match s[*i] {
                                b']' => break,
                                b',' => *i += 1,
                                _ => elems.push(value(s, i)),
                            }
                        }
                        *i += 1;
                        Jb::Arr(elems)
                    }
                    b'"' => {
                        let start = *i;
                        *i += 1;
                        while s[*i] != b'"' {
                            *i += if s[*i] == b'\\' { 2 } else { 1 };
                        }
                        *i += 1;
                        let literal = std::str::from_utf8(&s[start..*i]).unwrap();
                        Jb::Str(serde_json::from_str(literal).unwrap())
                    }
                    b't' => {
                        *i += 4;
                        Jb::Bool(true)
                    }
                    b'f' => {
                        *i += 5;
                        Jb::Bool(false)
                    }
                    b'n' => {
                        *i += 4;
                        Jb::Null
                    }
                    _ => {
                        let start = *i;
                        while *i < s.len() && b"+-.0123456789eE".contains(&s[*i]) {
                            *i += 1;
                        }
                        Jb::Num(NumVar::parse(std::str::from_utf8(&s[start..*i]).unwrap()))
                    }
                }
            }
            let mut i = 0;
            let text = format!("{text} ");
            value(text.as_bytes(), &mut i)
        }

        /// `JsonbToCString`.
        fn text(&self, out: &mut String) {
            match self {
                Jb::Null => out.push_str("null"),
                Jb::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Jb::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
                Jb::Num(n) => out.push_str(&n.text()),
                Jb::Arr(elems) => {
                    out.push('[');
                    for (i, e) in elems.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        e.text(out);
                    }
                    out.push(']');
                }
                Jb::Obj(pairs) => {
                    out.push('{');
                    for (i, (k, v)) in pairs.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(&serde_json::to_string(k).unwrap());
                        out.push_str(": ");
                        v.text(out);
                    }
                    out.push('}');
                }
            }
        }

        fn to_text(&self) -> String {
            let mut s = String::new();
            self.text(&mut s);
            s
        }
    }

    /// `convertToJsonb`.
    pub(crate) struct Encoder {
        buf: Vec<u8>,
        packed_numerics: bool,
    }

    impl Encoder {
        /// The whole varlena (4-byte header).
        fn varlena(v: &Jb, packed_numerics: bool) -> Vec<u8> {
            let mut e = Encoder {
                buf: vec![0; 4],
                packed_numerics,
            };
            match v {
                Jb::Arr(elems) => {
                    e.array(elems, false);
                }
                Jb::Obj(pairs) => {
                    e.object(pairs);
                }
                scalar => {
                    e.array(std::slice::from_ref(scalar), true);
                }
            }
            let len = e.buf.len() as u32;
            e.buf[..4].copy_from_slice(&(len << 2).to_ne_bytes());
            e.buf
        }

        pub(crate) fn payload(v: &Jb) -> Vec<u8> {
            Self::varlena(v, false)[4..].to_vec()
        }

        fn pad(&mut self) -> u32 {
            let pad = (4 - self.buf.len() % 4) % 4;
            self.buf.resize(self.buf.len() + pad, 0);
            pad as u32
        }

        fn value(&mut self, v: &Jb) -> u32 {
            match v {
                Jb::Null => JENTRY_ISNULL,
                Jb::Bool(true) => JENTRY_ISBOOL_TRUE,
                Jb::Bool(false) => JENTRY_ISBOOL_FALSE,
                Jb::Str(s) => {
                    self.buf.extend(s.as_bytes());
                    s.len() as u32
                }
                Jb::Num(n) => {
                    let pad = self.pad();
                    let datum = n.datum(self.packed_numerics);
                    self.buf.extend(&datum);
                    JENTRY_ISNUMERIC | (pad + datum.len() as u32)
                }
                Jb::Arr(elems) => self.array(elems, false),
                Jb::Obj(pairs) => self.object(pairs),
            }
        }

        fn put_entry(&mut self, at: usize, entry: u32) {
            self.buf[at..at + 4].copy_from_slice(&entry.to_ne_bytes());
        }

        fn array(&mut self, elems: &[Jb], raw_scalar: bool) -> u32 {
            let base = self.buf.len();
            self.pad();
            let mut header = elems.len() as u32 | JB_FARRAY;
            if raw_scalar {
                header |= JB_FSCALAR;
            }
            self.buf.extend(header.to_ne_bytes());
            let mut at = self.buf.len();
            self.buf.resize(at + 4 * elems.len(), 0);
            let mut total = 0;
            for (i, elem) in elems.iter().enumerate() {
                let mut meta = self.value(elem);
                total += meta & JENTRY_OFFLENMASK;
                if i.is_multiple_of(32) {
                    meta = (meta & JENTRY_TYPEMASK) | total | JENTRY_HAS_OFF;
                }
                self.put_entry(at, meta);
                at += 4;
            }
            JENTRY_ISCONTAINER | (self.buf.len() - base) as u32
        }

        fn object(&mut self, pairs: &[(String, Jb)]) -> u32 {
            let base = self.buf.len();
            self.pad();
            let n = pairs.len();
            self.buf.extend((n as u32 | JB_FOBJECT).to_ne_bytes());
            let mut at = self.buf.len();
            self.buf.resize(at + 8 * n, 0);
            let mut total = 0;
            for (i, (key, _)) in pairs.iter().enumerate() {
                let mut meta = self.value(&Jb::Str(key.clone()));
                total += meta & JENTRY_OFFLENMASK;
                if i.is_multiple_of(32) {
                    meta = (meta & JENTRY_TYPEMASK) | total | JENTRY_HAS_OFF;
                }
                self.put_entry(at, meta);
                at += 4;
            }
            for (i, (_, value)) in pairs.iter().enumerate() {
                let mut meta = self.value(value);
                total += meta & JENTRY_OFFLENMASK;
                if (i + n).is_multiple_of(32) {
                    meta = (meta & JENTRY_TYPEMASK) | total | JENTRY_HAS_OFF;
                }
                self.put_entry(at, meta);
                at += 4;
            }
            JENTRY_ISCONTAINER | (self.buf.len() - base) as u32
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The production text path: `JsonbToCString`, then `serde_json`.
    fn via_text(jb: &Jb) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&jb.to_text())
    }

    /// `decoded` equals `original`, floats compared by their decimal text.
    fn assert_same(decoded: &Value, original: &Value) {
        match (decoded, original) {
            (Value::Number(d), Value::Number(o)) => {
                assert_eq!(d.is_f64(), o.is_f64(), "{d} vs {o}");
                assert_eq!(d.to_string(), o.to_string());
            }
            (Value::Array(d), Value::Array(o)) => {
                assert_eq!(d.len(), o.len());
                for (d, o) in d.iter().zip(o) {
                    assert_same(d, o);
                }
            }
            (Value::Object(d), Value::Object(o)) => {
                assert_eq!(d.keys().collect::<Vec<_>>(), o.keys().collect::<Vec<_>>());
                for (d, o) in d.values().zip(o.values()) {
                    assert_same(d, o);
                }
            }
            _ => assert_eq!(decoded, original),
        }
    }

    /// Every check one well-formed value gets.
    fn check_round_trip(original: &Value) {
        let jb = Jb::from_value(original);
        let varlena = Encoder::varlena(&jb, false);
        let decoded = decode(&varlena[4..]).expect("decode");
        assert_same(&decoded, original);
        assert_eq!(decoded, via_text(&jb).expect("text path"));
        assert_eq!(decode_varlena(&varlena).expect("decode_varlena"), decoded);
        let packed = Encoder::varlena(&jb, true);
        assert_eq!(decode(&packed[4..]).expect("packed numerics"), decoded);
    }

    // ---------------------------------------------------------------
    // Hand-derived and captured byte images.
    // ---------------------------------------------------------------

    /// `'{"a": 1}'::jsonb`, derived from `convertJsonbObject`:
    /// header `1 | JB_FOBJECT`; key JEntry with HAS_OFF (index 0) and end
    /// offset 1; value JEntry (index 1, a length) NUMERIC with 3 bytes of
    /// padding + an 8-byte NumericShort (varlena 8 << 2, n_header 0x8000,
    /// one digit 1).
    const OBJ_A_1: [u8; 24] = [
        0x01, 0x00, 0x00, 0x20, // header: count 1, JB_FOBJECT
        0x01, 0x00, 0x00, 0x80, // key: HAS_OFF | STRING | end 1
        0x0B, 0x00, 0x00, 0x10, // value: NUMERIC | len 11
        b'a', 0x00, 0x00, 0x00, // "a", 3 bytes INTALIGN padding
        0x20, 0x00, 0x00, 0x00, // numeric varlena header: 8 << 2
        0x00, 0x80, 0x01, 0x00, // NUMERIC_SHORT, weight 0, dscale 0; digit 1
    ];

    /// `'[true, null, "x"]'::jsonb`.
    const ARR_TRUE_NULL_X: [u8; 17] = [
        0x03, 0x00, 0x00, 0x40, // header: count 3, JB_FARRAY
        0x00, 0x00, 0x00, 0xB0, // HAS_OFF | BOOL_TRUE | end 0
        0x00, 0x00, 0x00, 0x40, // NULL | len 0
        0x01, 0x00, 0x00, 0x00, // STRING | len 1
        b'x',
    ];

    /// `'5'::jsonb`: a raw scalar.
    const RAW_5: [u8; 16] = [
        0x01, 0x00, 0x00, 0x50, // header: count 1, JB_FARRAY | JB_FSCALAR
        0x08, 0x00, 0x00, 0x90, // HAS_OFF | NUMERIC | end 8
        0x20, 0x00, 0x00, 0x00, // numeric varlena header: 8 << 2
        0x00, 0x80, 0x05, 0x00, // NUMERIC_SHORT; digit 5
    ];

    /// `'[1.5]'::jsonb`: NumericShort with dscale 1, digits [1, 5000].
    const ARR_1_5: [u8; 18] = [
        0x01, 0x00, 0x00, 0x40, // header: count 1, JB_FARRAY
        0x0A, 0x00, 0x00, 0x90, // HAS_OFF | NUMERIC | end 10
        0x28, 0x00, 0x00, 0x00, // numeric varlena header: 10 << 2
        0x80, 0x80, 0x01, 0x00, // NUMERIC_SHORT | dscale 1 << 7; digit 1
        0x88, 0x13, // digit 5000
    ];

    /// The four images above as PostgreSQL 15 stored them in a heap tuple
    /// (`tuple_data_split`, so with 1-byte varlena headers).
    const PG_SMALL_HEX: [(&str, &str); 4] = [
        (
            "3301000020010000800b000010610000002000000000800100",
            r#"{"a": 1}"#,
        ),
        (
            "2503000040000000b0000000400100000078",
            r#"[true, null, "x"]"#,
        ),
        ("2301000050080000902000000000800500", "5"),
        ("27010000400a00009028000000808001008813", "[1.5]"),
    ];

    // PG_MIXED_HEX and PG_LARGE_HEX, real datums shared with tests/fuzz.rs
    include!("../tests/data/pg_jsonb_images.rs");

    /// `j::text` of it: `-1.50` keeps its scale, 1e-200 prints in full.
    fn pg_mixed_text() -> String {
        let tiny = format!("0.{}1", "0".repeat(199));
        format!(r#"{{"b": -1.50, "c": {{}}, "aa": [{tiny}, 12345678901234567890, 0.001]}}"#)
    }

    /// `j::text` of PG_LARGE_HEX (`JsonbToCString`).
    const PG_LARGE_TEXT: &str = concat!(
        r#"{"arr": ["s1", null, false, -400000000000, 6.25, "s6", null, true, -900000000000, "#,
        r#"12.50, "s11", null, false, -1400000000000, 18.75, "s16", null, true, "#,
        r#"-1900000000000, 25.00, "s21", null, false, -2400000000000, 31.25, "s26", null, "#,
        r#"true, -2900000000000, 37.50, "s31", null, false, -3400000000000, 43.75, "s36", "#,
        r#"null, true, -3900000000000, 50.00, "s41", null, false, -4400000000000, 56.25, "#,
        r#""s46", null, true, -4900000000000, 62.50, "s51", null, false, -5400000000000, "#,
        r#"68.75, "s56", null, true, -5900000000000, 75.00, "s61", null, false, "#,
        r#"-6400000000000, 81.25, "s66", null, true, -6900000000000, 87.50], "#,
        r#""big": [1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000, "#,
        r#"-1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000, "#,
        r#"123456789012345678, 18446744073709551615, 18446744073709551616, "#,
        r#"-9223372036854775808, -9223372036854775809, 0.00000001, 100, 0, 0, 0.000], "#,
        r#""obj": {"k1": 0.14285714285714285714, "k2": "ü€😀2", "k3": {"type": "integer", "#,
        r#""nullable": true}, "k4": 0.57142857142857142857, "k5": "ü€😀5", "#,
        r#""k6": {"type": "integer", "nullable": true}, "k7": 1.00000000000000000000, "#,
        r#""k8": "ü€😀8", "k9": {"type": "integer", "nullable": true}, "#,
        r#""k10": 1.4285714285714286, "k11": "ü€😀11", "k12": {"type": "integer", "#,
        r#""nullable": true}, "k13": 1.8571428571428571, "k14": "ü€😀14", "#,
        r#""k15": {"type": "integer", "nullable": true}, "k16": 2.2857142857142857, "#,
        r#""k17": "ü€😀17", "k18": {"type": "integer", "nullable": true}, "#,
        r#""k19": 2.7142857142857143, "k20": "ü€😀20", "k21": {"type": "integer", "#,
        r#""nullable": true}, "k22": 3.1428571428571429, "k23": "ü€😀23", "#,
        r#""k24": {"type": "integer", "nullable": true}, "k25": 3.5714285714285714, "#,
        r#""k26": "ü€😀26", "k27": {"type": "integer", "nullable": true}, "#,
        r#""k28": 4.0000000000000000, "k29": "ü€😀29", "k30": {"type": "integer", "#,
        r#""nullable": true}, "k31": 4.4285714285714286, "k32": "ü€😀32", "#,
        r#""k33": {"type": "integer", "nullable": true}, "k34": 4.8571428571428571, "#,
        r#""k35": "ü€😀35", "k36": {"type": "integer", "nullable": true}, "#,
        r#""k37": 5.2857142857142857, "k38": "ü€😀38", "k39": {"type": "integer", "#,
        r#""nullable": true}, "k40": 5.7142857142857143, "k41": "ü€😀41", "#,
        r#""k42": {"type": "integer", "nullable": true}, "k43": 6.1428571428571429, "#,
        r#""k44": "ü€😀44", "k45": {"type": "integer", "nullable": true}}}"#,
    );

    #[test]
    fn hand_derived_images() {
        assert_eq!(decode(&OBJ_A_1), Ok(json!({"a": 1})));
        assert_eq!(decode(&ARR_TRUE_NULL_X), Ok(json!([true, null, "x"])));
        assert_eq!(decode(&RAW_5), Ok(json!(5)));
        assert_eq!(decode(&ARR_1_5), Ok(json!([1.5])));
        // The model encoder produces exactly these bytes.
        assert_eq!(Encoder::payload(&Jb::from_value(&json!({"a": 1}))), OBJ_A_1);
        let arr = Jb::from_value(&json!([true, null, "x"]));
        assert_eq!(Encoder::payload(&arr), ARR_TRUE_NULL_X);
        assert_eq!(Encoder::payload(&Jb::from_value(&json!(5))), RAW_5);
        assert_eq!(Encoder::payload(&Jb::from_value(&json!([1.5]))), ARR_1_5);
    }

    #[test]
    fn postgres_images() {
        let hand: [&[u8]; 4] = [&OBJ_A_1, &ARR_TRUE_NULL_X, &RAW_5, &ARR_1_5];
        for ((image, text), hand) in PG_SMALL_HEX.iter().zip(hand) {
            let bytes = hex(image);
            assert_eq!(&bytes[1..], hand, "{text}");
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(decode_varlena(&bytes), Ok(expected), "{text}");
        }

        let mixed = hex(PG_MIXED_HEX);
        let expected: Value = serde_json::from_str(&pg_mixed_text()).unwrap();
        assert_eq!(decode_varlena(&mixed), Ok(expected));
        // The model encoder reproduces PostgreSQL's bytes from the original
        // text (the captured datum has a 1-byte varlena header).
        let original = r#"{"b": -1.50, "aa": [1e-200, 12345678901234567890, 0.001], "c": {}}"#;
        assert_eq!(Encoder::payload(&Jb::parse_text(original)), mixed[1..]);

        let large = hex(&PG_LARGE_HEX.split_whitespace().collect::<String>());
        let expected: Value = serde_json::from_str(PG_LARGE_TEXT).unwrap();
        let decoded = decode_varlena(&large).unwrap();
        assert_eq!(decoded, expected);
        assert_eq!(decode(&large[4..]).unwrap(), expected);
        // Re-encoding what PostgreSQL printed reproduces its bytes exactly:
        // HAS_OFF strides in a 70-element array and a 45-key object,
        // padding, 4-byte numeric headers, NumericShort and NumericLong.
        assert_eq!(
            Encoder::varlena(&Jb::parse_text(PG_LARGE_TEXT), false),
            large
        );
        for (image, text) in PG_SMALL_HEX {
            assert_eq!(Encoder::payload(&Jb::parse_text(text)), hex(image)[1..]);
        }
    }

    #[test]
    fn numbers() {
        for text in [
            "0",
            "1",
            "-1",
            "1.5",
            "-1.5",
            "0.001",
            "3.14159",
            "1e-7",
            "1.5e-7",
            "100.00",
            "123456789012345678",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "-18446744073709551616",
            "1e20",
            "-1e20",
            "1.0e20",
            "1e300",
            "-2.5e-300",
            "0.1e-7",
            "12345678901234567890.123456789",
            "1e308",
        ] {
            let jb = Jb::from_value(&json!([0]));
            let jb = match jb {
                Jb::Arr(_) => Jb::Arr(vec![Jb::Num(NumVar::parse(text))]),
                _ => unreachable!(),
            };
            let decoded = decode(&Encoder::payload(&jb)).unwrap();
            assert_eq!(decoded, via_text(&jb).unwrap(), "{text}");
            // And against serde parsing the original text directly (same
            // decimal value, possibly other notation).
            let direct: Value = serde_json::from_str(&format!("[{text}]")).unwrap();
            assert_eq!(
                decoded[0].as_f64(),
                direct[0].as_f64(),
                "{text}: {decoded} vs {direct}"
            );
        }
        for value in [
            json!(1.5),
            json!(0.001),
            json!(123456789012345678u64),
            json!(1e20),
            json!(-1e20),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(-0.5),
            json!(5.0),
        ] {
            check_round_trip(&value);
        }
        // Integers stay integers, scaled numerics become floats.
        assert!(decode(&RAW_5).unwrap().is_u64());
        let minus_one = Jb::Arr(vec![Jb::Num(NumVar::parse("-1"))]);
        assert!(decode(&Encoder::payload(&minus_one)).unwrap()[0].is_i64());
        let scaled = Jb::Arr(vec![Jb::Num(NumVar::parse("2.00"))]);
        assert!(decode(&Encoder::payload(&scaled)).unwrap()[0].is_f64());
        // Beyond f64: an error, as for serde_json::from_str.
        for text in ["1e400", "-1e309", "1e100000"] {
            let jb = Jb::Arr(vec![Jb::Num(NumVar::parse(text))]);
            assert!(via_text(&jb).is_err(), "{text}");
            let e = decode(&Encoder::payload(&jb)).unwrap_err();
            assert_eq!(e.kind, DecodeErrorKind::NumberOutOfRange, "{text}");
        }
    }

    #[test]
    fn special_numerics_are_errors() {
        for special in [0xC000u16, 0xD000, 0xF000] {
            let mut image = vec![0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 0x90];
            image.extend((6u32 << 2).to_ne_bytes());
            image.extend(special.to_ne_bytes());
            let e = decode(&image).unwrap_err();
            assert_eq!(e.kind, DecodeErrorKind::NumberOutOfRange);
            assert_eq!(e.offset, 8);
        }
    }

    /// A one-element array holding a numeric with this `n_header`,
    /// NumericLong weight (if `Some`) and digits, as a hand-built datum.
    fn numeric_image(n_header: u16, weight: Option<i16>, digits: &[u16]) -> Vec<u8> {
        let mut datum = n_header.to_ne_bytes().to_vec();
        if let Some(w) = weight {
            datum.extend(w.to_ne_bytes());
        }
        for d in digits {
            datum.extend(d.to_ne_bytes());
        }
        let total = datum.len() as u32 + 4;
        let mut image = (1 | JB_FARRAY).to_ne_bytes().to_vec();
        image.extend((JENTRY_HAS_OFF | JENTRY_ISNUMERIC | total).to_ne_bytes());
        image.extend((total << 2).to_ne_bytes());
        image.extend(datum);
        image
    }

    #[test]
    fn unnormalized_numerics_follow_numeric_out() {
        // make_result never writes these, but numeric_out would print them
        // and serde_json would parse (or reject) the text; so does decode.
        // NumericLong, negative, no digits: "-0" and "-0.00" are f64 -0.0.
        for dscale in [0u16, 2] {
            let image = numeric_image(0x4000 | dscale, Some(0), &[]);
            let x = decode(&image).unwrap()[0].as_f64().unwrap();
            assert!(x == 0.0 && x.is_sign_negative(), "dscale {dscale}");
            let text = if dscale == 0 { "-0" } else { "-0.00" };
            assert_eq!(
                decode(&image).unwrap()[0],
                serde_json::from_str::<Value>(text).unwrap()
            );
        }
        // A leading zero digit would print as "05" or "00000", not JSON.
        for (weight, digits) in [(1i16, &[0u16, 5][..]), (1, &[]), (2, &[0, 0, 1])] {
            let image = numeric_image(0, Some(weight), digits);
            assert_eq!(
                decode(&image).unwrap_err().kind,
                DecodeErrorKind::InvalidNumeric("leading zero digit")
            );
        }
        // Leading zero digits after the point are fine: weight 0, [0, 5],
        // dscale 4 prints "0.0005".
        let image = numeric_image(0x8000 | (4 << 7), None, &[0, 5]);
        assert_eq!(decode(&image).unwrap(), json!([0.0005]));
        // Fractional digits beyond dscale are not printed: "1" with dscale 0.
        let image = numeric_image(0x8000, None, &[1, 5000]);
        assert_eq!(decode(&image).unwrap(), json!([1]));
        // Negative NumericShort weight: 0x40 | 0x3F is -1, so 5000 is 0.5.
        let image = numeric_image(0x8000 | (1 << 7) | 0x7F, None, &[5000]);
        assert_eq!(decode(&image).unwrap(), json!([0.5]));
    }

    #[test]
    fn strides_and_padding() {
        // >32 keys and elements, so several HAS_OFF entries, with numerics
        // after odd-length strings so padding varies.
        let mut object = Map::new();
        for i in 0..100 {
            let value = match i % 6 {
                0 => json!(i),
                1 => json!("x".repeat(i % 7)),
                2 => json!(i as f64 / 8.0),
                3 => json!([i, "ab", null, {"k": -(i as i64)}]),
                4 => json!({"type": "integer", "nullable": i % 2 == 0}),
                _ => Value::Null,
            };
            object.insert(format!("key{}", "k".repeat(i % 5) + &i.to_string()), value);
        }
        let array: Vec<Value> = object.values().cloned().collect();
        check_round_trip(&Value::Object(object.clone()));
        check_round_trip(&Value::Array(array.clone()));
        check_round_trip(&json!({"o": object, "a": array, "": {}, "e": []}));
        check_round_trip(&json!({}));
        check_round_trip(&json!([]));
        check_round_trip(&json!(null));
        check_round_trip(&json!("raw ünïcode 😀"));
        check_round_trip(&json!(true));
        check_round_trip(&json!(-12.25));
    }

    #[test]
    fn depth_limit_matches_serde() {
        for depth in [1usize, 2, 126, 127, 128, 129, 300] {
            let text = "[".repeat(depth) + &"]".repeat(depth);
            let serde = serde_json::from_str::<Value>(&text);
            // `depth` nested arrays.
            let mut jb = Jb::Arr(vec![]);
            for _ in 1..depth {
                jb = Jb::Arr(vec![jb]);
            }
            let ours = decode(&Encoder::payload(&jb));
            assert_eq!(ours.is_ok(), serde.is_ok(), "depth {depth}");
            assert_eq!(ours.is_ok(), depth <= MAX_DEPTH as usize, "depth {depth}");
            if let Err(e) = ours {
                assert_eq!(e.kind, DecodeErrorKind::DepthLimitExceeded);
            }
        }
    }

    #[test]
    fn malformed_examples() {
        use DecodeErrorKind::*;
        let kind = |bytes: &[u8]| decode(bytes).unwrap_err().kind;
        assert_eq!(kind(&[]), Truncated);
        assert_eq!(kind(&[0x01, 0x00, 0x00]), Truncated);
        // Neither array nor object; both; scalar flag on an object; scalar
        // pseudo-array with two elements.
        assert!(matches!(kind(&[0, 0, 0, 0]), InvalidContainerHeader(_)));
        assert!(matches!(kind(&[0, 0, 0, 0x60]), InvalidContainerHeader(_)));
        assert!(matches!(kind(&[1, 0, 0, 0x30]), InvalidContainerHeader(_)));
        assert!(matches!(kind(&[2, 0, 0, 0x50]), InvalidContainerHeader(_)));
        // JEntry array longer than the data.
        assert_eq!(kind(&[2, 0, 0, 0x40, 0, 0, 0, 0x40]), Truncated);
        // Child end past the data region.
        assert_eq!(
            kind(&[1, 0, 0, 0x40, 5, 0, 0, 0x80, b'a']),
            InvalidChildRange
        );
        // HAS_OFF end offset before the child's start.
        let mut bad = ARR_TRUE_NULL_X;
        bad[12..16].copy_from_slice(&[0x00, 0x00, 0x00, 0x80]);
        bad[4..8].copy_from_slice(&[0x01, 0x00, 0x00, 0x80]);
        assert_eq!(kind(&bad), InvalidChildRange);
        // Unknown JEntry type.
        let mut bad = ARR_TRUE_NULL_X;
        bad[11] = 0x60;
        assert!(matches!(kind(&bad), InvalidJEntry(_)));
        // Non-string key.
        let mut bad = OBJ_A_1;
        bad[7] = 0xC0; // NULL | HAS_OFF
        assert!(matches!(kind(&bad), NonStringKey(_)));
        // Invalid UTF-8.
        let mut bad = ARR_TRUE_NULL_X;
        bad[16] = 0xFF;
        assert_eq!(kind(&bad), InvalidUtf8);
        // Numeric digit >= NBASE, odd digit bytes, varlena longer than the
        // child, compressed numeric.
        let mut bad = RAW_5;
        bad[14..16].copy_from_slice(&10_000u16.to_ne_bytes());
        assert_eq!(kind(&bad), InvalidNumeric("digit out of range"));
        let mut bad = RAW_5;
        bad[8] = 7 << 2;
        assert_eq!(kind(&bad), InvalidNumeric("odd digit bytes"));
        let mut bad = RAW_5;
        bad[8] = 9 << 2;
        assert_eq!(kind(&bad), Truncated);
        let mut bad = RAW_5;
        bad[8] = (8 << 2) | 2;
        assert_eq!(kind(&bad), UnsupportedVarlena("compressed"));
        // decode_varlena: external pointer, compressed, length too long.
        assert!(matches!(
            decode_varlena(&[0x01, 0x12, 0, 0]).unwrap_err().kind,
            UnsupportedVarlena(_)
        ));
        assert!(matches!(
            decode_varlena(&[0x12, 0, 0, 0]).unwrap_err().kind,
            UnsupportedVarlena(_)
        ));
        assert_eq!(
            decode_varlena(&[0x40, 0, 0, 0]).unwrap_err().kind,
            Truncated
        );
        // Error offsets of decode_varlena count its header.
        let mut image = vec![0; 4];
        image.extend(ARR_TRUE_NULL_X);
        image[0] = (image.len() as u8) << 2;
        image[20] = 0xFF;
        assert_eq!(
            decode_varlena(&image).unwrap_err(),
            DecodeError {
                offset: 20,
                kind: InvalidUtf8
            }
        );
        assert!(decode_varlena(&image)
            .unwrap_err()
            .to_string()
            .contains("byte 20"));
    }

    // ---------------------------------------------------------------
    // Properties.
    // ---------------------------------------------------------------

    fn arb_number() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Decimals like 1.5, -0.001, 123.456789.
            (-1_000_000_000i64..1_000_000_000, 1i32..10)
                .prop_map(|(m, k)| json!(m as f64 / 10f64.powi(k))),
            prop::sample::select(vec![
                "1.5",
                "0.001",
                "123456789012345678",
                "1e20",
                "-1e20",
                "1e-7",
                "18446744073709551616",
                "-9223372036854775809",
            ])
            .prop_map(|t| serde_json::from_str::<Value>(t).unwrap()),
        ]
    }

    fn arb_string() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_]{0,12}",
            any::<String>(),
            "[\\u{0080}-\\u{10FFFF}]{0,6}",
        ]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            arb_number(),
            arb_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 256, 48, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..48).prop_map(Value::Array),
                prop::collection::btree_map(arb_string(), inner, 0..48)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn round_trip(value in arb_value()) {
            check_round_trip(&value);
        }

        /// Any finite f64: the decoder agrees with the text path exactly.
        #[test]
        fn floats_match_text_path(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            let jb = Jb::from_value(&json!([x, -x, {"v": x}]));
            let decoded = decode(&Encoder::payload(&jb)).unwrap();
            prop_assert_eq!(decoded, via_text(&jb).unwrap());
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
            let _ = decode_varlena(&bytes);
        }

        /// Random bytes behind a plausible header, so decoding gets past it.
        #[test]
        fn random_bodies_never_panic(
            flags in prop::sample::select(vec![JB_FARRAY, JB_FOBJECT, JB_FARRAY | JB_FSCALAR]),
            count in 0u32..12,
            body in prop::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut bytes = (count | flags).to_ne_bytes().to_vec();
            bytes.extend(body);
            let _ = decode(&bytes);
        }

        /// Every strict prefix of a valid image is rejected, and corrupting
        /// it anywhere never panics.
        #[test]
        fn truncated_and_corrupted(
            value in arb_value(),
            corruptions in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let payload = Encoder::payload(&Jb::from_value(&value));
            prop_assert!(decode(&payload).is_ok());
            for len in 0..payload.len() {
                prop_assert!(decode(&payload[..len]).is_err(), "prefix {} of {}", len, payload.len());
            }
            let mut corrupt = payload.clone();
            for (index, byte) in &corruptions {
                let i = index.index(corrupt.len());
                corrupt[i] = *byte;
            }
            let _ = decode(&corrupt);
            // Corrupt a whole JEntry-sized word too.
            let mut corrupt = payload;
            let (index, byte) = corruptions[0];
            let i = index.index(corrupt.len()) & !3;
            let end = (i + 4).min(corrupt.len());
            for b in &mut corrupt[i..end] {
                *b ^= byte | 0x80;
            }
            let _ = decode(&corrupt);
        }
    }

    // ---------------------------------------------------------------
    // Benchmark.
    // ---------------------------------------------------------------

    /// 1,000 keys, each an object of 50 keys, each
    /// `{"type": "integer", "nullable": true}`.
    fn bench_document() -> Value {
        let inner: Map<String, Value> = (0..50)
            .map(|j| {
                (
                    format!("column_{j:02}"),
                    json!({"type": "integer", "nullable": true}),
                )
            })
            .collect();
        let outer: Map<String, Value> = (0..1000)
            .map(|i| (format!("table_{i:04}"), Value::Object(inner.clone())))
            .collect();
        Value::Object(outer)
    }

    /// Times `f` `runs` times in a row: (fastest, median) time to produce
    /// the value, and median time to produce and drop it.
    fn measure(runs: usize, mut f: impl FnMut() -> Value) -> (Duration, Duration, Duration) {
        let mut make = Vec::with_capacity(runs);
        let mut total = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let out = f();
            make.push(start.elapsed());
            drop(std::hint::black_box(out));
            total.push(start.elapsed());
        }
        make.sort();
        total.sort();
        (make[0], make[runs / 2], total[runs / 2])
    }

    /// SHA-256 of the detoasted payload PostgreSQL 15 stores for the bench
    /// document (built with `jsonb_object_agg`, saved with storage external,
    /// chunks read back from the TOAST table): 2,874,003 bytes.
    const PG_BENCH_PAYLOAD_SHA256: &str =
        "d46bb3dfa85952dc096bd9dab37a3379a66794d5d6a44332ee419df6a80c0320";

    #[test]
    fn bench_document_matches_postgres() {
        use sha2::{Digest, Sha256};
        let document = bench_document();
        let payload = Encoder::payload(&Jb::from_value(&document));
        assert_eq!(payload.len(), 2_874_003);
        let digest: String = Sha256::digest(&payload)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, PG_BENCH_PAYLOAD_SHA256);
        assert_eq!(decode(&payload).unwrap(), document);
    }

    /// `cargo test --release jsonb_binary::tests::bench -- --ignored --nocapture`
    ///
    /// `document.clone()` is printed for reference: it performs the same
    /// allocations (every `String` and B-tree node) with no parsing at all,
    /// which shows how much of either parser's time is the allocator's.
    /// The first runs on a fresh heap are the fastest for everything (the
    /// minimum); the median is the steady state of a process that keeps
    /// decoding and dropping documents.
    #[test]
    #[ignore = "benchmark; run with --release --ignored --nocapture"]
    fn bench_decode_vs_serde_text() {
        let document = bench_document();
        let jb = Jb::from_value(&document);
        let text = jb.to_text();
        let payload = Encoder::payload(&jb);
        assert_eq!(decode(&payload).unwrap(), document);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), document);

        let runs = 41;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "jsonb_binary bench: text {} bytes, jsonb payload {} bytes, {runs} runs each",
            text.len(),
            payload.len()
        );
        let mut results = Vec::new();
        let candidates: [(&str, &mut dyn FnMut() -> Value); 3] = [
            ("decode", &mut || decode(&payload).unwrap()),
            ("serde_json::from_str", &mut || {
                serde_json::from_str::<Value>(&text).unwrap()
            }),
            ("Value::clone", &mut || document.clone()),
        ];
        for (name, f) in candidates {
            let (min, median, with_drop) = measure(runs, f);
            println!(
                "  {name:<22} min {:6.2} ms  median {:6.2} ms  median incl. drop {:6.2} ms",
                ms(min),
                ms(median),
                ms(with_drop)
            );
            results.push((min, median));
        }
        println!(
            "  speedup decode vs serde_json::from_str: {:.2}x (min), {:.2}x (median)",
            results[1].0.as_secs_f64() / results[0].0.as_secs_f64(),
            results[1].1.as_secs_f64() / results[0].1.as_secs_f64()
        );
    }
}
