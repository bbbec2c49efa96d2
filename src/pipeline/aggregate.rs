//! AGGREGATE steps: once the batches are done, group the current source entities (as the
//! pipeline left them, source filter applied), and upsert one entity of the target type
//! per group, keyed on the group fields (a new temporal version only when it changed),
//! linked to its members by relations when `relationType` is given.
use crate::errors::{MeError, MeResult};
use crate::graph::upsert_entity_version;
use crate::spi::temporal::{live_of, qualified, ENTITIES, LIVE, RELATIONS};
use crate::spi::{first_value, quoted_ident};
use migration_engine_core::pipeline::relational::{Aggregate, AggregateFunction};
use migration_engine_core::pipeline::{compile_pipeline, Pipeline, Quoter, StepAction};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

fn q_err(e: impl std::fmt::Display) -> MeError {
    MeError::invalid_parameter(format!("the AGGREGATE step cannot be compiled: {e}"))
}

fn group_sql(p: &Pipeline, a: &Aggregate, entities: &str) -> MeResult<String> {
    let q = Quoter;
    let filter = compile_pipeline(p, "content")
        .map_err(q_err)?
        .source_filter_sql
        .map(|f| format!(" AND ({f})"))
        .unwrap_or_default();
    let mut key_parts = Vec::new();
    let mut group_exprs = Vec::new();
    for g in &a.group_by {
        let path = q.text_array(&g.segments()).map_err(q_err)?;
        key_parts.push(format!(
            "{}, content #> {path}",
            q.literal(g.last()).map_err(q_err)?
        ));
        group_exprs.push(format!("content #> {path}"));
    }
    let mut agg_parts = Vec::new();
    for s in &a.aggregates {
        let value = match &s.field {
            Some(f) => format!(
                "(content #>> {})",
                q.text_array(&f.segments()).map_err(q_err)?
            ),
            None => "NULL".into(),
        };
        let expr = match s.function {
            AggregateFunction::Count => "count(*)".to_string(),
            AggregateFunction::Sum => format!("sum({value}::numeric)"),
            AggregateFunction::Min => format!("min({value}::numeric)"),
            AggregateFunction::Max => format!("max({value}::numeric)"),
            AggregateFunction::Avg => format!("round(avg({value}::numeric), 6)"),
            AggregateFunction::ArrayAgg => format!(
                "jsonb_agg(content #> {} ORDER BY entity_id)",
                q.text_array(&s.field.as_ref().map(|f| f.segments()).unwrap_or_default())
                    .map_err(q_err)?
            ),
        };
        agg_parts.push(format!(
            "{}, to_jsonb({expr})",
            q.literal(s.output.last()).map_err(q_err)?
        ));
    }
    Ok(format!(
        "SELECT jsonb_build_object({keys}), jsonb_build_object({keys}) || jsonb_build_object({aggs}), array_agg(entity_id ORDER BY entity_id) \
         FROM {entities} WHERE entity_type = $1 AND {LIVE}{filter} \
         GROUP BY {groups} ORDER BY 1",
        keys = key_parts.join(", "),
        aggs = if agg_parts.is_empty() { "'_count', count(*)".into() } else { agg_parts.join(", ") },
        groups = if group_exprs.is_empty() { "()".into() } else { group_exprs.join(", ") },
    ))
}

pub fn run_aggregates(p: &Pipeline, schema: &str) -> MeResult<i64> {
    let sch = quoted_ident("data schema", schema)?;
    let (entities, relations) = (qualified(&sch, ENTITIES), qualified(&sch, RELATIONS));
    let r_live = live_of("r");
    let mut written = 0;
    for step in &p.steps {
        let StepAction::Aggregate(a) = &step.action else {
            continue;
        };
        quoted_ident("entity type", &a.target_entity_type)?;
        let sql = group_sql(p, a, &entities)?;
        let groups = Spi::connect(|c| {
            let mut out = Vec::new();
            for r in c.select(&sql, None, &[p.source.entity_type.as_str().into()])? {
                out.push((
                    r.get::<JsonB>(1)?.map(|j| j.0).unwrap_or(Value::Null),
                    r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
                    r.get::<Vec<Uuid>>(3)?.unwrap_or_default(),
                ));
            }
            Ok::<_, pgrx::spi::Error>(out)
        })?;
        for (key, content, members) in groups {
            let existing = first_value::<Uuid>(
                &format!(
                    "SELECT entity_id FROM {entities} WHERE entity_type = $1 AND {LIVE} \
                     AND content @> $2 ORDER BY entity_id LIMIT 1"
                ),
                &[a.target_entity_type.as_str().into(), JsonB(key).into()],
            )?;
            let id = upsert_entity_version(&a.target_entity_type, content, existing)?;
            written += 1;
            if let Some(rel) = &a.relation_type {
                quoted_ident("relation type", rel)?;
                Spi::run_with_args(
                    &format!(
                        "INSERT INTO {relations} (relation_type, source_entity_id, target_entity_id) \
                         SELECT $1, $2, m FROM unnest($3::uuid[]) m \
                         WHERE NOT EXISTS (SELECT 1 FROM {relations} r WHERE r.relation_type = $1 AND r.source_entity_id = $2 \
                                           AND r.target_entity_id = m AND {r_live})"
                    ),
                    &[rel.as_str().into(), id.into(), members.into()],
                )?;
            }
        }
    }
    Ok(written)
}
