//! SQL/JSON path conditions (`$.age > 18`). The core checks them only lightly;
//! the shell asks PostgreSQL to parse each one (`$1::jsonpath`) before it writes
//! anything, so the real grammar lives in one place: the server.

use super::compile::CompileError;
use super::quote::Quoter;

const MAX_JSONPATH_CHARS: usize = 10_000;

/// How a path must be evaluated to give a boolean. `jsonb_path_exists` on a
/// predicate such as `$.age > 65` is always true (the predicate yields a boolean
/// item, which exists), so predicates need `jsonb_path_match` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonPathKind {
    /// A predicate check: `$.age > 65`, `exists($.email)`, `$.a == 1 && $.b != 2`.
    Predicate,
    /// A plain path, true when it selects at least one item: `$.email`,
    /// `$.tags[*] ? (@ == "vip")`.
    Path,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    kind: JsonPathKind,
}

impl JsonPath {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let t = s.trim();
        if t.is_empty() {
            return Err("it is empty; write a condition such as \"$.age > 18\"");
        }
        if t.len() > MAX_JSONPATH_CHARS {
            return Err("it is longer than 10000 characters");
        }
        if t.contains('\0') {
            return Err("it contains a NUL character");
        }
        // `@` is the current item of a filter; PostgreSQL rejects it at the root.
        if t.starts_with('@') {
            return Err("`@` is only valid inside a filter `? (...)`; use `$` for the entity");
        }
        let kind = scan(t)?;
        Ok(Self {
            text: t.to_string(),
            kind,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> JsonPathKind {
        self.kind
    }

    /// A SQL boolean that is never NULL. `silent => true` turns structural
    /// errors (a string compared with a number, a missing key in strict mode)
    /// into "no match" instead of aborting the whole batch, and `coalesce` turns
    /// the resulting unknown into false: an entity the condition cannot be
    /// evaluated on does not match it.
    pub fn to_sql(&self, item: &str, q: &Quoter) -> Result<String, CompileError> {
        let path = q.literal(&self.text)?;
        let function = match self.kind {
            JsonPathKind::Predicate => "jsonb_path_match",
            JsonPathKind::Path => "jsonb_path_exists",
        };
        Ok(format!(
            "coalesce({function}({item}, {path}::jsonpath, silent => true), false)"
        ))
    }
}

/// Checks quotes and brackets balance and that the path reads the entity (`$`),
/// and decides whether it is a predicate: a comparison, `&&`, `||`, `!`,
/// `exists`, `like_regex`, `starts with` or `is unknown` outside any filter.
fn scan(t: &str) -> Result<JsonPathKind, &'static str> {
    let b = t.as_bytes();
    let mut opens: Vec<(u8, bool)> = Vec::new(); // (bracket, opens a filter)
    let mut prev = 0u8; // previous significant byte
    let (mut predicate, mut has_root) = (false, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let in_filter = opens.iter().any(|&(_, f)| f);
        match c {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if i >= b.len() {
                    return Err("a string literal is not closed");
                }
            }
            b'(' | b'[' => opens.push((c, c == b'(' && prev == b'?')),
            b')' | b']' => match opens.pop() {
                Some((o, _)) if (o == b'(') == (c == b')') => {}
                _ => return Err("its brackets or parentheses do not balance"),
            },
            b'$' => has_root = true,
            b'=' | b'<' | b'>' | b'&' | b'|' | b'!' if !in_filter => predicate = true,
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i + 1 < b.len() && (b[i + 1].is_ascii_alphanumeric() || b[i + 1] == b'_') {
                    i += 1;
                }
                let word = &t[start..=i];
                // After `.` or `$` a word is a key or a variable, not an operator.
                let keyword = !matches!(prev, b'.' | b'$' | b'@');
                if keyword && !in_filter {
                    predicate |= matches!(word, "exists" | "like_regex" | "starts" | "is");
                }
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            prev = c;
        }
        i += 1;
    }
    if !opens.is_empty() {
        return Err("its brackets or parentheses do not balance");
    }
    if !has_root {
        return Err("it never reads the entity; refer to it with `$`, e.g. \"$.age > 18\"");
    }
    Ok(if predicate {
        JsonPathKind::Predicate
    } else {
        JsonPathKind::Path
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use JsonPathKind::*;

    fn kind(s: &str) -> JsonPathKind {
        JsonPath::parse(s).unwrap().kind()
    }

    #[test]
    fn predicates_and_paths_are_told_apart() {
        for p in [
            "$.age > 65",
            "$.a == 1 && $.b != 2",
            "exists($.email)",
            "!($.x < 1)",
            "$.name starts with \"A\"",
            "$.n like_regex \"^a\" flag \"i\"",
            "($.a > 1) is unknown",
            "lax $.a >= 1",
        ] {
            assert_eq!(kind(p), Predicate, "{p}");
        }
        for p in [
            "$.email",
            "$.tags[*] ? (@ == \"vip\")",
            "$.a ? (@ > 1 && @ < 5)",
            "$.exists",
            "$.\"a > b\"",
            "strict $.a.b",
        ] {
            assert_eq!(kind(p), Path, "{p}");
        }
    }

    #[test]
    fn light_syntax_checks() {
        for bad in [
            "", "  ", "@.a > 1", "$.a > (1", "$.a]", "\"$.a", "1 > 0", "$.a\0",
        ] {
            assert!(JsonPath::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(JsonPath::parse("  $.a > 1 ").unwrap().as_str(), "$.a > 1");
    }

    #[test]
    fn compiles_to_a_never_null_boolean() {
        let q = Quoter;
        let p = JsonPath::parse("$.name == \"O'Brien\"").unwrap();
        assert_eq!(
            p.to_sql("t.content", &q).unwrap(),
            "coalesce(jsonb_path_match(t.content, '$.name == \"O''Brien\"'::jsonpath, silent => true), false)"
        );
        let p = JsonPath::parse("$.email").unwrap();
        assert_eq!(
            p.to_sql("x", &q).unwrap(),
            "coalesce(jsonb_path_exists(x, '$.email'::jsonpath, silent => true), false)"
        );
    }
}
