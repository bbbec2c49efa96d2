//! DataIntegrityCheck: non-conforming entities, orphaned relations, duplicates.
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use crate::schema::registry::active_version;
use crate::schema::validate::find_invalid;
use crate::spi::{data_table, quoted_ident};
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
    let entities = data_table("temporal_entities")?;
    let relations = data_table("temporal_relations")?;
    // First the referenced ids that have no current entity: one anti-join that hashes the
    // current entities once for sources and targets together. Only when there are some,
    // the relations that use them.
    let missing = Spi::get_one::<Vec<pgrx::Uuid>>(&format!(
        "SELECT array_agg(id) FROM (SELECT x.id FROM ( \
             SELECT source_entity_id AS id FROM {relations} WHERE valid_to = 'infinity' AND NOT is_deleted \
             UNION SELECT target_entity_id FROM {relations} WHERE valid_to = 'infinity' AND NOT is_deleted) x \
           WHERE NOT EXISTS (SELECT 1 FROM {entities} e WHERE e.entity_id = x.id AND e.valid_to = 'infinity' AND NOT e.is_deleted) \
           LIMIT 10000) m"
    ))?
    .unwrap_or_default();
    if missing.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT jsonb_build_object('count', count(*), 'example', (jsonb_agg(jsonb_build_object('relation_id', relation_id, \
                  'relation_type', relation_type, 'source_entity', source_entity_id, 'target_entity', target_entity_id, \
                  'source_missing', source_entity_id = ANY ($1), 'target_missing', target_entity_id = ANY ($1)))) -> 0) \
         FROM {relations} WHERE valid_to = 'infinity' AND NOT is_deleted \
           AND (source_entity_id = ANY ($1) OR target_entity_id = ANY ($1))"
    );
    let found = Spi::get_one_with_args::<JsonB>(&sql, &[missing.into()])?
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

fn duplicates(issues: &mut Vec<Issue>) -> MeResult<()> {
    let entities = data_table("temporal_entities")?;
    // Two phases: group a hash (an int4 groups fast) to find candidate groups, then, only
    // when there are any, compare the real values of those rows. Without candidates the
    // million-row scan is the only cost.
    let candidates = Spi::get_one::<Vec<i32>>(&format!(
        "SELECT array_agg(hk) FROM (SELECT jsonb_hash(content) AS hk FROM {entities} \
         WHERE valid_to = 'infinity' AND NOT is_deleted GROUP BY entity_type, 1 HAVING count(*) > 1 LIMIT 1000) c"
    ))?
    .unwrap_or_default();
    let mut groups: Vec<(Value, &str)> = Vec::new();
    if !candidates.is_empty() {
        let by_content = format!(
            "SELECT coalesce(jsonb_agg(jsonb_build_object('entity_type', entity_type, 'entity_ids', ids, 'count', n)), '[]') FROM ( \
                SELECT entity_type, count(*) AS n, (array_agg(entity_id ORDER BY entity_id))[1:10] AS ids \
                FROM {entities} WHERE valid_to = 'infinity' AND NOT is_deleted AND jsonb_hash(content) = ANY ($1) \
                GROUP BY entity_type, content HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 20) d"
        );
        groups.extend(
            Spi::get_one_with_args::<JsonB>(&by_content, &[candidates.into()])?
                .map(|j| j.0)
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .map(|g| (g, "identical content")),
        );
    }
    // identity fields declared by the active schema
    if let Some(active) = active_version()? {
        if let Ok(doc) = parse_schema(&active.definition) {
            for entity in doc.entities.iter().filter(|e| !e.identity.is_empty()) {
                let key = entity
                    .identity
                    .iter()
                    .map(|f| format!("content -> {}", pgrx::spi::quote_literal(f)))
                    .collect::<Vec<_>>()
                    .join(", ");
                quoted_ident("entity type", entity.name)?;
                let hashes = Spi::get_one_with_args::<Vec<i32>>(
                    &format!(
                        "SELECT array_agg(hk) FROM (SELECT jsonb_hash(jsonb_build_array({key})) AS hk FROM {entities} \
                         WHERE entity_type = $1 AND valid_to = 'infinity' AND NOT is_deleted GROUP BY 1 HAVING count(*) > 1 LIMIT 1000) c"
                    ),
                    &[entity.name.into()],
                )?
                .unwrap_or_default();
                if hashes.is_empty() {
                    continue;
                }
                let sql = format!(
                    "SELECT coalesce(jsonb_agg(jsonb_build_object('entity_type', $1, 'entity_ids', ids, 'count', n, 'identity', key)), '[]') FROM ( \
                        SELECT jsonb_build_array({key}) AS key, count(*) AS n, (array_agg(entity_id ORDER BY entity_id))[1:10] AS ids \
                        FROM {entities} WHERE entity_type = $1 AND valid_to = 'infinity' AND NOT is_deleted \
                          AND jsonb_hash(jsonb_build_array({key})) = ANY ($2) \
                        GROUP BY {key} HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 20) d"
                );
                let found =
                    Spi::get_one_with_args::<JsonB>(&sql, &[entity.name.into(), hashes.into()])?
                        .map(|j| j.0)
                        .and_then(|v| v.as_array().cloned())
                        .unwrap_or_default();
                groups.extend(found.into_iter().map(|g| (g, "identical identity fields")));
            }
        }
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
