//! The decoder's tests: hand-derived and captured byte images, numbers,
//! malformed input, and properties against the text path it replaces
//! (`JsonbToCString`, then `serde_json`), with the model encoder of
//! `test_encoder.rs`.

use super::format::{JB_FARRAY, JB_FOBJECT, JB_FSCALAR, JENTRY_HAS_OFF, JENTRY_ISNUMERIC};
use super::test_encoder::{Encoder, Jb, NumVar};
use super::{decode, decode_varlena, DecodeError, DecodeErrorKind, MAX_DEPTH};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The production text path: `JsonbToCString`, then `serde_json`.
fn via_text(jb: &Jb) -> Result<Value, serde_json::Error> {
    serde_json::from_str(&jb.to_text())
}

/// `decoded` equals `original`, floats compared by their decimal text.
fn assert_same(decoded: &Value, original: &Value) {
    match (decoded, original) {
        (Value::Number(d), Value::Number(o)) => {
            assert_eq!(d.is_f64(), o.is_f64(), "{d} vs {o}");
            assert_eq!(d.to_string(), o.to_string());
        }
        (Value::Array(d), Value::Array(o)) => {
            assert_eq!(d.len(), o.len());
            for (d, o) in d.iter().zip(o) {
                assert_same(d, o);
            }
        }
        (Value::Object(d), Value::Object(o)) => {
            assert_eq!(d.keys().collect::<Vec<_>>(), o.keys().collect::<Vec<_>>());
            for (d, o) in d.values().zip(o.values()) {
                assert_same(d, o);
            }
        }
        _ => assert_eq!(decoded, original),
    }
}

/// Every check one well-formed value gets.
fn check_round_trip(original: &Value) {
    let jb = Jb::from_value(original);
    let varlena = Encoder::varlena(&jb, false);
    let decoded = decode(&varlena[4..]).expect("decode");
    assert_same(&decoded, original);
    assert_eq!(decoded, via_text(&jb).expect("text path"));
    assert_eq!(decode_varlena(&varlena).expect("decode_varlena"), decoded);
    let packed = Encoder::varlena(&jb, true);
    assert_eq!(decode(&packed[4..]).expect("packed numerics"), decoded);
}

// ---------------------------------------------------------------
// Hand-derived and captured byte images.
// ---------------------------------------------------------------

include!("../../tests/data/hand_jsonb_images.rs");

/// The four images above as PostgreSQL 15 stored them in a heap tuple
/// (`tuple_data_split`, so with 1-byte varlena headers).
const PG_SMALL_HEX: [(&str, &str); 4] = [
    (
        "3301000020010000800b000010610000002000000000800100",
        r#"{"a": 1}"#,
    ),
    (
        "2503000040000000b0000000400100000078",
        r#"[true, null, "x"]"#,
    ),
    ("2301000050080000902000000000800500", "5"),
    ("27010000400a00009028000000808001008813", "[1.5]"),
];

// PG_MIXED_HEX and PG_LARGE_HEX, real datums shared with tests/fuzz.rs
include!("../../tests/data/pg_jsonb_images.rs");

/// `j::text` of it: `-1.50` keeps its scale, 1e-200 prints in full.
fn pg_mixed_text() -> String {
    let tiny = format!("0.{}1", "0".repeat(199));
    format!(r#"{{"b": -1.50, "c": {{}}, "aa": [{tiny}, 12345678901234567890, 0.001]}}"#)
}

/// `j::text` of PG_LARGE_HEX (`JsonbToCString`).
const PG_LARGE_TEXT: &str = concat!(
    r#"{"arr": ["s1", null, false, -400000000000, 6.25, "s6", null, true, -900000000000, "#,
    r#"12.50, "s11", null, false, -1400000000000, 18.75, "s16", null, true, "#,
    r#"-1900000000000, 25.00, "s21", null, false, -2400000000000, 31.25, "s26", null, "#,
    r#"true, -2900000000000, 37.50, "s31", null, false, -3400000000000, 43.75, "s36", "#,
    r#"null, true, -3900000000000, 50.00, "s41", null, false, -4400000000000, 56.25, "#,
    r#""s46", null, true, -4900000000000, 62.50, "s51", null, false, -5400000000000, "#,
    r#"68.75, "s56", null, true, -5900000000000, 75.00, "s61", null, false, "#,
    r#"-6400000000000, 81.25, "s66", null, true, -6900000000000, 87.50], "#,
    r#""big": [1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000, "#,
    r#"-1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000, "#,
    r#"123456789012345678, 18446744073709551615, 18446744073709551616, "#,
    r#"-9223372036854775808, -9223372036854775809, 0.00000001, 100, 0, 0, 0.000], "#,
    r#""obj": {"k1": 0.14285714285714285714, "k2": "ü€😀2", "k3": {"type": "integer", "#,
    r#""nullable": true}, "k4": 0.57142857142857142857, "k5": "ü€😀5", "#,
    r#""k6": {"type": "integer", "nullable": true}, "k7": 1.00000000000000000000, "#,
    r#""k8": "ü€😀8", "k9": {"type": "integer", "nullable": true}, "#,
    r#""k10": 1.4285714285714286, "k11": "ü€😀11", "k12": {"type": "integer", "#,
    r#""nullable": true}, "k13": 1.8571428571428571, "k14": "ü€😀14", "#,
    r#""k15": {"type": "integer", "nullable": true}, "k16": 2.2857142857142857, "#,
    r#""k17": "ü€😀17", "k18": {"type": "integer", "nullable": true}, "#,
    r#""k19": 2.7142857142857143, "k20": "ü€😀20", "k21": {"type": "integer", "#,
    r#""nullable": true}, "k22": 3.1428571428571429, "k23": "ü€😀23", "#,
    r#""k24": {"type": "integer", "nullable": true}, "k25": 3.5714285714285714, "#,
    r#""k26": "ü€😀26", "k27": {"type": "integer", "nullable": true}, "#,
    r#""k28": 4.0000000000000000, "k29": "ü€😀29", "k30": {"type": "integer", "#,
    r#""nullable": true}, "k31": 4.4285714285714286, "k32": "ü€😀32", "#,
    r#""k33": {"type": "integer", "nullable": true}, "k34": 4.8571428571428571, "#,
    r#""k35": "ü€😀35", "k36": {"type": "integer", "nullable": true}, "#,
    r#""k37": 5.2857142857142857, "k38": "ü€😀38", "k39": {"type": "integer", "#,
    r#""nullable": true}, "k40": 5.7142857142857143, "k41": "ü€😀41", "#,
    r#""k42": {"type": "integer", "nullable": true}, "k43": 6.1428571428571429, "#,
    r#""k44": "ü€😀44", "k45": {"type": "integer", "nullable": true}}}"#,
);

#[test]
fn hand_derived_images() {
    assert_eq!(decode(&OBJ_A_1), Ok(json!({"a": 1})));
    assert_eq!(decode(&ARR_TRUE_NULL_X), Ok(json!([true, null, "x"])));
    assert_eq!(decode(&RAW_5), Ok(json!(5)));
    assert_eq!(decode(&ARR_1_5), Ok(json!([1.5])));
    // The model encoder produces exactly these bytes.
    assert_eq!(Encoder::payload(&Jb::from_value(&json!({"a": 1}))), OBJ_A_1);
    let arr = Jb::from_value(&json!([true, null, "x"]));
    assert_eq!(Encoder::payload(&arr), ARR_TRUE_NULL_X);
    assert_eq!(Encoder::payload(&Jb::from_value(&json!(5))), RAW_5);
    assert_eq!(Encoder::payload(&Jb::from_value(&json!([1.5]))), ARR_1_5);
}

#[test]
fn postgres_images() {
    let hand: [&[u8]; 4] = [&OBJ_A_1, &ARR_TRUE_NULL_X, &RAW_5, &ARR_1_5];
    for ((image, text), hand) in PG_SMALL_HEX.iter().zip(hand) {
        let bytes = hex(image);
        assert_eq!(&bytes[1..], hand, "{text}");
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(decode_varlena(&bytes), Ok(expected), "{text}");
    }

    let mixed = hex(PG_MIXED_HEX);
    let expected: Value = serde_json::from_str(&pg_mixed_text()).unwrap();
    assert_eq!(decode_varlena(&mixed), Ok(expected));
    // The model encoder reproduces PostgreSQL's bytes from the original
    // text (the captured datum has a 1-byte varlena header).
    let original = r#"{"b": -1.50, "aa": [1e-200, 12345678901234567890, 0.001], "c": {}}"#;
    assert_eq!(Encoder::payload(&Jb::parse_text(original)), mixed[1..]);

    let large = hex(&PG_LARGE_HEX.split_whitespace().collect::<String>());
    let expected: Value = serde_json::from_str(PG_LARGE_TEXT).unwrap();
    let decoded = decode_varlena(&large).unwrap();
    assert_eq!(decoded, expected);
    assert_eq!(decode(&large[4..]).unwrap(), expected);
    // Re-encoding what PostgreSQL printed reproduces its bytes exactly:
    // HAS_OFF strides in a 70-element array and a 45-key object,
    // padding, 4-byte numeric headers, NumericShort and NumericLong.
    assert_eq!(
        Encoder::varlena(&Jb::parse_text(PG_LARGE_TEXT), false),
        large
    );
    for (image, text) in PG_SMALL_HEX {
        assert_eq!(Encoder::payload(&Jb::parse_text(text)), hex(image)[1..]);
    }
}

#[test]
fn numbers() {
    for text in [
        "0",
        "1",
        "-1",
        "1.5",
        "-1.5",
        "0.001",
        "3.14159",
        "1e-7",
        "1.5e-7",
        "100.00",
        "123456789012345678",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "-18446744073709551616",
        "1e20",
        "-1e20",
        "1.0e20",
        "1e300",
        "-2.5e-300",
        "0.1e-7",
        "12345678901234567890.123456789",
        "1e308",
    ] {
        let jb = Jb::from_value(&json!([0]));
        let jb = match jb {
            Jb::Arr(_) => Jb::Arr(vec![Jb::Num(NumVar::parse(text).unwrap())]),
            _ => unreachable!(),
        };
        let decoded = decode(&Encoder::payload(&jb)).unwrap();
        assert_eq!(decoded, via_text(&jb).unwrap(), "{text}");
        // And against serde parsing the original text directly (same
        // decimal value, possibly other notation).
        let direct: Value = serde_json::from_str(&format!("[{text}]")).unwrap();
        assert_eq!(
            decoded[0].as_f64(),
            direct[0].as_f64(),
            "{text}: {decoded} vs {direct}"
        );
    }
    for value in [
        json!(1.5),
        json!(0.001),
        json!(123456789012345678u64),
        json!(1e20),
        json!(-1e20),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(-0.5),
        json!(5.0),
    ] {
        check_round_trip(&value);
    }
    // Integers stay integers, scaled numerics become floats.
    assert!(decode(&RAW_5).unwrap().is_u64());
    let minus_one = Jb::Arr(vec![Jb::Num(NumVar::parse("-1").unwrap())]);
    assert!(decode(&Encoder::payload(&minus_one)).unwrap()[0].is_i64());
    let scaled = Jb::Arr(vec![Jb::Num(NumVar::parse("2.00").unwrap())]);
    assert!(decode(&Encoder::payload(&scaled)).unwrap()[0].is_f64());
    // Beyond f64: an error, as for serde_json::from_str.
    for text in ["1e400", "-1e309", "1e100000"] {
        let jb = Jb::Arr(vec![Jb::Num(NumVar::parse(text).unwrap())]);
        assert!(via_text(&jb).is_err(), "{text}");
        let e = decode(&Encoder::payload(&jb)).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::NumberOutOfRange, "{text}");
    }
}

#[test]
fn special_numerics_are_errors() {
    for special in [0xC000u16, 0xD000, 0xF000] {
        let mut image = vec![0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 0x90];
        image.extend((6u32 << 2).to_ne_bytes());
        image.extend(special.to_ne_bytes());
        let e = decode(&image).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::NumberOutOfRange);
        assert_eq!(e.offset, 8);
    }
}

/// A one-element array holding a numeric with this `n_header`,
/// NumericLong weight (if `Some`) and digits, as a hand-built datum.
fn numeric_image(n_header: u16, weight: Option<i16>, digits: &[u16]) -> Vec<u8> {
    let mut datum = n_header.to_ne_bytes().to_vec();
    if let Some(w) = weight {
        datum.extend(w.to_ne_bytes());
    }
    for d in digits {
        datum.extend(d.to_ne_bytes());
    }
    let total = datum.len() as u32 + 4;
    let mut image = (1 | JB_FARRAY).to_ne_bytes().to_vec();
    image.extend((JENTRY_HAS_OFF | JENTRY_ISNUMERIC | total).to_ne_bytes());
    image.extend((total << 2).to_ne_bytes());
    image.extend(datum);
    image
}

#[test]
fn unnormalized_numerics_follow_numeric_out() {
    // make_result never writes these, but numeric_out would print them
    // and serde_json would parse (or reject) the text; so does decode.
    // NumericLong, negative, no digits: "-0" and "-0.00" are f64 -0.0.
    for dscale in [0u16, 2] {
        let image = numeric_image(0x4000 | dscale, Some(0), &[]);
        let x = decode(&image).unwrap()[0].as_f64().unwrap();
        assert!(x == 0.0 && x.is_sign_negative(), "dscale {dscale}");
        let text = if dscale == 0 { "-0" } else { "-0.00" };
        assert_eq!(
            decode(&image).unwrap()[0],
            serde_json::from_str::<Value>(text).unwrap()
        );
    }
    // A leading zero digit would print as "05" or "00000", not JSON.
    for (weight, digits) in [(1i16, &[0u16, 5][..]), (1, &[]), (2, &[0, 0, 1])] {
        let image = numeric_image(0, Some(weight), digits);
        assert_eq!(
            decode(&image).unwrap_err().kind,
            DecodeErrorKind::InvalidNumeric("leading zero digit")
        );
    }
    // Leading zero digits after the point are fine: weight 0, [0, 5],
    // dscale 4 prints "0.0005".
    let image = numeric_image(0x8000 | (4 << 7), None, &[0, 5]);
    assert_eq!(decode(&image).unwrap(), json!([0.0005]));
    // Fractional digits beyond dscale are not printed: "1" with dscale 0.
    let image = numeric_image(0x8000, None, &[1, 5000]);
    assert_eq!(decode(&image).unwrap(), json!([1]));
    // Negative NumericShort weight: 0x40 | 0x3F is -1, so 5000 is 0.5.
    let image = numeric_image(0x8000 | (1 << 7) | 0x7F, None, &[5000]);
    assert_eq!(decode(&image).unwrap(), json!([0.5]));
}

#[test]
fn strides_and_padding() {
    // >32 keys and elements, so several HAS_OFF entries, with numerics
    // after odd-length strings so padding varies.
    let mut object = Map::new();
    for i in 0..100 {
        let value = match i % 6 {
            0 => json!(i),
            1 => json!("x".repeat(i % 7)),
            2 => json!(i as f64 / 8.0),
            3 => json!([i, "ab", null, {"k": -(i as i64)}]),
            4 => json!({"type": "integer", "nullable": i % 2 == 0}),
            _ => Value::Null,
        };
        object.insert(format!("key{}", "k".repeat(i % 5) + &i.to_string()), value);
    }
    let array: Vec<Value> = object.values().cloned().collect();
    check_round_trip(&Value::Object(object.clone()));
    check_round_trip(&Value::Array(array.clone()));
    check_round_trip(&json!({"o": object, "a": array, "": {}, "e": []}));
    check_round_trip(&json!({}));
    check_round_trip(&json!([]));
    check_round_trip(&json!(null));
    check_round_trip(&json!("raw ünïcode 😀"));
    check_round_trip(&json!(true));
    check_round_trip(&json!(-12.25));
}

#[test]
fn depth_limit_matches_serde() {
    for depth in [1usize, 2, 126, 127, 128, 129, 300] {
        let text = "[".repeat(depth) + &"]".repeat(depth);
        let serde = serde_json::from_str::<Value>(&text);
        // `depth` nested arrays.
        let mut jb = Jb::Arr(vec![]);
        for _ in 1..depth {
            jb = Jb::Arr(vec![jb]);
        }
        let ours = decode(&Encoder::payload(&jb));
        assert_eq!(ours.is_ok(), serde.is_ok(), "depth {depth}");
        assert_eq!(ours.is_ok(), depth <= MAX_DEPTH as usize, "depth {depth}");
        if let Err(e) = ours {
            assert_eq!(e.kind, DecodeErrorKind::DepthLimitExceeded);
        }
    }
}

#[test]
fn malformed_examples() {
    use DecodeErrorKind::*;
    let kind = |bytes: &[u8]| decode(bytes).unwrap_err().kind;
    assert_eq!(kind(&[]), Truncated);
    assert_eq!(kind(&[0x01, 0x00, 0x00]), Truncated);
    // Neither array nor object; both; scalar flag on an object; scalar
    // pseudo-array with two elements.
    assert!(matches!(kind(&[0, 0, 0, 0]), InvalidContainerHeader(_)));
    assert!(matches!(kind(&[0, 0, 0, 0x60]), InvalidContainerHeader(_)));
    assert!(matches!(kind(&[1, 0, 0, 0x30]), InvalidContainerHeader(_)));
    assert!(matches!(kind(&[2, 0, 0, 0x50]), InvalidContainerHeader(_)));
    // JEntry array longer than the data.
    assert_eq!(kind(&[2, 0, 0, 0x40, 0, 0, 0, 0x40]), Truncated);
    // Child end past the data region.
    assert_eq!(
        kind(&[1, 0, 0, 0x40, 5, 0, 0, 0x80, b'a']),
        InvalidChildRange
    );
    // HAS_OFF end offset before the child's start.
    let mut bad = ARR_TRUE_NULL_X;
    bad[12..16].copy_from_slice(&[0x00, 0x00, 0x00, 0x80]);
    bad[4..8].copy_from_slice(&[0x01, 0x00, 0x00, 0x80]);
    assert_eq!(kind(&bad), InvalidChildRange);
    // Unknown JEntry type.
    let mut bad = ARR_TRUE_NULL_X;
    bad[11] = 0x60;
    assert!(matches!(kind(&bad), InvalidJEntry(_)));
    // Non-string key.
    let mut bad = OBJ_A_1;
    bad[7] = 0xC0; // NULL | HAS_OFF
    assert!(matches!(kind(&bad), NonStringKey(_)));
    // Invalid UTF-8.
    let mut bad = ARR_TRUE_NULL_X;
    bad[16] = 0xFF;
    assert_eq!(kind(&bad), InvalidUtf8);
    // Numeric digit >= NBASE, odd digit bytes, varlena longer than the
    // child, compressed numeric.
    let mut bad = RAW_5;
    bad[14..16].copy_from_slice(&10_000u16.to_ne_bytes());
    assert_eq!(kind(&bad), InvalidNumeric("digit out of range"));
    let mut bad = RAW_5;
    bad[8] = 7 << 2;
    assert_eq!(kind(&bad), InvalidNumeric("odd digit bytes"));
    let mut bad = RAW_5;
    bad[8] = 9 << 2;
    assert_eq!(kind(&bad), Truncated);
    let mut bad = RAW_5;
    bad[8] = (8 << 2) | 2;
    assert_eq!(kind(&bad), UnsupportedVarlena("compressed"));
    // decode_varlena: external pointer, compressed, length too long.
    assert!(matches!(
        decode_varlena(&[0x01, 0x12, 0, 0]).unwrap_err().kind,
        UnsupportedVarlena(_)
    ));
    assert!(matches!(
        decode_varlena(&[0x12, 0, 0, 0]).unwrap_err().kind,
        UnsupportedVarlena(_)
    ));
    assert_eq!(
        decode_varlena(&[0x40, 0, 0, 0]).unwrap_err().kind,
        Truncated
    );
    // Error offsets of decode_varlena count its header.
    let mut image = vec![0; 4];
    image.extend(ARR_TRUE_NULL_X);
    image[0] = (image.len() as u8) << 2;
    image[20] = 0xFF;
    assert_eq!(
        decode_varlena(&image).unwrap_err(),
        DecodeError {
            offset: 20,
            kind: InvalidUtf8
        }
    );
    assert!(decode_varlena(&image)
        .unwrap_err()
        .to_string()
        .contains("byte 20"));
}

// ---------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Decimals like 1.5, -0.001, 123.456789.
        (-1_000_000_000i64..1_000_000_000, 1i32..10)
            .prop_map(|(m, k)| json!(m as f64 / 10f64.powi(k))),
        prop::sample::select(vec![
            "1.5",
            "0.001",
            "123456789012345678",
            "1e20",
            "-1e20",
            "1e-7",
            "18446744073709551616",
            "-9223372036854775809",
        ])
        .prop_map(|t| serde_json::from_str::<Value>(t).unwrap()),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,12}",
        any::<String>(),
        "[\\u{0080}-\\u{10FFFF}]{0,6}",
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 256, 48, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..48).prop_map(Value::Array),
            prop::collection::btree_map(arb_string(), inner, 0..48)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(value in arb_value()) {
        check_round_trip(&value);
    }

    /// Any finite f64: the decoder agrees with the text path exactly.
    #[test]
    fn floats_match_text_path(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        let jb = Jb::from_value(&json!([x, -x, {"v": x}]));
        let decoded = decode(&Encoder::payload(&jb)).unwrap();
        prop_assert_eq!(decoded, via_text(&jb).unwrap());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
        let _ = decode_varlena(&bytes);
    }

    /// Random bytes behind a plausible header, so decoding gets past it.
    #[test]
    fn random_bodies_never_panic(
        flags in prop::sample::select(vec![JB_FARRAY, JB_FOBJECT, JB_FARRAY | JB_FSCALAR]),
        count in 0u32..12,
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = (count | flags).to_ne_bytes().to_vec();
        bytes.extend(body);
        let _ = decode(&bytes);
    }

    /// Every strict prefix of a valid image is rejected, and corrupting
    /// it anywhere never panics.
    #[test]
    fn truncated_and_corrupted(
        value in arb_value(),
        corruptions in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let payload = Encoder::payload(&Jb::from_value(&value));
        prop_assert!(decode(&payload).is_ok());
        for len in 0..payload.len() {
            prop_assert!(decode(&payload[..len]).is_err(), "prefix {} of {}", len, payload.len());
        }
        let mut corrupt = payload.clone();
        for (index, byte) in &corruptions {
            let i = index.index(corrupt.len());
            corrupt[i] = *byte;
        }
        let _ = decode(&corrupt);
        // Corrupt a whole JEntry-sized word too.
        let mut corrupt = payload;
        let (index, byte) = corruptions[0];
        let i = index.index(corrupt.len()) & !3;
        let end = (i + 4).min(corrupt.len());
        for b in &mut corrupt[i..end] {
            *b ^= byte | 0x80;
        }
        let _ = decode(&corrupt);
    }
}
