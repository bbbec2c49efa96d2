//! Type-name parsing: many spellings in, one canonical `SqlType` out.

use std::fmt;

/// A type we understand. Modifiers (`varchar(20)`, `numeric(10,2)`,
/// `timestamp(3)`) are kept; `None` means "no modifier".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    SmallInt,
    Integer,
    BigInt,
    /// `(precision, scale)`; `numeric(p)` is `numeric(p,0)`.
    Numeric(Option<(u32, u32)>),
    Real,
    Double,
    Text,
    Varchar(Option<u32>),
    /// `char`/`character`/`bpchar`; without a length it is unbounded `bpchar`.
    Char(Option<u32>),
    Boolean,
    Date,
    Timestamp(Option<u32>),
    TimestampTz(Option<u32>),
    Time(Option<u32>),
    TimeTz(Option<u32>),
    Interval,
    Json,
    Jsonb,
    Uuid,
    Bytea,
    Array(Box<SqlType>),
}

/// Canonical (Postgres `format_type`-style) spelling, or `None` if unknown.
pub fn normalize_type(name: &str) -> Option<String> {
    parse_type(name).map(|t| t.to_string())
}

/// Parse a type name: case-insensitive, whitespace-tolerant, with aliases
/// (`int4`, `float8`, `timestamptz`, ...) and the JSON-ish names used in
/// schema documents (`string`, `number`, `object`, `array`).
pub fn parse_type(name: &str) -> Option<SqlType> {
    // Most names are already clean (`integer`, `varchar(20)`): skip the copy.
    let tidy = name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"(),[]_".contains(&c));
    if tidy {
        parse_cleaned(name)
    } else {
        parse_cleaned(&clean(name))
    }
}

/// Postgres's own limit on array dimensions (MAXDIM).
const MAX_ARRAY_DIMS: usize = 6;

fn parse_cleaned(s: &str) -> Option<SqlType> {
    // `[]` suffixes are counted in a loop, and at most MAXDIM of them make a type: one
    // frame per suffix let `text` followed by 100,000 `[]` overflow the stack (found by
    // tests/fuzz.rs), in a backend a crash
    let mut scalar = s;
    let mut dims = 0;
    while let Some(elem) = scalar.strip_suffix("[]") {
        scalar = elem;
        dims += 1;
        if dims > MAX_ARRAY_DIMS {
            return None;
        }
    }
    let mut t = parse_scalar(scalar)?;
    for _ in 0..dims {
        t = SqlType::Array(Box::new(t));
    }
    Some(t)
}

fn parse_scalar(s: &str) -> Option<SqlType> {
    let Some(open) = s.find('(') else {
        return if s.contains(')') {
            None
        } else {
            build(s, None)
        };
    };
    // Split "timestamp(3) with time zone" into base "timestamp with time zone" and "3".
    let close = open + s[open..].find(')')?;
    let (head, rest) = (&s[..open], s[close + 1..].trim());
    let mut buf = [0; 2];
    let mods = parse_mods(&s[open + 1..close], &mut buf)?;
    if rest.is_empty() {
        build(head, Some(mods))
    } else {
        build(&format!("{head} {rest}"), Some(mods))
    }
}

fn build(base: &str, mods: Option<&[u32]>) -> Option<SqlType> {
    use SqlType::*;
    let t = match (base, mods) {
        ("smallint" | "int2" | "smallserial" | "serial2", None) => SmallInt,
        ("integer" | "int" | "int4" | "serial" | "serial4", None) => Integer,
        ("bigint" | "int8" | "bigserial" | "serial8", None) => BigInt,
        ("numeric" | "decimal" | "number", None) => Numeric(None),
        ("numeric" | "decimal", Some(&[p])) if (1..=1000).contains(&p) => Numeric(Some((p, 0))),
        ("numeric" | "decimal", Some(&[p, s])) if (1..=1000).contains(&p) && s <= p => {
            Numeric(Some((p, s)))
        }
        ("real" | "float4", None) => Real,
        ("double precision" | "float8" | "float", None) => Double,
        ("float", Some(&[p])) if (1..=24).contains(&p) => Real,
        ("float", Some(&[p])) if (25..=53).contains(&p) => Double,
        ("text" | "string", None) => Text,
        ("varchar" | "character varying", m) => Varchar(length(m)?),
        ("char" | "character" | "bpchar", m) => Char(length(m)?),
        ("boolean" | "bool", None) => Boolean,
        ("date", None) => Date,
        ("timestamp" | "timestamp without time zone", m) => Timestamp(precision(m)?),
        ("timestamptz" | "timestamp with time zone", m) => TimestampTz(precision(m)?),
        ("time" | "time without time zone", m) => Time(precision(m)?),
        ("timetz" | "time with time zone", m) => TimeTz(precision(m)?),
        ("interval", None) => Interval,
        ("json", None) => Json,
        ("jsonb" | "object" | "array", None) => Jsonb,
        ("uuid", None) => Uuid,
        ("bytea", None) => Bytea,
        _ => return None,
    };
    Some(t)
}

/// `Some(None)` = no modifier, `Some(Some(n))` = valid length, `None` = invalid.
fn length(mods: Option<&[u32]>) -> Option<Option<u32>> {
    match mods {
        None => Some(None),
        Some(&[n]) if (1..=10_485_760).contains(&n) => Some(Some(n)),
        _ => None,
    }
}

fn precision(mods: Option<&[u32]>) -> Option<Option<u32>> {
    match mods {
        None => Some(None),
        Some(&[p]) if p <= 6 => Some(Some(p)),
        _ => None,
    }
}

/// At most two numbers (`numeric(p,s)`); no allocation, this runs per diff.
fn parse_mods<'b>(s: &str, buf: &'b mut [u32; 2]) -> Option<&'b [u32]> {
    let mut n = 0;
    for part in s.split(',') {
        *buf.get_mut(n)? = part.trim().parse().ok()?;
        n += 1;
    }
    Some(&buf[..n])
}

/// Lower-case, collapse runs of whitespace, drop spaces around `(`, `)`, `,`, `[`, `]`.
fn clean(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_space = false;
    for c in name.trim().chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        let punct = matches!(c, '(' | ')' | ',' | '[' | ']');
        if pending_space && !punct && !out.ends_with(['(', ',', '[']) {
            out.push(' ');
        }
        pending_space = false;
        out.extend(c.to_lowercase());
    }
    out
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SqlType::*;
        let with_zone =
            |f: &mut fmt::Formatter<'_>, base: &str, p: &Option<u32>, zone: &str| match p {
                Some(p) => write!(f, "{base}({p}) {zone}"),
                None => write!(f, "{base} {zone}"),
            };
        match self {
            SmallInt => f.write_str("smallint"),
            Integer => f.write_str("integer"),
            BigInt => f.write_str("bigint"),
            Numeric(None) => f.write_str("numeric"),
            Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            Real => f.write_str("real"),
            Double => f.write_str("double precision"),
            Text => f.write_str("text"),
            Varchar(None) => f.write_str("character varying"),
            Varchar(Some(n)) => write!(f, "character varying({n})"),
            Char(None) => f.write_str("bpchar"),
            Char(Some(n)) => write!(f, "character({n})"),
            Boolean => f.write_str("boolean"),
            Date => f.write_str("date"),
            Timestamp(p) => with_zone(f, "timestamp", p, "without time zone"),
            TimestampTz(p) => with_zone(f, "timestamp", p, "with time zone"),
            Time(p) => with_zone(f, "time", p, "without time zone"),
            TimeTz(p) => with_zone(f, "time", p, "with time zone"),
            Interval => f.write_str("interval"),
            Json => f.write_str("json"),
            Jsonb => f.write_str("jsonb"),
            Uuid => f.write_str("uuid"),
            Bytea => f.write_str("bytea"),
            Array(t) => write!(f, "{t}[]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_normalise_to_one_name() {
        let groups: &[(&str, &[&str])] = &[
            ("integer", &["int", "INT4", " Integer ", "serial"]),
            ("bigint", &["int8", "BIGINT"]),
            ("smallint", &["int2"]),
            (
                "double precision",
                &["float8", "Double   Precision", "float", "float(53)"],
            ),
            ("real", &["float4", "float(10)"]),
            ("character varying", &["varchar", "CHARACTER VARYING"]),
            (
                "character varying(20)",
                &["varchar(20)", "VARCHAR ( 20 )", "character varying(20)"],
            ),
            ("bpchar", &["char", "character"]),
            ("character(3)", &["char(3)", "bpchar(3)"]),
            ("boolean", &["bool"]),
            (
                "timestamp with time zone",
                &["timestamptz", "TIMESTAMP WITH TIME ZONE"],
            ),
            ("timestamp without time zone", &["timestamp"]),
            (
                "timestamp(3) with time zone",
                &["timestamptz(3)", "timestamp (3) with time zone"],
            ),
            ("numeric", &["decimal", "number"]),
            ("numeric(10,2)", &["decimal(10, 2)", "NUMERIC(10,2)"]),
            ("numeric(10,0)", &["numeric(10)"]),
            ("text", &["string", "TEXT"]),
            ("jsonb", &["object", "array", "JSONB"]),
            ("time with time zone", &["timetz"]),
            ("integer[]", &["int4[]", "int []"]),
        ];
        for (canonical, aliases) in groups {
            assert_eq!(normalize_type(canonical).as_deref(), Some(*canonical));
            for a in *aliases {
                assert_eq!(normalize_type(a).as_deref(), Some(*canonical), "{a}");
            }
        }
    }

    #[test]
    fn rejects_unknown_and_malformed() {
        for bad in [
            "numeric(1,2,3)",
            "int)",
            "",
            "widget",
            "varchar(0)",
            "varchar(x)",
            "numeric(2,3)",
            "integer(4)",
            "varchar(",
            "time(7)",
        ] {
            assert_eq!(parse_type(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod found_by_fuzzing {
    use super::parse_cleaned;

    #[test]
    fn array_suffixes_are_counted_not_recursed() {
        assert!(parse_cleaned("text[][]").is_some());
        assert!(parse_cleaned(&format!("text{}", "[]".repeat(6))).is_some());
        assert!(parse_cleaned(&format!("text{}", "[]".repeat(7))).is_none());
        // one frame per suffix overflowed the stack here
        assert!(parse_cleaned(&format!("text{}", "[]".repeat(100_000))).is_none());
    }
}
