//! validate_entities: current entities that do not conform to the active schema.
//! Postgres does the scan: each entity type's rules are compiled to one SQL predicate
//! over the binary jsonb (presence, JSON type, integral numbers, enum membership), and
//! only the rows it flags are read into Rust, where the core's validator explains them.
use super::registry::require_active;
use super::schema_error;
use crate::errors::{MeError, MeResult};
use crate::spi::{data_table, quoted_ident};
use migration_engine_core::schema::model::EntityDef;
use migration_engine_core::schema::types::{parse_type, SqlType};
use migration_engine_core::schema::{parse_schema, validate_content};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// The JSON type a value of this SQL type is stored as; `None` for anything.
fn json_type(t: &SqlType) -> Option<&'static str> {
    match t {
        SqlType::SmallInt
        | SqlType::Integer
        | SqlType::BigInt
        | SqlType::Numeric(_)
        | SqlType::Real
        | SqlType::Double => Some("number"),
        SqlType::Boolean => Some("boolean"),
        SqlType::Json | SqlType::Jsonb => None,
        SqlType::Array(_) => Some("array"),
        _ => Some("string"),
    }
}

/// One SQL predicate that is true for every content that may violate `entity`'s rules
/// (it may flag a few that the Rust validator then clears: string formats, ranges), with
/// the per-field JSON types it reads: `(lateral columns, predicate)`. Each field's value is
/// extracted once per row (in the LATERAL), not once per condition: on a million rows the
/// extractions are the cost.
pub fn violation_predicate(entity: &EntityDef<'_>) -> (String, String) {
    let mut columns = vec!["NULL::text AS t_none".to_string()];
    let mut parts = Vec::new();
    for (i, f) in entity.fields.iter().enumerate() {
        let key = pgrx::spi::quote_literal(f.name);
        let t = format!("f.t{i}");
        columns.push(format!("jsonb_typeof(content -> {key}) AS t{i}"));
        if !f.nullable {
            parts.push(format!("coalesce({t}, 'null') = 'null'"));
        }
        if let Some(ty) = parse_type(f.type_name) {
            if let Some(jt) = json_type(&ty) {
                parts.push(format!("coalesce({t}, 'null') NOT IN ('null', '{jt}')"));
            }
            if matches!(ty, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt) {
                parts.push(format!(
                    "({t} = 'number' AND (content ->> {key})::numeric % 1 <> 0)"
                ));
            }
            if matches!(
                ty,
                SqlType::Uuid
                    | SqlType::Date
                    | SqlType::Timestamp(_)
                    | SqlType::TimestampTz(_)
                    | SqlType::Varchar(Some(_))
                    | SqlType::Char(Some(_))
            ) {
                // formats and lengths are checked in Rust for flagged rows only
                parts.push(format!(
                    "({t} = 'string' AND NOT (content ->> {key}) ~ '^[0-9a-fA-F-]{{36}}$|^\\d{{4}}-\\d{{2}}-\\d{{2}}')"
                ));
            }
        }
        if let Some(values) = f.enum_values() {
            let list = Value::Array(values.to_vec()).to_string();
            parts.push(format!(
                "(coalesce({t}, 'null') <> 'null' AND NOT (jsonb_build_array(content -> {key}) <@ {}::jsonb))",
                pgrx::spi::quote_literal(list)
            ));
        }
    }
    let predicate = if parts.is_empty() {
        "false".into()
    } else {
        parts.join(" OR ")
    };
    (columns.join(", "), predicate)
}

pub struct Invalid {
    pub entity_id: Uuid,
    pub entity_type: String,
    pub violations: Vec<Value>,
}

/// Non-conforming current entities, at most `limit` of them (None: all), and how many
/// current entities were checked.
pub fn find_invalid(
    entity_type: Option<&str>,
    limit: Option<usize>,
) -> MeResult<(Vec<Invalid>, i64)> {
    let active = require_active()?;
    let doc =
        parse_schema(&active.definition).map_err(|e| schema_error("active schema version", e))?;
    if let Some(t) = entity_type {
        quoted_ident("entity type", t)?;
        if doc.entity(t).is_none() {
            return Err(MeError::undefined_object(format!(
                "entity type {t:?} is not in the active schema version {}",
                active.number
            )));
        }
    }
    let table = data_table("temporal_entities")?;
    let mut out = Vec::new();
    let mut checked = 0i64;
    for entity in doc
        .entities
        .iter()
        .filter(|e| entity_type.is_none_or(|t| t == e.name))
    {
        checked += Spi::get_one_with_args::<i64>(
            &format!("SELECT count(*) FROM {table} WHERE entity_type = $1 AND valid_to = 'infinity' AND NOT is_deleted"),
            &[entity.name.into()],
        )?
        .unwrap_or(0);
        let (columns, predicate) = violation_predicate(entity);
        let sql = format!(
            "SELECT entity_id, content FROM {table}, LATERAL (SELECT {columns}) f \
             WHERE entity_type = $1 AND valid_to = 'infinity' AND NOT is_deleted AND ({predicate}) ORDER BY entity_id"
        );
        let flagged = Spi::connect(|client| {
            let mut rows = Vec::new();
            for r in client.select(&sql, None, &[entity.name.into()])? {
                rows.push((
                    r.get::<Uuid>(1)?,
                    r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
                ));
            }
            Ok::<_, pgrx::spi::Error>(rows)
        })?;
        for (id, content) in flagged {
            let violations = validate_content(entity.raw, &content)
                .map_err(|e| schema_error("active schema version", e))?;
            if !violations.is_empty() {
                out.push(Invalid {
                    entity_id: id.expect("entity_id is NOT NULL"),
                    entity_type: entity.name.to_string(),
                    violations: violations.iter().map(|v| v.to_json()).collect(),
                });
                if limit.is_some_and(|l| out.len() >= l) {
                    return Ok((out, checked));
                }
            }
        }
    }
    Ok((out, checked))
}

/// Current entities that do not conform to the active schema version (missing required
/// field, wrong JSON type, value outside an enum): `[{entity_id, entity_type, violations}]`.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn validate_entities(
    entity_type: default!(Option<&str>, "NULL"),
) -> Result<JsonB, pgrx::pg_sys::panic::ErrorReport> {
    let (invalid, _) = find_invalid(entity_type, None)?;
    Ok(JsonB(Value::Array(
        invalid
            .into_iter()
            .map(|i| json!({"entity_id": i.entity_id.to_string(), "entity_type": i.entity_type, "violations": i.violations}))
            .collect(),
    )))
}
