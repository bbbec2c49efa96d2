//! Properties: quoting round-trips through an independent reader, compiling
//! never panics on arbitrary user text, and user text never changes the shape
//! of the SQL outside its literals (the injection property).

use super::compile::{CompileRule, Context, MappingRule};
use super::jsonpath::JsonPath;
use super::quote::{unquote_literal, Quoter};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The SQL with every string literal replaced by `?`.
fn skeleton(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let literal_start = c == '\''
            || (rest.starts_with("E'")
                && !out.ends_with(|p: char| p.is_alphanumeric() || p == '_'));
        if literal_start {
            let (_, after) = unquote_literal(rest).expect("every literal is closed");
            out.push('?');
            rest = after;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Elements of a `'{...}'::text[]` literal, read back with the array grammar.
fn read_text_array(sql: &str) -> Vec<String> {
    let (text, rest) = unquote_literal(sql).unwrap();
    assert_eq!(rest, "::text[]");
    let inner = text.strip_prefix('{').unwrap().strip_suffix('}').unwrap();
    let (mut items, mut cur, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, inner.chars());
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => cur.push(chars.next().unwrap()),
            ',' if !quoted => items.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !inner.is_empty() {
        items.push(cur);
    }
    items
}

fn rules_with(name: &str) -> Vec<Value> {
    vec![
        json!({"type": "FIELD_RENAME", "source": name, "target": name}),
        json!({"type": "FIELD_TRANSFORM", "field": name, "transformation": "regex_replace", "pattern": name, "replacement": name}),
        json!({"type": "FIELD_TRANSFORM", "field": name, "transformation": "default_if_null", "value": {name: name}}),
        json!({"type": "FIELD_MERGE", "sourceFields": [name, "other"], "targetField": name, "mergeStrategy": "object", "removeSources": true}),
        json!({"type": "LOOKUP_TRANSFORM", "lookupTable": {name: name}, "keyField": name, "targetField": name, "onMissing": "error"}),
        json!({"type": "CONDITIONAL_TRANSFORM", "condition": "$.a > 1", "transformation": {"type": "FIELD_RENAME", "source": name, "target": "b"}}),
    ]
}

fn compile(v: &Value) -> Option<Result<String, super::compile::CompileError>> {
    let rule = MappingRule::parse(v, "$".into()).ok()?;
    Some(rule.compile("x", "o", &Context::new()))
}

proptest! {
    #[test]
    fn literal_round_trips(s in any::<String>()) {
        match Quoter.literal(&s) {
            Ok(q) => prop_assert_eq!(unquote_literal(&q), Some((s.clone(), ""))),
            Err(_) => prop_assert!(s.contains('\0')),
        }
    }

    #[test]
    fn text_array_round_trips(items in prop::collection::vec("[^\0]*", 1..4)) {
        let refs: Vec<&str> = items.iter().map(String::as_str).collect();
        prop_assert_eq!(read_text_array(&Quoter.text_array(&refs).unwrap()), items);
    }

    #[test]
    fn identifiers_are_plain_or_refused(s in any::<String>()) {
        if let Ok(q) = Quoter.ident(&s) {
            prop_assert_eq!(q, format!("\"{s}\""));
            prop_assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        }
    }

    /// Any segment text (dots excluded: they separate segments) yields SQL whose
    /// shape is that of a harmless name with the same number of segments.
    #[test]
    fn user_text_stays_inside_literals(segments in prop::collection::vec(any::<String>().prop_filter("no dots", |s| !s.contains('.')), 1..4)) {
        let name = segments.join(".");
        let reference = vec!["x"; segments.len()].join(".");
        for (rule, plain) in rules_with(&name).iter().zip(rules_with(&reference)) {
            match compile(rule) {
                None | Some(Err(_)) => {}
                Some(Ok(sql)) => prop_assert_eq!(skeleton(&sql), skeleton(&compile(&plain).unwrap().unwrap())),
            }
        }
    }

    #[test]
    fn conditions_never_panic_and_stay_literal(
        s in prop_oneof![any::<String>(), any::<String>().prop_map(|s| format!("$.\"{s}\" > 1")), "[$@.a-z ()\\[\\]?\"'=<>!&|\\\\]*"]
    ) {
        if let Ok(p) = JsonPath::parse(&s) {
            if let Ok(sql) = p.to_sql("x", &Quoter) {
                let reference = JsonPath::parse(if sql.contains("path_match") { "$.a > 1" } else { "$.a" }).unwrap();
                prop_assert_eq!(skeleton(&sql), skeleton(&reference.to_sql("x", &Quoter).unwrap()));
            }
        }
        let _ = super::compile::expression::Expression::parse(&s);
    }
}
