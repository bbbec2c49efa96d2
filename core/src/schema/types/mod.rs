//! Type names: normalisation, the compatibility table, and value checks.
//!
//! - [`parse_type`] / [`normalize_type`]: `INT4`, `int`, `integer` and the
//!   JSON-ish `integer` all become [`SqlType::Integer`], printed `integer`.
//! - [`is_type_compatible`]: is `old → new` a lossless widening?
//! - [`value_fits_type`]: does a JSON value fit a declared type?

mod compat;
mod parse;
mod values;

pub use compat::{compatible, is_type_compatible};
pub use parse::{normalize_type, parse_type, SqlType};
pub use values::{same_value, value_fits, value_fits_type};

/// The compatibility table, declared once: it is both the doc comment of
/// [`COMPATIBILITY_TABLE_DOC`] and its value, and a test checks every row
/// against [`is_type_compatible`].
macro_rules! compatibility_table {
    () => {
        "| From (old) | To (new) | Why it is lossless |
|---|---|---|
| any type | the same type | identity (after normalisation: `int4` = `integer`) |
| `smallint` | `integer`, `bigint` | wider integer |
| `integer` | `bigint` | wider integer (transitively `smallint` → `bigint`) |
| `smallint` | `numeric(p,s)` with p-s ≥ 5, `numeric` | every smallint has at most 5 digits |
| `integer` | `numeric(p,s)` with p-s ≥ 10, `numeric` | every integer has at most 10 digits |
| `bigint` | `numeric(p,s)` with p-s ≥ 19, `numeric` | every bigint has at most 19 digits |
| `smallint` | `real`, `double precision` | 16 bits fit a 24-bit mantissa |
| `integer` | `double precision` | 32 bits fit a 53-bit mantissa |
| `real` | `double precision` | wider float |
| `numeric(p,s)` | `numeric(p2,s2)` with s2 ≥ s and p2-s2 ≥ p-s | no digit lost on either side of the point |
| `numeric(p,s)` | `numeric` | unbounded |
| `varchar(n)` | `varchar(m)` with m ≥ n, `varchar`, `text` | longer or no limit |
| `varchar` | `text` | same values, no limit |
| `text` | `varchar` | `varchar` without a length is `text` |
| `char(n)` | `char(m)` with m ≥ n, `char`, `varchar(m)` with m ≥ n, `varchar`, `text` | only the blank padding changes |
| `date` | `timestamp`, `timestamptz` | midnight of that date |
| `timestamp(p)` | `timestamp(q)`, `timestamptz(q)` with q ≥ p | seed rule; read in the session time zone |
| `timestamptz(p)` | `timestamptz(q)` with q ≥ p | more fractional digits |
| `time(p)` / `timetz(p)` | the same kind with q ≥ p | more fractional digits |
| `json` | `jsonb` | same document (jsonb drops duplicate keys and whitespace) |
| `T[]` | `U[]` | when `T` → `U` is lossless |

Everything else is incompatible, in particular:
- narrowing (`bigint` → `integer`, `varchar(20)` → `varchar(10)`, `numeric` → `numeric(10,2)`);
- `integer`/`bigint` → `real`, `bigint` → `double precision` (mantissa too short);
- any type → `text`: Postgres can cast it, but the stored JSON changes shape
  (the number `5` is not the string `\"5\"`), so readers break;
- `time` ↔ `timetz`, `timestamptz` → `timestamp` (the zone is lost);
- unknown type names (never a panic, always `false`).

Numbers: an unbounded `numeric` has no limit; `timestamp`, `time` without a
precision have 6 fractional digits; `char`/`character`/`bpchar` without a length
are treated as unbounded `bpchar`."
    };
}

/// Markdown text of the type-compatibility table, ready for
/// `docs/type-compatibility.md`:
///
#[doc = compatibility_table!()]
pub const COMPATIBILITY_TABLE_DOC: &str = compatibility_table!();

#[cfg(test)]
mod tests {
    use super::*;

    /// Every concrete pair named in a table row must be compatible.
    #[test]
    fn table_rows_agree_with_is_type_compatible() {
        let rows = [
            ("smallint", "integer"),
            ("smallint", "bigint"),
            ("integer", "bigint"),
            ("smallint", "numeric(5,0)"),
            ("integer", "numeric(12,2)"),
            ("bigint", "numeric(19)"),
            ("bigint", "numeric"),
            ("smallint", "real"),
            ("smallint", "double precision"),
            ("integer", "double precision"),
            ("real", "double precision"),
            ("numeric(10,2)", "numeric(12,4)"),
            ("numeric(10,2)", "numeric"),
            ("varchar(10)", "varchar(20)"),
            ("varchar(10)", "varchar"),
            ("varchar(10)", "text"),
            ("varchar", "text"),
            ("text", "varchar"),
            ("char(5)", "char(6)"),
            ("char(5)", "bpchar"),
            ("char(5)", "varchar(5)"),
            ("char(5)", "varchar"),
            ("char(5)", "text"),
            ("date", "timestamp"),
            ("date", "timestamptz"),
            ("timestamp", "timestamptz"),
            ("timestamp(3)", "timestamp(6)"),
            ("timestamptz(0)", "timestamptz"),
            ("time(2)", "time"),
            ("timetz(2)", "timetz(4)"),
            ("json", "jsonb"),
            ("integer[]", "bigint[]"),
        ];
        for (old, new) in rows {
            assert!(is_type_compatible(old, new), "{old} -> {new}");
        }
        assert!(COMPATIBILITY_TABLE_DOC.starts_with("| From (old) |"));
    }
}
