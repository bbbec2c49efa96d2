//! A FIELD_TRANSFORM `expression`: raw SQL over `$1`, the field's jsonb value.
//!
//! This is trusted SQL, written by whoever may run migrations (the owner or a
//! `migration_admin`), and it is spliced into the statement as written: the
//! core does not try to make arbitrary SQL safe. The scan below only catches
//! mistakes that would make the splice mean something other than an
//! expression: a `;` ending the statement, a comment or an unbalanced
//! parenthesis swallowing the SQL that follows, an unclosed quote.

const MAX_EXPRESSION_CHARS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    sql: String,
    /// Byte offsets of the `$1` tokens (outside quotes) to substitute.
    params: Vec<usize>,
}

impl Expression {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let sql = s.trim().to_string();
        if sql.is_empty() {
            return Err(
                "must not be empty; write SQL over $1, e.g. \"to_jsonb(lower($1 #>> '{}'))\"",
            );
        }
        if sql.len() > MAX_EXPRESSION_CHARS {
            return Err("is longer than 10000 characters; move the logic into a CUSTOM function");
        }
        if sql.contains('\0') {
            return Err("contains a NUL character");
        }
        let params = scan(&sql)?;
        Ok(Self { sql, params })
    }

    pub fn as_str(&self) -> &str {
        &self.sql
    }

    /// The expression with every `$1` replaced by `(value)`.
    pub fn substitute(&self, value: &str) -> String {
        let mut out = String::with_capacity(self.sql.len() + self.params.len() * value.len());
        let mut from = 0;
        for &at in &self.params {
            out.push_str(&self.sql[from..at]);
            out.push('(');
            out.push_str(value);
            out.push(')');
            from = at + 2;
        }
        out.push_str(&self.sql[from..]);
        out
    }
}

/// Finds `$1` tokens outside quoted text and checks the expression stays one
/// expression. Quoted text: '...' (with '' and, in E'...', backslash escapes),
/// "..." identifiers and $tag$...$tag$ dollar quotes.
fn scan(s: &str) -> Result<Vec<usize>, &'static str> {
    let b = s.as_bytes();
    let (mut params, mut depth, mut i) = (Vec::new(), 0usize, 0usize);
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        let after_word = i > 0 && (word(b[i - 1]) || b[i - 1] == b'$');
        match c {
            b'\'' => {
                let escapes =
                    i > 0 && matches!(b[i - 1], b'E' | b'e') && !(i > 1 && word(b[i - 2]));
                i = close_quote(b, i, b'\'', escapes)
                    .ok_or("has a string literal that is not closed")?;
            }
            b'"' => {
                i = close_quote(b, i, b'"', false)
                    .ok_or("has a quoted identifier that is not closed")?
            }
            b'$' if !after_word => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits > 0 {
                    if &s[i + 1..i + 1 + digits] != "1" {
                        return Err("refers to a parameter other than $1; only $1 (the field's value) exists");
                    }
                    params.push(i);
                    i += digits;
                } else {
                    let tag_len = b[i + 1..].iter().take_while(|&&c| word(c)).count();
                    if b.get(i + 1 + tag_len) == Some(&b'$') {
                        let tag = &s[i..i + tag_len + 2];
                        let end = s[i + tag.len()..]
                            .find(tag)
                            .ok_or("has a dollar-quoted string that is not closed")?;
                        i += tag.len() + end + tag.len() - 1;
                    }
                }
            }
            b'(' => depth += 1,
            b')' => depth = depth.checked_sub(1).ok_or("has a `)` without its `(`")?,
            b';' => return Err("contains `;`; an expression cannot end the statement"),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                return Err("contains a `--` comment; remove it")
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                return Err("contains a `/*` comment; remove it")
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return Err("has a `(` without its `)`");
    }
    Ok(params)
}

/// Index of the quote closing the one at `open`; a doubled quote is an escape.
fn close_quote(b: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> Option<usize> {
    let mut i = open + 1;
    while i < b.len() {
        if backslash_escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_only_real_parameters() {
        let e = Expression::parse(" to_jsonb(lower($1 #>> '{}')) || $1 ").unwrap();
        assert_eq!(e.substitute("v"), "to_jsonb(lower((v) #>> '{}')) || (v)");
        let e =
            Expression::parse(r#"$1 || to_jsonb('$1'::text) || "a$1" || E'\'$1' || $q$ $1 $q$"#)
                .unwrap();
        assert_eq!(e.substitute("v").matches("(v)").count(), 1);
        assert_eq!(Expression::parse("now()").unwrap().substitute("v"), "now()");
    }

    #[test]
    fn rejects_what_would_break_out_of_an_expression() {
        for bad in [
            "",
            "$1); DROP TABLE t; --",
            "$1 -- comment",
            "$1 /* c */",
            "($1",
            "$1)",
            "'open",
            "\"open",
            "$2",
            "$10",
            "$x$ open",
        ] {
            assert!(Expression::parse(bad).is_err(), "{bad:?}");
        }
    }
}
