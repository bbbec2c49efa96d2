//! The decoder against `serde_json::from_str` on a large document: an
//! ignored benchmark, and the check that the model encoder reproduces the
//! bytes PostgreSQL stores for that document.

use super::decode;
use super::test_encoder::{Encoder, Jb};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// 1,000 keys, each an object of 50 keys, each
/// `{"type": "integer", "nullable": true}`.
fn bench_document() -> Value {
    let inner: Map<String, Value> = (0..50)
        .map(|j| {
            (
                format!("column_{j:02}"),
                json!({"type": "integer", "nullable": true}),
            )
        })
        .collect();
    let outer: Map<String, Value> = (0..1000)
        .map(|i| (format!("table_{i:04}"), Value::Object(inner.clone())))
        .collect();
    Value::Object(outer)
}

/// Times `f` `runs` times in a row: (fastest, median) time to produce
/// the value, and median time to produce and drop it.
fn measure(runs: usize, mut f: impl FnMut() -> Value) -> (Duration, Duration, Duration) {
    let mut make = Vec::with_capacity(runs);
    let mut total = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        make.push(start.elapsed());
        drop(std::hint::black_box(out));
        total.push(start.elapsed());
    }
    make.sort();
    total.sort();
    (make[0], make[runs / 2], total[runs / 2])
}

/// SHA-256 of the detoasted payload PostgreSQL 15 stores for the bench
/// document (built with `jsonb_object_agg`, saved with storage external,
/// chunks read back from the TOAST table): 2,874,003 bytes.
const PG_BENCH_PAYLOAD_SHA256: &str =
    "d46bb3dfa85952dc096bd9dab37a3379a66794d5d6a44332ee419df6a80c0320";

#[test]
fn bench_document_matches_postgres() {
    use sha2::{Digest, Sha256};
    let document = bench_document();
    let payload = Encoder::payload(&Jb::from_value(&document));
    assert_eq!(payload.len(), 2_874_003);
    let digest: String = Sha256::digest(&payload)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, PG_BENCH_PAYLOAD_SHA256);
    assert_eq!(decode(&payload).unwrap(), document);
}

/// `cargo test --release -p migration_engine_core jsonb::bench -- --ignored --nocapture`
///
/// `document.clone()` is printed for reference: it performs the same
/// allocations (every `String` and B-tree node) with no parsing at all,
/// which shows how much of either parser's time is the allocator's.
/// The first runs on a fresh heap are the fastest for everything (the
/// minimum); the median is the steady state of a process that keeps
/// decoding and dropping documents.
#[test]
#[ignore = "benchmark; run with --release --ignored --nocapture"]
fn bench_decode_vs_serde_text() {
    let document = bench_document();
    let jb = Jb::from_value(&document);
    let text = jb.to_text();
    let payload = Encoder::payload(&jb);
    assert_eq!(decode(&payload).unwrap(), document);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), document);

    let runs = 41;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "jsonb decode bench: text {} bytes, jsonb payload {} bytes, {runs} runs each",
        text.len(),
        payload.len()
    );
    let mut results = Vec::new();
    let candidates: [(&str, &mut dyn FnMut() -> Value); 3] = [
        ("decode", &mut || decode(&payload).unwrap()),
        ("serde_json::from_str", &mut || {
            serde_json::from_str::<Value>(&text).unwrap()
        }),
        ("Value::clone", &mut || document.clone()),
    ];
    for (name, f) in candidates {
        let (min, median, with_drop) = measure(runs, f);
        println!(
            "  {name:<22} min {:6.2} ms  median {:6.2} ms  median incl. drop {:6.2} ms",
            ms(min),
            ms(median),
            ms(with_drop)
        );
        results.push((min, median));
    }
    println!(
        "  speedup decode vs serde_json::from_str: {:.2}x (min), {:.2}x (median)",
        results[1].0.as_secs_f64() / results[0].0.as_secs_f64(),
        results[1].1.as_secs_f64() / results[0].1.as_secs_f64()
    );
}
