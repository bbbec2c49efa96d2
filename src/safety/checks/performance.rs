//! PerformanceImpactCheck: rows the migration touches (planner statistics, entity
//! counts), duration from a throughput this server measured, memory, and the lock
//! analysis of every SQL statement (parsed by Postgres).
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use crate::spi::first_value;
use crate::spi::subxact::{atomically, Aborted};
use crate::spi::temporal::{qualified, ENTITIES, LIVE};
use migration_engine_core::safety::codes::{self, PERFORMANCE_IMPACT_CHECK};
use migration_engine_core::safety::{
    analyze, estimate, performance_issues, CheckResult, Issue, Severity, TableWork,
};
use pgrx::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

pub struct PerformanceImpactCheck;

impl SafetyCheck for PerformanceImpactCheck {
    fn name(&self) -> &'static str {
        PERFORMANCE_IMPACT_CHECK
    }

    fn run(&self, ctx: &Context) -> MeResult<CheckResult> {
        let mut issues = Vec::new();
        let mut rows: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut looked_up = std::collections::HashSet::new();
        for s in &ctx.forward {
            for t in s.target_tables() {
                // one lookup per table, however many statements touch it
                if !looked_up.insert(t) {
                    continue;
                }
                if let Some(stats) = table_stats(&ctx.data_schema, t)? {
                    rows.insert(t.to_string(), stats);
                }
            }
        }
        for step in &ctx.migration.definition.forward {
            if let Some(pipeline) = step.kind.transform_pipeline() {
                if let Some(t) = pipeline
                    .get("source")
                    .and_then(|s| s.get("entityType"))
                    .and_then(|v| v.as_str())
                {
                    let n = first_value::<i64>(
                        &format!(
                            "SELECT count(*) FROM {} WHERE entity_type = $1 AND {LIVE}",
                            qualified(
                                &crate::spi::quoted_ident("data schema", &ctx.data_schema)?,
                                ENTITIES
                            )
                        ),
                        &[t.into()],
                    )?
                    .unwrap_or(0);
                    rows.insert(format!("{t} entities"), (n.max(0) as u64, 200));
                }
            }
        }
        let work: Vec<TableWork> = rows
            .iter()
            .map(|(t, (n, _))| TableWork {
                table: t.clone(),
                rows: *n,
            })
            .collect();
        let width = rows.values().map(|(_, w)| *w).max().unwrap_or(100).max(1);
        let throughput = measured_throughput()?;
        match estimate(&work, throughput, width, None) {
            Ok(e) => {
                issues.extend(performance_issues(&e));
                issues.push(
                    Issue::new(
                        Severity::Low,
                        codes::PERFORMANCE_ESTIMATE,
                        format!("About {} rows touched, estimated {:.1} s at {:.0} rows/s measured on this server", e.total_rows, e.seconds, throughput),
                    )
                    .with_details(json!({"estimate": e, "rows_per_second": throughput})),
                );
            }
            Err(e) => issues.push(Issue::new(
                Severity::Medium,
                codes::PERFORMANCE_ASSESSMENT_FAILURE,
                e.to_string(),
            )),
        }
        for finding in analyze(&ctx.forward) {
            issues.push(Issue::from_lock(&finding));
        }
        for (step, err) in &ctx.forward_errors {
            issues.push(
                Issue::new(
                    Severity::High,
                    codes::INVALID_FORWARD_SCRIPT,
                    format!("step {step:?} does not parse: {err}"),
                )
                .with_details(json!({"step": step, "error": err})),
            );
        }
        for (step, problem) in &ctx.hidden_statements {
            issues.push(
                Issue::new(Severity::Critical, codes::HIDDEN_STATEMENT, problem.clone())
                    .with_details(json!({"step": step})),
            );
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}

/// (rows from planner statistics, average row width in bytes) of a table, as resolved
/// with the data schema first on the path.
fn table_stats(schema: &str, table: &str) -> MeResult<Option<(u64, u64)>> {
    let sql = "SELECT jsonb_build_array(greatest(c.reltuples, 0)::bigint, \
                   CASE WHEN c.reltuples > 0 AND c.relpages > 0 THEN (c.relpages::float8 * 8192 / c.reltuples)::bigint ELSE 100 END) \
               FROM pg_catalog.pg_class c \
               WHERE c.oid = CASE WHEN strpos($1, '.') > 0 THEN pg_catalog.to_regclass($1) \
                     ELSE coalesce(pg_catalog.to_regclass(pg_catalog.quote_ident($2) || '.' || $1), pg_catalog.to_regclass('public.' || $1)) END";
    let v = first_value::<pgrx::JsonB>(sql, &[table.into(), schema.into()])?;
    Ok(v.map(|j| (j.0[0].as_u64().unwrap_or(0), j.0[1].as_u64().unwrap_or(100))))
}

/// Rows/s for row updates on this server: the latest measurement (backfills record
/// theirs), or a calibration run now (20,000 rows updated in a subtransaction that is
/// rolled back), kept for next time.
pub fn measured_throughput() -> MeResult<f64> {
    if let Some(v) = first_value::<f64>(
        "SELECT rows_per_second FROM migration_engine.throughput_stats WHERE kind = 'row_update'",
        &[],
    )? {
        return Ok(v);
    }
    const SAMPLE: f64 = 20_000.0;
    // the subtransaction returns Err(measurement) so that it is rolled back
    let outcome = atomically(|| -> Result<(), f64> {
        Spi::run(
            "CREATE TEMP TABLE me_calibration AS \
             SELECT g AS id, jsonb_build_object('v', g) AS content FROM generate_series(1, 20000) g",
        )
        .map_err(|_| 0.0)?;
        let clock = Instant::now();
        Spi::run("UPDATE me_calibration SET content = content || '{\"calibrated\": true}'")
            .map_err(|_| 0.0)?;
        Err(SAMPLE / clock.elapsed().as_secs_f64().max(1e-6))
    });
    let rps = match outcome {
        Err(Aborted::Returned(rps)) if rps > 0.0 => rps,
        _ => return Ok(10_000.0),
    };
    record_throughput("row_update", rps, SAMPLE as i64)?;
    Ok(rps)
}

/// Keep a measured throughput (the latest wins).
pub fn record_throughput(kind: &str, rows_per_second: f64, sample_rows: i64) -> MeResult<()> {
    Spi::run_with_args(
        "INSERT INTO migration_engine.throughput_stats (kind, rows_per_second, sample_rows) VALUES ($1, $2, $3) \
         ON CONFLICT (kind) DO UPDATE SET rows_per_second = excluded.rows_per_second, \
             sample_rows = excluded.sample_rows, measured_at = now()",
        &[kind.into(), rows_per_second.into(), sample_rows.into()],
    )?;
    Ok(())
}
