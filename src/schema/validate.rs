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

/// A JSON string literal for a SQL/JSON path (double quotes, JSON escapes).
fn path_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A scalar as a SQL/JSON path literal; `None` for arrays and objects (not literals there).
fn path_literal(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(path_string(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        _ => None,
    }
}

/// One SQL predicate that is true for every content that may violate `entity`'s rules
/// (it may flag a few that the Rust validator then clears: string formats, ranges). It is
/// a single SQL/JSON path evaluated in C over the stored jsonb (`content @? path`): no
/// jsonb value is extracted or copied per field, which is what made the scan slow.
pub fn violation_predicate(entity: &EntityDef<'_>) -> String {
    let mut conds = Vec::new();
    let mut sql_extra = Vec::new();
    for f in &entity.fields {
        let key = format!("@.{}", path_string(f.name));
        if !f.nullable {
            conds.push(format!("!(exists({key} ? (@.type() != \"null\")))"));
        }
        if let Some(ty) = parse_type(f.type_name) {
            if let Some(jt) = json_type(&ty) {
                conds.push(format!(
                    "exists({key} ? (@.type() != \"{jt}\" && @.type() != \"null\"))"
                ));
            }
            if matches!(ty, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt) {
                conds.push(format!(
                    "exists({key} ? (@.type() == \"number\" && @ != @.floor()))"
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
                // formats and lengths are checked in Rust for the flagged rows only
                conds.push(format!(
                    "exists({key} ? (@.type() == \"string\" && !(@ like_regex \"^[0-9a-fA-F-]{{36}}$|^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}\")))"
                ));
            }
        }
        if let Some(values) = f.enum_values() {
            let literals: Option<Vec<String>> = values.iter().map(path_literal).collect();
            match literals {
                Some(l) if !l.is_empty() => conds.push(format!(
                    "exists({key} ? (@.type() != \"null\" && !({})))",
                    l.iter().map(|v| format!("@ == {v}")).collect::<Vec<_>>().join(" || ")
                )),
                // enum values that are arrays or objects: plain SQL
                _ => sql_extra.push(format!(
                    "(content ? {k} AND jsonb_typeof(content -> {k}) <> 'null' AND NOT (jsonb_build_array(content -> {k}) <@ {}::jsonb))",
                    crate::spi::literal(Value::Array(values.to_vec()).to_string()),
                    k = crate::spi::literal(f.name)
                )),
            }
        }
    }
    let mut parts = Vec::new();
    if !conds.is_empty() {
        let path = format!("$ ? ({})", conds.join(" || "));
        parts.push(format!(
            "content @? {}::jsonpath",
            crate::spi::literal(path)
        ));
    }
    parts.extend(sql_extra);
    if parts.is_empty() {
        "false".into()
    } else {
        parts.join(" OR ")
    }
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
        let predicate = violation_predicate(entity);
        let sql = format!(
            "SELECT entity_id, content FROM {table} \
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
