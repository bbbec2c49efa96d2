//! The plain forms of statements that have a concurrent one, for a schema that no
//! traffic reaches yet (a blue-green target): CREATE INDEX / DROP INDEX / REINDEX ...
//! CONCURRENTLY without the keyword, and VACUUM (ANALYZE) as ANALYZE. Text in, text out:
//! which statements they are is decided by the caller, with PostgreSQL's parser.

/// `sql` with its first CONCURRENTLY keyword (outside quotes and comments) removed, and
/// an option list left empty by that (`REINDEX (CONCURRENTLY) ...`) removed too.
pub fn without_concurrently(sql: &str) -> String {
    let Some((start, end)) = keyword_span(sql, "concurrently") else {
        return sql.to_string();
    };
    let mut out = format!("{}{}", &sql[..start], &sql[end..]);
    // "( )" or "(, VERBOSE)" / "(VERBOSE, )" left behind in an option list
    for (from, to) in [
        ("( )", ""),
        ("()", ""),
        ("(, ", "("),
        (", )", ")"),
        (",)", ")"),
    ] {
        out = out.replacen(from, to, 1);
    }
    out
}

/// VACUUM (ANALYZE) t → ANALYZE t; a VACUUM without ANALYZE → nothing.
pub fn analyze_of_vacuum(sql: &str) -> Option<String> {
    keyword_span(sql, "analyze")?;
    let (_, after_vacuum) = keyword_span(sql, "vacuum")?;
    let rest = sql[after_vacuum..].trim_start();
    // the table list follows the option list, if any; or the old-style option words
    let tables = match rest.strip_prefix('(') {
        Some(r) => r
            .split_once(')')
            .map(|(_, t)| t.trim().to_string())
            .unwrap_or_default(),
        None => rest
            .split_whitespace()
            .filter(|w| {
                !["analyze", "verbose", "full", "freeze"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
            })
            .collect::<Vec<_>>()
            .join(" "),
    };
    Some(format!("ANALYZE {tables}").trim().to_string())
}

/// Byte span of the first occurrence of `word` as a keyword: outside '...' strings,
/// "..." names and comments, with no letter, digit or underscore on either side.
fn keyword_span(sql: &str, word: &str) -> Option<(usize, usize)> {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                let q = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            _ => {
                let end = i + word.len();
                let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
                if end <= bytes.len()
                    && sql[i..end].eq_ignore_ascii_case(word)
                    && (i == 0 || !ident(bytes[i - 1]))
                    && (end == bytes.len() || !ident(bytes[end]))
                {
                    return Some((i, end));
                }
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrently_is_removed_where_it_is_a_keyword() {
        assert_eq!(
            without_concurrently("CREATE INDEX CONCURRENTLY i ON t (a)"),
            "CREATE INDEX  i ON t (a)"
        );
        assert_eq!(
            without_concurrently("create unique index concurrently \"concurrently\" on t(a)"),
            "create unique index  \"concurrently\" on t(a)"
        );
        assert_eq!(
            without_concurrently("/* concurrently */ DROP INDEX CONCURRENTLY i"),
            "/* concurrently */ DROP INDEX  i"
        );
        assert_eq!(
            without_concurrently("REINDEX (CONCURRENTLY) INDEX i"),
            "REINDEX  INDEX i"
        );
        assert_eq!(
            without_concurrently("REINDEX (VERBOSE, CONCURRENTLY) INDEX i"),
            "REINDEX (VERBOSE) INDEX i"
        );
        assert_eq!(
            without_concurrently("CREATE INDEX i ON concurrently_t (a)"),
            "CREATE INDEX i ON concurrently_t (a)"
        );
    }

    #[test]
    fn vacuum_keeps_its_analyze_only() {
        assert_eq!(
            analyze_of_vacuum("VACUUM (ANALYZE) t").as_deref(),
            Some("ANALYZE t")
        );
        assert_eq!(
            analyze_of_vacuum("VACUUM ANALYZE t, u").as_deref(),
            Some("ANALYZE t, u")
        );
        assert_eq!(analyze_of_vacuum("VACUUM (FULL) t"), None);
        assert_eq!(analyze_of_vacuum("VACUUM").as_deref(), None);
    }

    proptest::proptest! {
        /// Whatever the names, the plain form keeps them and loses exactly the keyword.
        #[test]
        fn only_the_keyword_goes(index in "[a-z_][a-z0-9_]{0,20}", table in "[a-z_][a-z0-9_]{0,20}", unique in proptest::bool::ANY) {
            let u = if unique { "UNIQUE " } else { "" };
            let sql = format!("CREATE {u}INDEX CONCURRENTLY {index} ON {table} (a)");
            let plain = without_concurrently(&sql);
            proptest::prop_assert_eq!(plain, format!("CREATE {u}INDEX  {index} ON {table} (a)"));
        }
    }
}
