//! The seed's weighted score of a canary step, from the metrics recorded for it (and the
//! data consistency measured here when asked for and not recorded).
use crate::catalog::Rollout;
use crate::errors::MeResult;
use crate::spi::temporal::{current_of, qualified, CURRENT, ENTITIES};
use crate::spi::{first_value, quoted_ident};
use migration_engine_core::rollout::canary::{evaluate, Evaluation};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How many current entities the consistency measure samples.
const CONSISTENCY_SAMPLE: f64 = 1000.0;

/// Share of sampled current entities of the old version whose new version is there and
/// at least as recent: what the new version's readers see is what was written. The
/// sample is pages spread over the table (TABLESAMPLE SYSTEM, at a rate from the row
/// estimate, twice what is needed since old versions share the pages), not "ids from a
/// random one up": that assumed ids spread uniformly, and time-ordered (version 7)
/// ids all sit in one narrow band, above nearly every random starting point.
fn data_consistency(r: &Rollout) -> MeResult<f64> {
    let (old, new) = (
        quoted_ident("schema", &r.old_schema)?,
        quoted_ident("schema", &r.new_schema)?,
    );
    let rows = first_value::<f64>(
        "SELECT greatest(c.reltuples, 0)::float8 FROM pg_catalog.pg_class c \
         WHERE c.oid = pg_catalog.to_regclass($1)",
        &[qualified(&old, ENTITIES).into()],
    )?
    .unwrap_or(0.0);
    let percent = if rows <= 2.0 * CONSISTENCY_SAMPLE {
        100.0
    } else {
        (200.0 * CONSISTENCY_SAMPLE / rows).min(100.0)
    };
    let n_current = current_of("n");
    Ok(first_value::<f64>(
        &format!(
            "WITH s AS (SELECT entity_id, valid_from FROM {old}.{ENTITIES} TABLESAMPLE SYSTEM ({percent}) \
                        WHERE {CURRENT} LIMIT {CONSISTENCY_SAMPLE}) \
             SELECT CASE WHEN count(*) = 0 THEN 1.0 ELSE \
                    count(*) FILTER (WHERE n.entity_id IS NOT NULL AND n.valid_from >= s.valid_from)::float8 / count(*) END \
             FROM s LEFT JOIN {new}.{ENTITIES} n ON n.entity_id = s.entity_id AND {n_current}"
        ),
        &[],
    )?
    .unwrap_or(1.0))
}

/// The seed's weighted score over the validation metrics: per metric, the median of this
/// step's observations of the new version (one outlier cannot swing it, and no sum can
/// overflow), else its latest earlier one;
/// data_consistency, when asked for and not recorded, measured here.
pub(super) fn score(r: &Rollout, record: bool) -> MeResult<(Evaluation, Value)> {
    let observed = first_value::<JsonB>(
        "SELECT coalesce(jsonb_object_agg(m, v) FILTER (WHERE v IS NOT NULL), '{}') FROM ( \
           SELECT m, coalesce( \
             (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM migration_engine.canary_metrics \
              WHERE migration_id = $1 AND metric = m AND version = 'new' AND step_number = $2), \
             (SELECT value FROM migration_engine.canary_metrics \
              WHERE migration_id = $1 AND metric = m AND version = 'new' ORDER BY id DESC LIMIT 1)) AS v \
           FROM unnest($3::text[]) m) x",
        &[r.id.into(), r.step.into(), r.config.validation_metrics.clone().into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!({}));
    let mut metrics: BTreeMap<String, f64> = observed
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
        .collect();
    let mut measured = Value::Null;
    if r.config
        .validation_metrics
        .iter()
        .any(|m| m == "data_consistency")
        && !metrics.contains_key("data_consistency")
    {
        let c = data_consistency(r)?;
        metrics.insert("data_consistency".into(), c);
        measured = json!(c);
        if record {
            Spi::run_with_args(
                "INSERT INTO migration_engine.canary_metrics (migration_id, step_number, percentage, metric, value, source) \
                 VALUES ($1, $2, $3, 'data_consistency', $4, 'extension')",
                &[r.id.into(), r.step.into(), r.percentage.into(), c.into()],
            )?;
        }
    }
    Ok((evaluate(&metrics, r.config.success_threshold), measured))
}

pub(super) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
