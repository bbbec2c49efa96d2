//! Small helpers over SQL text and relation names, for recipes and for
//! matching tables across statements. Never used to decide what a statement
//! does: that comes from the parse tree.

/// `public.t` and `t` are taken to be the same table: the parse tree keeps
/// names as written, and a migration rarely holds two tables of one name in
/// different schemas. A false match only changes which reason is reported or
/// silences a rule for a table the same migration created.
pub(crate) fn same_table(a: &str, b: &str) -> bool {
    fn bare(s: &str) -> &str {
        s.rsplit('.').next().unwrap_or(s)
    }
    a == b || (!(a.contains('.') && b.contains('.')) && bare(a) == bare(b))
}

/// The statement without its trailing semicolon, for recipes.
pub(crate) fn trim_sql(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

/// `sql` with `word` inserted after the first whole-word, case-insensitive
/// occurrence of any of `after` (e.g. CONCURRENTLY after INDEX).
pub(crate) fn insert_after(sql: &str, after: &[&str], word: &str) -> Option<String> {
    let sql = trim_sql(sql);
    let upper = sql.to_ascii_uppercase();
    let is_word = |i: usize, len: usize| {
        let before = upper[..i].chars().next_back();
        let next = upper[i + len..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
    };
    let pos = upper.char_indices().map(|(i, _)| i).find_map(|i| {
        after
            .iter()
            .find(|k| upper[i..].starts_with(**k) && is_word(i, k.len()))
            .map(|k| i + k.len())
    })?;
    Some(format!("{} {}{}", &sql[..pos], word, &sql[pos..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_keyword_after_whole_word() {
        assert_eq!(
            insert_after(
                "create index idx_index on t (a);",
                &["INDEX"],
                "CONCURRENTLY"
            ),
            Some("create index CONCURRENTLY idx_index on t (a)".into())
        );
        assert_eq!(insert_after("SELECT 1", &["INDEX"], "X"), None);
    }

    #[test]
    fn qualified_and_bare_names_match() {
        assert!(same_table("public.t", "t"));
        assert!(!same_table("a.t", "b.t"));
        assert!(!same_table("t", "u"));
    }
}
