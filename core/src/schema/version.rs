//! Version strings: a numeric-aware comparison and the next free version.
//!
//! Versions in the catalog are free text (`1.0.0`, `2`, `1.0.0_patch`), so the
//! comparison is lenient: numbers compare as numbers (`1.10` > `1.9`), missing
//! trailing zeros are equal (`1.0` = `1.0.0`), a `-label` after the numbers is
//! a pre-release (`1.0.0-rc1` < `1.0.0`), any other trailing label comes later
//! (`1.0.0_patch` > `1.0.0`, which is how the seed names patch versions).

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Num(&'a str),
    Word(&'a str),
}

/// Tokens with "preceded by `-`". `None` if the version does not start with a
/// digit (after an optional `v`): such strings are not comparable.
fn tokens(v: &str) -> Option<Vec<(Token<'_>, bool)>> {
    let v = v.trim();
    let v = v.split('+').next().unwrap_or(v); // semver build metadata never orders
    let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
    if !v.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let b = v.as_bytes();
    let (mut out, mut i, mut dash) = (Vec::new(), 0, false);
    while i < b.len() {
        let start = i;
        let digit = b[i].is_ascii_digit();
        while i < b.len()
            && (b[i].is_ascii_alphabetic() || b[i].is_ascii_digit())
            && b[i].is_ascii_digit() == digit
        {
            i += 1;
        }
        if i == start {
            dash = b[i] == b'-';
            i += 1;
            continue;
        }
        let text = &v[start..i];
        out.push((
            if digit {
                Token::Num(text)
            } else {
                Token::Word(text)
            },
            dash,
        ));
        dash = false;
    }
    Some(out)
}

fn cmp_token(a: Token<'_>, b: Token<'_>) -> Ordering {
    match (a, b) {
        (Token::Num(x), Token::Num(y)) => {
            let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        }
        (Token::Word(x), Token::Word(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        (Token::Num(_), Token::Word(_)) => Ordering::Greater,
        (Token::Word(_), Token::Num(_)) => Ordering::Less,
    }
}

/// How a version with this extra tail compares to the same version without it.
fn tail_order(rest: &[(Token<'_>, bool)]) -> Ordering {
    match rest
        .iter()
        .find(|(t, _)| !matches!(t, Token::Num(n) if n.bytes().all(|c| c == b'0')))
    {
        None => Ordering::Equal,
        Some((Token::Word(_), true)) => Ordering::Less,
        Some(_) => Ordering::Greater,
    }
}

/// Numeric-aware comparison; `None` when either side is not version-like.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let (ta, tb) = (tokens(a)?, tokens(b)?);
    for (x, y) in ta.iter().zip(&tb) {
        let ord = cmp_token(x.0, y.0);
        if ord != Ordering::Equal {
            // `1.0.0-rc1` vs `1.0.0.1`: a pre-release label loses to anything.
            return Some(match (x, y) {
                ((Token::Word(_), true), (Token::Num(_), _)) => Ordering::Less,
                ((Token::Num(_), _), (Token::Word(_), true)) => Ordering::Greater,
                _ => ord,
            });
        }
    }
    let n = ta.len().min(tb.len());
    Some(tail_order(&ta[n..]).then_with(|| tail_order(&tb[n..]).reverse()))
}

/// After this many taken candidates give up and return the last candidate.
const MAX_TRIES: u64 = 100_000;

/// A version after `current` that `taken` does not report as used.
///
/// Dotted numbers bump their last component (`1.0.0` → `1.0.1`, `2` → `3`,
/// skipping taken ones). Anything else gets `suffix` (`beta` → `beta_patch`,
/// then `beta_patch2`, ...); a version already ending in `suffix` or
/// `suffix<N>` continues that series instead of stacking suffixes.
pub fn next_version(current: &str, taken: &dyn Fn(&str) -> bool, suffix: &str) -> String {
    let current = current.trim();
    if let Some((prefix, last)) = split_release(current) {
        for n in (1..=MAX_TRIES).map_while(|k| last.checked_add(k)) {
            let candidate = format!("{prefix}{n}");
            if !taken(&candidate) {
                return candidate;
            }
        }
    }
    let (base, start) = split_series(current, suffix);
    let mut candidate = String::new();
    // a series that cannot go on (its number at u64::MAX, found by tests/fuzz.rs) starts
    // a new one on top of the whole version
    for (base, start) in [(base, start), (current, 1)] {
        for k in (0..MAX_TRIES).map_while(|i| start.checked_add(i)) {
            candidate = if k == 1 {
                format!("{base}{suffix}")
            } else {
                format!("{base}{suffix}{k}")
            };
            if !taken(&candidate) {
                return candidate;
            }
        }
    }
    candidate
}

/// `v1.2.3` → (`v1.2.`, 3) when the whole string is dotted numbers.
fn split_release(v: &str) -> Option<(&str, u64)> {
    let digits = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let valid = !digits.is_empty()
        && digits
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    if !valid {
        return None;
    }
    let cut = v.rfind('.').map_or(v.len() - digits.len(), |i| i + 1);
    Some((&v[..cut], v[cut..].parse().ok()?))
}

/// `1.0_patch3` with suffix `_patch` → (`1.0`, 4); `1.0_patch` → (`1.0`, 2); else (v, 1).
fn split_series<'v>(v: &'v str, suffix: &str) -> (&'v str, u64) {
    if suffix.is_empty() {
        return (v, 1);
    }
    if let Some(i) = v.rfind(suffix) {
        let rest = &v[i + suffix.len()..];
        if rest.is_empty() {
            return (&v[..i], 2);
        }
        if let Some(n) = rest
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 2 && !rest.starts_with('0'))
        {
            return (&v[..i], n.saturating_add(1));
        }
    }
    (v, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn compares_numerically() {
        let cases = [
            ("1.10", "1.9", Greater),
            ("1.0", "1.0.0", Equal),
            ("v2.0", "2", Equal),
            ("1.0.0-rc1", "1.0.0", Less),
            ("1.0.0_patch", "1.0.0", Greater),
            ("1.0.0-rc.2", "1.0.0-rc.10", Less),
            ("2.0.0", "10.0.0", Less),
            ("1.0.0+build5", "1.0.0", Equal),
            ("1.0.0-beta", "1.0.0-alpha", Greater),
            ("1.0.0-rc1", "1.0.0.1", Less),
            ("007", "7", Equal),
        ];
        for (a, b, expected) in cases {
            assert_eq!(compare_versions(a, b), Some(expected), "{a} vs {b}");
            assert_eq!(
                compare_versions(b, a),
                Some(expected.reverse()),
                "{b} vs {a}"
            );
        }
        assert_eq!(compare_versions("beta", "1.0"), None);
        assert_eq!(compare_versions("", ""), None);
    }

    #[test]
    fn next_versions() {
        let none = |_: &str| false;
        assert_eq!(next_version("1.0.0", &none, "_patch"), "1.0.1");
        assert_eq!(next_version("v1.9", &none, "_patch"), "v1.10");
        assert_eq!(next_version("2", &none, "_patch"), "3");
        let taken = |v: &str| ["1.0.1", "1.0.2", "beta_patch", "beta_patch2"].contains(&v);
        assert_eq!(next_version("1.0.0", &taken, "_patch"), "1.0.3");
        assert_eq!(next_version("beta", &taken, "_patch"), "beta_patch3");
        assert_eq!(
            next_version("1.0.0-rc1", &none, "_deprecation"),
            "1.0.0-rc1_deprecation"
        );
        assert_eq!(next_version("x_patch", &none, "_patch"), "x_patch2");
        assert_eq!(next_version("x_patch7", &none, "_patch"), "x_patch8");
        assert_eq!(
            next_version("18446744073709551615", &none, "_patch"),
            "18446744073709551615_patch"
        );
        let all = |_: &str| true;
        assert!(
            !next_version("1.0", &all, "_p").is_empty(),
            "terminates even if everything is taken"
        );
    }
}

#[cfg(test)]
mod found_by_fuzzing {
    use super::next_version;

    #[test]
    fn a_series_at_u64_max_starts_a_new_one() {
        let v = "1.0_patch18446744073709551615";
        let next = next_version(v, &|c| c == v, "_patch");
        assert_eq!(next, format!("{v}_patch"));
    }
}
