//! Property tests over generated schemas and type names.

use super::change::{ChangeKind, Severity};
use super::diff::diff_docs;
use super::types::{is_type_compatible, normalize_type, parse_type, value_fits_type};
use super::{detect_breaking_changes, parse_schema};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

include!("../../tests/data/type_names.rs");
const TYPES: &[&str] = KNOWN_TYPE_NAMES;

/// Known type names, respelled in odd case and spacing.
fn known_type() -> impl Strategy<Value = String> {
    (prop::sample::select(TYPES), any::<bool>(), any::<bool>()).prop_map(|(t, upper, pad)| {
        let t = if upper {
            t.to_uppercase()
        } else {
            t.to_owned()
        };
        if pad {
            format!("  {}  ", t.replace(' ', "   "))
        } else {
            t
        }
    })
}

/// `(old, new)` with `new` a lossless change of `old` (often the same type).
fn compatible_pair() -> impl Strategy<Value = (String, String)> {
    known_type().prop_flat_map(|old| {
        let targets: Vec<&str> = TYPES
            .iter()
            .copied()
            .filter(|t| is_type_compatible(&old, t))
            .collect();
        (
            Just(old),
            prop::sample::select(targets).prop_map(str::to_owned),
        )
    })
}

fn field() -> impl Strategy<Value = Value> {
    let enum_values = prop::option::of(prop::collection::vec(
        prop::sample::select(&["a", "b", "c", "d"][..]),
        1..4,
    ));
    let default = prop::option::of(prop::sample::select(&["a", "b"][..]));
    (
        prop::sample::select(TYPES),
        any::<bool>(),
        enum_values,
        default,
        any::<bool>(),
    )
        .prop_map(|(t, nullable, en, d, dep)| {
            let mut f = Map::new();
            f.insert("type".into(), t.into());
            f.insert("nullable".into(), nullable.into());
            if let Some(values) = en {
                f.insert("enum".into(), json!(values));
            }
            if let Some(d) = d {
                f.insert("default".into(), d.into());
            }
            if dep {
                f.insert("deprecated".into(), true.into());
                f.insert("removal_version".into(), "2.0".into());
            }
            Value::Object(f)
        })
}

/// Entities `E0..E5` with fields `f0..f7`: small name pools, so two generated
/// schemas overlap and their diff exercises every rule.
fn schema() -> impl Strategy<Value = Value> {
    let fields = prop::collection::btree_map(
        prop::sample::select(&["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"][..]),
        field(),
        0..6,
    );
    let entity = fields.prop_map(|f| json!({"fields": f}));
    let entities = prop::collection::btree_map(
        prop::sample::select(&["E0", "E1", "E2", "E3", "E4", "E5"][..]),
        entity,
        0..5,
    );
    (
        entities,
        prop::option::of(prop::sample::select(&["1.0", "1.5", "2.0"][..])),
    )
        .prop_map(|(e, v)| json!({"entities": e, "version": v}))
}

proptest! {
    #[test]
    fn diff_with_itself_is_empty(s in schema()) {
        prop_assert!(detect_breaking_changes(&s, &s).unwrap().is_empty());
    }

    #[test]
    fn output_is_deterministic_and_sorted(a in schema(), b in schema()) {
        let first = detect_breaking_changes(&a, &b).unwrap();
        prop_assert_eq!(&first, &detect_breaking_changes(&a, &b).unwrap());
        prop_assert!(first.windows(2).all(|w| w[0].sort_key() <= w[1].sort_key()));
    }

    #[test]
    fn borrowed_result_encodes_as_the_json_one(a in schema(), b in schema()) {
        // what detect_breaking_changes returns to SQL (Change::to_out, written straight
        // to jsonb) is byte for byte what the JSON form would have been
        let changes = detect_breaking_changes(&a, &b).unwrap();
        let borrowed = crate::jsonb::Out::Arr(changes.iter().map(|c| c.to_out()).collect());
        let json = Value::Array(changes.iter().map(|c| c.to_json()).collect());
        prop_assert_eq!(
            crate::jsonb::jsonb_varlena_of(&borrowed).unwrap(),
            crate::jsonb::jsonb_varlena(&json).unwrap()
        );
    }

    #[test]
    fn fused_parse_gives_the_plain_result(a in schema(), b in schema()) {
        let plain = diff_docs(&parse_schema(&a).unwrap(), &parse_schema(&b).unwrap());
        prop_assert_eq!(detect_breaking_changes(&a, &b).unwrap(), plain);
    }

    #[test]
    fn compatible_type_change_is_never_high(s in schema(), (old, new) in compatible_pair()) {
        prop_assert!(is_type_compatible(&old, &new));
        let mut a = s.clone();
        a["entities"]["Z"] = json!({"fields": {"x": {"type": old}}});
        let mut b = s;
        b["entities"]["Z"] = json!({"fields": {"x": {"type": new}}});
        let changes = detect_breaking_changes(&a, &b).unwrap();
        prop_assert!(changes.iter().all(|c| c.severity != Severity::High), "{:?}", changes);
    }

    #[test]
    fn adding_optional_fields_is_never_high(s in schema(), extra in prop::collection::vec((known_type(), any::<bool>()), 1..5)) {
        let mut b = s.clone();
        for entity in b["entities"].as_object_mut().unwrap().values_mut() {
            for (i, (t, use_default)) in extra.iter().enumerate() {
                let f = if *use_default {
                    json!({"type": "text", "nullable": false, "default": "x"})
                } else {
                    json!({"type": t})
                };
                entity["fields"][format!("new_{i}")] = f;
            }
        }
        b["entities"]["BrandNew"] = json!({"fields": {"r": {"type": "text", "nullable": false}}});
        let changes = detect_breaking_changes(&s, &b).unwrap();
        prop_assert!(changes.iter().all(|c| c.severity != Severity::High), "{:?}", changes);
        prop_assert!(changes.iter().all(|c| matches!(c.kind, ChangeKind::FieldAdded | ChangeKind::EntityAdded)));
    }

    #[test]
    fn known_types_are_reflexive_and_normalise_stably(t in known_type()) {
        prop_assert!(is_type_compatible(&t, &t));
        let canonical = normalize_type(&t).unwrap();
        prop_assert_eq!(normalize_type(&canonical), Some(canonical.clone()));
        prop_assert_eq!(parse_type(&canonical), parse_type(&t));
    }

    #[test]
    fn arbitrary_strings_never_panic(a in ".{0,40}", b in "[a-zA-Z0-9 (),\\[\\]]{0,30}") {
        let _ = is_type_compatible(&a, &b);
        let _ = is_type_compatible(&b, &a);
        let _ = normalize_type(&a);
        let _ = value_fits_type(&json!(a.clone()), &b);
        let _ = value_fits_type(&json!(1.5), &b);
    }

    #[test]
    fn arbitrary_documents_never_panic(s in schema(), noise in ".{0,10}") {
        let mut b = s.clone();
        b["entities"]["E0"] = json!({"fields": {"f0": {"type": noise}}});
        let _ = detect_breaking_changes(&s, &b);
    }
}
