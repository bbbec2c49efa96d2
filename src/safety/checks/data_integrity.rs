//! DataIntegrityCheck: non-conforming entities, orphaned relations, duplicates.
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use crate::schema::registry::active_version;
use crate::schema::validate::find_invalid;
use crate::spi::temporal::{live_of, ENTITIES, LIVE, RELATIONS};
use crate::spi::{data_table, quoted_ident, scan_value};
use migration_engine_core::safety::codes::{
    DATA_INCONSISTENCY, DATA_INTEGRITY_CHECK, DUPLICATE_ENTITIES, ORPHANED_REFERENCE,
};
use migration_engine_core::safety::{CheckResult, Issue, Severity};
use migration_engine_core::schema::parse_schema;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

pub struct DataIntegrityCheck;

const SAMPLES: usize = 10;

impl SafetyCheck for DataIntegrityCheck {
    fn name(&self) -> &'static str {
        DATA_INTEGRITY_CHECK
    }

    fn run(&self, ctx: &Context) -> MeResult<CheckResult> {
        let mut issues = Vec::new();
        if !ctx.skip_integrity {
            inconsistencies(&mut issues)?;
            orphans(&mut issues)?;
            duplicates(&mut issues)?;
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}

fn inconsistencies(issues: &mut Vec<Issue>) -> MeResult<()> {
    if active_version()?.is_none() {
        return Ok(());
    }
    let (invalid, checked) = find_invalid(None, Some(1000))?;
    let mut by_type: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for i in &invalid {
        by_type
            .entry(i.entity_type.clone())
            .or_default()
            .push(i.entity_id.to_string());
    }
    for (entity_type, ids) in by_type {
        issues.push(
            Issue::new(
                Severity::High,
                DATA_INCONSISTENCY,
                format!("Data inconsistency found: {} current {entity_type} entities do not conform to the active schema", ids.len()),
            )
            .with_details(json!({"entity_type": entity_type, "count": ids.len(), "capped_at": 1000,
                "checked": checked, "sample_entity_ids": ids.iter().take(SAMPLES).collect::<Vec<_>>(),
                "sample_violations": invalid.iter().find(|i| i.entity_type == entity_type).map(|i| i.violations.clone())})),
        );
    }
    Ok(())
}

fn orphans(issues: &mut Vec<Issue>) -> MeResult<()> {
    let entities = data_table(ENTITIES)?;
    let relations = data_table(RELATIONS)?;
    // First the referenced ids that have no current entity: one anti-join of all endpoints
    // (UNION ALL, so that Postgres can hash the current entities once, in parallel), then
    // the few missing ids made distinct. Only when there are some, the relations that use them.
    let e_live = live_of("e");
    let sql = format!(
        "SELECT array_agg(id) FROM (SELECT DISTINCT x.id FROM ( \
             SELECT source_entity_id AS id FROM {relations} WHERE {LIVE} \
             UNION ALL SELECT target_entity_id FROM {relations} WHERE {LIVE}) x \
           WHERE NOT EXISTS (SELECT 1 FROM {entities} e WHERE e.entity_id = x.id AND {e_live}) \
           LIMIT 10000) m"
    );
    let missing = scan_value::<Vec<pgrx::Uuid>>(&sql, &[])?.unwrap_or_default();
    if missing.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT jsonb_build_object('count', count(*), 'example', (jsonb_agg(jsonb_build_object('relation_id', relation_id, \
                  'relation_type', relation_type, 'source_entity', source_entity_id, 'target_entity', target_entity_id, \
                  'source_missing', source_entity_id = ANY ($1), 'target_missing', target_entity_id = ANY ($1)))) -> 0) \
         FROM {relations} WHERE {LIVE} \
           AND (source_entity_id = ANY ($1) OR target_entity_id = ANY ($1))"
    );
    let found = scan_value::<JsonB>(&sql, &[missing.into()])?
        .map(|j| j.0)
        .unwrap_or(Value::Null);
    let count = found["count"].as_i64().unwrap_or(0);
    if count > 0 {
        let s = &found["example"];
        issues.push(
            Issue::new(
                Severity::High,
                ORPHANED_REFERENCE,
                format!(
                    "Orphaned reference found: {} -> {} ({count} current relations point to missing or deleted entities)",
                    s["source_entity"].as_str().unwrap_or("?"),
                    s["target_entity"].as_str().unwrap_or("?")
                ),
            )
            .with_details(json!({"count": count, "example": s})),
        );
    }
    Ok(())
}

/// At most this many groups of equal hashes are compared by value.
const CANDIDATE_GROUPS: usize = 1000;
/// Up to this many entity versions (the planner's estimate) the hashes of the current ones
/// are collected in memory, 8 bytes each; above it Postgres groups them (a sort that can
/// spill to disk).
const COLLECT_HASHES_UP_TO: f32 = 10_000_000.0;

/// SQL for a 64-bit hash of an identity key: each field's value hashed with the previous
/// hash as seed. A missing field hashes like JSON null (the exact comparison afterwards
/// tells them apart).
fn identity_hash(fields: &[&str], seed: usize) -> String {
    fields.iter().fold(seed.to_string(), |acc, f| {
        format!(
            "jsonb_hash_extended(coalesce(content -> {}, 'null'), {acc})",
            crate::spi::literal(f)
        )
    })
}

fn duplicates(issues: &mut Vec<Issue>) -> MeResult<()> {
    let entities = data_table(ENTITIES)?;
    // identity fields declared by the active schema
    let active = active_version()?;
    let doc = active
        .as_ref()
        .and_then(|a| parse_schema(&a.definition).ok());
    let mut identity: Vec<(&str, String, String)> = Vec::new(); // (type, key, hash of the key)
    for entity in doc
        .iter()
        .flat_map(|d| d.entities.iter())
        .filter(|e| !e.identity.is_empty())
    {
        quoted_ident("entity type", entity.name)?;
        let key = entity
            .identity
            .iter()
            .map(|f| format!("content -> {}", crate::spi::literal(f)))
            .collect::<Vec<_>>()
            .join(", ");
        identity.push((
            entity.name,
            key,
            identity_hash(&entity.identity, identity.len() + 1),
        ));
    }
    // One scan, one 64-bit hash per current entity: of its identity key when its type
    // declares one (identical content implies an identical identity key), else of its type
    // and content. jsonb_hash_extended agrees with jsonb equality (1 = 1.0 included), so
    // equal values always have equal hashes: the groups of equal hashes are the only
    // candidates, and without any (a clean graph) the scan is the whole cost. Type names
    // are bound as $1..$n.
    let hash = if identity.is_empty() {
        "jsonb_hash_extended(content, hashtext(entity_type))".to_string()
    } else {
        let whens: String = identity
            .iter()
            .enumerate()
            .map(|(i, (_, _, h))| format!(" WHEN ${} THEN {h}", i + 1))
            .collect();
        format!(
            "CASE entity_type{whens} ELSE jsonb_hash_extended(content, hashtext(entity_type)) END"
        )
    };
    let type_names = || -> Vec<pgrx::datum::DatumWithOid<'static>> {
        identity.iter().map(|(name, _, _)| (*name).into()).collect()
    };
    let versions = Spi::get_one_with_args::<f32>(
        "SELECT reltuples FROM pg_catalog.pg_class WHERE oid = $1::regclass",
        &[entities.as_str().into()],
    )?
    .unwrap_or(0.0);
    let candidates: Vec<i64> = if versions <= COLLECT_HASHES_UP_TO {
        // repeated_hashes is a parallel aggregate: the workers hash and collect, the
        // leader sorts once
        let mut repeated = scan_value::<Vec<i64>>(
            &format!(
                "SELECT migration_engine.repeated_hashes({hash}) FROM {entities} WHERE {LIVE}"
            ),
            &type_names(),
        )?
        .unwrap_or_default();
        repeated.truncate(CANDIDATE_GROUPS);
        repeated
    } else {
        scan_value::<Vec<i64>>(
            &format!(
                "SELECT array_agg(h) FROM (SELECT h FROM (SELECT {hash} AS h FROM {entities} \
                 WHERE {LIVE} ORDER BY 1) s \
                 GROUP BY h HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT {}) c",
                CANDIDATE_GROUPS
            ),
            &type_names(),
        )?
        .unwrap_or_default()
    };
    if candidates.is_empty() {
        return Ok(());
    }
    let mut groups: Vec<(Value, &str)> = Vec::new();
    let by_content = format!(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('entity_type', entity_type, 'entity_ids', ids, 'count', n)), '[]') FROM ( \
            SELECT entity_type, count(*) AS n, (array_agg(entity_id ORDER BY entity_id))[1:10] AS ids \
            FROM {entities} WHERE {LIVE} AND {hash} = ANY (${}) \
            GROUP BY entity_type, content HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 20) d",
        identity.len() + 1
    );
    let mut content_args = type_names();
    content_args.push(candidates.clone().into());
    groups.extend(
        scan_value::<JsonB>(&by_content, &content_args)?
            .map(|j| j.0)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|g| (g, "identical content")),
    );
    for (name, key, key_hash) in &identity {
        let sql = format!(
            "SELECT coalesce(jsonb_agg(jsonb_build_object('entity_type', $1, 'entity_ids', ids, 'count', n, 'identity', key)), '[]') FROM ( \
                SELECT jsonb_build_array({key}) AS key, count(*) AS n, (array_agg(entity_id ORDER BY entity_id))[1:10] AS ids \
                FROM {entities} WHERE entity_type = $1 AND {LIVE} \
                  AND {key_hash} = ANY ($2) \
                GROUP BY {key} HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 20) d"
        );
        let found = scan_value::<JsonB>(&sql, &[(*name).into(), candidates.clone().into()])?
            .map(|j| j.0)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        groups.extend(found.into_iter().map(|g| (g, "identical identity fields")));
    }
    let mut seen = std::collections::HashSet::new();
    for (g, why) in groups {
        let ids: Vec<String> = g["entity_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        // the same entities found by content and by identity are one finding
        if !seen.insert(ids.clone()) {
            continue;
        }
        issues.push(
            Issue::new(Severity::Medium, DUPLICATE_ENTITIES, format!("Duplicate entities found ({why}): {}", ids.join(", ")))
                .with_details(json!({"entity_type": g["entity_type"], "count": g["count"], "entity_ids": ids, "reason": why, "identity": g.get("identity")})),
        );
    }
    Ok(())
}
