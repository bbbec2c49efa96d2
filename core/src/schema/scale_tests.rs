//! Large schemas: 1,000 entity types × 50 fields, 5% of the fields changed.
//!
//! The budget is "well under 20 ms in release". Absolute times depend on the
//! machine, above all on memory latency: the cost is reading two trees of
//! 100,000 small JSON maps. So the timing test compares against a bare walk of
//! the same two trees, and checks the absolute budget only when asked to.
//! libtest runs tests on threads, whose malloc arenas grow and shrink with
//! `mprotect`; a Postgres backend is single-threaded, so measure with
//! `MALLOC_ARENA_MAX=1 SCHEMA_DIFF_BUDGET_MS=20 cargo test --release -- --ignored large_schemas_are_fast --nocapture`

use super::change::ChangeKind;
use super::detect_breaking_changes;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// Built as text and parsed, like a jsonb argument would be.
pub(super) fn big_pair() -> (Value, Value) {
    let types = ["integer", "text", "varchar(20)", "boolean", "timestamptz"];
    let (mut old, mut new) = (Map::new(), Map::new());
    for e in 0..1000 {
        let (mut of, mut nf) = (Map::new(), Map::new());
        for f in 0..50 {
            let def =
                json!({"type": types[f % 5], "nullable": f % 3 != 0, "description": "some text"});
            of.insert(format!("field_{f}"), def.clone());
            let changed = match (e * 50 + f) % 20 {
                0 => json!({"type": "bigint", "nullable": f % 3 != 0}),
                10 => json!({"type": types[f % 5], "nullable": false}),
                _ => def,
            };
            nf.insert(format!("field_{f}"), changed);
        }
        old.insert(format!("Entity_{e}"), json!({ "fields": of }));
        new.insert(format!("Entity_{e}"), json!({ "fields": nf }));
    }
    let reparse = |m: Map<String, Value>| {
        let text = json!({ "entities": m }).to_string();
        serde_json::from_str::<Value>(&text).unwrap()
    };
    (reparse(old), reparse(new))
}

fn best_of(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn walk(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + walk(v)).sum(),
        _ => 1,
    }
}

#[test]
fn large_schemas_report_every_change() {
    let (old, new) = big_pair();
    let changes = detect_breaking_changes(&old, &new).unwrap();
    let count = |kind| changes.iter().filter(|c| c.kind == kind).count();
    // One field in 20 changes type; one in 20 becomes not nullable, which only
    // counts for the fields that were nullable (f % 3 != 0).
    let nullable_flips = (0..50_000)
        .filter(|n| n % 20 == 10 && (n % 50) % 3 != 0)
        .count();
    assert_eq!(count(ChangeKind::FieldTypeChanged), 2500);
    assert_eq!(count(ChangeKind::FieldNullabilityChanged), nullable_flips);
    assert_eq!(changes.len(), 2500 + nullable_flips);
    assert!(changes
        .windows(2)
        .all(|w| w[0].sort_key() <= w[1].sort_key()));
}

#[test]
#[ignore = "timing; run in release"]
fn large_schemas_are_fast() {
    let (old, new) = big_pair();
    let bare = best_of(5, || {
        std::hint::black_box(walk(&old) + walk(&new));
    });
    let detect = best_of(5, || {
        std::hint::black_box(detect_breaking_changes(&old, &new).unwrap());
    });
    eprintln!("1000 entities x 50 fields, 5% changed: detect {detect:?}, bare walk of both trees {bare:?}");
    // Parsing touches every key once and the diff adds little on top: a
    // regression (a second pass over the trees, a quadratic step) shows here.
    assert!(detect < bare * 4, "detect {detect:?} vs bare walk {bare:?}");
    let budget = std::env::var("SCHEMA_DIFF_BUDGET_MS")
        .ok()
        .and_then(|v| v.parse::<u128>().ok());
    if let Some(ms) = budget {
        assert!(
            detect.as_millis() < ms,
            "{detect:?} is over the {ms} ms budget"
        );
    }
}
