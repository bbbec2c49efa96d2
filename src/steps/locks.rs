//! The lock policy of a step (docs/ENGINE.md, "Locks"): lock_timeout is short (500 ms by
//! default) so that a DDL never sits in the lock queue with every later query of the
//! application queued behind it; a step that times out is rolled back alone and tried
//! again after a back-off with jitter, up to lockRetries times. Who held the locks is
//! looked up before each retry and kept on the step's record.
use crate::parser::parse_step;
use migration_engine_core::engine::definition::Step;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

/// The sessions holding locks on the tables the step's statements name (best effort: a
/// FUNCTION step names none): pid, role, application, state, mode, transaction age, query.
pub fn holders(step: &Step, data_schema: &str) -> Value {
    let Some(script) = step.kind.statement_text() else {
        return json!([]);
    };
    let tables: Vec<String> = match parse_step(&step.name, script, true) {
        Ok(statements) => statements
            .iter()
            .flat_map(|s| s.target_tables().into_iter().map(str::to_string))
            .collect(),
        Err(_) => return json!([]),
    };
    if tables.is_empty() {
        return json!([]);
    }
    // names resolve as the step's statements resolve them: the data schema, then public
    Spi::get_one_with_args::<JsonB>(
        "WITH rel AS (SELECT coalesce(CASE WHEN strpos(t, '.') = 0 THEN to_regclass(pg_catalog.quote_ident($1) || '.' || t) END,
                                      to_regclass(t)) AS oid
                      FROM unnest($2::text[]) t)
         SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_object(
                    'pid', a.pid, 'role', a.usename, 'application_name', a.application_name,
                    'state', a.state, 'table', l.relation::regclass::text, 'mode', l.mode,
                    'xact_age_s', round(extract(epoch FROM clock_timestamp() - a.xact_start)::numeric, 1),
                    'query', left(a.query, 200))), '[]')
         FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
         WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_catalog.pg_backend_pid()
           AND l.relation IN (SELECT oid FROM rel WHERE oid IS NOT NULL)",
        &[data_schema.into(), tables.into()],
    )
    .ok()
    .flatten()
    .map(|j| j.0)
    .unwrap_or(json!([]))
}

/// Wait before retry `n` (1, 2, ...): 100 ms doubled each time, at most `max_ms`, with
/// jitter (a random half to all of it), so that several runners do not retry in step.
pub fn back_off(n: i32, max_ms: u32) {
    let base = 100u64
        .saturating_mul(1u64 << (n - 1).clamp(0, 20) as u32)
        .min(max_ms as u64);
    let _ = Spi::run_with_args(
        "SELECT pg_catalog.pg_sleep(($1 * (0.5 + random() / 2)) / 1000.0)",
        &[(base as f64).into()],
    );
}

/// The error of a step that ran out of retries, naming what it waited for.
pub fn explain_timeout(message: &str, retries: i32, blockers: &Value) -> String {
    let held_by: Vec<String> = blockers
        .as_array()
        .map(|b| {
            b.iter()
                .map(|x| {
                    format!(
                        "pid {} ({}, {}, {} on {}: {})",
                        x["pid"],
                        x["role"].as_str().unwrap_or("?"),
                        x["state"].as_str().unwrap_or("?"),
                        x["mode"].as_str().unwrap_or("?"),
                        x["table"].as_str().unwrap_or("?"),
                        x["query"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let tries = if retries > 0 {
        format!(" after {} tries", retries + 1)
    } else {
        String::new()
    };
    if held_by.is_empty() {
        format!("{message}{tries}")
    } else {
        format!(
            "{message}{tries}; the lock is held by {}",
            held_by.join("; ")
        )
    }
}
