//! The top-level runner: steps marked `"transaction": false` (CREATE INDEX CONCURRENTLY,
//! VACUUM, REINDEX ... CONCURRENTLY, ...), which PostgreSQL refuses inside a transaction
//! block or a function, run as top-level statements in a background worker of the
//! extension (worker.rs, toplevel.rs), never through a loopback connection.
//!
//! How CALL run_migration drives it (sql/engine_procedures.sql):
//!   1. run_migration_step records the step RUNNING and queues an attempt (a row of
//!      top_level_runs); the procedure commits.
//!   2. top_level_start starts the worker, logged in as the caller; commit.
//!   3. top_level_wait polls the row for at most half a second, reporting progress
//!      (pg_stat_progress_create_index / _vacuum) and whom the build waits for; commit;
//!      again until the attempt is over. The caller never holds a snapshot for longer
//!      than one poll: a concurrent build waits for every older snapshot, the caller's
//!      included, and would otherwise wait for its own caller for ever.
//!   4. the next run_migration_step records the attempt's outcome as the step's.
//!
//! A crash of either side leaves the row RUNNING with a worker that is gone; the next
//! look at it (top_level_wait, resume_migration) marks it FAILED, and a new attempt first
//! drops the invalid index the interrupted build left.
pub mod autonomous;
mod toplevel;
pub mod worker;

use crate::catalog::MigrationId;
use crate::catalog::RunId;
use crate::catalog::{
    attempt, attempt_queued_by_current_user, clear_attempt_blocked, fail_unstarted_attempt,
    insert_attempt, mark_attempt_lost, record_attempt_action, record_attempt_blockers,
};
pub use crate::catalog::{latest_attempt, Attempt};
use crate::errors::{MeError, MeResult};
use crate::spi::caller_worker::{start_as_caller, CallerWorker, NotStarted};
use migration_engine_core::engine::state::AttemptStatus;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

use crate::errors::PgResult;

/// What pg_stat_activity calls the worker (backend_type).
const WORKER_TYPE: &str = "migration_engine top-level runner";

/// What the worker sets for the step's statements.
pub struct StepSettings<'a> {
    pub search_path: &'a str,
    pub statement_timeout_ms: u32,
    pub lock_timeout_ms: u32,
    pub application_name: &'a str,
    /// "wait", "cancel" or "terminate": what the caller does about the build's blockers
    pub on_blocked: &'a str,
    pub wait_timeout_ms: u32,
}

/// Queue an attempt; the caller commits it before top_level_start.
pub fn queue(
    migration_id: MigrationId,
    run_id: RunId,
    number: i32,
    step_name: &str,
    script: &str,
    settings: &StepSettings,
) -> MeResult<i64> {
    let settings = json!({
        "search_path": settings.search_path,
        "statement_timeout": format!("{}ms", settings.statement_timeout_ms),
        "lock_timeout": format!("{}ms", settings.lock_timeout_ms),
        "application_name": settings.application_name,
        "on_blocked": settings.on_blocked,
        "wait_timeout_ms": settings.wait_timeout_ms,
    });
    insert_attempt(migration_id, run_id, number, step_name, script, &settings)
}

/// The SQLSTATE of an attempt whose worker ended without an outcome (admin_shutdown).
pub use crate::catalog::ATTEMPT_LOST as LOST;

fn worker_alive(pid: i32) -> MeResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1 AND backend_type = $2)",
        &[pid.into(), WORKER_TYPE.into()],
    )?
    .unwrap_or(false))
}

/// An attempt that is not over but whose worker is gone is lost: FAILED now. Returns
/// the attempt as it stands after that check.
pub fn settle(a: Attempt) -> MeResult<Attempt> {
    if a.is_over() {
        return Ok(a);
    }
    let gone = match a.worker_pid {
        Some(pid) => !worker_alive(pid)?,
        None => false,
    };
    if !gone {
        return Ok(a);
    }
    // the worker may have written its outcome just before it ended
    let fresh = attempt(a.id)?;
    if fresh.is_over() {
        return Ok(fresh);
    }
    mark_attempt_lost(
        a.id,
        "the runner's worker ended without an outcome (terminated, or the server restarted)",
    )?;
    attempt(a.id)
}

/// Start the worker for a queued attempt, logged in as the caller. Its pid, or NULL when
/// the attempt is not queued (started already). No free worker slot fails the attempt.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn top_level_start(attempt_id: Option<i64>) -> PgResult<Option<i32>> {
    crate::required!(attempt_id);
    Ok(start(attempt_id)?)
}

fn start(id: i64) -> MeResult<Option<i32>> {
    let a = attempt(id)?;
    if a.status != AttemptStatus::Queued {
        return Ok(None);
    }
    let run_as = attempt_queued_by_current_user(id)?;
    if !run_as {
        return Err(acting_as_another_role());
    }
    let started = start_as_caller(&CallerWorker {
        name: "migration_engine top-level step",
        backend_type: Some(WORKER_TYPE),
        function: "migration_engine_top_level_worker",
        payload: &id.to_string(),
        argument: None,
    });
    match started.map(|w| w.wait_for_startup()) {
        Ok(Ok(pid)) => Ok(Some(pid)),
        Err(NotStarted::ActingAsAnotherRole) => Err(acting_as_another_role()),
        _ => {
            fail_unstarted_attempt(id)?;
            Ok(None)
        }
    }
}

fn acting_as_another_role() -> MeError {
    MeError::new(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        "a top-level step runs as the role that queued it, logged in as itself",
    )
    .hint("Log in as the role that runs the migration (not SET ROLE): the runner's worker logs in as that role.")
}

// SAFETY: libc's `int kill(pid_t pid, int sig)`; pid_t is a 32-bit int on the Unix platforms
// pgrx builds for. It never unwinds, so the plain "C" ABI fits.
unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// Poll an attempt for at most `wait_ms`: {done, status, statements_done,
/// statements_total, elapsed_s, progress, waiting_for, error, sqlstate, cleaned}.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn top_level_wait(
    attempt_id: Option<i64>,
    wait_ms: default!(Option<i32>, "500"),
) -> PgResult<JsonB> {
    crate::required!(attempt_id, wait_ms);
    if !(0..=10_000).contains(&wait_ms) {
        return Err(MeError::invalid_parameter(format!(
            "wait_ms must be between 0 and 10000 (ms), not {wait_ms}"
        ))
        .into());
    }
    let wait = Duration::from_millis(wait_ms as u64);
    // the worker's pid as last seen: read again by every poll, since this call's first
    // read may predate the worker's claim of the attempt
    let seen_pid = std::cell::Cell::new(attempt(attempt_id)?.worker_pid);
    // cancelled while waiting (Ctrl-C on CALL run_migration, statement_timeout): the
    // worker would go on building an index nobody waits for; stop it, then re-raise
    let watched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll(attempt_id, wait, &seen_pid)
    }));
    match watched {
        Ok(r) => Ok(JsonB(r?)),
        Err(panic) => {
            // only a positive pid that is still a backend of this cluster: kill(0) or
            // kill(-1) would signal a whole process group or every process of the user
            // (the postmaster included), and a pid the OS has reused for something else
            // must not get the signal
            if let Some(pid) = seen_pid.get().filter(|p| *p > 0) {
                // SAFETY: BackendPidGetProc only reads the shared ProcArray under its own
                // lock; kill touches no memory of this process and its result is ignored
                // (the worker may have exited since).
                unsafe {
                    if !pg_sys::BackendPidGetProc(pid).is_null() {
                        kill(pid, 15);
                    }
                }
            }
            std::panic::resume_unwind(panic)
        }
    }
}

fn poll(id: i64, wait: Duration, seen_pid: &std::cell::Cell<Option<i32>>) -> MeResult<Value> {
    let deadline = Instant::now() + wait;
    loop {
        let a = settle(attempt(id)?)?;
        if a.worker_pid.is_some() {
            seen_pid.set(a.worker_pid);
        }
        if a.is_over() || Instant::now() >= deadline {
            return report(&a);
        }
        Spi::run("SELECT pg_catalog.pg_sleep(0.05)")?;
    }
}

/// The attempt as top_level_wait reports it; with the build's progress and whom it waits
/// for while it runs (recorded in waited_for, the last seen).
fn report(a: &Attempt) -> MeResult<Value> {
    let mut v = json!({
        "attempt_id": a.id, "done": a.is_over(), "status": a.status.as_str(),
        "statements_done": a.statements_done, "statements_total": a.statements_total,
        "worker_pid": a.worker_pid, "cleaned": a.cleaned,
    });
    if let Some(e) = &a.error {
        v["error"] = json!(e);
        v["sqlstate"] = json!(a.sqlstate);
    }
    if let (Some(started), false) = (a.started_epoch, a.is_over()) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(started);
        v["elapsed_s"] = json!((now - started).max(0.0).round());
    }
    if let (Some(pid), false) = (a.worker_pid, a.is_over()) {
        v["progress"] = progress(pid)?;
        let blockers = blockers(pid)?;
        if let Some(acted) = apply_policy(a.id, &blockers)? {
            v["acted"] = acted;
        }
        v["waiting_for"] = blockers;
    }
    Ok(v)
}

/// Record whom the build waits for (and since when); once they have blocked it for the
/// attempt's waitTimeout, cancel their queries or end their sessions, as its onBlocked
/// says, audited with their pids. What was done, or None.
fn apply_policy(id: i64, blockers: &Value) -> MeResult<Option<Value>> {
    let pids: Vec<i32> = blockers
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|x| x["pid"].as_i64())
                .map(|p| p as i32)
                .collect()
        })
        .unwrap_or_default();
    if pids.is_empty() {
        clear_attempt_blocked(id)?;
        return Ok(None);
    }
    let due = record_attempt_blockers(id, blockers)?;
    let Some(policy) = due else {
        return Ok(None);
    };
    let signal = if policy == "terminate" {
        "pg_terminate_backend"
    } else {
        "pg_cancel_backend"
    };
    let signalled = Spi::get_one_with_args::<Vec<i32>>(
        &format!("SELECT coalesce(array_agg(p) FILTER (WHERE pg_catalog.{signal}(p)), '{{}}') FROM unnest($1::int[]) p"),
        &[pids.clone().into()],
    )?
    .unwrap_or_default();
    let acted = json!({"policy": policy, "pids": signalled, "blockers": blockers});
    record_attempt_action(id, &acted)?;
    crate::spi::audit(
        if policy == "terminate" {
            "top_level_blockers_terminated"
        } else {
            "top_level_blockers_cancelled"
        },
        "top_level_step",
        &id.to_string(),
        acted.clone(),
    )?;
    Ok(Some(acted))
}

/// The phase and counts of an index build or a VACUUM the worker runs (null otherwise).
fn progress(pid: i32) -> MeResult<Value> {
    Ok(Spi::get_one_with_args::<JsonB>(
        "SELECT coalesce(
            (SELECT jsonb_build_object('command', command, 'phase', phase,
                    'blocks_done', blocks_done, 'blocks_total', blocks_total,
                    'tuples_done', tuples_done, 'tuples_total', tuples_total,
                    'lockers_done', lockers_done, 'lockers_total', lockers_total)
             FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1),
            (SELECT jsonb_build_object('command', 'VACUUM', 'phase', phase,
                    'blocks_done', heap_blks_scanned, 'blocks_total', heap_blks_total)
             FROM pg_catalog.pg_stat_progress_vacuum WHERE pid = $1),
            'null'::jsonb)",
        &[pid.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(Value::Null))
}

/// The sessions the worker waits for (a concurrent build waits for every transaction
/// older than its snapshot, and for lockers of its table): pid, role, application,
/// state, transaction age, query. Not this session: it is the caller, between two polls.
fn blockers(pid: i32) -> MeResult<Value> {
    Ok(Spi::get_one_with_args::<JsonB>(
        "SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'pid', a.pid, 'role', a.usename, 'application_name', a.application_name,
                    'state', a.state, 'backend_xmin', a.backend_xmin::text,
                    'xact_age_s', round(extract(epoch FROM clock_timestamp() - a.xact_start)::numeric, 1),
                    'query', left(a.query, 200)) ORDER BY a.pid), '[]')
         FROM pg_catalog.pg_stat_activity a
         WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1)) AND a.pid <> pg_catalog.pg_backend_pid()",
        &[pid.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(json!([])))
}
