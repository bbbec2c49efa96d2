//! validate_entities: current entities that do not conform to the active schema.
//! Postgres does the scan (in parallel): `content_conforms` judges each stored content in
//! place against its type's compiled definition, and only the rows it flags are read
//! into Rust, where the core's validator explains them.
use super::registry::require_active;
use super::schema_error;
use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::{decode_refusal, JsonbBytes};
use crate::spi::temporal::{ENTITIES, LIVE};
use crate::spi::{all_rows, data_table, quoted_ident};
use migration_engine_core::schema::conformance::CompiledEntity;
use migration_engine_core::schema::model::EntityDef;
use migration_engine_core::schema::parse_schema;
use migration_engine_core::schema::validate::validate_entity_content;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// A SQL predicate true for the content of `entity`'s type that does not conform to it
/// (`content_conforms` over the definition, bound as a literal: one compile per scan).
pub fn violation_predicate(entity: &EntityDef<'_>) -> String {
    format!(
        "NOT migration_engine.content_conforms(content, {}::jsonb)",
        crate::spi::literal(entity.raw.to_string())
    )
}

thread_local! {
    /// The last entity definition `content_conforms` compiled, by its bytes: a scan passes
    /// the same constant for every row, so it is compiled once per backend (and once per
    /// parallel worker), not once per row.
    static COMPILED: std::cell::RefCell<Option<(Vec<u8>, CompiledEntity)>> = const { std::cell::RefCell::new(None) };
}

/// Compiles an entity definition argument, refusing a bad one with 22023.
fn compile_definition(bytes: &[u8]) -> MeResult<CompiledEntity> {
    let value = migration_engine_core::jsonb::decode(bytes).map_err(|e| decode_refusal(&e.kind))?;
    CompiledEntity::compile(&value).map_err(|e| {
        MeError::invalid_parameter(format!("entity definition: {e}")).hint(
            "Pass one entity type's definition, {\"fields\": {\"age\": {\"type\": \"integer\"}}}, e.g. the active schema's definition->'entities'->'Person'.",
        )
    })
}

/// True when `content` conforms to the entity definition (`{"fields": {...}}`, one entry
/// of a schema document's `entities`): every required field present and not null,
/// every present value of its type and within its enum. The stored bytes are read in
/// place and only the declared fields decoded, so it is fast enough to run on every row
/// of a scan (the integrity check does) or in a CHECK constraint.
/// No pinned search_path: it runs no SQL and resolves no name, and per row the
/// `SET search_path` would cost more than the test.
#[pg_extern(immutable, parallel_safe, strict)]
fn content_conforms(
    content: JsonbBytes,
    entity_definition: JsonbBytes,
) -> Result<bool, pgrx::pg_sys::panic::ErrorReport> {
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache
            .as_ref()
            .is_none_or(|(bytes, _)| *bytes != entity_definition.0)
        {
            let compiled = compile_definition(entity_definition.0)?;
            *cache = Some((entity_definition.0.to_vec(), compiled));
        }
        let (_, compiled) = cache.as_ref().expect("filled above");
        Ok(compiled.conforms(content.0))
    })
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
    let table = data_table(ENTITIES)?;
    let mut out = Vec::new();
    let mut checked = 0i64;
    for entity in doc
        .entities
        .iter()
        .filter(|e| entity_type.is_none_or(|t| t == e.name))
    {
        // one scan counts the current entities and the ones that do not conform; only
        // when there are some are they read (a clean graph costs that one scan)
        let current = format!("entity_type = $1 AND {LIVE}");
        let violates = violation_predicate(entity);
        // run to completion (not asked for one row), so that the scan gets its workers
        let counts = Spi::connect(|client| {
            client
                .select(
                    &format!("SELECT count(*), count(*) FILTER (WHERE {violates}) FROM {table} WHERE {current}"),
                    None,
                    &[entity.name.into()],
                )?
                .first()
                .get_two::<i64, i64>()
        })?;
        checked += counts.0.unwrap_or(0);
        if counts.1.unwrap_or(0) == 0 {
            continue;
        }
        let flagged = all_rows(
            &format!("SELECT entity_id, content FROM {table} WHERE {current} AND {violates} ORDER BY entity_id"),
            &[entity.name.into()],
            |r| {
                Ok((
                    r.get::<Uuid>(1)?,
                    r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
                ))
            },
        )?;
        for (id, content) in flagged {
            // the definition parsed above explains the row; no second parse per row
            let violations = validate_entity_content(entity, &content);
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
