//! The one place that turns user text into SQL text. Identifiers are validated
//! and double-quoted, strings become literals exactly as PostgreSQL's
//! `quote_literal` would write them, so compiled SQL never contains user text
//! outside a quoted token.

use super::compile::CompileError;
use super::names::is_plain_ident;
use serde_json::Value;

/// Quotes identifiers and literals. A value rather than free functions so that
/// every compile function visibly receives the quoting policy it must use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quoter;

impl Quoter {
    /// `"name"`. Only plain identifiers are accepted: anything else is an error
    /// rather than a quoted oddity, because callers validate names at parse time
    /// and a non-plain name reaching this point is a bug worth surfacing.
    /// Internal double quotes would be doubled, as `quote_ident` does.
    pub fn ident(&self, s: &str) -> Result<String, CompileError> {
        if !is_plain_ident(s) {
            return Err(CompileError::InvalidIdentifier { found: s.into() });
        }
        Ok(format!("\"{}\"", s.replace('"', "\"\"")))
    }

    /// A string literal, byte for byte what `quote_literal` returns: quotes
    /// doubled, and when a backslash is present an `E'...'` literal with
    /// backslashes doubled. That form means the same thing whether
    /// `standard_conforming_strings` is on or off.
    pub fn literal(&self, s: &str) -> Result<String, CompileError> {
        if s.contains('\0') {
            // PostgreSQL text cannot hold NUL; fail here instead of at run time.
            return Err(CompileError::NulCharacter { text: preview(s) });
        }
        let mut out = String::with_capacity(s.len() + 3);
        if s.contains('\\') {
            out.push('E');
        }
        out.push('\'');
        for c in s.chars() {
            if c == '\'' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('\'');
        Ok(out)
    }

    /// `'{address,city}'::text[]`: the path argument of `#>`, `#-` and `jsonb_set`.
    /// Elements are double-quoted when the array parser would otherwise misread
    /// them (empty, `NULL`, braces, commas, quotes, backslashes, whitespace).
    pub fn text_array(&self, items: &[&str]) -> Result<String, CompileError> {
        let elements: Vec<String> = items.iter().map(|s| array_element(s)).collect();
        let text = format!("{{{}}}", elements.join(","));
        Ok(format!("{}::text[]", self.literal(&text)?))
    }

    /// `'{"de":"Germany"}'::jsonb`.
    pub fn jsonb(&self, v: &Value) -> Result<String, CompileError> {
        if has_nul(v) {
            // serde_json writes NUL as \u0000, which jsonb refuses at run time.
            return Err(CompileError::NulCharacter {
                text: preview(&v.to_string()),
            });
        }
        Ok(format!("{}::jsonb", self.literal(&v.to_string())?))
    }
}

fn array_element(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.eq_ignore_ascii_case("NULL")
        && !s.chars().any(|c| {
            matches!(
                c,
                '{' | '}' | ',' | '"' | '\\' | ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C'
            )
        });
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn preview(s: &str) -> String {
    s.chars().take(40).collect::<String>().replace('\0', "\\0")
}

/// A small reader of the literals written above, for tests: it shares no code
/// with the writer, so a round trip checks the writer against the grammar.
#[cfg(test)]
pub(crate) fn unquote_literal(sql: &str) -> Option<(String, &str)> {
    let (escaped, rest) = match sql.strip_prefix('E') {
        Some(r) => (true, r),
        None => (false, sql),
    };
    let mut chars = rest.strip_prefix('\'')?.char_indices();
    let body = &rest[1..];
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' if body[i + 1..].starts_with('\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => return Some((out, &body[i + 1..])),
            '\\' if escaped => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const Q: Quoter = Quoter;

    #[test]
    fn literal_matches_quote_literal() {
        assert_eq!(Q.literal("abc").unwrap(), "'abc'");
        assert_eq!(Q.literal("O'Brien").unwrap(), "'O''Brien'");
        assert_eq!(Q.literal(r"C:\dir").unwrap(), r"E'C:\\dir'");
        assert_eq!(Q.literal(r"it's \n").unwrap(), r"E'it''s \\n'");
        assert_eq!(Q.literal("").unwrap(), "''");
        assert!(matches!(
            Q.literal("a\0b"),
            Err(CompileError::NulCharacter { .. })
        ));
    }

    #[test]
    fn identifiers_must_be_plain() {
        assert_eq!(Q.ident("lookup_1").unwrap(), "\"lookup_1\"");
        for bad in ["", "a b", "a\"b", "1a", "a.b", "drop;--"] {
            assert!(Q.ident(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_arrays_quote_only_when_needed() {
        assert_eq!(
            Q.text_array(&["address", "city"]).unwrap(),
            "'{address,city}'::text[]"
        );
        assert_eq!(
            Q.text_array(&["a b", "null"]).unwrap(),
            r#"'{"a b","null"}'::text[]"#
        );
        assert_eq!(
            Q.text_array(&["it's", ""]).unwrap(),
            r#"'{it''s,""}'::text[]"#
        );
        assert_eq!(
            Q.text_array(&[r#"q"\"#]).unwrap(),
            r#"E'{"q\\"\\\\"}'::text[]"#
        );
    }

    #[test]
    fn jsonb_literals() {
        let v = json!({"k": "it's"});
        assert_eq!(Q.jsonb(&v).unwrap(), r#"'{"k":"it''s"}'::jsonb"#);
        assert_eq!(Q.jsonb(&json!("a\"b")).unwrap(), r#"E'"a\\"b"'::jsonb"#);
        assert!(Q.jsonb(&json!({"a\u{0}": 1})).is_err());
    }

    #[test]
    fn reader_reads_what_writer_writes() {
        for s in ["", "x", "'", "''", "\\", "\\'", "a'b\\c", "é'ü"] {
            let q = Q.literal(s).unwrap();
            assert_eq!(unquote_literal(&q), Some((s.to_string(), "")), "{q}");
        }
        assert_eq!(unquote_literal("'a'::jsonb"), Some(("a".into(), "::jsonb")));
        assert_eq!(unquote_literal("'open"), None);
    }
}
