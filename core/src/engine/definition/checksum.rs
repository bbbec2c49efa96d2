//! Content checksum of a migration definition, used to notice that a registered
//! migration was edited after the fact. It hashes a canonical form (object keys
//! sorted recursively, no whitespace), so re-indenting a file or a client that
//! reorders keys (jsonb does) does not look like an edit.
//!
//! The canonical form is written here rather than taken from `serde_json::to_string`
//! because serde_json's key order depends on a Cargo feature (`preserve_order`) that
//! any other crate in the build could switch on.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// Lowercase hex SHA-256 of the canonical serialization of `def`.
pub fn checksum(def: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(def, &mut canonical);
    Sha256::digest(canonical.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(val, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        // Scalars have exactly one compact serialization.
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value =
            serde_json::from_str(r#"{"name":"m","forward":[{"b":1,"a":{"y":2,"x":[1,2]}}]}"#)
                .unwrap();
        let b: Value = serde_json::from_str("{ \"forward\" : [ { \"a\" : { \"x\" : [1, 2], \"y\" : 2 }, \"b\" : 1 } ],\n \"name\" : \"m\" }").unwrap();
        assert_eq!(checksum(&a), checksum(&b));
        assert_eq!(checksum(&a).len(), 64);
    }

    #[test]
    fn content_changes_do() {
        let base = json!({"name": "m", "forward": [1, 2]});
        assert_ne!(
            checksum(&base),
            checksum(&json!({"name": "m", "forward": [2, 1]}))
        );
        assert_ne!(
            checksum(&base),
            checksum(&json!({"name": "m ", "forward": [1, 2]}))
        );
    }

    #[test]
    fn known_value() {
        // sha256("{}") — pins the format so a refactor cannot silently change stored checksums.
        assert_eq!(
            checksum(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
