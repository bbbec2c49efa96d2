//! Which `ALTER COLUMN ... TYPE` changes PostgreSQL does without rewriting the
//! table.
//!
//! PostgreSQL skips the rewrite when the cast is binary-coercible and any
//! length coercion is a no-op its support function can prove
//! (`ATColumnChangeRequiresRewrite`, `varchar_support`, `numeric_support`,
//! `timestamp_support`). The list follows strong_migrations' table of safe
//! changes. Anything not listed is assumed to rewrite: a false alarm costs a
//! review, a missed rewrite costs an outage.
//!
//! `char(n) -> text` is NOT listed although it looks like a widening: the
//! `bpchar -> text` cast is a function (it strips trailing blanks), so every
//! row is rewritten.

/// Cost of a column type change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeChange {
    /// Catalog-only change (a brief ACCESS EXCLUSIVE lock, no rewrite).
    NoRewrite,
    /// `timestamp <-> timestamptz`: no rewrite on PostgreSQL 12+ only when the
    /// session TimeZone is UTC; otherwise every value shifts and is rewritten.
    NoRewriteIfUtc,
    /// The table and its indexes are rewritten under ACCESS EXCLUSIVE.
    Rewrite,
}

/// Classify a change from `old` to `new` (types as `format_type` or the
/// statement spells them: "character varying(20)", "numeric(10,2)", "text[]").
pub fn classify_type_change(old: &str, new: &str) -> TypeChange {
    classify_type_change_with(old, new, None)
}

/// The same, with what the catalog says: `binary_coercible` is `pg_cast`'s verdict
/// for the two base types (`castmethod = 'b'`, e.g. `text -> citext`, a domain to its
/// base type). A binary-coercible cast to a type without modifiers is a relabel, so no
/// rewrite, whatever the list below knows; with modifiers the length coercion must be
/// provably a no-op, which only the same-type rules can tell.
pub fn classify_type_change_with(
    old: &str,
    new: &str,
    binary_coercible: Option<bool>,
) -> TypeChange {
    let (old, new) = (PgType::parse(old), PgType::parse(new));
    if binary_coercible == Some(true)
        && old.name != new.name
        && new.mods.is_empty()
        && old.array == new.array
    {
        return TypeChange::NoRewrite;
    }
    if old == new {
        return TypeChange::NoRewrite;
    }
    if old.array || new.array {
        // Element-wise coercion of arrays goes through array_map: rewrite.
        return TypeChange::Rewrite;
    }
    let widened = |old_mods: &[u32], new_mods: &[u32]| match (old_mods, new_mods) {
        (_, []) => true,
        ([o, ..], [n, ..]) => n >= o,
        _ => false,
    };
    let safe = match (old.name.as_str(), new.name.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => widened(&old.mods, &new.mods),
        ("numeric", "numeric") => match (old.mods.as_slice(), new.mods.as_slice()) {
            (_, []) => true,
            ([p, os @ ..], [p2, ns @ ..]) => p2 >= p && scale(os) == scale(ns),
            _ => false,
        },
        ("timestamp", "timestamp")
        | ("timestamptz", "timestamptz")
        | ("time", "time")
        | ("timetz", "timetz")
        | ("interval", "interval") => timestamp_widened(&old.mods, &new.mods),
        ("timestamp", "timestamptz") | ("timestamptz", "timestamp") => {
            return if timestamp_widened(&old.mods, &new.mods) {
                TypeChange::NoRewriteIfUtc
            } else {
                TypeChange::Rewrite
            };
        }
        ("varchar", "text") | ("xml", "text") | ("cidr", "inet") => true,
        ("text", "varchar") => new.mods.is_empty(),
        _ => false,
    };
    if safe {
        TypeChange::NoRewrite
    } else {
        TypeChange::Rewrite
    }
}

fn scale(mods: &[u32]) -> u32 {
    mods.first().copied().unwrap_or(0)
}

/// Fractional-second precision kept or raised (6 is the maximum).
fn timestamp_widened(old: &[u32], new: &[u32]) -> bool {
    match (old.first(), new.first()) {
        (_, None) => true,
        (_, Some(n)) if *n >= 6 => true,
        (Some(o), Some(n)) => n >= o,
        (None, Some(_)) => false,
    }
}

/// A type name reduced to its canonical base name and numeric modifiers.
#[derive(Debug, PartialEq)]
struct PgType {
    name: String,
    mods: Vec<u32>,
    array: bool,
}

impl PgType {
    fn parse(raw: &str) -> PgType {
        let lower = raw.trim().to_ascii_lowercase();
        let array = lower.ends_with("[]");
        let lower = lower.trim_end_matches("[]");
        // Modifiers may sit mid-name: "timestamp(3) with time zone".
        let (mut base, mut mods) = (String::new(), Vec::new());
        let mut rest = lower;
        while let Some(open) = rest.find('(') {
            base.push_str(&rest[..open]);
            let close = rest[open..].find(')').map_or(rest.len(), |c| open + c);
            let inner = &rest[open + 1..close];
            mods.extend(
                inner
                    .split(',')
                    .filter_map(|m| m.trim().parse::<u32>().ok()),
            );
            rest = rest.get(close + 1..).unwrap_or("");
        }
        base.push_str(rest);
        let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
        let base = base.strip_prefix("pg_catalog.").unwrap_or(&base);
        let name = match base {
            "character varying" | "varchar" => "varchar",
            "character" | "char" | "bpchar" => "bpchar",
            "decimal" | "numeric" => "numeric",
            "timestamp" | "timestamp without time zone" => "timestamp",
            "timestamptz" | "timestamp with time zone" => "timestamptz",
            "time" | "time without time zone" => "time",
            "timetz" | "time with time zone" => "timetz",
            "bit varying" | "varbit" => "varbit",
            "int" | "integer" | "int4" => "int4",
            "smallint" | "int2" => "int2",
            "bigint" | "int8" => "int8",
            "boolean" | "bool" => "bool",
            "double precision" | "float8" => "float8",
            "real" | "float4" => "float4",
            other => other,
        };
        PgType {
            name: name.to_string(),
            mods,
            array,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TypeChange::*;
    use super::*;

    #[test]
    fn widening_and_relabelling_do_not_rewrite() {
        for (old, new) in [
            ("varchar(10)", "varchar(20)"),
            ("character varying(10)", "varchar"),
            ("varchar(10)", "text"),
            ("text", "character varying"),
            ("numeric(10,2)", "numeric(12,2)"),
            ("numeric(10,2)", "numeric"),
            ("decimal(10)", "numeric(11,0)"),
            ("cidr", "inet"),
            ("integer", "int4"),
            ("text[]", "text[]"),
            ("timestamp(3)", "timestamp(6)"),
            ("time(2) without time zone", "time(4)"),
            ("time with time zone", "timetz"),
            ("interval(3)", "interval(6)"),
            ("bit varying(4)", "varbit(8)"),
        ] {
            assert_eq!(classify_type_change(old, new), NoRewrite, "{old} -> {new}");
        }
    }

    #[test]
    fn the_catalog_decides_between_different_types() {
        // text -> citext is binary-coercible in pg_cast; the list does not know citext.
        assert_eq!(classify_type_change("text", "citext"), Rewrite);
        assert_eq!(
            classify_type_change_with("text", "citext", Some(true)),
            NoRewrite
        );
        // binary-coercible, but a length limit to check: the same-type rules decide
        assert_eq!(
            classify_type_change_with("text", "varchar(10)", Some(true)),
            Rewrite
        );
        assert_eq!(
            classify_type_change_with("int4", "int8", Some(false)),
            Rewrite
        );
        assert_eq!(
            classify_type_change_with("text[]", "citext", Some(true)),
            Rewrite
        );
    }

    #[test]
    fn narrowing_and_real_casts_rewrite() {
        for (old, new) in [
            ("varchar(20)", "varchar(10)"),
            ("text", "varchar(10)"),
            ("char(10)", "text"),
            ("numeric(10,2)", "numeric(12,3)"),
            ("numeric", "numeric(12,2)"),
            ("int4", "bigint"),
            ("inet", "cidr"),
            ("varchar(10)[]", "varchar(20)[]"),
            ("timestamp(6)", "timestamp(3)"),
            ("time(4)", "time(2)"),
            ("interval(6)", "interval(2)"),
        ] {
            assert_eq!(classify_type_change(old, new), Rewrite, "{old} -> {new}");
        }
    }

    #[test]
    fn timestamp_to_timestamptz_depends_on_time_zone() {
        assert_eq!(
            classify_type_change("timestamp without time zone", "timestamp with time zone"),
            NoRewriteIfUtc
        );
        assert_eq!(
            classify_type_change("timestamptz(6)", "timestamp(3)"),
            Rewrite
        );
    }
}
