//! Running one step of a migration inside the backend. The caller wraps each call in a
//! subtransaction; a step that raises is rolled back alone.
use crate::errors::{MeError, MeResult};
use crate::spi::quoted_ident;
use migration_engine_core::engine::definition::{
    call_sql, FunctionArgs, MigrationDefinition, Step, StepKind,
};
use pgrx::prelude::*;
use serde_json::Value;
use std::ffi::c_int;

/// Options that apply to every step of a run (call-time `options`).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub dry_run: bool,
    pub continue_on_error: Option<bool>,
    pub lock_timeout_ms: u32,
    pub statement_timeout_ms: u32,
    pub force: bool,
    pub resume: bool,
    /// The migration a step belongs to (TRANSFORM runs are recorded against it).
    pub migration_id: Option<crate::catalog::MigrationId>,
    /// What a `"transaction": false` step does about the sessions its concurrent build
    /// waits for (docs/ENGINE.md, "Steps outside a transaction").
    pub on_blocked: OnBlocked,
    /// How long it lets them block before `on_blocked` acts (ms).
    pub wait_timeout_ms: u32,
    /// lockTimeout was given: a step outside a transaction uses it (else none: a
    /// concurrent build waits for old snapshots through locks, which onBlocked governs).
    pub lock_timeout_given: bool,
    /// Retries of a step whose lock wait hit lockTimeout, and the longest back-off (ms).
    pub lock_retries: u32,
    pub lock_retry_max_delay_ms: u32,
    /// The steps run in a schema no traffic reaches yet (a blue-green or canary target):
    /// a `"transaction": false` step runs there in the transaction, in its plain form.
    pub target_without_traffic: bool,
}

/// The policy for the sessions a concurrent build waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBlocked {
    /// Wait for them to finish, reporting who they are (the default).
    #[default]
    Wait,
    /// After `waitTimeout`, cancel their running queries (pg_cancel_backend).
    Cancel,
    /// After `waitTimeout`, end their sessions (pg_terminate_backend).
    Terminate,
}

impl OnBlocked {
    pub const NAMES: &'static [&'static str] = &["wait", "cancel", "terminate"];

    pub fn as_str(self) -> &'static str {
        match self {
            OnBlocked::Wait => "wait",
            OnBlocked::Cancel => "cancel",
            OnBlocked::Terminate => "terminate",
        }
    }
}

/// How long a build lets its blockers be when the policy is cancel or terminate.
const DEFAULT_WAIT_TIMEOUT_MS: u32 = 30_000;

/// Like pgroll: a DDL waits at most half a second in the lock queue (while it waits,
/// every later query on the table waits behind it), then steps aside and retries.
const DEFAULT_LOCK_TIMEOUT_MS: u32 = 500;
const DEFAULT_LOCK_RETRIES: u32 = 8;
const DEFAULT_LOCK_RETRY_MAX_DELAY_MS: u32 = 5_000;
/// One step may run for an hour unless the step or the call says otherwise.
const DEFAULT_STATEMENT_TIMEOUT_MS: u32 = 3_600_000;

/// The keys a run's `options` take; anything else is refused, never ignored: a
/// misspelled `dry_run` must not run the migration for real.
const RUN_OPTION_KEYS: &[&str] = &[
    "dryRun",
    "continueOnError",
    "lockTimeout",
    "statementTimeout",
    "force",
    "resume",
    "onBlocked",
    "waitTimeout",
    "lockRetries",
    "lockRetryMaxDelay",
];

impl RunOptions {
    pub fn parse(v: &Value) -> MeResult<Self> {
        Self::parse_with(v, &[])
    }

    /// `parse`, for a caller that also takes the keys `extra` (read by itself).
    pub fn parse_with(v: &Value, extra: &[&str]) -> MeResult<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| MeError::invalid_parameter("options must be a JSON object"))?;
        crate::spi::args::refuse_unknown_options(obj, &[RUN_OPTION_KEYS, extra].concat())?;
        let flag = |k: &str| -> MeResult<Option<bool>> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(other) => Err(MeError::invalid_parameter(format!(
                    "options.{k} must be true or false, not {other}"
                ))),
            }
        };
        let millis = |k: &str, default: u32| -> MeResult<u32> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .filter(|n| *n <= i32::MAX as u64)
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        MeError::invalid_parameter(format!(
                            "options.{k} must be a whole number of milliseconds, not {v}"
                        ))
                    }),
            }
        };
        let on_blocked = match obj.get("onBlocked") {
            None | Some(Value::Null) => OnBlocked::Wait,
            Some(Value::String(s)) if s == "wait" => OnBlocked::Wait,
            Some(Value::String(s)) if s == "cancel" => OnBlocked::Cancel,
            Some(Value::String(s)) if s == "terminate" => OnBlocked::Terminate,
            Some(other) => {
                return Err(MeError::invalid_parameter(format!(
                    "options.onBlocked must be one of {}, not {other}",
                    OnBlocked::NAMES.join(", ")
                )))
            }
        };
        if on_blocked == OnBlocked::Wait && obj.get("waitTimeout").is_some_and(|v| !v.is_null()) {
            return Err(MeError::invalid_parameter(
                "options.waitTimeout applies to onBlocked \"cancel\" or \"terminate\" (with \"wait\", a build waits for its blockers however long they take)",
            ));
        }
        let lock_retries = match obj.get("lockRetries") {
            None | Some(Value::Null) => DEFAULT_LOCK_RETRIES,
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= 1000)
                .map(|n| n as u32)
                .ok_or_else(|| {
                    MeError::invalid_parameter(format!(
                        "options.lockRetries must be a whole number from 0 to 1000, not {v}"
                    ))
                })?,
        };
        Ok(RunOptions {
            lock_timeout_given: obj.get("lockTimeout").is_some_and(|v| !v.is_null()),
            lock_retries,
            lock_retry_max_delay_ms: millis("lockRetryMaxDelay", DEFAULT_LOCK_RETRY_MAX_DELAY_MS)?,
            target_without_traffic: false,
            on_blocked,
            wait_timeout_ms: millis("waitTimeout", DEFAULT_WAIT_TIMEOUT_MS)?,
            dry_run: flag("dryRun")?.unwrap_or(false),
            continue_on_error: flag("continueOnError")?,
            lock_timeout_ms: millis("lockTimeout", DEFAULT_LOCK_TIMEOUT_MS)?,
            statement_timeout_ms: millis("statementTimeout", DEFAULT_STATEMENT_TIMEOUT_MS)?,
            force: flag("force")?.unwrap_or(false),
            resume: flag("resume")?.unwrap_or(false),
            migration_id: None,
        })
    }
}

// utils/timeout.h is not in pgrx's bindings. STATEMENT_TIMEOUT is 3 in PG 13..17.
const STATEMENT_TIMEOUT: c_int = 3;
// SAFETY: these match utils/timeout.h (PG 15): `void enable_timeout_at(TimeoutId,
// TimestampTz)`, `void disable_timeout(TimeoutId, bool)`, `bool get_timeout_active(TimeoutId)`,
// `TimestampTz get_timeout_finish_time(TimeoutId)` (TimeoutId is a C enum passed as an int,
// TimestampTz an int64, C's bool Rust's bool). They may raise, so every call goes through
// pg_guard_ffi_boundary.
unsafe extern "C-unwind" {
    fn enable_timeout_at(id: c_int, fin_time: i64);
    fn disable_timeout(id: c_int, keep_indicator: bool);
    fn get_timeout_active(id: c_int) -> bool;
    fn get_timeout_finish_time(id: c_int) -> i64;
}

/// A statement timer for one step. `statement_timeout` is armed once per top-level
/// statement, so setting the GUC inside a function would not bound a step: the timer
/// is armed directly instead. The caller's own statement_timeout (the session's, armed
/// for the CALL or SELECT that runs the migration) keeps its deadline: the step's timer
/// fires at whichever comes first, and the caller's is re-armed when the guard drops.
struct StepTimer {
    /// When the caller's statement timeout fires (None: it had none).
    callers_deadline: Option<i64>,
}

thread_local! {
    /// (start of the caller's statement, its deadline) once that deadline has passed
    /// during a step: the timer fired there and is not armed again (see Drop), so the
    /// steps that still run in the same statement (continueOnError) read it here.
    static PASSED_DEADLINE: std::cell::Cell<Option<(i64, i64)>> = const { std::cell::Cell::new(None) };
}

impl StepTimer {
    fn start(ms: u32) -> Option<StepTimer> {
        if ms == 0 {
            return None;
        }
        // SAFETY: main backend thread (pg_guard_ffi_boundary checks it); STATEMENT_TIMEOUT is
        // registered by InitPostgres in every backend and connected worker, as the timeout
        // functions require.
        let callers_deadline = unsafe {
            pg_sys::ffi::pg_guard_ffi_boundary(|| {
                let statement = pg_sys::GetCurrentStatementStartTimestamp();
                let callers = get_timeout_active(STATEMENT_TIMEOUT)
                    .then(|| get_timeout_finish_time(STATEMENT_TIMEOUT))
                    .or_else(|| {
                        PASSED_DEADLINE
                            .get()
                            .filter(|(start, _)| *start == statement)
                            .map(|(_, deadline)| deadline)
                    });
                let step = pg_sys::GetCurrentTimestamp() + i64::from(ms) * 1000;
                let deadline = callers.map_or(step, |c| c.min(step));
                enable_timeout_at(STATEMENT_TIMEOUT, deadline);
                callers
            })
        };
        Some(StepTimer { callers_deadline })
    }
}

impl Drop for StepTimer {
    fn drop(&mut self) {
        // SAFETY: same thread and registered timeout as in start; disable_timeout on a timer
        // that already fired (or is not armed) does nothing.
        unsafe {
            pg_sys::ffi::pg_guard_ffi_boundary(|| match self.callers_deadline {
                // The caller's deadline passed during the step: the timer fired there and
                // failed the step (57014), which the run records and reports. Armed again
                // in the past it would fire at once and cancel that bookkeeping, losing the
                // record of the failure with the rest of the transaction.
                Some(deadline) if deadline <= pg_sys::GetCurrentTimestamp() => {
                    PASSED_DEADLINE.set(Some((
                        pg_sys::GetCurrentStatementStartTimestamp(),
                        deadline,
                    )));
                    disable_timeout(STATEMENT_TIMEOUT, false)
                }
                Some(deadline) => enable_timeout_at(STATEMENT_TIMEOUT, deadline),
                None => disable_timeout(STATEMENT_TIMEOUT, false),
            })
        };
    }
}

/// Unqualified names in user SQL resolve in the data schema (blue-green points it at
/// the target), then `public`; the pinned path is restored after the step.
/// The search_path a step's statements run with: the data schema, then public.
pub fn quoted_path(data_schema: &str) -> MeResult<String> {
    Ok(format!(
        "{}, public",
        quoted_ident("data schema", data_schema)?
    ))
}

fn with_step_settings<R>(
    data_schema: &str,
    lock_timeout_ms: u32,
    f: impl FnOnce() -> R,
) -> MeResult<R> {
    crate::spi::with_search_path_and_lock_timeout(&quoted_path(data_schema)?, lock_timeout_ms, f)
}

/// Refuse `text` unless it is one expression or query (see
/// spi::expression): what `SELECT (<text>)::boolean` runs must be exactly
/// the expression, never a statement hidden behind it.
pub fn require_one_expression(what: &str, text: &str) -> MeResult<()> {
    crate::spi::expression::require_one_expression(what, text).map_err(|e| {
        MeError::new(PgSqlErrorCode::ERRCODE_SYNTAX_ERROR, e).hint(
            "Write a boolean expression or one query returning one boolean; put other statements in a SQL step.",
        )
    })
}

/// Every text of a definition that runs as `SELECT (<text>)::boolean`: (step or rule
/// name, what it is, the text). Step conditions, VALIDATE scripts, validation rules.
pub fn boolean_expressions(def: &MigrationDefinition) -> Vec<(&str, String, &str)> {
    let mut out = Vec::new();
    for step in def.forward.iter().chain(&def.rollback) {
        if let Some(c) = &step.condition {
            out.push((
                step.name.as_str(),
                format!("the condition of step {:?}", step.name),
                c.as_str(),
            ));
        }
        if let Some(script) = step.kind.validation_query() {
            out.push((
                step.name.as_str(),
                format!("VALIDATE step {:?}", step.name),
                script,
            ));
        }
    }
    for rule in &def.validation {
        out.push((
            rule.name.as_str(),
            format!("validation rule {:?}", rule.name),
            rule.script.as_str(),
        ));
    }
    out
}

/// Every condition, VALIDATE script and validation rule of a definition is one expression.
pub fn require_expressions(def: &MigrationDefinition) -> MeResult<()> {
    for (_, what, text) in boolean_expressions(def) {
        require_one_expression(&what, text)?;
    }
    Ok(())
}

/// Evaluate a step's `condition` (a SQL boolean expression). NULL counts as false.
pub fn condition_holds(condition: &str, data_schema: &str, opts: &RunOptions) -> MeResult<bool> {
    require_one_expression("a step condition", condition)?;
    let sql = format!("SELECT ({condition})::boolean");
    with_step_settings(data_schema, opts.lock_timeout_ms, || {
        Spi::get_one::<bool>(&sql)
    })?
    .map(|v| v.unwrap_or(false))
    .map_err(MeError::from)
}

/// Run one step; returns the number of rows it affected (0 when not meaningful).
pub fn run_step(step: &Step, data_schema: &str, opts: &RunOptions) -> MeResult<i64> {
    if let (false, true, Some(script)) = (
        step.transaction,
        opts.target_without_traffic,
        step.kind.statement_text(),
    ) {
        let script = super::plain_form::in_transaction_form(&step.name, script)?;
        let timeout = step.timeout_ms.unwrap_or(opts.statement_timeout_ms);
        return with_step_settings(data_schema, opts.lock_timeout_ms, || {
            let _timer = StepTimer::start(timeout);
            run_sql(&script)
        })?;
    }
    if !step.transaction {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            format!("step {:?} is marked \"transaction\": false: it runs outside any transaction, which only CALL migration_engine.run_migration does", step.name),
        )
        .hint("Run the migration with CALL migration_engine.run_migration(name), outside BEGIN ... COMMIT: it runs such steps at the top level in a background worker."));
    }
    let timeout = step.timeout_ms.unwrap_or(opts.statement_timeout_ms);
    with_step_settings(data_schema, opts.lock_timeout_ms, || {
        let _timer = StepTimer::start(timeout);
        match &step.kind {
            StepKind::Sql { script } => run_sql(script),
            StepKind::Function { function, args } => run_function(function, args),
            StepKind::Validate { script } => run_validate(&step.name, script),
            StepKind::Transform { pipeline } => crate::pipeline::run_transform_step(
                &serde_json::Value::Object(pipeline.clone()),
                step.batch_size,
                opts.migration_id,
            ),
        }
    })?
}

/// One statement of a SQL step, under the step's settings (search path, lock and
/// statement timeouts): what the trial runs to trace a step statement by statement.
pub fn run_statement(
    step: &Step,
    sql: &str,
    data_schema: &str,
    opts: &RunOptions,
) -> MeResult<i64> {
    let timeout = step.timeout_ms.unwrap_or(opts.statement_timeout_ms);
    with_step_settings(data_schema, opts.lock_timeout_ms, || {
        let _timer = StepTimer::start(timeout);
        run_sql(sql)
    })?
}

fn run_sql(script: &str) -> MeResult<i64> {
    Spi::connect_mut(|client| client.update(script, None, &[]).map(|t| t.len() as i64))
        .map_err(MeError::from)
}

/// Runs the statement the core builds for the step (`call_sql`, also what
/// `forward_script` stores): names validated at parse and quoted, values untyped
/// literals that Postgres coerces to each parameter's type.
fn run_function(
    function: &migration_engine_core::engine::definition::FunctionName,
    args: &FunctionArgs,
) -> MeResult<i64> {
    let sql = call_sql(function, args).map_err(|e| {
        MeError::invalid_parameter(format!("FUNCTION step {}: {e}", function.name))
            .hint("Pass parameters PostgreSQL text can hold (no NUL character).")
    })?;
    Spi::run(&sql)?;
    Ok(0)
}

fn run_validate(name: &str, script: &str) -> MeResult<i64> {
    require_one_expression(&format!("validation {name:?}"), script)?;
    let holds = Spi::get_one::<bool>(&format!("SELECT ({script})::boolean"))?;
    if holds != Some(true) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!("validation {name:?} does not hold (it returned {holds:?})"),
        )
        .hint("The query must return true; fix the data or the migration."));
    }
    Ok(0)
}

/// A validation rule run after the forward steps: same contract as a VALIDATE step.
pub fn run_validation_rule(
    name: &str,
    script: &str,
    data_schema: &str,
    opts: &RunOptions,
) -> MeResult<()> {
    with_step_settings(data_schema, opts.lock_timeout_ms, || {
        let _timer = StepTimer::start(opts.statement_timeout_ms);
        run_validate(name, script)
    })??;
    Ok(())
}
