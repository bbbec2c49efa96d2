//! The binary form of a `jsonb` written directly, as `jsonb_in` would have
//! stored the same value: `convertToJsonb` (jsonb_util.c) for the containers,
//! `numeric_in` + `make_result` (numeric.c) for numbers.
//!
//! Why: a function that returns a large jsonb through pgrx's `JsonB` prints
//! the value to JSON text and has PostgreSQL parse that text again; for the
//! ~1 MB result of `detect_breaking_changes` the round trip cost more than
//! building the result. The bytes written here are the ones `jsonb_in`
//! produces (the tests compare them with byte images captured from
//! PostgreSQL 15, and an in-server test compares them with `jsonb_in`'s own
//! output for random values), so a value returned this way is
//! indistinguishable from one that went through text.

use super::format::{
    JB_FARRAY, JB_FOBJECT, JB_FSCALAR, JENTRY_HAS_OFF, JENTRY_ISBOOL_FALSE, JENTRY_ISBOOL_TRUE,
    JENTRY_ISCONTAINER, JENTRY_ISNULL, JENTRY_ISNUMERIC, JENTRY_OFFLENMASK, JENTRY_TYPEMASK,
};
use serde_json::Value;
use std::fmt;

/// Every 32nd JEntry holds the child's end offset instead of its length
/// (`JB_OFFSET_STRIDE`), so that a reader can find a child without summing
/// all the lengths before it.
const OFFSET_STRIDE: usize = 32;

/// A value too large for the binary format: a container's data, or the
/// count of its children, must fit in 28 bits (PostgreSQL's
/// "total size of jsonb array elements exceeds the maximum").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError(pub String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

/// A number as `numeric_in` reads its decimal text, after `make_result`'s
/// normalisation: base-10000 digits, the weight of the first, the display
/// scale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumVar {
    pub(crate) negative: bool,
    pub(crate) weight: i32,
    pub(crate) dscale: i32,
    pub(crate) digits: Vec<u16>,
}

impl NumVar {
    /// `set_var_from_str` for JSON number text (an optional `-`, digits, an
    /// optional fraction, an optional exponent), then `make_result`'s
    /// stripping of leading and trailing zero digits. `None` for text that is
    /// not a JSON number.
    pub(crate) fn parse(text: &str) -> Option<NumVar> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
            return None;
        }
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
        Some(
            NumVar {
                negative,
                weight,
                dscale,
                digits,
            }
            .normalized(),
        )
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
    pub(crate) fn datum(&self, packed: bool) -> Vec<u8> {
        let short = self.dscale <= 63 && (-64..=63).contains(&self.weight);
        let mut body = Vec::with_capacity(4 + 2 * self.digits.len());
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
        let mut out = Vec::with_capacity(body.len() + 4);
        if packed {
            out.push(varlena_header_1b(body.len() + 1));
        } else {
            out.extend(varlena_header_4b(body.len() + 4));
        }
        out.extend(body);
        out
    }
}

/// One node of a tree the encoder can write: what `JsonbValue` holds.
pub(crate) enum Node<'a, T> {
    Null,
    Bool(bool),
    Str(&'a str),
    Num(NumVar),
    Arr(&'a [T]),
    /// Keys unique and in storage order ([`storage_order`]).
    Obj(Vec<(&'a str, &'a T)>),
    /// A `serde_json::Value` inside another kind of tree.
    Json(&'a Value),
}

/// A tree the encoder can write: `serde_json::Value` here, the tests' model
/// of `JsonbValue` (which keeps a number's exact decimal text) in theirs.
pub(crate) trait Tree: Sized {
    fn node(&self) -> Node<'_, Self>;
}

impl Tree for Value {
    fn node(&self) -> Node<'_, Value> {
        match self {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::String(s) => Node::Str(s),
            // serde_json writes a number as JSON number text, which is what jsonb_in
            // would have been given
            Value::Number(n) => Node::Num(
                NumVar::parse(&n.to_string())
                    .expect("serde_json writes numbers as JSON number text"),
            ),
            Value::Array(a) => Node::Arr(a),
            Value::Object(o) => {
                let mut pairs: Vec<(&str, &Value)> =
                    o.iter().map(|(k, v)| (k.as_str(), v)).collect();
                storage_order(&mut pairs);
                Node::Obj(pairs)
            }
        }
    }
}

/// A result assembled from borrowed parts, for code that would otherwise
/// clone its data into a `serde_json::Value` only to have it encoded: its
/// objects are built with [`Out::object`], which puts the keys in storage
/// order once.
pub enum Out<'a> {
    Null,
    Bool(bool),
    Str(&'a str),
    Json(&'a Value),
    Arr(Vec<Out<'a>>),
    Obj(Vec<(&'a str, Out<'a>)>),
}

impl<'a> Out<'a> {
    /// The same value as a `serde_json::Value` (copied).
    pub fn to_value(&self) -> Value {
        match self {
            Out::Null => Value::Null,
            Out::Bool(b) => Value::Bool(*b),
            Out::Str(s) => Value::String((*s).to_owned()),
            Out::Json(v) => (*v).clone(),
            Out::Arr(a) => Value::Array(a.iter().map(Out::to_value).collect()),
            Out::Obj(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// An object of `pairs`; the keys must be unique.
    pub fn object(mut pairs: Vec<(&'a str, Out<'a>)>) -> Out<'a> {
        storage_order(&mut pairs);
        Out::Obj(pairs)
    }
}

impl Tree for Out<'_> {
    fn node(&self) -> Node<'_, Self> {
        match self {
            Out::Null => Node::Null,
            Out::Bool(b) => Node::Bool(*b),
            Out::Str(s) => Node::Str(s),
            Out::Json(v) => Node::Json(v),
            Out::Arr(a) => Node::Arr(a),
            Out::Obj(pairs) => Node::Obj(pairs.iter().map(|(k, v)| (*k, v)).collect()),
        }
    }
}

/// `lengthCompareJsonbStringValue`: an object's keys are stored shortest
/// first, then bytewise.
pub(crate) fn storage_order<K: AsRef<str>, T>(pairs: &mut [(K, T)]) {
    pairs.sort_by(|a, b| {
        let (a, b) = (a.0.as_ref(), b.0.as_ref());
        (a.len(), a.as_bytes()).cmp(&(b.len(), b.as_bytes()))
    });
}

/// The whole `jsonb` varlena of `v` (4-byte header), numerics inside unpacked as
/// `jsonb_in` leaves them.
pub fn jsonb_varlena(v: &Value) -> Result<Vec<u8>, EncodeError> {
    Encoder::varlena(v, false)
}

/// [`jsonb_varlena`] of a result assembled from borrowed parts.
pub fn jsonb_varlena_of(v: &Out<'_>) -> Result<Vec<u8>, EncodeError> {
    Encoder::varlena(v, false)
}

/// `convertToJsonb`.
pub(crate) struct Encoder {
    buf: Vec<u8>,
    packed_numerics: bool,
}

impl Encoder {
    /// The whole varlena (4-byte header) of `v`.
    pub(crate) fn varlena<T: Tree>(v: &T, packed_numerics: bool) -> Result<Vec<u8>, EncodeError> {
        let mut e = Encoder {
            buf: Vec::with_capacity(4096),
            packed_numerics,
        };
        e.buf.resize(4, 0);
        e.root(v)?;
        // the varlena header holds the size in 30 bits; the containers' 28-bit checks
        // above already bound it
        let len = e.buf.len() as u32;
        e.buf[..4].copy_from_slice(&varlena_header_4b(len as usize));
        Ok(e.buf)
    }

    fn root<T: Tree>(&mut self, v: &T) -> Result<(), EncodeError> {
        match v.node() {
            Node::Arr(elems) => {
                self.array(elems.iter(), elems.len(), false)?;
            }
            Node::Obj(pairs) => {
                self.object(&pairs)?;
            }
            Node::Json(v) => self.root(v)?,
            _ => {
                self.array(std::iter::once(v), 1, true)?;
            }
        }
        Ok(())
    }

    fn pad(&mut self) -> u32 {
        let pad = (4 - self.buf.len() % 4) % 4;
        self.buf.resize(self.buf.len() + pad, 0);
        pad as u32
    }

    fn value<T: Tree>(&mut self, v: &T) -> Result<u32, EncodeError> {
        Ok(match v.node() {
            Node::Null => JENTRY_ISNULL,
            Node::Bool(true) => JENTRY_ISBOOL_TRUE,
            Node::Bool(false) => JENTRY_ISBOOL_FALSE,
            Node::Str(s) => self.string(s)?,
            Node::Num(n) => {
                let pad = self.pad();
                let datum = n.datum(self.packed_numerics);
                self.buf.extend(&datum);
                JENTRY_ISNUMERIC | (pad + datum.len() as u32)
            }
            Node::Arr(elems) => self.array(elems.iter(), elems.len(), false)?,
            Node::Obj(pairs) => self.object(&pairs)?,
            Node::Json(v) => self.value(v)?,
        })
    }

    fn string(&mut self, s: &str) -> Result<u32, EncodeError> {
        if s.len() > JENTRY_OFFLENMASK as usize {
            return Err(too_large("string"));
        }
        self.buf.extend(s.as_bytes());
        Ok(s.len() as u32)
    }

    fn put_entry(&mut self, at: usize, entry: u32) {
        self.buf[at..at + 4].copy_from_slice(&entry.to_ne_bytes());
    }

    /// Write the JEntry of the `i`th child, whose own encoding returned `meta`;
    /// `total` is the running end offset of the children's data.
    fn entry(
        &mut self,
        at: usize,
        i: usize,
        meta: u32,
        total: &mut u64,
    ) -> Result<(), EncodeError> {
        *total += u64::from(meta & JENTRY_OFFLENMASK);
        if *total > u64::from(JENTRY_OFFLENMASK) {
            return Err(too_large("container"));
        }
        let meta = if i.is_multiple_of(OFFSET_STRIDE) {
            (meta & JENTRY_TYPEMASK) | *total as u32 | JENTRY_HAS_OFF
        } else {
            meta
        };
        self.put_entry(at, meta);
        Ok(())
    }

    fn array<'t, T: Tree + 't>(
        &mut self,
        elems: impl Iterator<Item = &'t T>,
        count: usize,
        raw_scalar: bool,
    ) -> Result<u32, EncodeError> {
        if count > JENTRY_OFFLENMASK as usize {
            return Err(too_large("array"));
        }
        let base = self.buf.len();
        self.pad();
        let mut header = count as u32 | JB_FARRAY;
        if raw_scalar {
            header |= JB_FSCALAR;
        }
        self.buf.extend(header.to_ne_bytes());
        let mut at = self.buf.len();
        self.buf.resize(at + 4 * count, 0);
        let mut total = 0;
        for (i, elem) in elems.enumerate() {
            let meta = self.value(elem)?;
            self.entry(at, i, meta, &mut total)?;
            at += 4;
        }
        Ok(JENTRY_ISCONTAINER | (self.buf.len() - base) as u32)
    }

    fn object<T: Tree>(&mut self, pairs: &[(&str, &T)]) -> Result<u32, EncodeError> {
        let n = pairs.len();
        if n > JENTRY_OFFLENMASK as usize {
            return Err(too_large("object"));
        }
        let base = self.buf.len();
        self.pad();
        self.buf.extend((n as u32 | JB_FOBJECT).to_ne_bytes());
        let mut at = self.buf.len();
        self.buf.resize(at + 8 * n, 0);
        let mut total = 0;
        // all keys first, then all values, one offset stride over both
        for (i, (key, _)) in pairs.iter().enumerate() {
            let meta = self.string(key)?;
            self.entry(at, i, meta, &mut total)?;
            at += 4;
        }
        for (i, (_, value)) in pairs.iter().enumerate() {
            let meta = self.value(*value)?;
            self.entry(at, i + n, meta, &mut total)?;
            at += 4;
        }
        Ok(JENTRY_ISCONTAINER | (self.buf.len() - base) as u32)
    }
}

/// `SET_VARSIZE`: a 4-byte varlena header for `len` bytes (header included), as
/// postgres.h lays it out on this machine's byte order.
fn varlena_header_4b(len: usize) -> [u8; 4] {
    let len = len as u32;
    if cfg!(target_endian = "little") {
        (len << 2).to_ne_bytes()
    } else {
        (len & 0x3FFF_FFFF).to_ne_bytes()
    }
}

/// `SET_VARSIZE_SHORT`: a 1-byte varlena header for `len` bytes (header
/// included, at most 127).
fn varlena_header_1b(len: usize) -> u8 {
    let len = len as u8;
    if cfg!(target_endian = "little") {
        (len << 1) | 1
    } else {
        len | 0x80
    }
}

fn too_large(what: &str) -> EncodeError {
    EncodeError(format!(
        "the {what} is too large for jsonb (its data must stay under {} bytes)",
        JENTRY_OFFLENMASK
    ))
}
