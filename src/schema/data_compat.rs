//! check_compatibility_against_data: the diff from each stored schema version to a
//! proposed one, tested against the entity versions that were written under it.
//!
//! An entity version is judged by the schema version that was active when it was
//! written (`valid_from` inside that version's activation period, from the audit
//! log); versions written before the first activation are judged by the first
//! version. Postgres pre-filters each entity type's rows with the new definition's
//! violation predicate (as validate_entities does); the core attributes each
//! violation to the change that causes it and counts.
use super::registry::{all_versions, current_mode};
use super::schema_error;
use super::validate::violation_predicate;
use crate::errors::{MeError, MeResult, PgResult};
use crate::spi::args::options_object;
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::temporal::ENTITIES;
use crate::spi::{all_rows, data_table};
use migration_engine_core::schema::data_compat::{changes_hit, successor, DataCheck, VersionRange};
use migration_engine_core::schema::diff::diff_docs;
use migration_engine_core::schema::{parse_schema, CompatibilityMode};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;
use std::collections::HashMap;

const DEFAULT_SAMPLE_SIZE: usize = 5;
const MAX_SAMPLE_SIZE: usize = 100;

struct Options {
    mode: CompatibilityMode,
    sample_size: usize,
}

fn parse_options(options: &Value) -> MeResult<Options> {
    let obj = options_object(options, &["mode", "sampleSize"])?;
    let mode = match obj.get("mode") {
        None => current_mode()?,
        Some(Value::String(s)) => s
            .parse()
            .map_err(|e| MeError::invalid_parameter(format!("options.mode: {e}")))?,
        Some(_) => {
            return Err(MeError::invalid_parameter(
                "options.mode must be a string such as \"BACKWARD\"",
            ))
        }
    };
    let sample_size = match obj.get("sampleSize") {
        None => DEFAULT_SAMPLE_SIZE,
        Some(v) => v
            .as_u64()
            .filter(|n| *n as usize <= MAX_SAMPLE_SIZE)
            .ok_or_else(|| {
                MeError::invalid_parameter(format!(
                    "options.sampleSize must be an integer from 0 to {MAX_SAMPLE_SIZE}"
                ))
            })? as usize,
    };
    Ok(Options { mode, sample_size })
}

/// Which version was active when: one range per activation, merged when a version
/// is activated again while active; the first starts at -infinity.
fn activation_ranges() -> MeResult<Vec<VersionRange>> {
    let events = all_rows(
        "SELECT object_name, occurred_at::text FROM migration_engine.audit_log \
         WHERE object_type = 'schema_version' \
           AND (operation = 'schema_version_activated' \
                OR (operation = 'schema_version_registered' AND detail->>'active' = 'true')) \
         ORDER BY occurred_at, audit_id",
        &[],
        |r| {
            Ok((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<String>(2)?.unwrap_or_default(),
            ))
        },
    )?;
    let mut ranges: Vec<VersionRange> = Vec::new();
    for (version, at) in events {
        if ranges.last().is_some_and(|r| r.version == version) {
            continue;
        }
        if let Some(last) = ranges.last_mut() {
            last.until = at.clone();
        }
        ranges.push(VersionRange {
            version,
            since: if ranges.is_empty() {
                "-infinity".into()
            } else {
                at
            },
            until: "infinity".into(),
        });
    }
    Ok(ranges)
}

/// (entity_id, content) of the stored, not deleted versions of `entity_type` written
/// in `range` that `predicate` flags; content is NULL when `with_content` is false.
fn flagged_versions(
    table: &str,
    entity_type: &str,
    range: &VersionRange,
    predicate: &str,
    with_content: bool,
) -> MeResult<Vec<(String, Value)>> {
    let content = if with_content {
        "content"
    } else {
        "NULL::jsonb"
    };
    let sql = format!(
        "SELECT entity_id, {content} FROM {table} \
         WHERE entity_type = $1 AND NOT is_deleted \
           AND valid_from >= $2::timestamptz AND valid_from < $3::timestamptz AND ({predicate})"
    );
    all_rows(
        &sql,
        &[
            entity_type.into(),
            range.since.as_str().into(),
            range.until.as_str().into(),
        ],
        |r| {
            let id = r.get::<Uuid>(1)?.map(|u| u.to_string()).unwrap_or_default();
            Ok((id, r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null)))
        },
    )
}

fn count_versions(table: &str, entity_type: &str, range: &VersionRange) -> MeResult<u64> {
    let sql = format!(
        "SELECT count(*) FROM {table} WHERE entity_type = $1 AND NOT is_deleted \
           AND valid_from >= $2::timestamptz AND valid_from < $3::timestamptz"
    );
    Ok(Spi::get_one_with_args::<i64>(
        &sql,
        &[
            entity_type.into(),
            range.since.as_str().into(),
            range.until.as_str().into(),
        ],
    )?
    .unwrap_or(0) as u64)
}

pub fn check_against_data(new: &Value, options: &Value) -> MeResult<Value> {
    let opts = parse_options(options)?;
    let new_doc = parse_schema(new).map_err(|e| schema_error("invalid schema_definition", e))?;
    let versions: HashMap<String, Value> = all_versions()?
        .into_iter()
        .map(|(v, _)| (v.number, v.definition))
        .collect();
    let ranges = activation_ranges()?;
    if ranges.is_empty() {
        return Err(MeError::prerequisite("no schema version has been active, so no stored entity can be judged")
            .hint("Register a first version with migration_engine.register_schema_version(version_number, schema_definition)."));
    }
    let table = data_table(ENTITIES)?;
    let mut check = DataCheck::default();
    for range in ranges {
        let Some(definition) = versions.get(&range.version) else {
            continue;
        };
        let old_doc = parse_schema(definition)
            .map_err(|e| schema_error(&format!("stored schema version {}", range.version), e))?;
        let changes = diff_docs(&old_doc, &new_doc);
        let slots = check.add_range(range.clone(), &changes);
        for old in &old_doc.entities {
            check.checked(count_versions(&table, old.name, &range)?);
            let new_entity = successor(&new_doc, old.name);
            let writer_breaks = changes.iter().any(|c| {
                c.breaks_writers && new_entity.map_or(c.entity == old.name, |n| c.entity == n.name)
            });
            if !writer_breaks {
                continue;
            }
            // a type that is gone or renamed: every version of it is hit, whatever it holds
            let predicate = match new_entity {
                Some(n) if n.name == old.name => violation_predicate(n),
                _ => "true".to_owned(),
            };
            let rows =
                flagged_versions(&table, old.name, &range, &predicate, new_entity.is_some())?;
            for (id, content) in rows {
                for i in changes_hit(&changes, old.name, old, new_entity, &content) {
                    check.hit(slots[i], &id);
                }
            }
        }
    }
    Ok(check.to_json(opts.mode, opts.sample_size))
}

/// The changes from every stored schema version to `schema_definition`, each tested
/// against the entity versions written while that version was active: how many
/// entities (and versions) each writer-breaking change really hits, per version range,
/// with sample ids; a break no stored version hits is downgraded (`"verdict":
/// "THEORETICAL"`). `compatible` is the verdict under the mode (options.mode, default
/// the registry's) once theoretical breaks are cleared. Reads only.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn check_compatibility_against_data(
    schema_definition: Option<JsonArg>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(schema_definition, options);
    Ok(JsonB(check_against_data(&schema_definition.0, &options.0)?))
}
