//! The one way an object states the keys it accepts: definitions, steps, pipelines,
//! canary configs and every options argument list their keys and call [`first_unknown`],
//! so a misspelled key (`dry_run` for `dryRun`) is refused with the known ones instead
//! of being ignored while the call goes ahead.
use serde_json::{Map, Value};

/// What a JSON value is, as an error names it ("a string", "an object"): definitions,
/// pipelines and configs say what they found where they expected something else.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first key of `map` (in the map's order) that `known` does not list.
pub fn first_unknown<'m>(map: &'m Map<String, Value>, known: &[&str]) -> Option<&'m str> {
    map.keys().map(String::as_str).find(|k| !known.contains(k))
}

/// "unknown key "dry_run" (did you mean "dryRun"?); known keys: ...": what a refusal of
/// `key` says, with the closest known key when one is near enough to be a typo.
pub fn unknown_key_message(key: &str, known: &[&str]) -> String {
    refusal("key", key, known)
}

/// The same for an options argument: "unknown option "dry_run" (did you mean ...".
pub fn unknown_option_message(key: &str, known: &[&str]) -> String {
    refusal("option", key, known)
}

fn refusal(noun: &str, key: &str, known: &[&str]) -> String {
    let suggestion = closest(key, known)
        .map(|k| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default();
    format!(
        "unknown {noun} {key:?}{suggestion}; known {noun}s: {}",
        known.join(", ")
    )
}

/// The known key that `key` is most likely a typo of: equal once case and `_`/`-` are
/// ignored, within two edits of it, or a shortening of it (`canaryPercent`).
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = norm(key);
    let shortened = |k: &[char]| wanted.len() >= 4 && k.starts_with(&wanted);
    known
        .iter()
        .map(|k| {
            let k_norm = norm(k);
            let distance = if shortened(&k_norm) {
                1
            } else {
                edit_distance(&wanted, &k_norm)
            };
            (distance, *k)
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, capped work: keys are short.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    if a.len().abs_diff(b.len()) > 2 || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_are_found_and_typos_named() {
        let v = json!({"dryRun": true, "dry_run": true});
        let known = ["dryRun", "resume"];
        assert_eq!(
            first_unknown(v.as_object().unwrap(), &known),
            Some("dry_run")
        );
        assert_eq!(first_unknown(json!({}).as_object().unwrap(), &known), None);
        let m = unknown_key_message("dry_run", &known);
        assert!(m.contains("did you mean \"dryRun\""), "{m}");
        assert!(m.ends_with("known keys: dryRun, resume"), "{m}");
        assert!(!unknown_key_message("zzzzzz", &known).contains("did you mean"));
        assert_eq!(
            closest("depends_on", &["dependsOn", "forward"]),
            Some("dependsOn")
        );
        assert_eq!(
            closest("rollbacks", &["rollback", "forward"]),
            Some("rollback")
        );
    }

    proptest! {
        #[test]
        fn every_unknown_key_is_refused(keys in prop::collection::btree_set("[a-zA-Z_]{1,12}", 0..8)) {
            let known = ["name", "version", "forward"];
            let map: Map<String, Value> = keys.iter().map(|k| (k.clone(), Value::Null)).collect();
            let unknown = keys.iter().find(|k| !known.contains(&k.as_str()));
            prop_assert_eq!(first_unknown(&map, &known), unknown.map(String::as_str));
            for k in &keys {
                let _ = unknown_key_message(k, &known); // never panics
            }
        }
    }
}
