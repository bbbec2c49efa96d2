//! A pipeline definition read and checked: the core's parser, then what only the server
//! can judge (its jsonpaths). Done when a run begins (and by create_migration, previews
//! and blue-green replays), never per batch.
use crate::errors::{MeError, MeResult};
use crate::spi::quoted_ident;
use crate::spi::subxact::atomically;
use migration_engine_core::pipeline::{parse_pipeline, Pipeline};
use pgrx::prelude::*;
use serde_json::Value;

/// The definition as the core reads it, nothing asked of the server: for a run whose
/// definition was checked when it began.
pub fn parse_definition(pipeline: &Value) -> MeResult<Pipeline> {
    parse_pipeline(pipeline).map_err(|e| {
        MeError::invalid_parameter(format!("invalid pipeline: {e}")).detail(format!(
            "code {} at {}",
            e.code(),
            e.path()
        ))
    })
}

/// The definition read and checked in full, before anything is written.
pub fn parse(pipeline: &Value) -> MeResult<Pipeline> {
    let p = parse_definition(pipeline)?;
    quoted_ident("entity type", &p.source.entity_type)?;
    validate_jsonpaths(pipeline)?;
    Ok(p)
}

/// Every jsonpath of the pipeline (`filter`, `condition`, `input`, `output`), with
/// where it is.
fn jsonpaths(v: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}.{k}");
                    match (k.as_str(), x) {
                        ("filter" | "condition" | "input" | "output", Value::String(s)) => {
                            out.push((p, s.clone()))
                        }
                        _ => walk(x, &p, out),
                    }
                }
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "$", &mut out);
    out
}

/// Whether Postgres parses every one of `texts` as a jsonpath.
fn all_parse(texts: Vec<String>) -> bool {
    atomically(|| {
        Spi::get_one_with_args::<bool>(
            "SELECT bool_and(p::jsonpath IS NOT NULL) FROM unnest($1::text[]) AS t(p)",
            &[texts.into()],
        )
    })
    .is_ok()
}

/// Every jsonpath of the pipeline, parsed by Postgres before anything is written: all
/// of them in one statement and one subtransaction (PostgreSQL 15 has no cast that
/// reports instead of raising). Only when that fails are they tried one by one, to name
/// the first bad one.
fn validate_jsonpaths(v: &Value) -> MeResult<()> {
    let paths = jsonpaths(v);
    if paths.is_empty() || all_parse(paths.iter().map(|(_, t)| t.clone()).collect()) {
        return Ok(());
    }
    for (at, text) in paths {
        if !all_parse(vec![text.clone()]) {
            return Err(MeError::invalid_parameter(format!(
                "{at}: {text:?} is not a valid SQL/JSON path"
            ))
            .hint(
                "Write a jsonpath predicate such as '$.age > 65' or '$.email like_regex \"@\"'.",
            ));
        }
    }
    Ok(())
}
