//! A model of PostgreSQL's `JsonbValue` for tests, written by the production
//! encoder (`encode.rs`, which mirrors `convertToJsonb` and
//! `numeric_in`/`make_result`); the model keeps each number's exact decimal
//! text, and `Jb::text` mirrors `JsonbToCString`, so properties can compare
//! the decoder with the text path it replaces. Byte images captured from a
//! real PostgreSQL 15 pin the encoder (and the decoder) to the real format
//! (see `tests.rs`). Used by
//! the decoder's and the view's tests here, and by the binary schema diff's
//! (`schema/diff/binary/tests.rs`).

pub(crate) use super::encode::NumVar;
use super::encode::{storage_order, Node, Tree};
use serde_json::Value;

impl NumVar {
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
            Value::Number(n) => Jb::Num(NumVar::parse(&n.to_string()).unwrap()),
            Value::Array(a) => Jb::Arr(a.iter().map(Jb::from_value).collect()),
            Value::Object(o) => {
                let mut pairs: Vec<(String, Jb)> = o
                    .iter()
                    .map(|(k, v)| (k.clone(), Jb::from_value(v)))
                    .collect();
                storage_order(&mut pairs);
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
                    storage_order(&mut pairs);
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
                    Jb::Num(NumVar::parse(std::str::from_utf8(&s[start..*i]).unwrap()).unwrap())
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

impl Tree for Jb {
    fn node(&self) -> Node<'_, Jb> {
        match self {
            Jb::Null => Node::Null,
            Jb::Bool(b) => Node::Bool(*b),
            Jb::Str(s) => Node::Str(s),
            Jb::Num(n) => Node::Num(n.clone()),
            Jb::Arr(a) => Node::Arr(a),
            Jb::Obj(pairs) => Node::Obj(pairs.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        }
    }
}

/// The production encoder over the model, unwrapped for tests.
pub(crate) struct Encoder;

impl Encoder {
    /// The whole varlena (4-byte header).
    pub(super) fn varlena(v: &Jb, packed_numerics: bool) -> Vec<u8> {
        super::encode::Encoder::varlena(v, packed_numerics).unwrap()
    }

    pub(crate) fn payload(v: &Jb) -> Vec<u8> {
        Self::varlena(v, false)[4..].to_vec()
    }
}
