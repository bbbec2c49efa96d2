//! Whole-pipeline tests: parsing errors with their paths, and compilation of
//! steps and segments. Rule-level SQL is tested next to each rule.

mod compile;
mod parse;

use serde_json::{json, Value};

pub(super) fn example() -> Value {
    json!({
        "name": "normalise_people",
        "source": {"entityType": "Person", "filter": "$.age > 18"},
        "batchSize": 500,
        "validation": {"input": "exists($.name)", "output": "$.fullName"},
        "steps": [
            {"name": "adults_only", "type": "FILTER", "config": {"condition": "$.active == true"}},
            {"name": "reshape", "type": "MAP", "errorHandling": "SKIP", "condition": "$.kind == \"x\"",
             "config": {"mappingRules": [
                {"type": "FIELD_MERGE", "sourceFields": ["first", "last"], "targetField": "fullName", "mergeStrategy": "concat"},
                {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"}
             ]}},
            {"name": "fix", "type": "CUSTOM", "errorHandling": "RETRY", "retries": 2, "config": {"function": "Cleanup.Fix_Person"}}
        ]
    })
}

/// `example()` with `patch` stored at a JSON pointer (object keys may be new).
pub(super) fn with(pointer: &str, patch: Value) -> Value {
    let mut v = example();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(m) => drop(m.insert(key.to_string(), patch)),
        other => other[key.parse::<usize>().unwrap()] = patch,
    }
    v
}
