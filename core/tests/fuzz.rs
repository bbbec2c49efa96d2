//! Fuzz tests: every parser and decoder of `migration_engine_core`, through its
//! public API only, fed input no caller should be able to crash it with.
//!
//! Each target gets arbitrary input and "near-valid" input: a valid document with a
//! few random edits (a key removed or renamed, a value replaced by arbitrary JSON,
//! an array element duplicated, a key added). Every property checks that nothing
//! panics, plus what the documentation promises about the result:
//!
//! - migration definitions (`MigrationDefinition::parse`, `MigrationOptions::parse`):
//!   every error has a `$...` path and a code;
//! - schema documents (`parse_schema`, `detect_breaking_changes` and its `_json` and
//!   `_binary` forms, `check_against_history`, `add_field`, `deprecate_field`,
//!   `validate_content`, type names, versions);
//! - pipelines (`parse_pipeline`, `plan`, `compile_pipeline`, `compile_segment`,
//!   `JsonPath`, `FieldPath`, `Quoter`): every error has a path;
//! - canary configs, canary scoring and decisions, blue-green options;
//! - the binary jsonb reader (`decode`, `decode_varlena`, `JsonbRef`) on random
//!   bytes and on corrupted valid images: `validate()` agrees with `to_value()`,
//!   and the view agrees with the decoder;
//! - the lock analysis and the safety report on arbitrary statement facts;
//! - identifier and name checks, status and format names, the planner.
//!
//! Every property runs `FUZZ_CASES` cases (default 256, a few seconds at most per
//! target). For a long run:
//!
//! ```text
//! FUZZ_CASES=100000 cargo test -p migration_engine_core --release --test fuzz
//! scripts/fuzz 300    # every target for five minutes, then a summary
//! ```
//!
//! A failing input is saved to `core/tests/fuzz.proptest-regressions` and tried
//! first on the next run. Targets are named `fuzz_*`; `sanity_*` tests check the
//! generators themselves.

use migration_engine_core::engine::definition::{
    checksum, DefinitionError, FunctionName, MigrationDefinition, MigrationOptions, MigrationType,
    StepType, DEFINITION_KEYS, STEP_KEYS,
};
use migration_engine_core::engine::graph::{render_graph, GraphFormat, GraphNode};
use migration_engine_core::engine::planner::{
    dependents_closure, plan as plan_migrations, PlanError, PlanNode,
};
use migration_engine_core::engine::state::{MigrationStatus, StepStatus};
use migration_engine_core::ident::{
    is_plain_identifier, name_problem, QualifiedName, MAX_IDENT_BYTES, MAX_NAME_CHARS,
};
use migration_engine_core::jsonb::{decode, decode_varlena, jsonb_key_cmp, DecodeError, JsonbRef};
use migration_engine_core::pipeline::jsonpath::JsonPath;
use migration_engine_core::pipeline::names::FieldPath;
use migration_engine_core::pipeline::{
    compile_pipeline, compile_segment, parse_pipeline, plan as plan_pipeline, PipelineError,
    Quoter, SegmentKind, ITEM_PLACEHOLDER,
};
use migration_engine_core::rollout::blue_green::{
    catch_up_step, BlueGreenOptions, BLUE_GREEN_OPTION_KEYS,
};
use migration_engine_core::rollout::canary::{
    evaluate, metric_value_problem, routes_to_new, routing_bucket, CanaryConfig, CanaryConfigError,
    CanaryDecision, BUCKETS, CANARY_CONFIG_KEYS,
};
use migration_engine_core::safety::{
    analyze, classify_type_change, codes, estimate, known_volatile_function, performance_issues,
    rollback_data_loss, rollback_data_loss_issue, rule_docs, to_json, to_markdown, AlterCommand,
    Blocks, CheckResult, ConstraintKind, Issue, LockMode, SafetyReport, Severity as SafetySeverity,
    StatementFacts, StatementKind, TableWork, TransactionOp, TypeChange,
};
use migration_engine_core::schema::diff::diff_docs;
use migration_engine_core::schema::model::{parse_entity, parse_field};
use migration_engine_core::schema::types::parse_type;
use migration_engine_core::schema::version::compare_versions;
use migration_engine_core::schema::{
    add_field, check_against_history, compatible_with, deprecate_field, detect_breaking_changes,
    detect_breaking_changes_binary, detect_breaking_changes_json, is_type_compatible, next_version,
    normalize_type, parse_schema, validate_content, value_fits_type, violations, ChangeKind,
    CompatibilityMode, SchemaError, ViolationKind,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Number, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------
// Configuration.
// ---------------------------------------------------------------------------

/// Cases per property: the `FUZZ_CASES` environment variable, 256 by default.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(256)
}

/// `FUZZ_CASES` cases; failing inputs are kept next to this file.
fn fuzz_config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::with_cases(cases())
    }
}

/// The `Ok` value, or a test failure saying what went wrong.
fn must<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> Result<T, TestCaseError> {
    r.map_err(|e| TestCaseError::fail(format!("{what}: {e:?}")))
}

// ---------------------------------------------------------------------------
// Arbitrary JSON, and near-valid documents.
// ---------------------------------------------------------------------------

/// Keys of the formats the core reads that have no public list of their own
/// (schema documents, pipelines, statement facts, safety reports); [`keys`] adds the
/// public lists of definitions, steps, canary configs and blue-green options.
const OTHER_KEYS: &[&str] = &[
    // schema documents
    "entities",
    "fields",
    "identity",
    "renamed_from",
    "nullable",
    "default",
    "enum",
    "deprecated",
    "deprecation_message",
    "deprecated_at",
    "removal_version",
    // pipelines
    "source",
    "entityType",
    "filter",
    "steps",
    "parallel",
    "input",
    "output",
    "mappingRules",
    "errorHandling",
    "retries",
    "field",
    "transformation",
    "expression",
    "value",
    "pattern",
    "replacement",
    "flags",
    "separator",
    "target",
    "sourceFields",
    "targetField",
    "mergeStrategy",
    "removeSources",
    "lookupTable",
    "keyField",
    "onMissing",
    "groupBy",
    "aggregates",
    "as",
    "targetEntityType",
    "relationType",
    "on",
    "from",
    "to",
    // statement facts and safety reports
    "sql",
    "step",
    "kind",
    "in_transaction",
    "table",
    "tables",
    "commands",
    "column",
    "columns",
    "concurrently",
    "unique",
    "cascade",
    "full",
    "mode",
    "tag",
    "migration",
    "overall_safety",
    "critical_issues",
    "all_results",
    "recommendations",
    "check_name",
    "passed",
    "issues",
    "severity",
    "message",
    "code",
    "details",
];

/// Keys of every format the core reads, so that arbitrary objects often hit a
/// known key with a value of the wrong shape.
fn keys() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = [
        DEFINITION_KEYS,
        STEP_KEYS,
        CANARY_CONFIG_KEYS,
        BLUE_GREEN_OPTION_KEYS,
        &["continueOnError"],
        OTHER_KEYS,
    ]
    .concat();
    all.sort_unstable();
    all.dedup();
    all
}

/// Keywords, names, paths and type names the parsers give a meaning to, and a few
/// strings that are hard on text handling (NUL, BOM, quotes, multi-byte).
const WORDS: &[&str] = &[
    "",
    " ",
    "SQL",
    "FUNCTION",
    "TRANSFORM",
    "VALIDATE",
    "SCHEMA",
    "DATA",
    "HYBRID",
    "MAP",
    "FILTER",
    "AGGREGATE",
    "JOIN",
    "CUSTOM",
    "SKIP",
    "RETRY",
    "FAIL",
    "FIELD_RENAME",
    "FIELD_TRANSFORM",
    "FIELD_MERGE",
    "CONDITIONAL_TRANSFORM",
    "LOOKUP_TRANSFORM",
    "lower",
    "upper",
    "trim",
    "to_integer",
    "to_number",
    "to_text",
    "to_boolean",
    "to_timestamptz",
    "default_if_null",
    "replace",
    "regex_replace",
    "split",
    "concat",
    "object",
    "keep",
    "null",
    "error",
    "count",
    "sum",
    "avg",
    "array_agg",
    "$",
    "$.a",
    "$.a > 1",
    "exists($.name)",
    "@",
    "$.tags[*] ? (@ == \"vip\")",
    "a.b",
    "a..b",
    ".a",
    "public.fn",
    "Public.Fn",
    "a.b.c",
    "x; drop table t",
    "text",
    "integer",
    "bigint",
    "varchar(20)",
    "numeric(10,2)",
    "timestamp(3) with time zone",
    "int[]",
    "jsonb",
    "uuid",
    "date",
    "boolean",
    "error_rate",
    "response_time",
    "throughput",
    "data_consistency",
    "1.0",
    "1.0.0",
    "2.0",
    "v1",
    "1.0.0-rc1",
    "create_table",
    "create_index",
    "alter_table",
    "add_column",
    "drop_column",
    "add_constraint",
    "other",
    "FOREIGN_KEY",
    "CHECK",
    "LOW",
    "MEDIUM",
    "HIGH",
    "CRITICAL",
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "ROLLED_BACK",
    "mermaid",
    "dot",
    "to_jsonb(lower($1 #>> '{}'))",
    "$1",
    "SELECT 1",
    "--",
    "/*",
    "'",
    "\"",
    "\\",
    "\u{0}",
    "\n",
    "\u{feff}",
    "é",
    "😀",
];

const INTERESTING_INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    10,
    99,
    100,
    101,
    1_000,
    86_400,
    86_401,
    525_600,
    525_601,
    2_147_483_647,
    2_147_483_648,
    -2_147_483_648,
    -2_147_483_649,
    4_294_967_295,
    4_294_967_296,
    i64::MAX,
    i64::MIN,
];

const INTERESTING_FLOATS: &[f64] = &[
    0.0,
    -0.0,
    0.001,
    0.009,
    0.01,
    0.049,
    0.5,
    0.8,
    0.95,
    0.99,
    1.0,
    1.5,
    -1.5,
    99.9,
    100.0,
    999.9,
    1e-300,
    1e20,
    1e300,
    -1e300,
    2_147_483_647.5,
    f64::MIN_POSITIVE,
    f64::MAX,
    f64::MIN,
];

/// Strings: known words, plain names, anything, control characters, non-ASCII,
/// long runs.
fn arb_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_owned),
        2 => "[a-zA-Z_][a-zA-Z0-9_.]{0,12}",
        2 => any::<String>(),
        1 => "[\\x00-\\x1f\\x7f \\t]{1,4}[a-z]{0,3}",
        1 => "[\\u{0080}-\\u{10FFFF}]{1,6}",
        1 => (1usize..300).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn arb_key() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(keys()).prop_map(str::to_owned),
        1 => arb_string(),
    ]
    .boxed()
}

/// Numbers of every representation: `u64`, negative `i64`, `f64` (NaN and the
/// infinities become `null`, as in `serde_json`), boundaries, fractions.
fn arb_number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(INTERESTING_INTS).prop_map(Value::from),
        prop::sample::select(INTERESTING_FLOATS).prop_map(Value::from),
        (-300i64..300).prop_map(Value::from),
    ]
    .boxed()
}

/// Any JSON value, nested up to six levels.
fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => arb_number(),
        3 => arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}

/// An object of arbitrary members (mostly known keys).
fn arb_object() -> BoxedStrategy<Value> {
    prop::collection::vec((arb_key(), arb_json()), 0..8)
        .prop_map(|members| Value::Object(members.into_iter().collect()))
        .boxed()
}

/// Any JSON, with objects at the top more often than `arb_json` gives them.
fn arb_doc() -> BoxedStrategy<Value> {
    prop_oneof![arb_json(), arb_object()].boxed()
}

/// One step of a JSON path: an object key or an array index.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    At(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Object,
    Array,
    Scalar,
}

/// A node of a document: where it is and what it is.
#[derive(Debug, Clone)]
struct Node {
    path: Vec<Seg>,
    kind: Kind,
}

/// Every node of `v`, the root first.
fn nodes_of(v: &Value) -> Vec<Node> {
    fn walk(v: &Value, here: &mut Vec<Seg>, out: &mut Vec<Node>) {
        let kind = match v {
            Value::Object(_) => Kind::Object,
            Value::Array(_) => Kind::Array,
            _ => Kind::Scalar,
        };
        out.push(Node {
            path: here.clone(),
            kind,
        });
        match v {
            Value::Object(map) => {
                for (key, child) in map {
                    here.push(Seg::Key(key.clone()));
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    here.push(Seg::At(i));
                    walk(child, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn node_at<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match seg {
            Seg::Key(key) => cur.as_object_mut()?.get_mut(key)?,
            Seg::At(i) => cur.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Removes the node at `path` from its parent and returns it.
fn remove_at(v: &mut Value, path: &[Seg]) -> Option<Value> {
    let (last, parent) = path.split_last()?;
    match (last, node_at(v, parent)?) {
        (Seg::Key(key), Value::Object(map)) => map.remove(key),
        (Seg::At(i), Value::Array(items)) if *i < items.len() => Some(items.remove(*i)),
        _ => None,
    }
}

/// One random edit of a document. The `Index` picks the node it applies to.
#[derive(Debug, Clone)]
enum Mutation {
    /// Remove an object member or an array element.
    Remove(Index),
    /// Move an object member to another (random) key.
    Rename(Index, String),
    /// Replace any node, the root included, by an arbitrary value.
    Replace(Index, Value),
    /// Duplicate an array element in place (two steps with one name, ...).
    Duplicate(Index),
    /// Add (or overwrite) a member of an object.
    Insert(Index, String, Value),
}

fn arb_mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Remove),
        (any::<Index>(), arb_key()).prop_map(|(i, key)| Mutation::Rename(i, key)),
        (any::<Index>(), arb_json()).prop_map(|(i, value)| Mutation::Replace(i, value)),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), arb_key(), arb_json())
            .prop_map(|(i, key, value)| Mutation::Insert(i, key, value)),
    ]
    .boxed()
}

/// The path of the node `index` picks among the `nodes` that `wanted` accepts.
fn pick(nodes: &[Node], index: &Index, wanted: impl Fn(&Node) -> bool) -> Option<Vec<Seg>> {
    let candidates: Vec<&Node> = nodes.iter().filter(|n| wanted(n)).collect();
    if candidates.is_empty() {
        None
    } else {
        Some(candidates[index.index(candidates.len())].path.clone())
    }
}

fn mutate(doc: &mut Value, mutation: &Mutation) {
    let nodes = nodes_of(doc);
    let is_member = |n: &Node| matches!(n.path.last(), Some(Seg::Key(_)));
    let is_element = |n: &Node| matches!(n.path.last(), Some(Seg::At(_)));
    match mutation {
        Mutation::Remove(index) => {
            if let Some(path) = pick(&nodes, index, |n| !n.path.is_empty()) {
                remove_at(doc, &path);
            }
        }
        Mutation::Rename(index, key) => {
            if let Some(path) = pick(&nodes, index, is_member) {
                if let Some(value) = remove_at(doc, &path) {
                    if let Some(Value::Object(map)) = node_at(doc, &path[..path.len() - 1]) {
                        map.insert(key.clone(), value);
                    }
                }
            }
        }
        Mutation::Replace(index, value) => {
            if let Some(path) = pick(&nodes, index, |_| true) {
                if let Some(node) = node_at(doc, &path) {
                    *node = value.clone();
                }
            }
        }
        Mutation::Duplicate(index) => {
            if let Some(path) = pick(&nodes, index, is_element) {
                if let Some((Seg::At(at), parent)) = path.split_last() {
                    if let Some(Value::Array(items)) = node_at(doc, parent) {
                        let copy = items[*at].clone();
                        items.insert(*at + 1, copy);
                    }
                }
            }
        }
        Mutation::Insert(index, key, value) => {
            if let Some(path) = pick(&nodes, index, |n| n.kind == Kind::Object) {
                if let Some(Value::Object(map)) = node_at(doc, &path) {
                    map.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

/// `base` with zero to three random edits, and whether it was left untouched.
fn near_valid(base: BoxedStrategy<Value>) -> BoxedStrategy<(Value, bool)> {
    (base, prop::collection::vec(arb_mutation(), 0..4))
        .prop_map(|(mut doc, mutations)| {
            for m in &mutations {
                mutate(&mut doc, m);
            }
            (doc, mutations.is_empty())
        })
        .boxed()
}

/// Strings for the text-level parsers: everything `arb_string` gives, plus
/// SQL/JSON-path-like text, SQL-expression-like text and long runs around the
/// length limits.
fn arb_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => arb_string(),
        2 => "[$@.a-z ()\\[\\]?\"'=<>!&|\\\\]{0,24}",
        2 => "[a-z$1 ();'\"\\-/*#>{}.,]{0,30}",
        1 => "\\$\\.[a-z]{1,4} (>|==|<|!=) [0-9]{1,3}",
        1 => "[a-zA-Z_][a-zA-Z0-9_]{0,8}(\\.[a-zA-Z_][a-zA-Z0-9_]{0,8}){0,3}",
        1 => (
            prop::sample::select(&[1usize, 63, 64, 199, 200, 201, 999, 1_000, 1_001, 9_999, 10_000, 10_001][..]),
            prop::sample::select(&["a", "$", "é", "(", ".", "$.a"][..]),
        )
            .prop_map(|(n, s)| s.repeat(n)),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------
// 1. Migration definitions.
// ---------------------------------------------------------------------------

/// A valid step without its name: one of the four kinds with its payload, and
/// optional execution settings.
fn step_body() -> BoxedStrategy<Map<String, Value>> {
    let kind = prop_oneof![
        "[A-Za-z][A-Za-z0-9 ,()*=_]{0,30}".prop_map(|s| json!({"type": "SQL", "script": s})),
        "SELECT [a-z]{1,8}".prop_map(|s| json!({"type": "VALIDATE", "script": s})),
        (
            prop::sample::select(&["fn", "public.backfill", "_s._f", "Public.Fn"][..]),
            prop::option::of(0usize..3),
        )
            .prop_map(|(function, parameters)| {
                let mut step = json!({"type": "FUNCTION", "function": function});
                match parameters {
                    Some(0) => step["parameters"] = json!([1, "a", null, true]),
                    Some(1) => step["parameters"] = json!({"a": 1, "b_2": "x"}),
                    Some(_) => step["parameters"] = json!([]),
                    None => {}
                }
                step
            }),
        prop::sample::select(&["pipeline", "config"][..]).prop_map(|key| {
            let mut step = json!({"type": "TRANSFORM"});
            step[key] = json!({"rules": []});
            step
        }),
    ];
    (
        kind,
        prop::option::of("[a-z]{1,6} > [0-9]{1,3}"),
        prop::option::of(1i64..=2_147_483_647),
        prop::option::of(1i64..=2_147_483_647),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(kind, condition, batch, timeout, continue_on_error, transaction)| {
                let mut step = match kind {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                if let Some(c) = condition {
                    step.insert("condition".into(), c.into());
                }
                if let Some(b) = batch {
                    step.insert("batchSize".into(), b.into());
                }
                if let Some(t) = timeout {
                    step.insert("timeout".into(), t.into());
                }
                if let Some(c) = continue_on_error {
                    step.insert("continueOnError".into(), c.into());
                }
                // "transaction": false is for SQL steps only (any step may say true)
                if let Some(t) = transaction {
                    if t || step.get("type").and_then(Value::as_str) == Some("SQL") {
                        step.insert("transaction".into(), t.into());
                    }
                }
                step
            },
        )
        .boxed()
}

/// Steps named `{prefix}0`, `{prefix}1`, ...
fn named_steps(bodies: Vec<Map<String, Value>>, prefix: &str) -> Value {
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, mut body)| {
            body.insert("name".into(), format!("{prefix}{i}").into());
            Value::Object(body)
        })
        .collect()
}

/// A definition `MigrationDefinition::parse` accepts.
fn valid_definition() -> BoxedStrategy<Value> {
    (
        "[a-z][a-z0-9_]{0,12}",
        "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
        prop::collection::vec(step_body(), 1..4),
        prop::collection::vec(step_body(), 0..3),
        prop::option::of(prop::sample::select(&["SCHEMA", "DATA", "HYBRID"][..])),
        prop::collection::vec("[a-z]{1,6}", 0..3),
        prop::option::of(any::<i32>()),
        (
            prop::option::of(any::<bool>()),
            prop::option::of("[a-z ]{0,10}"),
            0usize..3,
        ),
    )
        .prop_map(
            |(
                name,
                version,
                forward,
                rollback,
                kind,
                deps,
                priority,
                (options, description, rules),
            )| {
                let mut d = Map::new();
                d.insert("name".into(), format!("m_{name}").into());
                d.insert("version".into(), version.into());
                d.insert("forward".into(), named_steps(forward, "step "));
                if !rollback.is_empty() {
                    d.insert("rollback".into(), named_steps(rollback, "undo_"));
                }
                if let Some(t) = kind {
                    d.insert("type".into(), t.into());
                }
                if !deps.is_empty() {
                    let deps: Vec<String> = deps.iter().map(|x| format!("dep_{x}")).collect();
                    d.insert("dependsOn".into(), json!(deps));
                }
                if let Some(p) = priority {
                    d.insert("priority".into(), p.into());
                }
                if let Some(c) = options {
                    d.insert("options".into(), json!({"continueOnError": c}));
                }
                if let Some(text) = description {
                    d.insert("description".into(), text.into());
                }
                if rules > 0 {
                    let rules: Vec<Value> = (0..rules)
                        .map(|i| json!({"name": format!("rule_{i}"), "script": "SELECT true"}))
                        .collect();
                    d.insert("validation".into(), rules.into());
                }
                d.insert("metadata".into(), json!({"ticket": "KG-1"}));
                Value::Object(d)
            },
        )
        .boxed()
}

/// A definition's or a pipeline's error: a JSON path, a stable UPPER_SNAKE code, and
/// a message that names the path.
fn check_coded_error(path: &str, code: &str, message: &str) -> Result<(), TestCaseError> {
    prop_assert!(path.starts_with('$'), "error path {:?}", path);
    prop_assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        "error code {:?}",
        code
    );
    prop_assert!(
        message.contains(path),
        "the message does not name the path: {message}"
    );
    Ok(())
}

fn check_definition_error(e: &DefinitionError) -> Result<(), TestCaseError> {
    check_coded_error(e.path(), e.code(), &e.to_string())
}

/// Parses `v` as a definition and checks the result; `true` when it parsed.
fn check_definition(v: &Value) -> Result<bool, TestCaseError> {
    let parsed = MigrationDefinition::parse(v);
    prop_assert_eq!(&parsed, &MigrationDefinition::parse(v));
    match &parsed {
        Ok(d) => {
            prop_assert!(!d.forward.is_empty(), "a definition without forward steps");
            prop_assert!(
                name_problem(&d.name).is_none(),
                "accepted name {:?}",
                d.name
            );
            prop_assert!(
                !d.version.trim().is_empty(),
                "accepted version {:?}",
                d.version
            );
            for steps in [&d.forward, &d.rollback] {
                let mut names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
                names.sort_unstable();
                let before = names.len();
                names.dedup();
                prop_assert_eq!(before, names.len());
            }
            prop_assert!(
                d.depends_on.iter().all(|dep| *dep != d.name),
                "a migration that depends on itself"
            );
            let _ = d.forward_script();
            prop_assert_eq!(d.rollback_script().is_some(), !d.rollback.is_empty());
            for step in d.forward.iter().chain(&d.rollback) {
                let _ = (step.step_type().as_str(), step.continues_on_error(false));
            }
        }
        Err(e) => check_definition_error(e)?,
    }
    if let Some(options) = v.get("options") {
        if let Err(e) = MigrationOptions::parse(options) {
            check_definition_error(&e)?;
        }
    }
    if let Err(e) = MigrationOptions::parse(v) {
        check_definition_error(&e)?;
    }
    let sum = checksum(v);
    prop_assert!(
        sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()),
        "checksum {sum:?}"
    );
    Ok(parsed.is_ok())
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_definition_arbitrary_json(v in arb_doc()) {
        check_definition(&v)?;
    }

    #[test]
    fn fuzz_definition_near_valid((v, pristine) in near_valid(valid_definition())) {
        let parsed = check_definition(&v)?;
        prop_assert!(parsed || !pristine, "a generated definition was refused: {v}");
    }
}

// ---------------------------------------------------------------------------
// 2. Schema documents.
// ---------------------------------------------------------------------------

// Type names: canonical and aliased (shared), then odd spellings.
include!("data/type_names.rs");

/// Beyond the known names: odd case and spacing, out-of-range modifiers, unknown.
const ODD_TYPE_NAMES: &[&str] = &[
    "timestamp(3) with time zone",
    "character varying(10)",
    "INT4",
    " Integer ",
    "bytea",
    "interval",
    "float(30)",
    "numeric(1000,0)",
    "numeric(5,9)",
    "varchar(0)",
    "my_domain",
    "text[][]",
];

fn type_names() -> Vec<&'static str> {
    KNOWN_TYPE_NAMES
        .iter()
        .chain(ODD_TYPE_NAMES)
        .copied()
        .collect()
}

const ENTITY_NAMES: &[&str] = &["E0", "E1", "E2", "E3", "E4", "E5"];
const FIELD_NAMES: &[&str] = &["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"];

fn type_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(type_names()).prop_map(str::to_owned),
        2 => (
            prop::sample::select(type_names()),
            any::<bool>(),
            prop::option::of((0u32..2_000, prop::option::of(0u32..2_000))),
            0usize..3,
        )
            .prop_map(|(t, upper, mods, arrays)| {
                let mut name = if upper { t.to_uppercase() } else { t.to_owned() };
                match mods {
                    Some((p, Some(s))) => name.push_str(&format!("({p}, {s})")),
                    Some((p, None)) => name.push_str(&format!(" ( {p} )")),
                    None => {}
                }
                name.push_str(&"[]".repeat(arrays));
                name
            }),
        2 => "[a-zA-Z0-9 (),\\[\\]_]{0,30}",
        1 => arb_string(),
    ]
    .boxed()
}

fn schema_field() -> BoxedStrategy<Value> {
    (
        prop::sample::select(type_names()),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::collection::vec(
            prop::sample::select(&["a", "b", "c", "d"][..]),
            1..4,
        )),
        prop::option::of(prop_oneof![
            Just(json!("a")),
            Just(json!(1)),
            Just(json!(null)),
            Just(json!({"k": [1, 2]})),
        ]),
        any::<bool>(),
        prop::option::of(prop::sample::select(&["old_a", "f1", "f9"][..])),
    )
        .prop_map(|(t, nullable, values, default, deprecated, renamed_from)| {
            let mut f = Map::new();
            f.insert("type".into(), t.into());
            if let Some(n) = nullable {
                f.insert("nullable".into(), n.into());
            }
            if let Some(values) = values {
                f.insert("enum".into(), json!(values));
            }
            if let Some(d) = default {
                f.insert("default".into(), d);
            }
            if deprecated {
                f.insert("deprecated".into(), true.into());
                f.insert("removal_version".into(), "2.0".into());
                f.insert("deprecation_message".into(), "use f1".into());
            }
            if let Some(r) = renamed_from {
                f.insert("renamed_from".into(), r.into());
            }
            Value::Object(f)
        })
        .boxed()
}

fn schema_entity() -> BoxedStrategy<Value> {
    (
        prop::collection::btree_map(prop::sample::select(FIELD_NAMES), schema_field(), 0..6),
        any::<bool>(),
        prop::option::of(prop::sample::select(&["E0", "E9", "Old"][..])),
        prop::option::of("[a-z ]{0,12}"),
    )
        .prop_map(|(fields, with_identity, renamed_from, description)| {
            let identity: Vec<&str> = fields
                .keys()
                .take(usize::from(with_identity))
                .copied()
                .collect();
            let mut e = json!({"fields": fields});
            if !identity.is_empty() {
                e["identity"] = json!(identity);
            }
            if let Some(r) = renamed_from {
                e["renamed_from"] = json!(r);
            }
            if let Some(d) = description {
                e["description"] = json!(d);
            }
            e
        })
        .boxed()
}

/// A schema document `parse_schema` accepts: small name pools, so that two
/// generated documents overlap and their diff exercises every rule.
fn valid_schema() -> BoxedStrategy<Value> {
    (
        prop::collection::btree_map(prop::sample::select(ENTITY_NAMES), schema_entity(), 0..5),
        prop::option::of(prop::sample::select(&["1.0", "1.5", "2.0", "v3"][..])),
        prop::option::of("[a-z ]{0,12}"),
    )
        .prop_map(|(entities, version, description)| {
            let mut doc = json!({"entities": entities});
            if let Some(v) = version {
                doc["version"] = json!(v);
            }
            if let Some(d) = description {
                doc["description"] = json!(d);
            }
            doc
        })
        .boxed()
}

fn entity_name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(ENTITY_NAMES).prop_map(str::to_owned),
        1 => arb_string(),
    ]
    .boxed()
}

fn field_name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
        1 => prop::sample::select(&["new_field", "1x", "a b", "_", ""][..]).prop_map(str::to_owned),
        1 => arb_string(),
    ]
    .boxed()
}

/// Content for `validate_content`: anything, or an object over the field names.
fn entity_content() -> BoxedStrategy<Value> {
    prop_oneof![
        arb_json(),
        prop::collection::btree_map(
            prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
            arb_json(),
            0..6,
        )
        .prop_map(|members| Value::Object(members.into_iter().collect())),
    ]
    .boxed()
}

fn version_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "v?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-rc[0-9])?",
        2 => "[0-9]{1,20}(\\.[0-9]{1,20})?(_patch[0-9]{0,20})?",
        1 => prop::sample::select(
            &[
                "1.0_patch18446744073709551615",
                "18446744073709551615",
                "1.18446744073709551615",
                "1.0_patch",
                "1.0_patch2",
                "1.0_patch01",
                " 1.0 ",
                "v",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        2 => arb_string(),
    ]
    .boxed()
}

fn check_schema_error(e: &SchemaError) -> Result<(), TestCaseError> {
    prop_assert!(e.path.starts_with('$'), "schema error path {:?}", e.path);
    prop_assert!(
        e.to_string().starts_with(&e.path),
        "the message does not start with the path: {e}"
    );
    Ok(())
}

/// The diff of `a` and `b` is the plain diff of the two parsed documents, fails
/// exactly when one of them does not parse (with that document's error), and is
/// sorted and deterministic.
fn check_schema_pair(a: &Value, b: &Value) -> Result<(), TestCaseError> {
    let (pa, pb) = (parse_schema(a), parse_schema(b));
    for parsed in [&pa, &pb] {
        if let Err(e) = parsed {
            check_schema_error(e)?;
        }
    }
    let changes = detect_breaking_changes(a, b);
    prop_assert_eq!(&changes, &detect_breaking_changes(a, b));
    match (&pa, &pb) {
        (Ok(old), Ok(new)) => {
            let plain = diff_docs(old, new);
            prop_assert_eq!(changes.as_ref().ok(), Some(&plain));
            prop_assert!(
                plain.windows(2).all(|w| w[0].sort_key() <= w[1].sort_key()),
                "changes are not sorted"
            );
            for c in &plain {
                prop_assert_eq!(ChangeKind::from_code(c.kind.code()), Some(c.kind));
                let _ = c.to_json();
            }
            let as_json = detect_breaking_changes_json(a, b);
            prop_assert_eq!(
                as_json.ok().and_then(|v| v.as_array().map(Vec::len)),
                Some(plain.len())
            );
            for mode in CompatibilityMode::ALL {
                let _ = violations(mode, &plain);
            }
            let _ = compatible_with(&plain);
            prop_assert_eq!(
                detect_breaking_changes(a, a).map(|c| c.is_empty()),
                Ok(true)
            );
        }
        (Err(first), _) | (Ok(_), Err(first)) => {
            let which = if pa.is_err() {
                "(in the old schema)"
            } else {
                "(in the new schema)"
            };
            prop_assert!(
                changes.is_err(),
                "the diff succeeded although a document is invalid: {first}"
            );
            if let Err(e) = &changes {
                prop_assert!(
                    e.path == first.path
                        && e.message.starts_with(&first.message)
                        && e.message.ends_with(which),
                    "diff error {e} for the invalid document's error {first}"
                );
            }
        }
    }
    for mode in CompatibilityMode::ALL {
        match check_against_history(mode, b, &[a, b]) {
            Ok(found) => prop_assert!(
                found.iter().all(|v| v.against < 2),
                "a violation against a version that is not in the history"
            ),
            Err(e) => check_schema_error(&e)?,
        }
    }
    Ok(())
}

/// `detect_breaking_changes_binary` answers exactly what decoding both datums and
/// diffing them answers; a datum that does not decode is an error at `$` that
/// says which one it was.
fn check_binary_diff(old: &[u8], new: &[u8]) -> Result<(), TestCaseError> {
    let got = detect_breaking_changes_binary(old, new);
    match (decode(old), decode(new)) {
        (Ok(o), Ok(n)) => prop_assert_eq!(got, detect_breaking_changes(&o, &n)),
        (decoded_old, _) => {
            let which = if decoded_old.is_err() {
                "(in the old schema)"
            } else {
                "(in the new schema)"
            };
            match got {
                Ok(changes) => {
                    return Err(TestCaseError::fail(format!(
                        "a malformed datum was diffed: {changes:?}"
                    )))
                }
                Err(e) => prop_assert!(
                    e.path == "$" && e.message.ends_with(which),
                    "error {e} for a malformed datum"
                ),
            }
        }
    }
    Ok(())
}

/// Floats replaced by integers: the test encoder writes integral numerics only.
fn integral(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.as_i64().is_none() && n.as_u64().is_none() => {
            Value::from(n.as_f64().unwrap_or(0.0) as i64)
        }
        Value::Array(items) => Value::Array(items.iter().map(integral).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, x)| (k.clone(), integral(x))).collect())
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_schema_arbitrary_json(a in arb_doc(), b in arb_doc()) {
        check_schema_pair(&a, &b)?;
        check_schema_pair(&b, &a)?;
    }

    #[test]
    fn fuzz_schema_near_valid((a, a_pristine) in near_valid(valid_schema()), (b, b_pristine) in near_valid(valid_schema())) {
        let parsed = parse_schema(&a);
        prop_assert!(parsed.is_ok() || !a_pristine, "a generated schema was refused: {parsed:?}");
        let parsed = parse_schema(&b);
        prop_assert!(parsed.is_ok() || !b_pristine, "a generated schema was refused: {parsed:?}");
        check_schema_pair(&a, &b)?;
        check_schema_pair(&b, &a)?;
    }

    #[test]
    fn fuzz_schema_evolve_and_validate(
        (doc, _) in near_valid(valid_schema()),
        (entity, field) in (entity_name(), field_name()),
        (field_schema, default) in (prop_oneof![2 => schema_field(), 1 => arb_json()], prop::option::of(arb_json())),
        (removal, content) in (prop::option::of(version_text()), entity_content()),
    ) {
        match add_field(&doc, &entity, &field, &field_schema, default.as_ref()) {
            Ok(out) => {
                let reparsed = parse_schema(&out);
                prop_assert!(reparsed.is_ok(), "add_field produced an invalid schema: {reparsed:?}");
                prop_assert!(is_plain_identifier(&field), "add_field accepted the field name {field:?}");
            }
            Err(e) => prop_assert_eq!(e.code().sqlstate().len(), 5),
        }
        match deprecate_field(&doc, &entity, &field, Some("fuzz"), removal.as_deref(), "2024-01-01 00:00:00+00") {
            Ok(out) => {
                let reparsed = parse_schema(&out);
                prop_assert!(reparsed.is_ok(), "deprecate_field produced an invalid schema: {reparsed:?}");
            }
            Err(e) => prop_assert_eq!(e.code().sqlstate().len(), 5),
        }
        for e in [parse_field(&field, &field_schema).err(), parse_entity(&entity, &field_schema).err()].into_iter().flatten() {
            check_schema_error(&e)?;
        }
        let entity_schema = doc
            .get("entities")
            .and_then(|e| e.get(entity.as_str()))
            .unwrap_or(&field_schema);
        match validate_content(entity_schema, &content) {
            Ok(found) => {
                if !content.is_object() {
                    prop_assert_eq!(found.len(), 1);
                    prop_assert_eq!(found[0].kind, ViolationKind::NotAnObject);
                }
                for v in &found {
                    prop_assert!(!v.kind.code().is_empty() && !v.message.is_empty(), "violation {v:?}");
                    let _ = v.to_json();
                }
            }
            Err(e) => check_schema_error(&e)?,
        }
    }

    /// Binary datums of random bytes.
    #[test]
    fn fuzz_schema_binary_diff_bytes(
        old in prop::collection::vec(any::<u8>(), 0..256),
        new in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        check_binary_diff(&old, &new)?;
        check_binary_diff(&new, &old)?;
    }

    /// Binary images of near-valid documents, whole and corrupted.
    #[test]
    fn fuzz_schema_binary_diff_images(
        (a, _) in near_valid(valid_schema()),
        (b, _) in near_valid(valid_schema()),
        edits in prop::collection::vec(byte_edit(), 0..3),
    ) {
        let (a, b) = (integral(&a), integral(&b));
        let (old, mut new) = (Enc::payload(&a), Enc::payload(&b));
        prop_assert_eq!(decode(&old), Ok(a));
        check_binary_diff(&old, &new)?;
        check_binary_diff(&new, &old)?;
        check_binary_diff(&old, &old)?;
        apply_edits(&mut new, &edits);
        check_binary_diff(&old, &new)?;
        check_binary_diff(&new, &old)?;
    }

    #[test]
    fn fuzz_schema_type_names(a in type_name(), b in type_name(), v in arb_json()) {
        match normalize_type(&a) {
            Some(canonical) => {
                prop_assert_eq!(normalize_type(&canonical), Some(canonical.clone()));
                prop_assert_eq!(parse_type(&canonical), parse_type(&a));
                prop_assert!(is_type_compatible(&a, &a), "{a:?} is not compatible with itself");
            }
            None => prop_assert!(!is_type_compatible(&a, &b), "unknown type {a:?} is compatible with {b:?}"),
        }
        let _ = is_type_compatible(&b, &a);
        let _ = value_fits_type(&v, &a);
        prop_assert!(!value_fits_type(&Value::Null, &a), "null fits {a:?}");
        prop_assert_eq!(classify_type_change(&a, &a), TypeChange::NoRewrite);
        let _ = classify_type_change(&a, &b);
    }

    /// Array type names are parsed by recursion on the `[]` suffix; a long suffix
    /// (a schema document's field type is user text) must not overflow the stack.
    #[test]
    fn fuzz_schema_type_names_deeply_nested_arrays(
        base in prop::sample::select(&["text", "integer", "varchar(20)", "numeric(10,2)", "x"][..]),
        depth in 0usize..100_000,
    ) {
        let t = format!("{base}{}", "[]".repeat(depth));
        let _ = parse_type(&t);
        let _ = normalize_type(&t);
        let _ = is_type_compatible(&t, &t);
        let _ = value_fits_type(&json!([[1]]), &t);
        let _ = classify_type_change(&t, "text");
    }

    #[test]
    fn fuzz_schema_versions(a in version_text(), b in version_text(), suffix in prop_oneof![Just("_patch".to_owned()), Just(String::new()), arb_string()]) {
        prop_assert_eq!(compare_versions(&a, &b), compare_versions(&b, &a).map(Ordering::reverse));
        if let Some(o) = compare_versions(&a, &a) {
            prop_assert_eq!(o, Ordering::Equal);
        }
        let taken_list = [a.clone(), b.clone(), format!("{}{suffix}", a.trim())];
        let taken = |candidate: &str| taken_list.iter().any(|t| t.as_str() == candidate);
        let next = next_version(&a, &taken, &suffix);
        prop_assert!(!taken(&next), "next_version({a:?}, .., {suffix:?}) returned the taken {next:?}");
        prop_assert!(!next.is_empty(), "next_version({a:?}, .., {suffix:?}) returned an empty version");
    }
}

// ---------------------------------------------------------------------------
// 3. Pipelines.
// ---------------------------------------------------------------------------

/// Mapping rules the parser accepts: every rule's documented example, and the
/// rules the crate's own property tests compile.
const VALID_RULES: &[&str] = &[
    r#"{"type": "CONDITIONAL_TRANSFORM", "condition": "$.age > 65", "transformation": {"type": "FIELD_TRANSFORM", "field": "segment", "transformation": "default_if_null", "value": "senior"}}"#,
    r#"{"type": "FIELD_MERGE", "sourceFields": ["firstName", "lastName"], "targetField": "fullName", "mergeStrategy": "concat", "separator": " "}"#,
    r#"{"type": "FIELD_RENAME", "source": "fullName", "target": "name"}"#,
    r#"{"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"}"#,
    r#"{"type": "FIELD_TRANSFORM", "field": "phone", "transformation": "regex_replace", "pattern": "[^0-9]", "replacement": "", "flags": "g"}"#,
    r#"{"type": "FIELD_TRANSFORM", "field": "phone", "transformation": "replace", "pattern": "-", "replacement": ""}"#,
    r#"{"type": "FIELD_TRANSFORM", "field": "status", "transformation": "default_if_null", "value": "active"}"#,
    r#"{"type": "FIELD_TRANSFORM", "field": "tags", "transformation": "split", "separator": ","}"#,
    r#"{"type": "LOOKUP_TRANSFORM", "lookupTable": {"de": "Germany"}, "keyField": "cc", "targetField": "country", "onMissing": "keep"}"#,
    r#"{"type": "LOOKUP_TRANSFORM", "lookupTable": "ref.country_codes", "keyField": "cc", "targetField": "country"}"#,
    r#"{"type": "FIELD_TRANSFORM", "field": "x", "expression": "to_jsonb(lower($1 #>> '{}'))"}"#,
    r#"{"type": "FIELD_TRANSFORM", "field": "x", "transformation": "default_if_null", "value": {"x": "x"}}"#,
    r#"{"type": "FIELD_MERGE", "sourceFields": ["x", "other"], "targetField": "x", "mergeStrategy": "object", "removeSources": true}"#,
    r#"{"type": "LOOKUP_TRANSFORM", "lookupTable": {"x": "x"}, "keyField": "x", "targetField": "x", "onMissing": "error"}"#,
    r#"{"type": "CONDITIONAL_TRANSFORM", "condition": "$.a > 1", "transformation": {"type": "FIELD_RENAME", "source": "x", "target": "b"}}"#,
];

const CONDITIONS: &[&str] = &[
    "$.active == true",
    "exists($.email)",
    "$.tags[*] ? (@ == \"vip\")",
    "$.age > 18 && $.age < 65",
    "$.email",
];

fn valid_rule() -> BoxedStrategy<Value> {
    prop::sample::select(VALID_RULES)
        .prop_map(|text| serde_json::from_str::<Value>(text).unwrap_or_default())
        .boxed()
}

/// A valid pipeline step without its name.
fn valid_pipeline_step() -> BoxedStrategy<Value> {
    let action = prop_oneof![
        prop::collection::vec(valid_rule(), 1..4)
            .prop_map(|rules| json!({"type": "MAP", "config": {"mappingRules": rules}})),
        prop::sample::select(CONDITIONS)
            .prop_map(|c| json!({"type": "FILTER", "config": {"condition": c}})),
        prop::sample::select(&["Cleanup.Fix_Person", "fix", "public.f"][..])
            .prop_map(|f| json!({"type": "CUSTOM", "config": {"function": f}})),
        Just(
            json!({"type": "JOIN", "config": {"relationType": "WORKS_AT", "fields": [{"from": "name", "to": "employer"}]}})
        ),
        Just(
            json!({"type": "JOIN", "config": {"on": {"field": "companyId", "entityType": "Company", "targetField": "id"}, "fields": [{"from": "name", "to": "employer.name"}]}})
        ),
        Just(
            json!({"type": "AGGREGATE", "config": {"groupBy": ["address.city"], "targetEntityType": "City", "aggregates": [{"function": "count", "as": "population"}, {"function": "avg", "field": "age", "as": "stats.avgAge"}]}})
        ),
    ];
    (
        action,
        prop::option::of(prop::sample::select(&["SKIP", "FAIL", "RETRY"][..])),
        prop::option::of(1i64..=100),
        prop::option::of(prop::sample::select(CONDITIONS)),
        prop::option::of("[a-z ]{0,10}"),
    )
        .prop_map(|(mut step, handling, retries, condition, description)| {
            if let Some(h) = handling {
                step["errorHandling"] = json!(h);
                if h == "RETRY" {
                    if let Some(r) = retries {
                        step["retries"] = json!(r);
                    }
                }
            }
            if let Some(c) = condition {
                step["condition"] = json!(c);
            }
            if let Some(d) = description {
                step["description"] = json!(d);
            }
            step
        })
        .boxed()
}

/// A pipeline `parse_pipeline` accepts.
fn valid_pipeline() -> BoxedStrategy<Value> {
    (
        "[a-z][a-z0-9_]{0,10}",
        prop::collection::vec(valid_pipeline_step(), 1..5),
        prop::option::of(prop::sample::select(&["$.age > 18", "exists($.email)"][..])),
        prop::option::of(1i64..=2_147_483_647),
        prop::option::of(any::<bool>()),
        any::<bool>(),
    )
        .prop_map(|(name, steps, filter, batch, parallel, validation)| {
            let steps: Vec<Value> = steps
                .into_iter()
                .enumerate()
                .map(|(i, mut step)| {
                    step["name"] = json!(format!("step_{i}"));
                    step
                })
                .collect();
            let mut source = json!({"entityType": "Person"});
            if let Some(f) = filter {
                source["filter"] = json!(f);
            }
            let mut p = json!({"name": name, "source": source, "steps": steps});
            if let Some(b) = batch {
                p["batchSize"] = json!(b);
            }
            if let Some(par) = parallel {
                p["parallel"] = json!(par);
            }
            if validation {
                p["validation"] = json!({"input": "exists($.name)", "output": "$.fullName"});
            }
            p
        })
        .boxed()
}

/// A pipeline using every step kind and mapping rule, for the text-slot fuzzing.
const PIPELINE_TEMPLATE: &str = r#"{
    "name": "normalise_people",
    "description": "fuzz template",
    "source": {"entityType": "Person", "filter": "$.age > 18"},
    "batchSize": 500,
    "parallel": false,
    "validation": {"input": "exists($.name)", "output": "$.fullName"},
    "steps": [
        {"name": "adults_only", "type": "FILTER", "config": {"condition": "$.active == true"}},
        {"name": "reshape", "type": "MAP", "errorHandling": "SKIP", "condition": "$.kind == \"x\"",
         "config": {"mappingRules": [
            {"type": "FIELD_MERGE", "sourceFields": ["first", "last"], "targetField": "fullName", "mergeStrategy": "concat", "separator": " "},
            {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"},
            {"type": "FIELD_TRANSFORM", "field": "phone", "transformation": "regex_replace", "pattern": "[^0-9]", "replacement": "", "flags": "g"},
            {"type": "FIELD_TRANSFORM", "field": "score", "expression": "to_jsonb(lower($1 #>> '{}'))"},
            {"type": "FIELD_RENAME", "source": "fullName", "target": "name"},
            {"type": "LOOKUP_TRANSFORM", "lookupTable": {"de": "Germany"}, "keyField": "cc", "targetField": "country", "onMissing": "keep"},
            {"type": "LOOKUP_TRANSFORM", "lookupTable": "ref.country_codes", "keyField": "cc", "targetField": "country_name"},
            {"type": "CONDITIONAL_TRANSFORM", "condition": "$.age > 65", "transformation": {"type": "FIELD_TRANSFORM", "field": "segment", "transformation": "default_if_null", "value": "senior"}}
         ]}},
        {"name": "fix", "type": "CUSTOM", "errorHandling": "RETRY", "retries": 2, "config": {"function": "Cleanup.Fix_Person"}},
        {"name": "link", "type": "JOIN", "config": {"relationType": "WORKS_AT", "fields": [{"from": "name", "to": "employer"}]}},
        {"name": "by_company", "type": "JOIN", "config": {"on": {"field": "companyId", "entityType": "Company", "targetField": "id"}, "fields": [{"from": "name", "to": "employer.name"}]}},
        {"name": "cities", "type": "AGGREGATE", "config": {"groupBy": ["address.city"], "targetEntityType": "City", "relationType": "LIVES_IN",
         "aggregates": [{"function": "count", "as": "population"}, {"function": "avg", "field": "age", "as": "stats.avgAge"}]}}
    ]
}"#;

fn pipeline_template() -> Value {
    serde_json::from_str(PIPELINE_TEMPLATE).unwrap_or_default()
}

/// JSON pointers into `pipeline_template()` of every user-written string.
const PIPELINE_SLOTS: &[&str] = &[
    "/name",
    "/source/entityType",
    "/source/filter",
    "/validation/input",
    "/validation/output",
    "/steps/0/name",
    "/steps/0/config/condition",
    "/steps/1/condition",
    "/steps/1/errorHandling",
    "/steps/1/config/mappingRules/0/sourceFields/0",
    "/steps/1/config/mappingRules/0/targetField",
    "/steps/1/config/mappingRules/0/mergeStrategy",
    "/steps/1/config/mappingRules/0/separator",
    "/steps/1/config/mappingRules/1/field",
    "/steps/1/config/mappingRules/1/transformation",
    "/steps/1/config/mappingRules/2/pattern",
    "/steps/1/config/mappingRules/2/replacement",
    "/steps/1/config/mappingRules/2/flags",
    "/steps/1/config/mappingRules/3/expression",
    "/steps/1/config/mappingRules/4/source",
    "/steps/1/config/mappingRules/4/target",
    "/steps/1/config/mappingRules/5/lookupTable/de",
    "/steps/1/config/mappingRules/5/keyField",
    "/steps/1/config/mappingRules/5/onMissing",
    "/steps/1/config/mappingRules/6/lookupTable",
    "/steps/1/config/mappingRules/7/condition",
    "/steps/1/config/mappingRules/7/transformation/value",
    "/steps/2/config/function",
    "/steps/3/config/relationType",
    "/steps/4/config/on/targetField",
    "/steps/4/config/fields/0/to",
    "/steps/5/config/groupBy/0",
    "/steps/5/config/aggregates/1/function",
    "/steps/5/config/aggregates/1/as",
    "/steps/5/config/targetEntityType",
];

fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, x)| k.contains('\0') || contains_nul(x)),
        _ => false,
    }
}

fn check_pipeline_error(e: &PipelineError) -> Result<(), TestCaseError> {
    check_coded_error(e.path(), e.code(), &e.to_string())
}

/// Parses `v` as a pipeline; when it parses, plans and compiles it. A parsed
/// pipeline always compiles (the compiler's errors are for hand-built values),
/// except for NUL characters, which jsonb cannot hold anyway.
fn check_pipeline(v: &Value) -> Result<bool, TestCaseError> {
    let parsed = parse_pipeline(v);
    prop_assert_eq!(&parsed, &parse_pipeline(v));
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            check_pipeline_error(&e)?;
            return Ok(false);
        }
    };
    prop_assert!(!p.steps.is_empty(), "a pipeline without steps");
    prop_assert!(
        name_problem(&p.name).is_none() && name_problem(&p.source.entity_type).is_none(),
        "accepted names {:?} / {:?}",
        p.name,
        p.source.entity_type
    );
    prop_assert!(
        (1..=2_147_483_647).contains(&p.batch_size),
        "batch size {}",
        p.batch_size
    );
    let plan = plan_pipeline(&p);
    let mut next = 0;
    for segment in &plan.segments {
        prop_assert_eq!(segment.steps.start, next);
        prop_assert!(segment.steps.end > segment.steps.start, "an empty segment");
        next = segment.steps.end;
    }
    prop_assert_eq!(next, p.steps.len());
    let _ = plan.is_single_statement();
    let nul_free = !contains_nul(v);
    let compiled = compile_pipeline(&p, ITEM_PLACEHOLDER);
    prop_assert!(
        compiled.is_ok() || !nul_free,
        "a parsed pipeline does not compile: {compiled:?}"
    );
    if let Ok(c) = &compiled {
        prop_assert_eq!(c.steps.len(), p.steps.len());
    }
    for segment in &plan.segments {
        let sql = compile_segment(&p, segment.steps.clone(), "t.content");
        if segment.kind == SegmentKind::SetBased {
            prop_assert!(
                sql.is_ok() || !nul_free,
                "a set-based segment does not compile: {sql:?}"
            );
        } else {
            prop_assert!(sql.is_err(), "an AGGREGATE or JOIN segment was fused");
        }
    }
    let n = p.steps.len();
    let _ = compile_segment(&p, 0..n, "x");
    let _ = compile_segment(&p, n..n + 1, "x");
    let _ = compile_segment(&p, n + 1..n, "x");
    Ok(true)
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_pipeline_arbitrary_json(v in arb_doc()) {
        check_pipeline(&v)?;
    }

    #[test]
    fn fuzz_pipeline_near_valid((v, pristine) in near_valid(valid_pipeline())) {
        let parsed = check_pipeline(&v)?;
        prop_assert!(parsed || !pristine, "a generated pipeline was refused: {v}");
    }

    /// One user-written string of a complete pipeline replaced by arbitrary text
    /// (or any JSON value): conditions, expressions, field paths, names, options.
    #[test]
    fn fuzz_pipeline_text_slots(
        slot in prop::sample::select(PIPELINE_SLOTS),
        replacement in prop_oneof![3 => arb_text().prop_map(Value::String), 1 => arb_json()],
    ) {
        let mut v = pipeline_template();
        if let Some(node) = v.pointer_mut(slot) {
            *node = replacement;
        }
        check_pipeline(&v)?;
    }

    /// The text-level parsers and the quoting on their own.
    #[test]
    fn fuzz_pipeline_text_parsers(s in arb_text()) {
        let has_nul = s.contains('\0');
        match JsonPath::parse(&s) {
            Ok(path) => {
                prop_assert!(path.as_str().contains('$'), "accepted path {s:?} without `$`");
                let _ = path.kind();
                let sql = path.to_sql("t.content", &Quoter);
                prop_assert!(sql.is_ok(), "accepted path {s:?} does not compile: {sql:?}");
            }
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
        match FieldPath::parse(&s) {
            Ok(field) => {
                prop_assert!(field.to_string() == s, "{s:?} reads back as {field}");
                prop_assert!(field.segments().iter().all(|seg| !seg.is_empty()), "empty segment in {s:?}");
                let _ = field.last();
            }
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
        prop_assert_eq!(Quoter.literal(&s).is_ok(), !has_nul);
        prop_assert_eq!(Quoter.ident(&s).is_ok(), is_plain_identifier(&s));
        prop_assert_eq!(Quoter.text_array(&[s.as_str(), "x"]).is_ok(), !has_nul);
        prop_assert_eq!(Quoter.jsonb(&json!({"k": s.as_str()})).is_ok(), !has_nul);
    }
}

// ---------------------------------------------------------------------------
// 4. Canary configs, canary scoring, blue-green options.
// ---------------------------------------------------------------------------

/// A canary config `CanaryConfig::parse` accepts.
fn valid_canary() -> BoxedStrategy<Value> {
    (
        "[a-z][a-z0-9_]{0,10}",
        prop::option::of(1i64..=100),
        prop::option::of(prop::collection::vec(
            prop::sample::select(
                &[
                    "error_rate",
                    "response_time",
                    "throughput",
                    "data_consistency",
                    "queue_depth",
                ][..],
            ),
            1..5,
        )),
        prop::option::of(0.0f64..=1.0),
        prop::option::of(1i64..=525_600),
        prop::option::of(any::<bool>()),
        prop::option::of(1i64..=100),
        prop::option::of(0i64..=86_400),
    )
        .prop_map(
            |(
                name,
                percentage,
                metrics,
                threshold,
                max_duration,
                rollback,
                step,
                stabilization,
            )| {
                let mut c = Map::new();
                c.insert("migrationName".into(), name.into());
                if let Some(m) = metrics {
                    c.insert("validationMetrics".into(), json!(m));
                }
                if let Some(t) = threshold {
                    c.insert("successThreshold".into(), t.into());
                }
                if let Some(r) = rollback {
                    c.insert("rollbackOnFailure".into(), r.into());
                }
                let numbers = [
                    ("canaryPercentage", percentage),
                    ("maxDuration", max_duration),
                    ("stepPercentage", step),
                    ("stabilizationSeconds", stabilization),
                ];
                for (key, value) in numbers {
                    if let Some(n) = value {
                        c.insert(key.into(), n.into());
                    }
                }
                Value::Object(c)
            },
        )
        .boxed()
}

/// Parses `v` as a canary config and checks the documented ranges; `true` when
/// it parsed.
fn check_canary(v: &Value) -> Result<bool, TestCaseError> {
    let parsed = CanaryConfig::parse(v);
    prop_assert_eq!(&parsed, &CanaryConfig::parse(v));
    match &parsed {
        Ok(c) => {
            prop_assert!(
                !c.migration_name.trim().is_empty(),
                "accepted migration name {:?}",
                c.migration_name
            );
            prop_assert!(
                (1..=100).contains(&c.canary_percentage),
                "canaryPercentage out of range"
            );
            prop_assert!(
                (1..=100).contains(&c.step_percentage),
                "stepPercentage out of range"
            );
            prop_assert!(
                (0.0..=1.0).contains(&c.success_threshold),
                "successThreshold out of range"
            );
            prop_assert!(
                (1..=525_600).contains(&c.max_duration_minutes),
                "maxDuration out of range"
            );
            prop_assert!(
                c.stabilization_seconds <= 86_400,
                "stabilizationSeconds out of range"
            );
            prop_assert!(
                !c.validation_metrics.is_empty()
                    && c.validation_metrics.iter().all(|m| !m.is_empty()),
                "accepted metrics {:?}",
                c.validation_metrics
            );
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty(), "an empty error message");
            prop_assert_eq!(matches!(e, CanaryConfigError::NotAnObject), !v.is_object());
        }
    }
    Ok(parsed.is_ok())
}

fn metric_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(
            &["error_rate", "response_time", "throughput", "data_consistency"][..]
        )
        .prop_map(str::to_owned),
        1 => arb_string(),
    ]
    .boxed()
}

/// Any `f64`, NaN and the infinities included, and the scoring thresholds.
fn metric_value() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(INTERESTING_FLOATS),
        0.0f64..1.0,
        0.0f64..5_000.0,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
    .boxed()
}

fn metric_map() -> BoxedStrategy<BTreeMap<String, f64>> {
    prop::collection::btree_map(metric_name(), metric_value(), 0..6).boxed()
}

/// Blue-green options `BlueGreenOptions::parse` accepts.
fn valid_blue_green() -> BoxedStrategy<Value> {
    (
        (
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
        ),
        (
            prop::option::of(0u64..=u64::from(u32::MAX)),
            prop::option::of(0u64..=100_000),
            prop::option::of(0u64..=60_000),
        ),
        (
            prop::option::of(0u64..=1_000),
            prop::option::of(0u64..=604_800_000),
            prop::option::of(0u64..=(1 << 40)),
            prop::option::of(0u64..=10_000_000),
        ),
    )
        .prop_map(
            |((keep, skip, force), (lag, rounds, lock), (retries, timeout, headroom, batch))| {
                let mut o = Map::new();
                let flags = [
                    ("keepTargetOnFailure", keep),
                    ("skipIntegrity", skip),
                    ("force", force),
                ];
                for (key, value) in flags {
                    if let Some(b) = value {
                        o.insert(key.into(), b.into());
                    }
                }
                let numbers = [
                    ("maxLagRows", lag),
                    ("maxCatchUpRounds", rounds),
                    ("switchLockTimeout", lock),
                    ("switchRetries", retries),
                    ("timeout", timeout),
                    ("sequenceHeadroom", headroom),
                    ("replayBatch", batch),
                ];
                for (key, value) in numbers {
                    if let Some(n) = value {
                        o.insert(key.into(), n.into());
                    }
                }
                Value::Object(o)
            },
        )
        .boxed()
}

/// Parses `v` as blue-green options and checks the documented bounds; `true`
/// when it parsed.
fn check_blue_green(v: &Value) -> Result<bool, TestCaseError> {
    match BlueGreenOptions::parse(v) {
        Ok(o) => {
            prop_assert!(
                o.max_lag_rows <= u64::from(u32::MAX),
                "maxLagRows out of range"
            );
            prop_assert!(
                o.max_catch_up_rounds <= 100_000,
                "maxCatchUpRounds out of range"
            );
            prop_assert!(
                (1..=60_000).contains(&o.switch_lock_timeout_ms),
                "switchLockTimeout out of range"
            );
            prop_assert!(o.switch_retries <= 1_000, "switchRetries out of range");
            prop_assert!(
                (1..=604_800_000).contains(&o.timeout_ms),
                "timeout out of range"
            );
            prop_assert!(
                (0..=(1i64 << 40)).contains(&o.sequence_headroom),
                "sequenceHeadroom out of range"
            );
            prop_assert!(
                (1..=10_000_000).contains(&o.replay_batch),
                "replayBatch out of range"
            );
            for attempt in [0u32, 1, 5, 16, 17, 31, 32, u32::MAX] {
                let wait = o.backoff_ms(attempt);
                prop_assert!((1..=2_000).contains(&wait), "backoff of {wait} ms");
            }
            for (backlog, rounds) in [
                (0u64, 0u32),
                (u64::MAX, 0),
                (u64::MAX, u32::MAX),
                (1_000, 100),
            ] {
                let _ = catch_up_step(backlog, rounds, &o);
            }
            Ok(true)
        }
        Err(message) => {
            prop_assert!(!message.is_empty(), "an empty error message");
            Ok(false)
        }
    }
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_canary_config_arbitrary_json(v in arb_doc()) {
        check_canary(&v)?;
    }

    #[test]
    fn fuzz_canary_config_near_valid((v, pristine) in near_valid(valid_canary())) {
        let parsed = check_canary(&v)?;
        prop_assert!(parsed || !pristine, "a generated canary config was refused: {v}");
    }

    /// Scores stay in 0..=1 whatever the metrics (NaN, infinities, unknown names).
    #[test]
    fn fuzz_canary_scoring(metrics in metric_map(), threshold in metric_value()) {
        let e = evaluate(&metrics, threshold);
        prop_assert!((0.0..=1.0).contains(&e.score), "score {} out of 0..=1", e.score);
        prop_assert_eq!(e.success, e.score >= threshold);
        prop_assert_eq!(e.details.as_object().map(Map::len), Some(metrics.len()));
        prop_assert_eq!(&e, &evaluate(&metrics, threshold));
        for (name, &value) in &metrics {
            let problem = metric_value_problem(name, value);
            prop_assert!(problem.is_some() || value.is_finite(), "{name} = {value} would be recorded");
        }
    }

    #[test]
    fn fuzz_canary_metric_value_problem(name in metric_name(), value in metric_value()) {
        let problem = metric_value_problem(&name, value);
        prop_assert!(problem.is_some() || value.is_finite(), "{name} = {value} would be recorded");
        if let Some(message) = &problem {
            prop_assert!(message.contains(name.as_str()), "message {message:?} does not name {name:?}");
        } else {
            let e = evaluate(&BTreeMap::from([(name.clone(), value)]), 0.5);
            prop_assert!((0.0..=1.0).contains(&e.score), "score {} for a recordable value", e.score);
        }
    }

    /// The step decision follows the config whatever the clock and the percentage.
    #[test]
    fn fuzz_canary_decisions(
        config in valid_canary(),
        metrics in metric_map(),
        current in any::<u8>(),
        elapsed in metric_value(),
    ) {
        let config = must(CanaryConfig::parse(&config), "a generated canary config was refused")?;
        let evaluation = evaluate(&metrics, config.success_threshold);
        match config.next_step(current, &evaluation, elapsed) {
            CanaryDecision::Advance(next) => prop_assert!(
                evaluation.success && current < 100 && next > current && next <= 100,
                "advance from {current} to {next}"
            ),
            CanaryDecision::Finalize => prop_assert!(
                evaluation.success && current >= 100,
                "finalize at {current}"
            ),
            CanaryDecision::Rollback { .. } => prop_assert!(
                config.rollback_on_failure,
                "rollback although rollbackOnFailure is false"
            ),
            CanaryDecision::Pause { .. } => prop_assert!(
                !config.rollback_on_failure,
                "pause although rollbackOnFailure is true"
            ),
        }
    }

    #[test]
    fn fuzz_canary_routing(migration in arb_string(), key in arb_string(), percentage in any::<u8>()) {
        let bucket = routing_bucket(&migration, &key);
        prop_assert!(bucket < BUCKETS, "bucket {bucket}");
        prop_assert_eq!(bucket, routing_bucket(&migration, &key));
        prop_assert!(!routes_to_new(bucket, 0) && routes_to_new(bucket, 100), "bucket {bucket}");
        if routes_to_new(bucket, percentage) {
            prop_assert!(
                routes_to_new(bucket, percentage.saturating_add(1)),
                "bucket {bucket} flips back at {percentage}"
            );
        }
    }

    #[test]
    fn fuzz_blue_green_options_arbitrary_json(v in arb_doc()) {
        check_blue_green(&v)?;
    }

    #[test]
    fn fuzz_blue_green_options_near_valid((v, pristine) in near_valid(valid_blue_green())) {
        let parsed = check_blue_green(&v)?;
        prop_assert!(parsed || !pristine, "generated blue-green options were refused: {v}");
    }
}

// ---------------------------------------------------------------------------
// 5. The binary jsonb reader.
// ---------------------------------------------------------------------------

// The format's flags (`src/include/utils/jsonb.h`), for the test encoder.
const JB_FSCALAR: u32 = 0x1000_0000;
const JB_FOBJECT: u32 = 0x2000_0000;
const JB_FARRAY: u32 = 0x4000_0000;
const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
const JENTRY_TYPEMASK: u32 = 0x7000_0000;
const JENTRY_HAS_OFF: u32 = 0x8000_0000;
const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
const JENTRY_ISNULL: u32 = 0x4000_0000;
const JENTRY_ISCONTAINER: u32 = 0x5000_0000;

// Byte images pinned by `jsonb`'s own tests (hand-derived, and captured
// from PostgreSQL 15), used as seeds for corruption. Little-endian.

include!("data/hand_jsonb_images.rs");

// PostgreSQL's own images, shared with the decoder's unit tests
include!("data/pg_jsonb_images.rs");

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0)
        })
        .collect()
}

/// Valid payloads (the bytes `decode` takes) to corrupt.
fn jsonb_seeds() -> Vec<Vec<u8>> {
    vec![
        OBJ_A_1.to_vec(),
        ARR_TRUE_NULL_X.to_vec(),
        RAW_5.to_vec(),
        ARR_1_5.to_vec(),
        hex(PG_MIXED_HEX)[1..].to_vec(),
        hex(PG_LARGE_HEX)[4..].to_vec(),
    ]
}

/// The word of a 4-byte uncompressed varlena header for `total` bytes.
fn varlena4_word(total: usize) -> u32 {
    let total = total as u32;
    if cfg!(target_endian = "little") {
        total << 2
    } else {
        total
    }
}

/// `payload` behind a 4-byte varlena header.
fn varlena4(payload: &[u8]) -> Vec<u8> {
    let mut out = varlena4_word(payload.len() + 4).to_ne_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// `payload` behind a 1-byte ("short") varlena header, when it fits one.
fn varlena1(payload: &[u8]) -> Option<Vec<u8>> {
    let total = u8::try_from(payload.len() + 1).ok().filter(|&t| t <= 127)?;
    let header = if cfg!(target_endian = "little") {
        (total << 1) | 1
    } else {
        0x80 | total
    };
    let mut out = vec![header];
    out.extend_from_slice(payload);
    Some(out)
}

/// An integral `numeric` datum (4-byte varlena header, NumericShort), as
/// PostgreSQL writes one: base-10000 digits, trailing zero digits dropped.
fn numeric_datum(n: &Number) -> Vec<u8> {
    let (negative, mut magnitude) = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => (false, u),
        (None, Some(i)) => (i < 0, i.unsigned_abs()),
        _ => (false, 0),
    };
    let mut digits: Vec<u16> = Vec::new();
    while magnitude > 0 {
        digits.push((magnitude % 10_000) as u16);
        magnitude /= 10_000;
    }
    digits.reverse();
    let weight = digits.len().saturating_sub(1) as u16;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let mut header: u16 = 0x8000 | weight;
    if negative {
        header |= 0x2000;
    }
    let mut out = varlena4_word(4 + 2 + 2 * digits.len())
        .to_ne_bytes()
        .to_vec();
    out.extend_from_slice(&header.to_ne_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_ne_bytes());
    }
    out
}

/// A minimal jsonb encoder (integral numbers only), laid out as PostgreSQL's
/// `convertJsonb` does: keys sorted by length then bytes, every 32nd JEntry an
/// end offset, numerics and containers 4-byte aligned.
struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    fn payload(v: &Value) -> Vec<u8> {
        let mut e = Enc { buf: Vec::new() };
        match v {
            Value::Array(items) => {
                e.array(items, false);
            }
            Value::Object(map) => {
                e.object(map);
            }
            scalar => {
                e.array(std::slice::from_ref(scalar), true);
            }
        }
        e.buf
    }

    fn pad(&mut self) -> u32 {
        let pad = (4 - self.buf.len() % 4) % 4;
        self.buf.resize(self.buf.len() + pad, 0);
        pad as u32
    }

    fn put(&mut self, at: usize, entry: u32) {
        self.buf[at..at + 4].copy_from_slice(&entry.to_ne_bytes());
    }

    /// Appends `v`'s data and returns its JEntry (type and length).
    fn value(&mut self, v: &Value) -> u32 {
        match v {
            Value::Null => JENTRY_ISNULL,
            Value::Bool(true) => JENTRY_ISBOOL_TRUE,
            Value::Bool(false) => JENTRY_ISBOOL_FALSE,
            Value::String(s) => {
                self.buf.extend_from_slice(s.as_bytes());
                s.len() as u32
            }
            Value::Number(n) => {
                let pad = self.pad();
                let datum = numeric_datum(n);
                self.buf.extend_from_slice(&datum);
                JENTRY_ISNUMERIC | (pad + datum.len() as u32)
            }
            Value::Array(items) => self.array(items, false),
            Value::Object(map) => self.object(map),
        }
    }

    fn array(&mut self, elems: &[Value], raw_scalar: bool) -> u32 {
        let base = self.buf.len();
        self.pad();
        let mut header = elems.len() as u32 | JB_FARRAY;
        if raw_scalar {
            header |= JB_FSCALAR;
        }
        self.buf.extend_from_slice(&header.to_ne_bytes());
        let mut at = self.buf.len();
        self.buf.resize(at + 4 * elems.len(), 0);
        let mut total = 0u32;
        for (i, elem) in elems.iter().enumerate() {
            let mut entry = self.value(elem);
            total += entry & JENTRY_OFFLENMASK;
            if i.is_multiple_of(32) {
                entry = (entry & JENTRY_TYPEMASK) | total | JENTRY_HAS_OFF;
            }
            self.put(at, entry);
            at += 4;
        }
        JENTRY_ISCONTAINER | (self.buf.len() - base) as u32
    }

    fn object(&mut self, map: &Map<String, Value>) -> u32 {
        let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
        pairs.sort_by(|a, b| jsonb_key_cmp(a.0, b.0));
        let base = self.buf.len();
        self.pad();
        let n = pairs.len();
        self.buf
            .extend_from_slice(&(n as u32 | JB_FOBJECT).to_ne_bytes());
        let mut at = self.buf.len();
        self.buf.resize(at + 8 * n, 0);
        let mut total = 0u32;
        for (i, (key, _)) in pairs.iter().enumerate() {
            self.buf.extend_from_slice(key.as_bytes());
            let mut entry = key.len() as u32;
            total += entry;
            if i.is_multiple_of(32) {
                entry = total | JENTRY_HAS_OFF;
            }
            self.put(at, entry);
            at += 4;
        }
        for (i, (_, value)) in pairs.iter().enumerate() {
            let mut entry = self.value(value);
            total += entry & JENTRY_OFFLENMASK;
            if (i + n).is_multiple_of(32) {
                entry = (entry & JENTRY_TYPEMASK) | total | JENTRY_HAS_OFF;
            }
            self.put(at, entry);
            at += 4;
        }
        JENTRY_ISCONTAINER | (self.buf.len() - base) as u32
    }
}

/// Values the test encoder can write: integral numbers, any strings, nesting up
/// to five levels, and some containers wide enough for the 32-entry strides.
fn arb_encodable() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-20_000i64..20_000).prop_map(Value::from),
        arb_string().prop_map(Value::String),
    ]
    .boxed();
    let wide = leaf.clone();
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            4 => prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            4 => prop::collection::vec((arb_string(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
            1 => prop::collection::vec(wide.clone(), 30..70).prop_map(Value::Array),
            1 => prop::collection::vec((arb_string(), wide.clone()), 30..50)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}

/// One corruption of a byte image; the `Index` picks the position.
#[derive(Debug, Clone)]
enum ByteEdit {
    Set(Index, u8),
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
    /// Overwrite an aligned 4-byte word (a header or a JEntry) with `u32`.
    Word(Index, u32),
}

/// Headers, JEntries and numeric headers that mean something.
fn interesting_word() -> BoxedStrategy<u32> {
    prop_oneof![
        any::<u32>(),
        prop::sample::select(
            &[
                0u32,
                1,
                0x8000_0000,
                0x0FFF_FFFF,
                0x1000_0000,
                0x2000_0000,
                0x2000_0001,
                0x4000_0000,
                0x4000_0001,
                0x5000_0000,
                0x5000_0001,
                0x6000_0000,
                0x7000_0000,
                0x9000_0008,
                0xFFFF_FFFF,
                0x0000_8000,
                0x0000_C000,
                0x0000_D000,
                0x0000_F000,
            ][..]
        ),
    ]
    .boxed()
}

fn byte_edit() -> BoxedStrategy<ByteEdit> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        any::<Index>().prop_map(ByteEdit::Delete),
        any::<Index>().prop_map(ByteEdit::Truncate),
        (any::<Index>(), interesting_word()).prop_map(|(i, w)| ByteEdit::Word(i, w)),
    ]
    .boxed()
}

fn apply_edits(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for edit in edits {
        match edit {
            ByteEdit::Set(i, b) => {
                if !bytes.is_empty() {
                    let at = i.index(bytes.len());
                    bytes[at] = *b;
                }
            }
            ByteEdit::Flip(i, b) => {
                if !bytes.is_empty() {
                    let at = i.index(bytes.len());
                    bytes[at] ^= *b | 1;
                }
            }
            ByteEdit::Insert(i, b) => {
                let at = i.index(bytes.len() + 1);
                bytes.insert(at, *b);
            }
            ByteEdit::Delete(i) => {
                if !bytes.is_empty() {
                    let at = i.index(bytes.len());
                    bytes.remove(at);
                }
            }
            ByteEdit::Truncate(i) => {
                let at = i.index(bytes.len() + 1);
                bytes.truncate(at);
            }
            ByteEdit::Word(i, w) => {
                if bytes.len() >= 4 {
                    let at = i.index(bytes.len() - 3) & !3;
                    bytes[at..at + 4].copy_from_slice(&w.to_ne_bytes());
                }
            }
        }
    }
}

/// Walks whatever `from_payload` accepted, with every accessor, checking that
/// `validate()` succeeds exactly when `to_value()` does, at every node.
fn walk_any(r: &JsonbRef<'_>, budget: &mut usize) -> Result<(), TestCaseError> {
    if *budget == 0 {
        return Ok(());
    }
    *budget -= 1;
    prop_assert_eq!(r.validate().is_ok(), r.to_value().is_ok());
    let _ = (r.as_str(), r.as_bool(), r.is_null(), r.raw_bytes().len());
    prop_assert!(r.same_bytes(r), "a value differs from itself");
    if let JsonbRef::Number(n) = r {
        let _ = n.to_number();
    }
    if let Some(c) = r.as_object() {
        prop_assert!(
            c.is_object() && c.iter_array().next().is_none(),
            "an object iterated as an array"
        );
        prop_assert!(
            matches!(c.index(0), Ok(None)),
            "an object indexed as an array"
        );
        for key in ["", "a", "name", "entities"] {
            let _ = c.get(key);
        }
        for member in c.iter_object() {
            let Ok((key, value)) = member else { break };
            let _ = c.get(key);
            walk_any(&value, budget)?;
        }
    }
    if let Some(c) = r.as_array() {
        prop_assert!(
            !c.is_object() && c.iter_object().next().is_none(),
            "an array iterated as an object"
        );
        prop_assert!(
            matches!(c.get("a"), Ok(None)) && matches!(c.index(c.len()), Ok(None)),
            "an array looked up as an object, or past its end"
        );
        for (i, elem) in c.iter_array().enumerate() {
            let Ok(elem) = elem else { break };
            let _ = c.index(i);
            walk_any(&elem, budget)?;
        }
    }
    Ok(())
}

/// Walks a valid image against the value it encodes: every accessor must find
/// exactly what is there.
fn walk_valid(r: &JsonbRef<'_>, expected: &Value) -> Result<(), TestCaseError> {
    prop_assert!(r.validate().is_ok(), "validate() refused a valid image");
    prop_assert_eq!(r.to_value().ok(), Some(expected.clone()));
    match expected {
        Value::Null => prop_assert!(r.is_null(), "null reads as {r:?}"),
        Value::Bool(b) => prop_assert_eq!(r.as_bool(), Some(*b)),
        Value::String(s) => prop_assert_eq!(r.as_str(), Some(s.as_str())),
        Value::Number(_) => {
            prop_assert!(matches!(r, JsonbRef::Number(_)), "a number reads as {r:?}")
        }
        Value::Array(items) => {
            let c = must(r.as_array().ok_or("not an array"), "array view")?;
            prop_assert_eq!(c.len(), items.len());
            prop_assert_eq!(c.iter_array().count(), items.len());
            for (i, item) in items.iter().enumerate() {
                let child = must(c.index(i), "index")?;
                let child = must(child.ok_or("no such element"), "index")?;
                walk_valid(&child, item)?;
            }
            prop_assert!(
                matches!(c.index(items.len()), Ok(None)),
                "an element past the end"
            );
        }
        Value::Object(map) => {
            let c = must(r.as_object().ok_or("not an object"), "object view")?;
            prop_assert_eq!(c.len(), map.len());
            let keys = must(
                c.iter_object()
                    .map(|member| member.map(|(key, _)| key))
                    .collect::<Result<Vec<&str>, _>>(),
                "iter_object",
            )?;
            prop_assert!(
                keys.windows(2)
                    .all(|w| jsonb_key_cmp(w[0], w[1]) == Ordering::Less),
                "keys out of storage order: {keys:?}"
            );
            for (key, item) in map {
                let child = must(c.get(key), "get")?;
                let child = must(child.ok_or("no such key"), "get")?;
                walk_valid(&child, item)?;
            }
        }
    }
    Ok(())
}

/// The decoder, the view and the varlena entry point agree on `bytes`, whatever
/// they are.
fn check_jsonb(bytes: &[u8]) -> Result<(), TestCaseError> {
    let decoded = decode(bytes);
    prop_assert_eq!(&decoded, &decode(bytes));
    match JsonbRef::from_payload(bytes) {
        Ok(root) => {
            prop_assert_eq!(root.to_value().ok(), decoded.clone().ok());
            let mut budget = 10_000usize;
            walk_any(&root, &mut budget)?;
        }
        Err(e) => prop_assert!(
            decoded.is_err(),
            "from_payload refused ({e}) what decode accepted"
        ),
    }
    let shifted = |by: usize| {
        decoded.clone().map_err(|e| DecodeError {
            offset: e.offset + by,
            kind: e.kind,
        })
    };
    prop_assert_eq!(decode_varlena(&varlena4(bytes)), shifted(4));
    let mut padded = varlena4(bytes);
    padded.extend_from_slice(&[0xAB, 0xCD, 0xEF]);
    prop_assert_eq!(decode_varlena(&padded), shifted(4));
    if let Some(short) = varlena1(bytes) {
        prop_assert_eq!(decode_varlena(&short), shifted(1));
    }
    let _ = decode_varlena(bytes);
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_jsonb_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_jsonb(&bytes)?;
    }

    /// Random bytes behind a plausible root header, so decoding gets past it.
    #[test]
    fn fuzz_jsonb_plausible_header(
        flags in prop::sample::select(&[JB_FARRAY, JB_FOBJECT, JB_FARRAY | JB_FSCALAR][..]),
        count in 0u32..12,
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = (count | flags).to_ne_bytes().to_vec();
        bytes.extend(body);
        check_jsonb(&bytes)?;
    }

    /// The pinned images (PostgreSQL's own bytes), corrupted.
    #[test]
    fn fuzz_jsonb_corrupted_seeds(
        seed in prop::sample::select(jsonb_seeds()),
        edits in prop::collection::vec(byte_edit(), 1..6),
    ) {
        let mut bytes = seed;
        apply_edits(&mut bytes, &edits);
        check_jsonb(&bytes)?;
    }

    /// Valid images decode to their value, read back through every accessor,
    /// ignore trailing bytes, and no strict prefix of one decodes.
    #[test]
    fn fuzz_jsonb_valid_images(
        value in arb_encodable(),
        junk in prop::collection::vec(any::<u8>(), 0..8),
        cut in any::<Index>(),
    ) {
        let bytes = Enc::payload(&value);
        prop_assert_eq!(decode(&bytes), Ok(value.clone()));
        let root = must(JsonbRef::from_payload(&bytes), "from_payload on a valid image")?;
        walk_valid(&root, &value)?;
        check_jsonb(&bytes)?;
        let mut longer = bytes.clone();
        longer.extend_from_slice(&junk);
        prop_assert_eq!(decode(&longer), Ok(value));
        let len = cut.index(bytes.len());
        prop_assert!(decode(&bytes[..len]).is_err(), "a {len}-byte prefix of a valid image decoded");
        check_jsonb(&bytes[..len])?;
    }

    /// Valid images of random values, corrupted.
    #[test]
    fn fuzz_jsonb_corrupted_images(
        value in arb_encodable(),
        edits in prop::collection::vec(byte_edit(), 1..6),
    ) {
        let mut bytes = Enc::payload(&value);
        apply_edits(&mut bytes, &edits);
        check_jsonb(&bytes)?;
    }
}

/// The encoder writes what PostgreSQL writes, and the seeds decode.
#[test]
fn sanity_jsonb_encoder_and_seeds() {
    let v = json!({
        "b": [1, "x", null, true, -25, 10_000, 18_446_744_073_709_551_615u64, i64::MIN],
        "aa": {"k": false},
        "c": "ü",
        "": [],
        "wide": (0..70).collect::<Vec<i32>>(),
    });
    assert_eq!(decode(&Enc::payload(&v)), Ok(v));
    let many: Map<String, Value> = (0..70).map(|i| (format!("k{i}"), json!(i))).collect();
    let many = Value::Object(many);
    assert_eq!(decode(&Enc::payload(&many)), Ok(many));
    for scalar in [
        json!(null),
        json!(""),
        json!("x"),
        json!(0),
        json!(-1),
        json!(u64::MAX),
    ] {
        assert_eq!(decode(&Enc::payload(&scalar)), Ok(scalar));
    }
    if cfg!(target_endian = "little") {
        assert_eq!(Enc::payload(&json!({"a": 1})), OBJ_A_1);
        assert_eq!(Enc::payload(&json!([true, null, "x"])), ARR_TRUE_NULL_X);
        assert_eq!(Enc::payload(&json!(5)), RAW_5);
        assert_eq!(decode(&ARR_1_5), Ok(json!([1.5])));
        let tiny = format!("0.{}1", "0".repeat(199));
        let text =
            format!(r#"{{"b": -1.50, "c": {{}}, "aa": [{tiny}, 12345678901234567890, 0.001]}}"#);
        let expected: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(decode_varlena(&hex(PG_MIXED_HEX)), Ok(expected));
        let large = hex(PG_LARGE_HEX);
        assert!(decode_varlena(&large).is_ok());
        assert_eq!(decode(&large[4..]), decode_varlena(&large));
        for seed in jsonb_seeds() {
            assert!(decode(&seed).is_ok(), "seed {seed:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// 6. Lock analysis and the safety report.
// ---------------------------------------------------------------------------

const TABLES: &[&str] = &["t", "u", "public.t", "s.t", "other.u", "T", ""];
const COLUMNS: &[&str] = &["a", "b", "email", "c d", ""];
const LOCK_MODES: &[&str] = &[
    "ACCESS EXCLUSIVE",
    "SHARE",
    "ROW EXCLUSIVE",
    "share row exclusive",
    "AccessShareLock",
    "nonsense",
    "",
];
/// Fragments the recipes search and splice SQL text around (`insert_after`).
const SQL_WORDS: &[&str] = &[
    "CREATE",
    "INDEX",
    "UNIQUE",
    "CONCURRENTLY",
    "ON",
    "t",
    "public.t",
    "(a)",
    "ALTER",
    "TABLE",
    "ADD",
    "COLUMN",
    "CONSTRAINT",
    "FOREIGN",
    "KEY",
    "CHECK",
    "NOT",
    "VALID",
    "VALIDATE",
    "DROP",
    "TRUNCATE",
    "CASCADE",
    "VACUUM",
    "FULL",
    "CLUSTER",
    "REINDEX",
    "LOCK",
    "IN",
    "ACCESS",
    "EXCLUSIVE",
    "MODE",
    "RENAME",
    "TO",
    "SET",
    "NULL",
    "DEFAULT",
    "TYPE",
    "USING",
    ";",
    "--",
    "-- x\n",
    "\n",
    "é",
    "ß",
    "İ",
    "😀",
    "'",
    "\"",
    "index",
    "Index",
];

fn rel_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(TABLES).prop_map(str::to_owned),
        1 => arb_string(),
    ]
    .boxed()
}

fn column_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(COLUMNS).prop_map(str::to_owned),
        1 => arb_string(),
    ]
    .boxed()
}

fn sql_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => prop::collection::vec(prop::sample::select(SQL_WORDS), 0..12).prop_map(|w| w.join(" ")),
        1 => prop::collection::vec(prop::sample::select(SQL_WORDS), 0..12).prop_map(|w| w.concat()),
        1 => arb_string(),
    ]
    .boxed()
}

fn constraint_kind() -> BoxedStrategy<ConstraintKind> {
    prop::sample::select(
        &[
            ConstraintKind::ForeignKey,
            ConstraintKind::Check,
            ConstraintKind::Unique,
            ConstraintKind::PrimaryKey,
            ConstraintKind::Exclusion,
        ][..],
    )
    .boxed()
}

fn alter_command() -> BoxedStrategy<AlterCommand> {
    prop_oneof![
        (column_name(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(column, has_default, volatile_default, not_null)| AlterCommand::AddColumn {
                column,
                has_default,
                volatile_default,
                not_null,
                json: has_default && not_null,
                domain_check: volatile_default && not_null,
                default_calls: vec!["f".into()],
            }
        ),
        column_name().prop_map(|column| AlterCommand::DropNotNull { column }),
        (rel_name(), any::<bool>(), any::<bool>()).prop_map(
            |(partition, concurrently, has_default_partition)| AlterCommand::DetachPartition {
                partition,
                concurrently,
                has_default_partition,
            }
        ),
        column_name().prop_map(|column| AlterCommand::DropColumn { column }),
        (
            column_name(),
            prop::option::of(type_name()),
            type_name(),
            any::<bool>()
        )
            .prop_map(|(column, old_type, new_type, has_using)| {
                AlterCommand::AlterColumnType {
                    column,
                    old_type,
                    new_type,
                    has_using,
                    binary_coercible: has_using.then_some(true),
                    revalidates: vec!["index i".into()],
                    json: false,
                    domain_check: !has_using,
                }
            }),
        (column_name(), any::<bool>()).prop_map(|(column, validated_check_exists)| {
            AlterCommand::SetNotNull {
                column,
                validated_check_exists,
            }
        }),
        (
            prop::option::of(column_name()),
            constraint_kind(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |(name, kind, not_valid, using_index)| AlterCommand::AddConstraint {
                    proves_not_null: name.clone(),
                    name,
                    kind,
                    not_valid,
                    using_index,
                    columns: vec!["a".into()],
                    columns_indexed: not_valid,
                    nullable_columns: if using_index {
                        vec!["a".into()]
                    } else {
                        vec![]
                    },
                }
            ),
        column_name().prop_map(|name| AlterCommand::ValidateConstraint {
            proves_not_null: Some(name.clone()),
            name,
        }),
        arb_string().prop_map(|what| AlterCommand::Other { what }),
    ]
    .boxed()
}

/// Every statement kind, with every flag and name the shell could fill in.
fn statement_kind() -> BoxedStrategy<StatementKind> {
    prop_oneof![
        rel_name().prop_map(|table| StatementKind::CreateTable {
            json_columns: vec![table.clone()],
            table
        }),
        (rel_name(), any::<bool>(), any::<bool>()).prop_map(|(table, concurrently, unique)| {
            StatementKind::CreateIndex {
                table,
                concurrently,
                unique,
                columns: vec!["a".into()],
                partitioned: unique,
                only: concurrently,
            }
        }),
        any::<bool>().prop_map(|concurrently| StatementKind::DropIndex { concurrently }),
        (rel_name(), prop::collection::vec(alter_command(), 0..4))
            .prop_map(|(table, commands)| StatementKind::AlterTable { table, commands }),
        rel_name().prop_map(|table| StatementKind::RenameTable { table }),
        (rel_name(), column_name())
            .prop_map(|(table, column)| StatementKind::RenameColumn { table, column }),
        prop::collection::vec(rel_name(), 0..3)
            .prop_map(|tables| StatementKind::DropTable { tables }),
        (prop::collection::vec(rel_name(), 0..3), any::<bool>())
            .prop_map(|(tables, cascade)| StatementKind::Truncate { tables, cascade }),
        (any::<bool>(), prop::option::of(rel_name()))
            .prop_map(|(full, table)| StatementKind::Vacuum { full, table }),
        prop::option::of(rel_name()).prop_map(|table| StatementKind::Cluster { table }),
        (any::<bool>(), prop::option::of(rel_name())).prop_map(|(concurrently, table)| {
            StatementKind::Reindex {
                concurrently,
                target: if table.is_some() { "TABLE" } else { "SYSTEM" }.into(),
                table,
            }
        }),
        (
            prop::collection::vec(rel_name(), 0..3),
            prop_oneof![
                3 => prop::sample::select(LOCK_MODES).prop_map(str::to_owned),
                1 => arb_string(),
            ],
        )
            .prop_map(|(tables, mode)| StatementKind::LockTable { tables, mode }),
        (rel_name(), prop::collection::vec(column_name(), 0..3))
            .prop_map(|(table, columns)| StatementKind::Update { table, columns }),
        rel_name().prop_map(|table| StatementKind::Insert { table }),
        prop::sample::select(vec![
            TransactionOp::Begin,
            TransactionOp::End,
            TransactionOp::Savepoint
        ])
        .prop_map(|op| StatementKind::TransactionControl { op }),
        (column_name(), any::<bool>())
            .prop_map(|(name, volatile)| StatementKind::CreateFunction { name, volatile }),
        (rel_name(), arb_string())
            .prop_map(|(type_name, value)| StatementKind::RenameEnumValue { type_name, value }),
        rel_name().prop_map(|schema| StatementKind::RenameSchema { schema }),
        rel_name().prop_map(|database| StatementKind::DropDatabase { database }),
        prop::sample::select(vec!["lock_timeout", "search_path"])
            .prop_map(|name| StatementKind::SetVariable { name: name.into() }),
        arb_string().prop_map(|tag| StatementKind::Other { tag }),
    ]
    .boxed()
}

fn statement_facts() -> BoxedStrategy<StatementFacts> {
    (
        sql_text(),
        prop_oneof![
            3 => prop::sample::select(&["s1", "s2", "step two"][..]).prop_map(str::to_owned),
            1 => arb_string(),
        ],
        statement_kind(),
        any::<bool>(),
    )
        .prop_map(|(sql, step, kind, in_transaction)| StatementFacts {
            sql,
            step,
            kind,
            in_transaction,
        })
        .boxed()
}

/// The lock analysis: registered codes only, consistent flags, findings that
/// name an analysed statement, deterministic; the report built from it, its JSON
/// round trip and its Markdown.
fn check_analysis(stmts: &[StatementFacts]) -> Result<(), TestCaseError> {
    let findings = analyze(stmts);
    prop_assert_eq!(&findings, &analyze(stmts));
    let docs = rule_docs();
    for f in &findings {
        prop_assert!(
            docs.iter().any(|d| d.code == f.code),
            "a finding with the unregistered code {}",
            f.code
        );
        prop_assert_eq!(
            f.blocks,
            f.lock_mode.map_or(Blocks::Nothing, LockMode::blocks)
        );
        prop_assert!(
            !f.rewrites_table || f.scans_table,
            "{} rewrites the table without scanning it",
            f.code
        );
        prop_assert!(
            stmts
                .iter()
                .any(|s| s.step == f.step && s.sql == f.statement),
            "{} names no analysed statement",
            f.code
        );
    }
    let issues: Vec<Issue> = findings.iter().map(Issue::from_lock).collect();
    let report = SafetyReport::new("m", vec![CheckResult::new("locks", issues)]);
    prop_assert_eq!(
        report.overall_safety,
        !findings
            .iter()
            .any(|f| f.severity == SafetySeverity::Critical)
    );
    let _ = to_markdown(&report);
    prop_assert_eq!(
        SafetyReport::from_json(&to_json(&report)).ok(),
        Some(report)
    );
    for s in stmts {
        let _ = (s.target_tables(), s.alter_commands());
        let v = must(serde_json::to_value(s), "serialize statement facts")?;
        prop_assert_eq!(
            serde_json::from_value::<StatementFacts>(v).ok(),
            Some(s.clone())
        );
    }
    Ok(())
}

/// A report as the shell stores it: lock findings, and the rollback check.
fn report_of(stmts: &[StatementFacts]) -> SafetyReport {
    let issues: Vec<Issue> = analyze(stmts).iter().map(Issue::from_lock).collect();
    let mut results = vec![CheckResult::new("locks", issues)];
    if let Some(issue) = rollback_data_loss_issue(stmts, stmts) {
        results.push(CheckResult::new(
            codes::ROLLBACK_CAPABILITY_CHECK,
            vec![issue],
        ));
    }
    SafetyReport::new("m", results)
}

fn report_json() -> BoxedStrategy<Value> {
    prop::collection::vec(statement_facts(), 0..5)
        .prop_map(|stmts| to_json(&report_of(&stmts)))
        .boxed()
}

fn facts_json() -> BoxedStrategy<Value> {
    statement_facts()
        .prop_map(|s| serde_json::to_value(s).unwrap_or_default())
        .boxed()
}

/// A report read back from JSON renders, and writes back what it read.
fn check_report_json(v: &Value) -> Result<(), TestCaseError> {
    if let Ok(report) = SafetyReport::from_json(v) {
        let _ = to_markdown(&report);
        prop_assert_eq!(
            SafetyReport::from_json(&to_json(&report)).ok(),
            Some(report)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn fuzz_lock_analysis(stmts in prop::collection::vec(statement_facts(), 0..8)) {
        check_analysis(&stmts)?;
    }

    /// Facts as the shell would pass them in JSON: serialized, then edited.
    #[test]
    fn fuzz_statement_facts_json((v, pristine) in near_valid(facts_json()), w in arb_doc()) {
        let parsed = serde_json::from_value::<StatementFacts>(v);
        prop_assert!(parsed.is_ok() || !pristine, "serialized facts do not read back: {parsed:?}");
        if let Ok(s) = parsed {
            check_analysis(&[s])?;
        }
        if let Ok(s) = serde_json::from_value::<StatementFacts>(w) {
            check_analysis(&[s])?;
        }
    }

    #[test]
    fn fuzz_safety_report_json((v, pristine) in near_valid(report_json()), w in arb_doc()) {
        let parsed = SafetyReport::from_json(&v);
        prop_assert!(parsed.is_ok() || !pristine, "a serialized report does not read back: {parsed:?}");
        check_report_json(&v)?;
        check_report_json(&w)?;
    }

    #[test]
    fn fuzz_rollback_data_loss(
        forward in prop::collection::vec(statement_facts(), 0..6),
        rollback in prop::collection::vec(statement_facts(), 0..6),
    ) {
        let lost = rollback_data_loss(&forward, &rollback);
        for l in &lost {
            prop_assert!(
                rollback.iter().any(|s| s.sql == l.statement),
                "lost data blamed on a statement that is not in the rollback: {l:?}"
            );
            let _ = l.describe();
        }
        let issue = rollback_data_loss_issue(&forward, &rollback);
        prop_assert_eq!(issue.is_some(), !lost.is_empty());
        if let Some(issue) = issue {
            prop_assert!(codes::all().any(|c| c == issue.code), "unknown issue code {}", issue.code);
        }
    }

    #[test]
    fn fuzz_estimate(
        work in prop::collection::vec((rel_name(), any::<u64>()), 0..5),
        rows_per_second in metric_value(),
        avg_row_bytes in any::<u64>(),
        batch_rows in prop::option::of(any::<u64>()),
    ) {
        let work: Vec<TableWork> = work.into_iter().map(|(table, rows)| TableWork { table, rows }).collect();
        let usable = rows_per_second.is_finite() && rows_per_second > 0.0;
        match estimate(&work, rows_per_second, avg_row_bytes, batch_rows) {
            Ok(e) => {
                prop_assert!(usable, "an estimate from a throughput of {rows_per_second}");
                prop_assert_eq!(e.tables.len(), work.len());
                prop_assert!(e.seconds >= 0.0, "negative duration {}", e.seconds);
                for issue in performance_issues(&e) {
                    prop_assert!(codes::all().any(|c| c == issue.code), "unknown issue code {}", issue.code);
                }
            }
            Err(e) => {
                prop_assert!(!usable, "throughput {rows_per_second} refused");
                prop_assert!(!e.to_string().is_empty(), "an empty error message");
            }
        }
    }

    #[test]
    fn fuzz_safety_text_parsers(a in arb_text(), b in type_name()) {
        if let Some(mode) = LockMode::parse(&a) {
            prop_assert_eq!(LockMode::parse(mode.as_str()), Some(mode));
            let _ = mode.blocks().as_str();
        }
        if let Some(severity) = SafetySeverity::parse(&a) {
            prop_assert!(severity.as_str().eq_ignore_ascii_case(a.trim()), "{a:?} read as {severity}");
        }
        prop_assert_eq!(classify_type_change(&a, &a), TypeChange::NoRewrite);
        let _ = classify_type_change(&a, &b);
        let _ = classify_type_change(&b, &a);
        let _ = known_volatile_function(&a);
    }
}

// ---------------------------------------------------------------------------
// 7. Identifiers and names; status names, graph formats, the planner.
// ---------------------------------------------------------------------------

fn ident_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<String>(),
        2 => "[a-zA-Z_][a-zA-Z0-9_]{0,70}",
        1 => "[0-9][a-zA-Z0-9_]{0,5}",
        2 => "[a-zA-Z0-9_ .\\-é\\t\\n\\x00]{0,80}",
        1 => "[\\x00-\\x1f\\x7f-\\u{9f}]{1,5}",
        1 => "[\\u{0080}-\\u{10FFFF}]{1,70}",
        2 => (
            prop::sample::select(&["a", "é", "😀", " ", "\t", "_", "A."][..]),
            0usize..260,
        )
            .prop_map(|(s, n)| s.repeat(n)),
        1 => ("[ \\t]{0,2}", "[a-z]{1,5}", "[ \\t\\n]{0,2}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
    .boxed()
}

const NODE_NAMES: &[&str] = &["a", "b", "c", "d", "e"];
const KNOWN_STATUSES: &[&str] = &["PENDING", "RUNNING", "COMPLETED", "FAILED", "ROLLED_BACK"];
const ODD_STATUSES: &[&str] = &["pending", "", "DONE", "ROLLED BACK"];

fn plan_nodes() -> BoxedStrategy<Vec<PlanNode>> {
    let node = (
        prop::sample::select(NODE_NAMES),
        prop_oneof![Just(i32::MIN), Just(i32::MAX), -3i32..3],
        prop::collection::vec(
            prop::sample::select(&["a", "b", "c", "d", "e", "zz"][..]),
            0..3,
        ),
        prop_oneof![
            5 => prop::sample::select(KNOWN_STATUSES),
            1 => prop::sample::select(ODD_STATUSES),
        ],
    )
        .prop_map(|(name, priority, deps, status)| PlanNode {
            name: name.to_owned(),
            priority,
            depends_on: deps.into_iter().map(str::to_owned).collect(),
            status: status.to_owned(),
        });
    prop::collection::vec(node, 0..7).boxed()
}

/// The plan is deterministic, orders every runnable migration once and after its
/// runnable dependencies; the graph renders.
fn check_plan(nodes: &[PlanNode]) -> Result<(), TestCaseError> {
    let result = plan_migrations(nodes);
    prop_assert_eq!(&result, &plan_migrations(nodes));
    match &result {
        Ok(order) => {
            let mut planned = vec![false; nodes.len()];
            for &i in order {
                prop_assert!(
                    i < nodes.len() && !planned[i],
                    "index {i} planned twice or out of range"
                );
                planned[i] = true;
            }
            for (i, node) in nodes.iter().enumerate() {
                let runnable =
                    MigrationStatus::parse(&node.status).is_some_and(MigrationStatus::is_runnable);
                prop_assert_eq!(planned[i], runnable);
            }
            for (position, &i) in order.iter().enumerate() {
                for dep in &nodes[i].depends_on {
                    if let Some(before) = order.iter().position(|&j| nodes[j].name == *dep) {
                        prop_assert!(
                            before < position,
                            "{} runs before its dependency {dep}",
                            nodes[i].name
                        );
                    }
                }
            }
        }
        Err(PlanError::Cycle { cycle }) => {
            prop_assert!(
                !cycle.is_empty()
                    && cycle
                        .iter()
                        .all(|name| nodes.iter().any(|n| n.name == *name)),
                "cycle {cycle:?}"
            );
        }
        Err(e) => prop_assert!(
            !e.code().is_empty() && !e.to_string().is_empty(),
            "error {e:?}"
        ),
    }
    for name in NODE_NAMES {
        if let Ok(dependents) = dependents_closure(name, nodes) {
            prop_assert!(
                dependents.iter().all(|d| d.as_str() != *name),
                "{name} listed among its own dependents"
            );
        }
    }
    let graph: Vec<GraphNode> = nodes
        .iter()
        .map(|n| GraphNode {
            name: n.name.clone(),
            status: MigrationStatus::parse(&n.status).unwrap_or(MigrationStatus::Pending),
            depends_on: n.depends_on.clone(),
        })
        .collect();
    for format in [GraphFormat::Mermaid, GraphFormat::Dot] {
        prop_assert!(
            !render_graph(&graph, format).is_empty(),
            "an empty graph rendering"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// `is_plain_identifier` implies at most 63 ASCII bytes of `[A-Za-z0-9_]`,
    /// not starting with a digit; `name_problem` accepts exactly the names it
    /// documents; qualified names fold and read back.
    #[test]
    fn fuzz_ident_checks(s in ident_text()) {
        let plain = is_plain_identifier(&s);
        prop_assert_eq!(plain, migration_engine_core::schema::is_plain_identifier(&s));
        if plain {
            prop_assert!(
                !s.is_empty() && s.len() <= MAX_IDENT_BYTES && s.is_ascii(),
                "plain identifier {s:?}"
            );
            prop_assert!(
                !s.as_bytes()[0].is_ascii_digit() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "plain identifier {s:?}"
            );
        }
        prop_assert_eq!(Quoter.ident(&s).is_ok(), plain);
        match name_problem(&s) {
            None => prop_assert!(
                s.chars().count() <= MAX_NAME_CHARS && !s.chars().any(char::is_control) && s.trim() == s,
                "accepted name {s:?}"
            ),
            Some(problem) => prop_assert!(!problem.is_empty(), "an empty problem for {s:?}"),
        }
        match QualifiedName::parse(&s) {
            Some(q) => {
                prop_assert!(
                    is_plain_identifier(&q.name) && q.schema.as_deref().is_none_or(is_plain_identifier),
                    "qualified name {q:?} from {s:?}"
                );
                prop_assert!(
                    q.name.bytes().chain(q.schema.iter().flat_map(|p| p.bytes())).all(|b| !b.is_ascii_uppercase()),
                    "{q:?} is not folded"
                );
                prop_assert_eq!(QualifiedName::parse(&q.to_string()), Some(q.clone()));
                prop_assert_eq!(QualifiedName::parse(&s.to_ascii_uppercase()), Some(q));
            }
            None => prop_assert!(
                QualifiedName::parse(&s.to_ascii_uppercase()).is_none(),
                "{s:?} is refused but its upper case is not"
            ),
        }
    }

    #[test]
    fn fuzz_engine_text_parsers(s in prop_oneof![arb_text(), ident_text()]) {
        if let Some(status) = MigrationStatus::parse(&s) {
            prop_assert_eq!(status.as_str(), s.as_str());
        }
        if let Some(status) = StepStatus::parse(&s) {
            prop_assert_eq!(status.as_str(), s.as_str());
        }
        if let Some(kind) = MigrationType::parse(&s) {
            prop_assert_eq!(kind.as_str(), s.as_str());
        }
        if let Some(kind) = StepType::parse(&s) {
            prop_assert_eq!(kind.as_str(), s.as_str());
        }
        if let Err(e) = GraphFormat::parse(&s) {
            prop_assert_eq!(e.given.as_str(), s.as_str());
            prop_assert!(!e.to_string().is_empty(), "an empty error message");
        }
        if let Some(f) = FunctionName::parse(&s) {
            let again = FunctionName::parse(&f.to_string());
            prop_assert_eq!(again, Some(f));
        }
    }

    #[test]
    fn fuzz_planner_and_graph(nodes in plan_nodes()) {
        check_plan(&nodes)?;
    }
}

/// The generators of near-valid documents start from valid ones.
#[test]
fn sanity_templates_are_valid() {
    let v = pipeline_template();
    let p = parse_pipeline(&v);
    assert!(p.is_ok(), "the pipeline template is refused: {p:?}");
    if let Ok(p) = p {
        let compiled = compile_pipeline(&p, "t.content");
        assert!(
            compiled.is_ok(),
            "the pipeline template does not compile: {compiled:?}"
        );
    }
    for slot in PIPELINE_SLOTS {
        assert!(
            v.pointer(slot).is_some(),
            "no slot {slot} in the pipeline template"
        );
    }
    for rule in VALID_RULES {
        assert!(
            serde_json::from_str::<Value>(rule).is_ok(),
            "rule {rule} is not JSON"
        );
    }
}
