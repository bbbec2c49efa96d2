//! The binary fast path against decode + the plain diff.

use super::*;
use crate::jsonb::test_encoder::{Encoder, Jb};
use proptest::prelude::*;
use serde_json::json;

fn enc(v: &Value) -> Vec<u8> {
    Encoder::payload(&Jb::from_value(v))
}

/// The fast path's answer, asserting it took the fast path when the plain
/// path succeeds, and that it equals the plain path's answer.
fn check(old: &Value, new: &Value) -> Result<Vec<Change>, SchemaError> {
    let (ob, nb) = (enc(old), enc(new));
    let expected = detect_breaking_changes(old, new);
    assert_eq!(slow_path(&ob, &nb), expected, "slow path");
    let got = detect_breaking_changes_binary(&ob, &nb);
    assert_eq!(got, expected, "old {old}\nnew {new}");
    if expected.is_ok() {
        assert!(fast_path(&ob, &nb).is_ok(), "fell back on valid documents");
    }
    got
}

#[test]
fn examples() {
    let old = json!({"version": "1.0", "entities": {
        "Person": {"identity": ["id"], "fields": {
            "id": {"type": "uuid", "nullable": false},
            "name": {"type": "varchar(10)"},
            "age": {"type": "integer", "default": 1},
            "old": {"type": "text", "deprecated": true, "removal_version": "2.0"},
            "status": {"type": "text", "enum": ["a", "b", 1]},
        }},
        "People": {"fields": {"x": {"type": "text"}}},
        "Gone": {"fields": {}},
        "Same": {"fields": {"a": {"type": "text"}}},
    }});
    let new = json!({"version": "1.5", "entities": {
        "Person": {"identity": ["id"], "fields": {
            "id": {"type": "uuid", "nullable": false},
            "full_name": {"type": "text", "renamed_from": "name"},
            "age": {"type": "bigint", "default": 1.0},
            "status": {"type": "text", "enum": ["a", 1.0, "c"]},
            "req": {"type": "text", "nullable": false},
        }},
        "Human": {"renamed_from": "People", "fields": {"x": {"type": "text"}, "y": {"type": "int"}}},
        "Same": {"fields": {"a": {"type": "text"}}},
        "Added": {"fields": {}},
    }});
    let changes = check(&old, &new).unwrap();
    assert!(changes.len() >= 8, "{changes:?}");
    assert!(check(&old, &old).unwrap().is_empty());
}

#[test]
fn errors_match_the_plain_path() {
    let good = json!({"entities": {"P": {"fields": {"a": {"type": "text"}}}}});
    let bad = [
        json!({"entities": {"P": {"fields": {"a": {"type": 1}}}}}),
        json!({"entities": {"P": {"fields": {"a": {"type": " "}}}}}),
        json!({"entities": {"P": {"fields": {"a": {"nullable": true}}}}}),
        json!({"entities": {"P": {"fields": {"a": {"type": "text", "enum": []}}}}}),
        json!({"entities": {"P": {"fields": {"1a": {"type": "text"}}}}}),
        json!({"entities": {"P": {"identity": ["b"], "fields": {"a": {"type": "text"}}}}}),
        json!({"entities": {"P": {"identity": [1], "fields": {"a": {"type": "text"}}}}}),
        json!({"entities": {"P": {"renamed_from": "a b", "fields": {}}}}),
        json!({"entities": {"P": {}}}),
        json!({"entities": {"P b": {"fields": {}}}}),
        json!({"entities": []}),
        json!({"version": 2, "entities": {}}),
        json!({}),
        json!([1]),
        json!("x"),
    ];
    for b in &bad {
        assert!(check(&good, b).is_err(), "{b}");
        assert!(check(b, &good).is_err(), "{b}");
        assert!(check(b, b).is_err(), "{b}");
    }
    // Identical invalid fields on both sides are still reported.
    let both = json!({"entities": {"P": {"fields": {"a": {"type": 1}, "b": {"type": "text"}}}}});
    let mut other = both.clone();
    other["entities"]["P"]["fields"]["b"]["type"] = json!("int");
    assert!(check(&both, &other).is_err());
}

#[test]
fn malformed_bytes_are_errors() {
    let good = enc(&json!({"entities": {}}));
    let e = detect_breaking_changes_binary(&good, &[1, 2]).unwrap_err();
    assert_eq!(e.path, "$");
    assert!(e.message.ends_with("(in the new schema)"), "{e}");
    assert!(e.message.starts_with("malformed jsonb"), "{e}");
    let e = detect_breaking_changes_binary(&[], &good).unwrap_err();
    assert!(e.message.ends_with("(in the old schema)"), "{e}");
    // A numeric beyond f64 in an otherwise identical unknown key.
    let mut doc = Jb::from_value(&json!({"entities": {}, "x": [0]}));
    if let Jb::Obj(pairs) = &mut doc {
        pairs[0].1 = Jb::Arr(vec![Jb::from_value(&json!(1e300))]);
        if let Jb::Arr(a) = &mut pairs[0].1 {
            if let Jb::Num(n) = &mut a[0] {
                n.weight += 10;
            }
        }
    }
    let bytes = Encoder::payload(&doc);
    assert!(decode(&bytes).is_err());
    assert!(detect_breaking_changes_binary(&bytes, &bytes).is_err());
}

// ---------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------

const TYPES: &[&str] = &[
    "integer",
    "bigint",
    "text",
    "varchar(20)",
    "numeric(10,2)",
    "boolean",
    "int4",
    "INTEGER",
];
const FIELDS: &[&str] = &["f0", "f1", "f2", "f3", "f4", "f5", "f6", "field_long_7"];
const ENTITIES: &[&str] = &["E0", "E1", "E2", "E3", "E4", "E5", "Entity6"];
const VERSIONS: &[&str] = &["1.0", "1.5", "2.0", "beta"];

fn scalar() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!("a"),
        json!("b"),
        json!(1),
        json!(1.0),
        json!(1.5),
        json!(-3),
        json!(null),
        json!(true),
        json!({"k": [1, 2.50]}),
    ])
}

fn field() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(TYPES),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::collection::vec(scalar(), 1..4)),
        prop::option::of(scalar()),
        prop::option::of((
            any::<bool>(),
            prop::option::of(prop::sample::select(VERSIONS)),
        )),
        prop::option::of(prop::sample::select(FIELDS)),
        prop::option::of(prop::sample::select(&["some text", "other"][..])),
        prop::option::of(scalar()),
    )
        .prop_map(|(t, nullable, en, default, dep, renamed, desc, extra)| {
            let mut f = Map::new();
            f.insert("type".into(), t.into());
            if let Some(n) = nullable {
                f.insert("nullable".into(), n.into());
            }
            if let Some(values) = en {
                f.insert("enum".into(), values.into());
            }
            if let Some(d) = default {
                f.insert("default".into(), d);
            }
            if let Some((d, removal)) = dep {
                f.insert("deprecated".into(), d.into());
                f.insert("removal_version".into(), json!(removal));
                f.insert("deprecation_message".into(), "use x".into());
            }
            if let Some(r) = renamed {
                f.insert("renamed_from".into(), r.into());
            }
            if let Some(d) = desc {
                f.insert("description".into(), d.into());
            }
            if let Some(x) = extra {
                f.insert("x-extra".into(), x);
            }
            Value::Object(f)
        })
}

fn entity() -> impl Strategy<Value = Value> {
    (
        prop::collection::btree_map(prop::sample::select(FIELDS), field(), 0..7),
        prop::option::of(prop::collection::vec(prop::sample::select(FIELDS), 0..3)),
        prop::option::of(prop::sample::select(ENTITIES)),
        prop::option::of(prop::sample::select(&["desc", "other"][..])),
        any::<bool>(),
    )
        .prop_map(|(fields, identity, renamed, desc, extra)| {
            let mut e = Map::new();
            if let Some(ids) = identity {
                // Only existing fields, so that most documents are valid.
                let ids: Vec<&str> = ids
                    .into_iter()
                    .filter(|id| fields.contains_key(id))
                    .collect();
                e.insert("identity".into(), json!(ids));
            }
            e.insert("fields".into(), json!(fields));
            if let Some(r) = renamed {
                e.insert("renamed_from".into(), r.into());
            }
            if let Some(d) = desc {
                e.insert("description".into(), d.into());
            }
            if extra {
                e.insert("x-owner".into(), json!({"team": "a", "n": 1}));
            }
            Value::Object(e)
        })
}

fn schema() -> impl Strategy<Value = Value> {
    (
        prop::collection::btree_map(prop::sample::select(ENTITIES), entity(), 0..6),
        prop::option::of(prop::sample::select(VERSIONS)),
        any::<bool>(),
    )
        .prop_map(|(entities, version, described)| {
            let mut doc = json!({"entities": entities});
            if let Some(v) = version {
                doc["version"] = v.into();
            }
            if described {
                doc["description"] = "a schema".into();
            }
            doc
        })
}

/// One edit of a document.
#[derive(Debug, Clone)]
enum Edit {
    ReplaceField(usize, usize, Value),
    RemoveField(usize, usize),
    AddField(usize, usize, Value),
    RenameField(usize, usize, usize),
    Deprecate(usize, usize, Option<&'static str>),
    ToggleNullable(usize, usize),
    SetDefault(usize, usize, Value),
    PushEnum(usize, usize, Value),
    FieldDescription(usize, usize),
    SetVersion(Option<&'static str>),
    RemoveEntity(usize),
    AddEntity(usize, Value),
    RenameEntity(usize, usize),
    EntityDescription(usize),
    Identity(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let (e, f) = (0..ENTITIES.len(), 0..FIELDS.len());
    prop_oneof![
        (e.clone(), f.clone(), field()).prop_map(|(e, f, v)| Edit::ReplaceField(e, f, v)),
        (e.clone(), f.clone()).prop_map(|(e, f)| Edit::RemoveField(e, f)),
        (e.clone(), f.clone(), field()).prop_map(|(e, f, v)| Edit::AddField(e, f, v)),
        (e.clone(), f.clone(), f.clone()).prop_map(|(e, a, b)| Edit::RenameField(e, a, b)),
        (
            e.clone(),
            f.clone(),
            prop::option::of(prop::sample::select(VERSIONS))
        )
            .prop_map(|(e, f, v)| Edit::Deprecate(e, f, v)),
        (e.clone(), f.clone()).prop_map(|(e, f)| Edit::ToggleNullable(e, f)),
        (e.clone(), f.clone(), scalar()).prop_map(|(e, f, v)| Edit::SetDefault(e, f, v)),
        (e.clone(), f.clone(), scalar()).prop_map(|(e, f, v)| Edit::PushEnum(e, f, v)),
        (e.clone(), f.clone()).prop_map(|(e, f)| Edit::FieldDescription(e, f)),
        prop::option::of(prop::sample::select(VERSIONS)).prop_map(Edit::SetVersion),
        e.clone().prop_map(Edit::RemoveEntity),
        (e.clone(), entity()).prop_map(|(e, v)| Edit::AddEntity(e, v)),
        (e.clone(), e.clone()).prop_map(|(a, b)| Edit::RenameEntity(a, b)),
        e.clone().prop_map(Edit::EntityDescription),
        (e, f).prop_map(|(e, f)| Edit::Identity(e, f)),
    ]
}

fn fields_mut(doc: &mut Value, e: usize) -> Option<&mut Map<String, Value>> {
    doc["entities"]
        .get_mut(ENTITIES[e])?
        .get_mut("fields")?
        .as_object_mut()
}

fn field_mut(doc: &mut Value, e: usize, f: usize) -> Option<&mut Map<String, Value>> {
    fields_mut(doc, e)?.get_mut(FIELDS[f])?.as_object_mut()
}

fn apply(doc: &mut Value, edit: &Edit) {
    match edit {
        Edit::ReplaceField(e, f, v) | Edit::AddField(e, f, v) => {
            if let Some(fields) = fields_mut(doc, *e) {
                fields.insert(FIELDS[*f].into(), v.clone());
            }
        }
        Edit::RemoveField(e, f) => {
            if let Some(fields) = fields_mut(doc, *e) {
                fields.remove(FIELDS[*f]);
            }
        }
        Edit::RenameField(e, a, b) => {
            if let Some(fields) = fields_mut(doc, *e) {
                if let Some(mut def) = fields.remove(FIELDS[*a]) {
                    def["renamed_from"] = FIELDS[*a].into();
                    fields.insert(FIELDS[*b].into(), def);
                }
            }
        }
        Edit::Deprecate(e, f, v) => {
            if let Some(d) = field_mut(doc, *e, *f) {
                d.insert("deprecated".into(), true.into());
                d.insert("removal_version".into(), json!(v));
                d.insert("deprecated_at".into(), "2024-01-01".into());
            }
        }
        Edit::ToggleNullable(e, f) => {
            if let Some(d) = field_mut(doc, *e, *f) {
                let n = d.get("nullable").and_then(Value::as_bool).unwrap_or(true);
                d.insert("nullable".into(), (!n).into());
            }
        }
        Edit::SetDefault(e, f, v) => {
            if let Some(d) = field_mut(doc, *e, *f) {
                d.insert("default".into(), v.clone());
            }
        }
        Edit::PushEnum(e, f, v) => {
            if let Some(d) = field_mut(doc, *e, *f) {
                let mut values = d
                    .get("enum")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                values.push(v.clone());
                d.insert("enum".into(), values.into());
            }
        }
        Edit::FieldDescription(e, f) => {
            if let Some(d) = field_mut(doc, *e, *f) {
                d.insert("description".into(), "changed".into());
            }
        }
        Edit::SetVersion(Some(v)) => doc["version"] = (*v).into(),
        Edit::SetVersion(None) => {
            doc.as_object_mut().unwrap().remove("version");
        }
        Edit::RemoveEntity(e) => {
            doc["entities"]
                .as_object_mut()
                .unwrap()
                .remove(ENTITIES[*e]);
        }
        Edit::AddEntity(e, v) => {
            doc["entities"][ENTITIES[*e]] = v.clone();
        }
        Edit::RenameEntity(a, b) => {
            let entities = doc["entities"].as_object_mut().unwrap();
            if let Some(mut def) = entities.remove(ENTITIES[*a]) {
                def["renamed_from"] = ENTITIES[*a].into();
                entities.insert(ENTITIES[*b].into(), def);
            }
        }
        Edit::EntityDescription(e) => {
            if let Some(def) = doc["entities"].get_mut(ENTITIES[*e]) {
                def["description"] = "changed".into();
            }
        }
        Edit::Identity(e, f) => {
            let has = fields_mut(doc, *e).is_some_and(|fields| fields.contains_key(FIELDS[*f]));
            if let Some(def) = doc["entities"].get_mut(ENTITIES[*e]) {
                def["identity"] = if has { json!([FIELDS[*f]]) } else { json!([]) };
            }
        }
    }
}

fn pair() -> impl Strategy<Value = (Value, Value)> {
    prop_oneof![
        // Independent documents over small name pools.
        (schema(), schema()),
        // A document and an edited copy: most fields byte-identical.
        (schema(), prop::collection::vec(edit(), 0..6)).prop_map(|(old, edits)| {
            let mut new = old.clone();
            for e in &edits {
                apply(&mut new, e);
            }
            (old, new)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fast_path_equals_plain_path((old, new) in pair()) {
        let _ = check(&old, &new);
        let _ = check(&new, &old);
    }

    /// Invalid documents (bad types, names, identities) give the plain
    /// path's error.
    #[test]
    fn invalid_documents_give_the_same_error(
        (old, mut new) in pair(),
        e in 0..ENTITIES.len(),
        noise in prop::sample::select(vec![
            json!({"fields": {"a": {"type": 1}}}),
            json!({"fields": {"a": {"type": ""}}}),
            json!({"fields": {"a b": {"type": "text"}}}),
            json!({"fields": {"a": {"type": "text", "nullable": 1}}}),
            json!({"fields": {"a": {"type": "text", "renamed_from": "1x"}}}),
            json!({"identity": ["zz"], "fields": {}}),
            json!({"fields": []}),
            json!(null),
        ]),
    ) {
        new["entities"][ENTITIES[e]] = noise;
        prop_assert!(check(&old, &new).is_err());
    }

    /// Corrupted bytes never panic and give the plain path's answer.
    #[test]
    fn corrupted_bytes_give_the_same_answer(
        (old, new) in pair(),
        corruptions in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (mut ob, nb) = (enc(&old), enc(&new));
        for (index, byte) in &corruptions {
            let i = index.index(ob.len());
            ob[i] = *byte;
        }
        prop_assert_eq!(
            detect_breaking_changes_binary(&ob, &nb),
            slow_path(&ob, &nb)
        );
        prop_assert_eq!(
            detect_breaking_changes_binary(&nb, &ob),
            slow_path(&nb, &ob)
        );
    }
}

// ---------------------------------------------------------------------
// Scale.
// ---------------------------------------------------------------------

#[test]
fn large_documents_take_the_fast_path() {
    let (old, new) = crate::schema::scale_tests::big_pair();
    let (ob, nb) = (enc(&old), enc(&new));
    let fast = fast_path(&ob, &nb).expect("fast path");
    assert_eq!(fast, detect_breaking_changes(&old, &new).unwrap());
    assert!(fast.len() > 2500);
}

/// `cargo test --release binary::tests::bench -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; run with --release --ignored --nocapture"]
fn bench_binary_vs_decode() {
    use std::time::{Duration, Instant};
    let (old, new) = crate::schema::scale_tests::big_pair();
    let (ob, nb) = (enc(&old), enc(&new));
    drop((old, new));
    let runs = 21;
    let time = |f: &mut dyn FnMut() -> usize| -> (Duration, Duration) {
        let mut t: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect();
        t.sort();
        (t[0], t[runs / 2])
    };
    let (fast_min, fast_med) =
        time(&mut || detect_breaking_changes_binary(&ob, &nb).unwrap().len());
    let (slow_min, slow_med) = time(&mut || {
        let o = decode(&ob).unwrap();
        let n = decode(&nb).unwrap();
        detect_breaking_changes(&o, &n).unwrap().len()
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "1000 entities x 50 fields, 5% changed, payloads {} + {} bytes, {runs} runs:",
        ob.len(),
        nb.len()
    );
    println!(
        "  detect_breaking_changes_binary      min {:6.2} ms  median {:6.2} ms",
        ms(fast_min),
        ms(fast_med)
    );
    println!(
        "  decode x2 + detect + drop           min {:6.2} ms  median {:6.2} ms",
        ms(slow_min),
        ms(slow_med)
    );
}
