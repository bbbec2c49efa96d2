//! A model of PostgreSQL's side of the binary format, for tests: the
//! encoder mirrors `convertToJsonb` (jsonb_util.c) and
//! `numeric_in`/`make_result` (numeric.c), and `Jb::text` mirrors
//! `JsonbToCString`, so properties can compare the decoder with the text
//! path it replaces. Byte images captured from a real PostgreSQL 15 pin the
//! encoder (and the decoder) to the real format (see `tests.rs`). Used by
//! the decoder's and the view's tests here, and by the binary schema diff's
//! (`schema/diff/binary/tests.rs`).

use super::format::{
    JB_FARRAY, JB_FOBJECT, JB_FSCALAR, JENTRY_HAS_OFF, JENTRY_ISBOOL_FALSE, JENTRY_ISBOOL_TRUE,
    JENTRY_ISCONTAINER, JENTRY_ISNULL, JENTRY_ISNUMERIC, JENTRY_OFFLENMASK, JENTRY_TYPEMASK,
};
use serde_json::Value;

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
    pub(super) fn parse(text: &str) -> NumVar {
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
                pairs.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
                Jb::Obj(pairs)
            }
        }
    }

    /// Parses JSON text the way `jsonb_in` does, keeping each number's
    /// exact decimal text (so `12.50` keeps its display scale, which a
    /// `serde_json::Value` would lose). Test inputs only: no error
    /// handling, no duplicate keys.
    pub(super) fn parse_text(text: &str) -> Jb {
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

    pub(super) fn to_text(&self) -> String {
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
    pub(super) fn varlena(v: &Jb, packed_numerics: bool) -> Vec<u8> {
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
