//! The runner's worker: a dynamic background worker (no shared_preload_libraries), one
//! per attempt, logged in as the role that called run_migration (as the canary's worker:
//! the statements are the migration author's, run with the author's rights and nobody
//! else's). It claims its attempt row, sets the step's search_path, timeouts and
//! application_name, runs the script statement by statement at the top level, cleans up
//! what a failed concurrent build left, and writes the outcome. Each of those writes is
//! its own committed transaction, so a caller polling the row sees them as they happen.
//!
//! Signals keep PostgreSQL's defaults for a worker with a database connection: SIGINT
//! (pg_cancel_backend) cancels the running statement, SIGTERM (pg_terminate_backend, or
//! the caller giving up) ends the worker at once; the row then stays RUNNING with a
//! worker that is gone, which the caller and resume_migration detect.
use super::toplevel::{self, StatementError};
use crate::catalog::{
    claim_attempt, finish_attempt, set_attempt_done, set_attempt_total, AttemptOutcome,
};
use migration_engine_core::engine::state::AttemptStatus;
use pgrx::bgworkers::BackgroundWorker;
use pgrx::prelude::*;
use serde_json::{json, Value};

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn migration_engine_top_level_worker(_arg: pg_sys::Datum) {
    // SAFETY: first call of this background worker's entry point, on its only thread: workers start
    // with signals blocked and the bgworker API requires them unblocked here.
    unsafe { pg_sys::BackgroundWorkerUnblockSignals() };
    let Some(attempt) =
        crate::spi::caller_worker::connect_as_caller().and_then(|p| p.parse::<i64>().ok())
    else {
        return;
    };
    let Some((script, settings)) = BackgroundWorker::transaction(|| claim(attempt)) else {
        return;
    };
    BackgroundWorker::transaction(|| apply_settings(&settings));
    let (outcome, cleaned) = run_script(attempt, &script);
    BackgroundWorker::transaction(|| finish(attempt, outcome, &cleaned));
}

/// Take the attempt: QUEUED → RUNNING with this worker's pid. None when it is not there
/// or not queued (a second worker for one attempt does nothing).
fn claim(attempt: i64) -> Option<(String, Value)> {
    claim_attempt(attempt).ok().flatten()
}

/// The step's settings, for the whole session (set_config with is_local = false).
fn apply_settings(settings: &Value) {
    for (name, value) in [
        ("search_path", "search_path"),
        ("statement_timeout", "statement_timeout"),
        ("lock_timeout", "lock_timeout"),
        ("application_name", "application_name"),
    ] {
        if let Some(v) = settings.get(value).and_then(Value::as_str) {
            let _ = Spi::run_with_args(
                "SELECT pg_catalog.set_config($1, $2, false)",
                &[name.into(), v.into()],
            );
        }
    }
}

type Outcome = Result<usize, (usize, StatementError)>;

/// Run every statement in order; stop at the first failure. Ok(statements run) or the
/// failing statement's index and error; with the invalid indexes it dropped.
fn run_script(attempt: i64, source: &str) -> (Outcome, Vec<Value>) {
    let mut cleaned = Vec::new();
    let script = match toplevel::parse(source) {
        Ok(s) => s,
        Err(e) => return (Err((0, e)), cleaned),
    };
    let total = script.statements().len() as i32;
    BackgroundWorker::transaction(|| {
        let _ = set_attempt_total(attempt, total);
    });
    for (i, statement) in script.statements().iter().enumerate() {
        // a build that failed or was interrupted before (a retry, a resume after a
        // crash) left its index INVALID under the same name: drop it, then build again
        if let Some(target) = &statement.concurrent_index {
            if let Some(index) = invalid_index_named(&target.name, target.schema.as_deref()) {
                match drop_concurrently(&index) {
                    Ok(()) => cleaned.push(json!({"index": index, "when": "before"})),
                    Err(e) => return (Err((i, e)), cleaned),
                }
            }
        }
        let before = if statement.builds_concurrently {
            invalid_indexes()
        } else {
            Vec::new()
        };
        if let Err(e) = script.run(i) {
            if statement.builds_concurrently {
                cleaned.extend(drop_new_invalid_indexes(&before));
            }
            return (Err((i, e)), cleaned);
        }
        BackgroundWorker::transaction(|| {
            let _ = set_attempt_done(attempt, i as i32 + 1);
        });
    }
    (Ok(script.statements().len()), cleaned)
}

fn invalid_index_named(name: &str, schema: Option<&str>) -> Option<String> {
    BackgroundWorker::transaction(|| {
        Spi::get_one_with_args::<String>(
            "SELECT c.oid::regclass::text FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
             WHERE NOT i.indisvalid AND c.relname = $1 \
               AND CASE WHEN $2::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) \
                        ELSE c.relnamespace = pg_catalog.to_regnamespace($2) END",
            &[name.into(), schema.into()],
        )
        .ok()
        .flatten()
    })
}

/// Every invalid index of the database, by name (regclass text, quoted where needed).
fn invalid_indexes() -> Vec<String> {
    BackgroundWorker::transaction(|| {
        Spi::get_one::<Vec<String>>(
            "SELECT coalesce(array_agg(i.indexrelid::regclass::text), '{}') FROM pg_catalog.pg_index i WHERE NOT i.indisvalid",
        )
        .ok()
        .flatten()
        .unwrap_or_default()
    })
}

/// The invalid indexes the failed statement left (those that were not invalid before).
fn drop_new_invalid_indexes(before: &[String]) -> Vec<Value> {
    invalid_indexes()
        .into_iter()
        .filter(|i| !before.contains(i))
        .map(|index| match drop_concurrently(&index) {
            Ok(()) => json!({"index": index, "when": "after"}),
            Err(e) => json!({"index": index, "when": "after", "error": e.message}),
        })
        .collect()
}

fn drop_concurrently(index: &str) -> Result<(), StatementError> {
    // `index` is regclass output: a name quoted as Postgres quotes it
    let script = toplevel::parse(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))?;
    script.run(0)
}

fn finish(attempt: i64, outcome: Outcome, cleaned: &[Value]) {
    let (status, done, sqlstate, error) = match &outcome {
        Ok(n) => (AttemptStatus::Completed, *n as i32, None, None),
        Err((i, e)) => (
            AttemptStatus::Failed,
            *i as i32,
            Some(e.sqlstate.clone()),
            Some(e.message.clone()),
        ),
    };
    let _ = finish_attempt(
        attempt,
        &AttemptOutcome {
            status,
            statements_done: done,
            sqlstate: sqlstate.as_deref(),
            error: error.as_deref(),
            cleaned,
        },
    );
}
