//! validate_migration_safety: the seed's safety checks, in the database, where they can
//! see the real data, statistics, locks and parser. Each check is one module behind the
//! `SafetyCheck` trait; the report shape, lock rules and recommendations are the core's.
mod checks;
mod context;
mod repeated_hashes;

pub use context::Context;

use crate::catalog::MigrationRow;
use crate::errors::{MeError, MeResult};
use crate::spi::audit;
use crate::spi::jsonb_arg::JsonArg;
use checks::CHECKS;
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::safety::codes;
use migration_engine_core::safety::{to_json, to_markdown, CheckResult, LintOptions, SafetyReport};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// One check of the report.
pub trait SafetyCheck {
    fn name(&self) -> &'static str;
    fn run(&self, ctx: &Context) -> MeResult<CheckResult>;
}

/// Run every check; a check that raises becomes a CRITICAL SAFETY_CHECK_FAILURE, as the
/// seed does, instead of aborting the report.
pub fn report(migration_name: &str, options: &Value) -> MeResult<SafetyReport> {
    Ok(timed_report(migration_name, options)?.0)
}

/// The report and how long each check took (milliseconds, in report order).
pub fn timed_report(migration_name: &str, options: &Value) -> MeResult<(SafetyReport, Vec<f64>)> {
    timed_report_of(Context::load(migration_name, options)?)
}

/// The checks over an already loaded migration (the engine's gate has its row).
fn timed_report_of(ctx: Context) -> MeResult<(SafetyReport, Vec<f64>)> {
    let migration_name = ctx.migration.name.clone();
    let mut results = Vec::new();
    let mut timings = Vec::new();
    for check in CHECKS {
        let clock = std::time::Instant::now();
        let outcome = crate::spi::subxact::atomically(|| check.run(&ctx));
        timings.push(crate::timing::elapsed_ms(clock));
        results.push(match outcome {
            Ok(r) => r,
            Err(crate::spi::subxact::Aborted::Returned(e)) => {
                CheckResult::failed(check.name(), &e.message)
            }
            Err(crate::spi::subxact::Aborted::Raised(e)) => {
                CheckResult::failed(check.name(), &e.message)
            }
        });
    }
    Ok((SafetyReport::new(&migration_name, results), timings))
}

/// The data-integrity check alone, on `schema` (a blue-green target before its switch).
pub fn integrity_on(schema: &str, migration_name: &str) -> MeResult<CheckResult> {
    crate::spi::with_data_schema(schema, || {
        let ctx = Context::load(migration_name, &json!({}))?;
        checks::CHECKS[0].run(&ctx)
    })
}

fn parse_options(options: &Value) -> MeResult<()> {
    let obj = crate::spi::args::options_object(options, &["trial", "skipIntegrity"])?;
    for (k, v) in obj {
        match k.as_str() {
            "trial" | "skipIntegrity" if !v.is_boolean() => {
                return Err(MeError::invalid_parameter(format!(
                    "options.{k} must be true or false"
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `{overall_safety, critical_issues, all_results, recommendations}` for a migration.
/// `{"trial": true}` also runs the forward steps in a subtransaction, reads the locks they
/// took from pg_locks, and undoes them.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn validate_migration_safety(
    migration_name: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> Result<JsonB, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(migration_name, options);
    parse_options(&options.0)?;
    let (r, timings) = timed_report(migration_name, &options.0)?;
    let mut v = to_json(&r);
    if let Some(results) = v.get_mut("all_results").and_then(Value::as_array_mut) {
        for (result, ms) in results.iter_mut().zip(timings) {
            result["duration_ms"] = json!(ms);
        }
    }
    let trace = trial_trace(&v);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("migration");
        obj.insert("migration_name".into(), json!(migration_name));
        if options.0.get("trial") == Some(&Value::Bool(true)) {
            obj.insert("trace".into(), trace);
        }
    }
    Ok(JsonB(v))
}

/// The trial's statement traces, in the order they ran: the `details` of its
/// TRIAL_TRACE issues, lifted to the top of the report.
fn trial_trace(report: &Value) -> Value {
    let traces = report["all_results"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["issues"].as_array().into_iter().flatten())
        .filter(|i| i["code"] == codes::TRIAL_TRACE)
        .map(|i| i["details"].clone())
        .collect();
    Value::Array(traces)
}

/// The same report as Markdown, for psql and pull-request comments.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn safety_report(migration_name: &str) -> Result<String, pgrx::pg_sys::panic::ErrorReport> {
    Ok(to_markdown(&report(migration_name, &json!({}))?))
}

/// The lock rules with their bad and good examples.
#[pg_extern(immutable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn safety_rules() -> TableIterator<
    'static,
    (
        name!(code, String),
        name!(severity, String),
        name!(summary, String),
        name!(bad_example, String),
        name!(good_example, String),
    ),
> {
    let rows: Vec<_> = migration_engine_core::safety::rule_docs()
        .into_iter()
        .map(|d| {
            (
                d.code.to_string(),
                serde_json::to_value(d.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                d.summary.to_string(),
                d.bad.to_string(),
                d.good.to_string(),
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// Gate for execute_migration / run_migration: `None` to go ahead, or the refusal. It
/// takes the row the engine has loaded (and locked), so the definition is not read and
/// parsed again.
pub fn gate(row: &MigrationRow, force: bool) -> MeResult<Option<Value>> {
    let migration_name = row.name.as_str();
    // The data-integrity scans read every current entity (about a second at 1,000,000)
    // and report at most HIGH: they never change the verdict, so the gate leaves them
    // out; a refusal's report, rare and read by a person, has them.
    let verdict = timed_report_of(Context::for_row(
        row.clone(),
        &json!({"skipIntegrity": true}),
    )?)?
    .0;
    if verdict.overall_safety {
        return Ok(None);
    }
    let r = if force {
        verdict
    } else {
        timed_report_of(Context::for_row(row.clone(), &json!({}))?)?.0
    };
    if force {
        audit(
            "safety_gate_forced",
            "migration",
            migration_name,
            json!({"critical_issues": r.critical_issues.iter().map(|i| i.code.clone()).collect::<Vec<_>>()}),
        )?;
        return Ok(None);
    }
    let report = to_json(&r);
    Ok(Some(json!({
        "success": false,
        "code": codes::SAFETY_CHECK_FAILED,
        "status": MigrationStatus::Pending.as_str(),
        "error": format!("migration {migration_name:?} failed its safety checks: {}",
            r.critical_issues.iter().map(|i| i.message.clone()).collect::<Vec<_>>().join("; ")),
        "hint": "Fix the critical issues (see safety_report), or pass {\"force\": true} to run it anyway (audited).",
        "safety": report,
    })))
}

/// Lint SQL the way the safety checks do (squawk-style, but with Postgres's own parser
/// and this database's catalog): the lock/rewrite findings of each statement, reading the
/// input as one script. `options`: `outsideEngine` (the script runs by psql or a deploy
/// tool: no step policy sets its lock_timeout, and it manages its own transactions).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn lint_sql(
    sql: &str,
    in_transaction: default!(bool, true),
    options: default!(JsonArg, "'{}'::jsonb"),
) -> Result<JsonB, pgrx::pg_sys::panic::ErrorReport> {
    let options = lint_options(&options.0 .0)?;
    let schema = crate::spi::data_schema()?;
    let path = format!(
        "{}, public, pg_catalog",
        crate::spi::quoted_ident("data schema", &schema)?
    );
    let facts = crate::spi::with_search_path(&path, || {
        crate::parser::parse_step("sql", sql, in_transaction)
    })?;
    let facts = facts.map_err(|e| {
        MeError::new(
            PgSqlErrorCode::ERRCODE_SYNTAX_ERROR,
            format!("the SQL does not parse: {e}"),
        )
    })?;
    let findings = migration_engine_core::safety::analyze_with(&facts, &options);
    Ok(JsonB(serde_json::to_value(findings).unwrap_or(Value::Null)))
}

fn lint_options(options: &Value) -> MeResult<LintOptions> {
    let obj = crate::spi::args::options_object(options, &["outsideEngine"])?;
    let mut out = LintOptions::default();
    if let Some(v) = obj.get("outsideEngine") {
        out.outside_engine = v.as_bool().ok_or_else(|| {
            MeError::invalid_parameter("options.outsideEngine must be true or false")
                .hint("Pass {\"outsideEngine\": true} for a script run by psql or a deploy tool.")
        })?;
    }
    Ok(out)
}
