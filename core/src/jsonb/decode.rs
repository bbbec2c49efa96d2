//! The full decoder: a jsonb datum into a [`serde_json::Value`].
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
//! `bench_decode_vs_serde_text` test (`jsonb/bench.rs`) for numbers.

use super::format::{
    int_align, raw_scalar, read_u32, Child, ContainerHeader, JENTRY_ISBOOL_FALSE,
    JENTRY_ISBOOL_TRUE, JENTRY_ISCONTAINER, JENTRY_ISNULL, JENTRY_ISNUMERIC, JENTRY_ISSTRING,
    JENTRY_TYPEMASK, MAX_DEPTH, RAW_SCALAR_DATA,
};
use serde_json::{Map, Number, Value};
use std::fmt;

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

pub(super) fn err<T>(offset: usize, kind: DecodeErrorKind) -> Result<T, DecodeError> {
    Err(DecodeError { offset, kind })
}

/// Decodes a jsonb datum's payload: the bytes at `VARDATA_ANY`, without the
/// varlena header, starting with the root container's `uint32` header.
/// Trailing bytes after the root's data are ignored.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let decoder = Decoder { buf: bytes };
    match raw_scalar(bytes)? {
        // Raw scalar: a one-element pseudo-array that does not count as a
        // nesting level.
        Some(child) => decoder.child(child, RAW_SCALAR_DATA, 1),
        None => decoder.container(0, bytes.len(), 1),
    }
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

pub(super) struct Decoder<'a> {
    pub(super) buf: &'a [u8],
}

impl Decoder<'_> {
    /// Decodes the container occupying absolute `[start, end)`.
    pub(super) fn container(
        &self,
        start: usize,
        end: usize,
        depth: u32,
    ) -> Result<Value, DecodeError> {
        let region = &self.buf[start..end];
        let header = ContainerHeader::parse(region, start, depth)?;
        let count = header.count;
        let data = start + header.data_start();
        let children = header.walker(region, start);

        if !header.is_object {
            let mut elems = Vec::with_capacity(count);
            for child in children {
                elems.push(self.child(child?, data, depth)?);
            }
            return Ok(Value::Array(elems));
        }

        // Values' data follows all keys' data.
        let (keys, values) = children.split(count);
        let mut map = Map::new();
        // Small objects: insert directly. Large ones: collect and let
        // `FromIterator` sort once and bulk-build the tree, which beats
        // repeated inserts.
        let mut pairs = if count > SMALL_OBJECT {
            Vec::with_capacity(count)
        } else {
            Vec::new()
        };
        for (key, value) in keys.zip(values) {
            let key = key?;
            if key.entry & JENTRY_TYPEMASK != JENTRY_ISSTRING {
                return err(data + key.off, DecodeErrorKind::NonStringKey(key.entry));
            }
            let key = self.string(data + key.off, data + key.end)?;
            let value = self.child(value?, data, depth)?;
            if count > SMALL_OBJECT {
                pairs.push((key, value));
            } else {
                map.insert(key, value);
            }
        }
        if count > SMALL_OBJECT {
            map = pairs.into_iter().collect();
        }
        Ok(Value::Object(map))
    }

    /// Decodes `child` of the data region starting at absolute `data`, in a
    /// container at `depth`.
    #[inline]
    fn child(&self, child: Child, data: usize, depth: u32) -> Result<Value, DecodeError> {
        let Child { entry, off, end } = child;
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
pub(super) fn numeric(bytes: &[u8], at: usize) -> Result<Number, DecodeError> {
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
