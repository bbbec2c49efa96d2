//! Reading, removing and writing a [`FieldPath`] inside a jsonb expression.

use super::{CompileError, Context};
use crate::pipeline::names::FieldPath;

/// `'{address,city}'::text[]`.
pub(crate) fn array(path: &FieldPath, cx: &Context) -> Result<String, CompileError> {
    cx.q.text_array(&path.segments())
}

/// The jsonb value at `path`, SQL NULL when absent (JSON `null` when present
/// and null: the two are different and rules rely on it).
pub(crate) fn get(item: &str, path: &FieldPath, cx: &Context) -> Result<String, CompileError> {
    Ok(format!("({item} #> {})", array(path, cx)?))
}

/// The value at `path` as text: strings unquoted, SQL NULL for absent or JSON null.
pub(crate) fn get_text(item: &str, path: &FieldPath, cx: &Context) -> Result<String, CompileError> {
    Ok(format!("({item} #>> {})", array(path, cx)?))
}

/// `item` without the key at `path`; unchanged when it is absent.
pub(crate) fn remove(item: &str, path: &FieldPath, cx: &Context) -> Result<String, CompileError> {
    Ok(format!("({item} #- {})", array(path, cx)?))
}

/// `item` with `value` stored at `path`.
///
/// `jsonb_set(..., create_missing => true)` creates only the last key: writing
/// `address.city` into an item without `address` would silently do nothing. So
/// each missing (or JSON null) intermediate is created as `{}` on the way down.
/// An intermediate that is a scalar makes `jsonb_set` raise an error, which the
/// step's error handling then deals with. `item` appears once per path segment.
pub(crate) fn set(
    item: &str,
    path: &FieldPath,
    value: &str,
    cx: &Context,
) -> Result<String, CompileError> {
    set_segments(item, &path.segments(), value, cx)
}

fn set_segments(
    item: &str,
    segments: &[&str],
    value: &str,
    cx: &Context,
) -> Result<String, CompileError> {
    let (first, rest) = match segments {
        [] => return Ok(value.to_string()),
        [first, rest @ ..] => (first, rest),
    };
    let key = cx.q.text_array(&[first])?;
    let inner = if rest.is_empty() {
        value.to_string()
    } else {
        let child = format!("coalesce(nullif({item} #> {key}, 'null'::jsonb), '{{}}'::jsonb)");
        set_segments(&child, rest, value, cx)?
    };
    Ok(format!("jsonb_set({item}, {key}, {inner}, true)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FieldPath {
        FieldPath::parse(s).unwrap()
    }

    #[test]
    fn reads_and_removes() {
        let cx = Context::new();
        assert_eq!(get("x", &p("a.b"), &cx).unwrap(), "(x #> '{a,b}'::text[])");
        assert_eq!(
            get_text("x", &p("a"), &cx).unwrap(),
            "(x #>> '{a}'::text[])"
        );
        assert_eq!(
            remove("x", &p("it's"), &cx).unwrap(),
            "(x #- '{it''s}'::text[])"
        );
    }

    #[test]
    fn set_creates_missing_parents() {
        let cx = Context::new();
        assert_eq!(
            set("x", &p("a"), "v", &cx).unwrap(),
            "jsonb_set(x, '{a}'::text[], v, true)"
        );
        assert_eq!(
            set("x", &p("a.b"), "v", &cx).unwrap(),
            "jsonb_set(x, '{a}'::text[], jsonb_set(coalesce(nullif(x #> '{a}'::text[], 'null'::jsonb), \
             '{}'::jsonb), '{b}'::text[], v, true), true)"
        );
        let deep = set("ITEM", &p("a.b.c.d.e"), "v", &cx).unwrap();
        assert_eq!(deep.matches("ITEM").count(), 5, "linear in depth: {deep}");
    }
}
