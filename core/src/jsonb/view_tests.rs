//! The in-place view against the decoder, on images from the model encoder
//! (`test_encoder.rs`), valid and corrupted.

use super::test_encoder::{Encoder, Jb};
use super::{decode, JsonbRef};
use proptest::prelude::*;
use serde_json::{json, Value};

fn payload(v: &Value) -> Vec<u8> {
    Encoder::payload(&Jb::from_value(v))
}

#[test]
fn reads_in_place() {
    let v = json!({"b": [1, "x", null, true, 2.5], "aa": {"k": false}, "c": "ü"});
    let bytes = payload(&v);
    let root = JsonbRef::from_payload(&bytes).unwrap();
    let obj = root.as_object().unwrap();
    assert_eq!(obj.len(), 3);
    let keys: Vec<&str> = obj.iter_object().map(|m| m.unwrap().0).collect();
    assert_eq!(keys, ["b", "c", "aa"]);
    assert_eq!(obj.get("c").unwrap().unwrap().as_str(), Some("ü"));
    assert!(obj.get("zz").unwrap().is_none());
    let aa = obj.get("aa").unwrap().unwrap().as_object().unwrap();
    assert_eq!(aa.get("k").unwrap().unwrap().as_bool(), Some(false));
    let b = obj.get("b").unwrap().unwrap().as_array().unwrap();
    assert_eq!(b.index(4).unwrap().unwrap().to_value().unwrap(), json!(2.5));
    assert!(b.index(5).unwrap().is_none());
    assert!(b.index(2).unwrap().unwrap().is_null());
    assert_eq!(root.to_value().unwrap(), v);
    assert!(root.validate().is_ok());
    let five = payload(&json!(5));
    let raw = JsonbRef::from_payload(&five).unwrap();
    assert_eq!(raw.to_value().unwrap(), json!(5));
}

#[test]
fn get_across_strides() {
    let v: Value = (0..200)
        .map(|i| (format!("k{}", "x".repeat(i % 7) + &i.to_string()), json!(i)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let bytes = payload(&v);
    let obj = JsonbRef::from_payload(&bytes).unwrap().as_object().unwrap();
    for (k, val) in v.as_object().unwrap() {
        assert_eq!(&obj.get(k).unwrap().unwrap().to_value().unwrap(), val);
    }
    assert!(obj.get("k").unwrap().is_none());
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(|m| json!(m as f64 / 64.0)),
        "[a-z_]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 128, 40, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..40).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,6}", inner, 0..40)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The view agrees with the decoder, and `validate` with decoding,
    /// on valid and on corrupted images.
    #[test]
    fn agrees_with_decode(
        value in arb_value(),
        corruptions in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    ) {
        let mut bytes = payload(&value);
        for (index, byte) in &corruptions {
            let i = index.index(bytes.len());
            bytes[i] = *byte;
        }
        let decoded = decode(&bytes);
        let view = JsonbRef::from_payload(&bytes);
        match &view {
            Ok(v) => {
                prop_assert_eq!(v.validate().is_ok(), decoded.is_ok());
                prop_assert_eq!(v.to_value().ok(), decoded.clone().ok());
                // Binary search needs sorted keys, which corruption may break.
                let intact = corruptions.is_empty();
                if let (true, Some(obj), Ok(Value::Object(map))) = (intact, v.as_object(), &decoded) {
                    for (k, val) in map {
                        let got = obj.get(k);
                        prop_assert_eq!(got.map(|g| g.map(|g| g.to_value().ok())), Ok(Some(Some(val.clone()))));
                    }
                }
            }
            Err(_) => prop_assert!(decoded.is_err()),
        }
        if corruptions.is_empty() {
            prop_assert_eq!(decoded.unwrap(), value);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(v) = JsonbRef::from_payload(&bytes) {
            let _ = v.validate();
            let _ = v.to_value();
            if let Some(c) = v.as_object().or(v.as_array()) {
                let _ = c.get("a");
                let _ = c.index(0);
                let _ = c.iter_object().count();
                let _ = c.iter_array().count();
            }
        }
    }
}
