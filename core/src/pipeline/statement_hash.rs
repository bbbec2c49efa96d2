//! The hash kept beside a run's compiled batch statement (`pipeline_runs.batch_sql_hash`).
//!
//! A run's statement is compiled once, when the run begins, and every later batch (in
//! any session, after any number of commits) runs the stored text. The hash is how a
//! batch knows the text is still the one that was compiled: a row edited by hand, or
//! cut short, is refused instead of run. It is plain SHA-256 of the text's UTF-8 bytes,
//! so in a UTF8 database it can be checked in SQL too:
//! `encode(sha256(convert_to(batch_sql, 'UTF8')), 'hex')`.

use sha2::{Digest, Sha256};
use std::fmt::Write;

/// Lowercase hex SHA-256 of `sql` (64 characters).
pub fn statement_hash(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // pinned: stored hashes must stay valid across releases
        assert_eq!(
            statement_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            statement_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn lowercase_hex_of_64_characters() {
        let h = statement_hash("WITH b AS (SELECT 1) SELECT * FROM b");
        assert_eq!(h.len(), 64);
        assert!(h
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn any_change_to_the_text_changes_it() {
        let a = statement_hash("SELECT $1 LIMIT $3");
        assert_ne!(a, statement_hash("SELECT $1 LIMIT $3 "));
        assert_ne!(a, statement_hash("select $1 LIMIT $3"));
        assert_eq!(a, statement_hash("SELECT $1 LIMIT $3"));
    }

    #[test]
    fn hashes_the_utf8_bytes() {
        // what PostgreSQL's sha256(convert_to(text, 'UTF8')) hashes: é is c3 a9
        assert_eq!(
            statement_hash("\u{e9}"),
            "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c"
        );
    }
}
