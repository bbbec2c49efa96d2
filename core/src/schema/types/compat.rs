//! Lossless type changes. See `COMPATIBILITY_TABLE_DOC` for the table in prose.

use super::parse::{parse_type, SqlType};

/// Is changing a field from `old` to `new` a lossless widening, i.e. does
/// every value of `old` survive unchanged as a value of `new`? Unknown or
/// malformed type names give `false`; this never panics.
pub fn is_type_compatible(old: &str, new: &str) -> bool {
    match (parse_type(old), parse_type(new)) {
        (Some(o), Some(n)) => compatible(&o, &n),
        _ => false,
    }
}

/// [`is_type_compatible`] on parsed types. The relation is reflexive and
/// transitive (a test checks both), so chains like `smallint → integer →
/// bigint → numeric` need no extra entries.
pub fn compatible(old: &SqlType, new: &SqlType) -> bool {
    use SqlType::*;
    if old == new {
        return true;
    }
    match (old, new) {
        (o, n) if int_rank(o).is_some() && int_rank(n).is_some() => int_rank(o) <= int_rank(n),
        (o, Numeric(target)) if int_rank(o).is_some() => fits_numeric(int_digits(o), *target),
        (SmallInt, Real | Double) | (Integer, Double) | (Real, Double) => true,
        (Numeric(Some((p, s))), Numeric(target)) => {
            fits_numeric(p.saturating_sub(*s), *target) && target.is_none_or(|(_, s2)| s2 >= *s)
        }
        (Varchar(_) | Char(_), Text | Varchar(None)) | (Text, Varchar(None)) => true,
        (Varchar(Some(n)) | Char(Some(n)), Varchar(Some(m))) => m >= n,
        (Char(Some(n)), Char(m)) => m.is_none_or(|m| m >= *n),
        (Date, Timestamp(_) | TimestampTz(_)) => true,
        (Timestamp(p), Timestamp(q) | TimestampTz(q)) | (TimestampTz(p), TimestampTz(q)) => {
            prec_le(*p, *q)
        }
        (Time(p), Time(q)) | (TimeTz(p), TimeTz(q)) => prec_le(*p, *q),
        (Json, Jsonb) => true,
        (Array(a), Array(b)) => compatible(a, b),
        _ => false,
    }
}

fn int_rank(t: &SqlType) -> Option<u8> {
    match t {
        SqlType::SmallInt => Some(1),
        SqlType::Integer => Some(2),
        SqlType::BigInt => Some(3),
        _ => None,
    }
}

/// Decimal digits needed by the largest value of an integer type.
fn int_digits(t: &SqlType) -> u32 {
    match t {
        SqlType::SmallInt => 5,
        SqlType::Integer => 10,
        _ => 19,
    }
}

/// Does a `numeric` target keep `int_digits` digits before the point?
fn fits_numeric(int_digits: u32, target: Option<(u32, u32)>) -> bool {
    target.is_none_or(|(p, s)| p.saturating_sub(s) >= int_digits)
}

/// Fractional-second precision; absent means Postgres' default of 6.
fn prec_le(p: Option<u32>, q: Option<u32>) -> bool {
    p.unwrap_or(6) <= q.unwrap_or(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[&str] = &[
        "smallint",
        "integer",
        "bigint",
        "numeric",
        "numeric(5,0)",
        "numeric(6,1)",
        "numeric(10,2)",
        "numeric(12,2)",
        "numeric(19,0)",
        "numeric(25,4)",
        "real",
        "double precision",
        "text",
        "varchar",
        "varchar(5)",
        "varchar(10)",
        "char(5)",
        "char(10)",
        "bpchar",
        "boolean",
        "date",
        "timestamp",
        "timestamp(3)",
        "timestamptz",
        "timestamptz(3)",
        "time",
        "time(3)",
        "timetz",
        "interval",
        "json",
        "jsonb",
        "uuid",
        "bytea",
        "integer[]",
        "bigint[]",
        "text[]",
    ];

    #[test]
    fn seed_pairs_and_aliases() {
        assert!(is_type_compatible("integer", "bigint"));
        assert!(is_type_compatible("varchar", "text"));
        assert!(is_type_compatible("timestamp", "timestamptz"));
        assert!(is_type_compatible("INT4", "int8"));
        assert!(is_type_compatible("string", "text"));
    }

    #[test]
    fn narrowing_and_unknown_are_incompatible() {
        let no = [
            ("bigint", "integer"),
            ("varchar(20)", "varchar(10)"),
            ("numeric", "numeric(10,2)"),
            ("numeric(10,2)", "numeric(10,3)"),
            ("integer", "real"),
            ("bigint", "double precision"),
            ("integer", "text"),
            ("timestamptz", "timestamp"),
            ("time", "timetz"),
            ("text", "varchar(10)"),
            ("jsonb", "json"),
            ("integer", "numeric(9,0)"),
            ("varchar", "varchar(10)"),
            ("widget", "widget"),
            ("", ""),
            ("bpchar", "varchar(5)"),
        ];
        for (o, n) in no {
            assert!(!is_type_compatible(o, n), "{o} -> {n}");
        }
    }

    #[test]
    fn reflexive_and_transitive_over_sample() {
        let types: Vec<SqlType> = SAMPLE.iter().map(|s| parse_type(s).expect(s)).collect();
        for a in &types {
            assert!(compatible(a, a), "{a}");
            for b in &types {
                for c in &types {
                    if compatible(a, b) && compatible(b, c) {
                        assert!(compatible(a, c), "{a} -> {b} -> {c}");
                    }
                }
            }
        }
    }
}
