//! Does a JSON value fit a declared type? Used to check defaults and content.

use super::parse::{parse_type, SqlType};
use serde_json::Value;

/// `true` if `value` is an acceptable JSON representation of `type_name`.
///
/// `null` never fits: whether null is allowed is the field's `nullable`, which
/// the caller checks. Unknown type names (custom domains, extensions' types)
/// accept any non-null value: we cannot tell, and refusing would block users.
pub fn value_fits_type(value: &Value, type_name: &str) -> bool {
    match parse_type(type_name) {
        Some(t) => value_fits(value, &t),
        None => !value.is_null(),
    }
}

/// [`value_fits_type`] on a parsed type.
pub fn value_fits(value: &Value, t: &SqlType) -> bool {
    use SqlType::*;
    match (t, value) {
        (_, Value::Null) => false,
        (SmallInt, Value::Number(n)) => int_in(n, i16::MIN.into(), i16::MAX.into()),
        (Integer, Value::Number(n)) => int_in(n, i32::MIN.into(), i32::MAX.into()),
        (BigInt, Value::Number(n)) => int_in(n, i64::MIN, i64::MAX),
        (Numeric(None) | Double, Value::Number(_)) => true,
        (Numeric(Some((p, s))), Value::Number(n)) => integer_digits(n) <= p.saturating_sub(*s),
        (Real, Value::Number(n)) => n.as_f64().is_some_and(|f| f.abs() <= f32::MAX as f64),
        (Text | Varchar(None) | Char(None) | Interval | Bytea, Value::String(_)) => true,
        (Varchar(Some(max)) | Char(Some(max)), Value::String(s)) => {
            s.chars().count() <= *max as usize
        }
        (Boolean, Value::Bool(_)) => true,
        (Date, Value::String(s)) => is_date(s),
        (Timestamp(_) | TimestampTz(_), Value::String(s)) => is_timestamp(s),
        (Time(_) | TimeTz(_), Value::String(s)) => full(s, |b| zone(time(b)?)),
        (Json | Jsonb, _) => true,
        (Uuid, Value::String(s)) => is_uuid(s),
        (Array(elem), Value::Array(items)) => {
            items.iter().all(|v| v.is_null() || value_fits(v, elem))
        }
        _ => false,
    }
}

/// JSON equality where numbers compare by value (`1` = `1.0`), as in jsonb.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// Integral (`5` or `5.0`) and within `[min, max]`.
fn int_in(n: &serde_json::Number, min: i64, max: i64) -> bool {
    if let Some(i) = n.as_i64() {
        return (min..=max).contains(&i);
    }
    if n.is_u64() {
        return false; // larger than i64::MAX
    }
    n.as_f64()
        .is_some_and(|f| f.fract() == 0.0 && f >= min as f64 && f <= max as f64)
}

/// Number of decimal digits before the point.
fn integer_digits(n: &serde_json::Number) -> u32 {
    let f = n.as_f64().unwrap_or(0.0).abs().trunc();
    if f < 1.0 {
        0
    } else {
        f.log10().floor() as u32 + 1
    }
}

fn is_uuid(s: &str) -> bool {
    let s = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(s);
    let b = s.as_bytes();
    match b.len() {
        32 => b.iter().all(u8::is_ascii_hexdigit),
        36 => b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        }),
        _ => false,
    }
}

fn is_date(s: &str) -> bool {
    matches!(s, "infinity" | "-infinity") || full(s, date)
}

/// `YYYY-MM-DD`, optionally followed by `T`/space and a time with an optional zone.
fn is_timestamp(s: &str) -> bool {
    matches!(s, "infinity" | "-infinity")
        || full(s, |b| {
            let rest = date(b)?;
            match rest.split_first() {
                Some((b'T' | b't' | b' ', t)) => zone(time(t)?),
                _ => Some(rest),
            }
        })
}

fn full(s: &str, p: impl Fn(&[u8]) -> Option<&[u8]>) -> bool {
    p(s.as_bytes()).is_some_and(<[u8]>::is_empty)
}

fn num(b: &[u8], n: usize) -> Option<(u32, &[u8])> {
    let digits = b.get(..n)?;
    digits.iter().all(u8::is_ascii_digit).then(|| {
        let v = digits
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        (v, &b[n..])
    })
}

fn lit(b: &[u8], c: u8) -> Option<&[u8]> {
    b.strip_prefix(&[c])
}

fn date(b: &[u8]) -> Option<&[u8]> {
    let (y, b) = num(b, 4)?;
    let (m, b) = num(lit(b, b'-')?, 2)?;
    let (d, b) = num(lit(b, b'-')?, 2)?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    (1..=days).contains(&d).then_some(b)
}

/// `HH:MM[:SS[.fff]]`; 24:00:00 and leap second 60 are allowed, as in Postgres.
fn time(b: &[u8]) -> Option<&[u8]> {
    let (h, b) = num(b, 2)?;
    let (mi, mut b) = num(lit(b, b':')?, 2)?;
    if h > 24 || mi > 59 {
        return None;
    }
    if let Some(rest) = lit(b, b':') {
        let (sec, rest) = num(rest, 2)?;
        b = if sec > 60 { return None } else { rest };
        if let Some(frac) = lit(b, b'.') {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            b = if n == 0 { return None } else { &frac[n..] };
        }
    }
    Some(b)
}

/// Optional zone: `Z`, `+HH`, `+HH:MM`, `+HHMM` (also after one space).
fn zone(b: &[u8]) -> Option<&[u8]> {
    let b = lit(b, b' ').unwrap_or(b);
    match b.split_first() {
        None => Some(b),
        Some((b'Z' | b'z', rest)) => Some(rest),
        Some((b'+' | b'-', rest)) => {
            let (h, rest) = num(rest, 2)?;
            let rest = lit(rest, b':').unwrap_or(rest);
            let rest = if rest.is_empty() {
                rest
            } else {
                num(rest, 2)?.1
            };
            (h <= 15).then_some(rest)
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fits() {
        let yes = [
            (json!(5), "smallint"),
            (json!(5.0), "integer"),
            (json!(-2147483648i64), "int4"),
            (json!(9223372036854775807i64), "bigint"),
            (json!(1.5), "numeric"),
            (json!(99.99), "numeric(4,2)"),
            (json!(1e30), "double precision"),
            (json!("ab"), "varchar(2)"),
            (json!("é"), "char(1)"),
            (json!("x"), "text"),
            (json!(true), "bool"),
            (json!({"a": 1}), "jsonb"),
            (json!([1]), "json"),
            (json!("123e4567-e89b-12d3-a456-426614174000"), "uuid"),
            (json!("{123E4567E89B12D3A456426614174000}"), "uuid"),
            (json!("2024-02-29"), "date"),
            (json!("2024-01-31T10:20:30.5Z"), "timestamptz"),
            (json!("2024-01-31 10:20"), "timestamp"),
            (json!("2024-01-31T10:20:30+05:30"), "timestamptz"),
            (json!("2024-01-31"), "timestamp"),
            (json!("infinity"), "timestamptz"),
            (json!("23:59:60"), "time"),
            (json!("10:00+02"), "timetz"),
            (json!([1, null, 2]), "integer[]"),
            (json!("anything"), "my_domain"),
        ];
        for (v, t) in yes {
            assert!(value_fits_type(&v, t), "{v} should fit {t}");
        }
    }

    #[test]
    fn same_value_compares_numbers_by_value() {
        assert!(same_value(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!same_value(&json!([1]), &json!([1, 1])));
        assert!(!same_value(&json!("1"), &json!(1)));
    }

    #[test]
    fn does_not_fit() {
        let no = [
            (json!(32768), "smallint"),
            (json!(1.5), "integer"),
            (json!(u64::MAX), "bigint"),
            (json!("5"), "integer"),
            (json!(100.0), "numeric(4,2)"),
            (json!(5), "text"),
            (json!("abc"), "varchar(2)"),
            (json!(1), "boolean"),
            (json!("not-a-uuid"), "uuid"),
            (json!("2023-02-29"), "date"),
            (json!("2024-13-01"), "date"),
            (json!("2024-01-01T25:00"), "timestamp"),
            (json!("2024-01-01T10:00 PST8"), "timestamptz"),
            (json!("2024-1-1"), "date"),
            (json!("10:61"), "time"),
            (json!(["x"]), "integer[]"),
            (json!(null), "text"),
            (json!(null), "my_domain"),
            (json!(1e39), "real"),
        ];
        for (v, t) in no {
            assert!(!value_fits_type(&v, t), "{v} should not fit {t}");
        }
    }
}
