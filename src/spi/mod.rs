//! The one place that builds SQL text from names: identifiers are validated as plain
//! names and quoted here; values are always bound as parameters by the callers.
use crate::errors::{MeError, MeResult};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

pub mod args;
pub mod caller_worker;
pub mod expression;
pub mod ids;
pub mod jsonb_arg;
pub mod jsonb_out;
pub mod subxact;
pub mod temporal;
pub mod typed_ids;

/// A plain SQL identifier (the core's one definition): letters, digits and underscores,
/// not starting with a digit, at most 63 bytes. Everything a user names must be one.
pub use migration_engine_core::ident::is_plain_identifier;

/// Validate `name` as a plain identifier and return it quoted for SQL text.
pub fn quoted_ident(what: &str, name: &str) -> MeResult<String> {
    if !is_plain_identifier(name) {
        return Err(MeError::invalid_name(format!(
            "{what} {name:?} is not a plain identifier"
        ))
        .hint("Use letters, digits and underscores only, starting with a letter or underscore (at most 63 bytes)."));
    }
    Ok(pgrx::spi::quote_identifier(name))
}

/// The data schema that holds the knowledge graph now (active_schema_version.current_schema).
pub fn data_schema() -> MeResult<String> {
    if let Some(target) = TARGET_SCHEMA.with(|t| t.borrow().clone()) {
        return Ok(target);
    }
    let schema = Spi::get_one::<String>(
        "SELECT \"current_schema\" FROM migration_engine.active_schema_version WHERE id = 1",
    )?;
    schema.ok_or_else(|| MeError::prerequisite("active_schema_version has no row"))
}

thread_local! {
    /// Set while a blue-green migration runs a migration's steps in its target schema:
    /// everything that works on "the data schema" (TRANSFORM pipelines, backfills) then
    /// works on the target. Backend-local, never visible to other sessions.
    static TARGET_SCHEMA: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with `schema` standing in for the active data schema in this backend.
pub fn with_data_schema<R>(schema: &str, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            TARGET_SCHEMA.with(|t| *t.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(TARGET_SCHEMA.with(|t| t.borrow_mut().replace(schema.to_string())));
    f()
}

/// Run `f` with NOTICEs suppressed (DROP ... IF EXISTS and CREATE ... IF NOT EXISTS of
/// the extension's own objects would otherwise talk to the client); the caller's
/// setting is restored after.
pub fn quietly<R>(f: impl FnOnce() -> MeResult<R>) -> MeResult<R> {
    let previous = Spi::get_one::<String>("SELECT current_setting('client_min_messages')")?
        .unwrap_or_else(|| "notice".into());
    Spi::run("SELECT set_config('client_min_messages', 'warning', true) WHERE current_setting('client_min_messages') IN ('debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice', 'info')")?;
    let r = f();
    Spi::run_with_args(
        "SELECT set_config('client_min_messages', $1, true)",
        &[previous.into()],
    )?;
    r
}

/// `"schema".table` for a table of the active data schema.
pub fn data_table(table: &str) -> MeResult<String> {
    Ok(temporal::qualified(
        &quoted_ident("data schema", &data_schema()?)?,
        table,
    ))
}

/// Append a row to the audit trail. Who and when are stamped by the table's trigger.
pub struct Audit<'a> {
    pub operation: &'a str,
    pub object_type: &'a str,
    pub object_name: &'a str,
    pub migration_id: Option<typed_ids::MigrationId>,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub detail: Value,
}

impl Audit<'_> {
    pub fn write(self) -> MeResult<()> {
        Spi::run_with_args(
            "INSERT INTO migration_engine.audit_log \
               (operation, object_type, object_name, migration_id, from_status, to_status, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                self.operation.into(),
                self.object_type.into(),
                self.object_name.into(),
                self.migration_id.into(),
                self.from_status.into(),
                self.to_status.into(),
                JsonB(self.detail).into(),
            ],
        )?;
        Ok(())
    }
}

/// A short audit entry with no status change.
pub fn audit(operation: &str, object_type: &str, object_name: &str, detail: Value) -> MeResult<()> {
    Audit {
        operation,
        object_type,
        object_name,
        migration_id: None,
        from_status: None,
        to_status: None,
        detail,
    }
    .write()
}

/// `s` as a SQL string literal, written by the core's one quoter (byte for byte what
/// PostgreSQL's quote_literal writes). Text and jsonb cannot hold NUL, the one character
/// the quoter refuses; should one arrive anyway, the statement is not built.
pub fn literal(s: impl AsRef<str>) -> String {
    migration_engine_core::pipeline::Quoter
        .literal(s.as_ref())
        .unwrap_or_else(|e| pgrx::error!("{e}"))
}

/// The search_path every function of the extension pins (`#[search_path(...)]`).
pub const PINNED_SEARCH_PATH: &str = "migration_engine, pg_catalog, pg_temp";

/// Set a setting for the rest of the (sub)transaction: what `set_config(name, value,
/// true)` does, without a query. A step sets three per run (search_path, lock_timeout,
/// application_name), and through SPI each cost a parse and a plan: most of the engine's
/// own time per step. A value the setting refuses raises its ERROR, as set_config does.
pub fn set_local(name: &str, value: &str) -> MeResult<()> {
    set_option(name, value, pg_sys::GucAction::GUC_ACTION_LOCAL)
}

/// `set_config(name, value, is_local)` without a query: `GUC_ACTION_LOCAL` for the rest
/// of the (sub)transaction, `GUC_ACTION_SET` for the session (undone if the transaction
/// aborts).
fn set_option(name: &str, value: &str, action: pg_sys::GucAction::Type) -> MeResult<()> {
    let c_name = std::ffi::CString::new(name)
        .map_err(|_| MeError::invalid_parameter(format!("setting name {name:?} holds a NUL")))?;
    let c_value = std::ffi::CString::new(value).map_err(|_| {
        MeError::invalid_parameter(format!("the value for setting {name} holds a NUL"))
    })?;
    // SAFETY: main backend thread inside a transaction (every caller is a SQL function or
    // runs in BackgroundWorker::transaction); both strings are NUL-terminated and outlive the
    // call, which copies them. set_config_by_name (guc.c) makes the same call.
    unsafe {
        let context = if pg_sys::superuser() {
            pg_sys::GucContext::PGC_SUSET
        } else {
            pg_sys::GucContext::PGC_USERSET
        };
        pg_sys::set_config_option(
            c_name.as_ptr(),
            c_value.as_ptr(),
            context,
            pg_sys::GucSource::PGC_S_SESSION,
            action,
            true,
            0,
            false,
        );
    }
    Ok(())
}

/// The current value of a setting (`current_setting(name, true)`), without a query.
pub fn setting(name: &str) -> Option<String> {
    let c_name = std::ffi::CString::new(name).ok()?;
    // SAFETY: main backend thread; GetConfigOption returns NULL (missing_ok) or a string
    // that stays valid until the setting changes, copied here at once.
    unsafe {
        let value = pg_sys::GetConfigOption(c_name.as_ptr(), true, false);
        (!value.is_null()).then(|| {
            std::ffi::CStr::from_ptr(value)
                .to_string_lossy()
                .into_owned()
        })
    }
}

/// Set the transaction-local search_path to `path` (already quoted) until
/// `restore_pinned_search_path`; an error that aborts the transaction or
/// subtransaction undoes it as well, since it is set with `is_local`.
pub fn set_search_path(path: &str) -> MeResult<()> {
    set_local("search_path", path)
}

pub fn restore_pinned_search_path() -> MeResult<()> {
    set_search_path(PINNED_SEARCH_PATH)
}

/// Run `f` with unqualified names resolving through `path` (already quoted), then
/// back to the pinned path, whatever `f` returned.
pub fn with_search_path<R>(path: &str, f: impl FnOnce() -> R) -> MeResult<R> {
    set_search_path(path)?;
    let result = f();
    restore_pinned_search_path()?;
    Ok(result)
}

/// `with_search_path`, with the transaction-local `lock_timeout` set in the same round
/// trip: what every step of a migration runs with, so it costs one call, not two.
pub fn with_search_path_and_lock_timeout<R>(
    path: &str,
    lock_timeout_ms: u32,
    f: impl FnOnce() -> R,
) -> MeResult<R> {
    set_search_path(path)?;
    set_local("lock_timeout", &format!("{lock_timeout_ms}ms"))?;
    let result = f();
    restore_pinned_search_path()?;
    Ok(result)
}

/// The first column of the first row, or `None` when the query returns no row (pgrx's
/// `Spi::get_one` treats "no row" as an error).
pub fn first_value<T: pgrx::FromDatum + pgrx::IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> MeResult<Option<T>> {
    Spi::connect_mut(|client| {
        let table = client.update(sql, Some(1), args)?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get_one::<T>()
    })
    .map_err(MeError::from)
}

/// The first row of a query that may write (FOR UPDATE, UPDATE ... RETURNING), read
/// by `columns`; `None` when it returns no row.
pub fn first_row<T>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
    columns: impl FnOnce(&pgrx::spi::SpiTupleTable) -> Result<T, pgrx::spi::Error>,
) -> MeResult<Option<T>> {
    Spi::connect_mut(|client| {
        let table = client.update(sql, Some(1), args)?;
        if table.is_empty() {
            return Ok(None);
        }
        columns(&table.first()).map(Some)
    })
    .map_err(MeError::from)
}

/// Every row of a read-only query, each read by `row` (columns from 1).
pub fn all_rows<T>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
    row: impl Fn(&pgrx::spi::SpiHeapTupleData) -> Result<T, pgrx::spi::Error>,
) -> MeResult<Vec<T>> {
    Spi::connect(|client| {
        client
            .select(sql, None, args)?
            .map(|r| row(&r))
            .collect::<Result<Vec<T>, _>>()
    })
    .map_err(MeError::from)
}

/// Like `first_value`, for a read-only query over many rows: `first_value` asks the
/// executor for one row, and Postgres then runs a parallel plan without its workers;
/// this runs the query to completion, so big scans can use parallel workers. It is also
/// read-only SPI, which leaves the transaction without an xid (pgrx's read-write SPI, as
/// in `first_value`, assigns one); `None` when there is no row.
pub fn scan_value<T: pgrx::FromDatum + pgrx::IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> MeResult<Option<T>> {
    Spi::connect(|client| {
        let table = client.select(sql, None, args)?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get_one::<T>()
    })
    .map_err(MeError::from)
}

/// Sets `application_name` to `label` (what pg_stat_activity shows for this backend, cut
/// to 63 bytes by Postgres) and returns the name it had, for [`restore_activity`]. An
/// ERROR that escapes before the restore aborts the transaction, which undoes the change.
pub fn label_activity(label: &str) -> Option<String> {
    let previous = setting("application_name");
    let _ = set_application_name(label);
    previous
}

/// application_name for the session (`set_config('application_name', name, false)`).
fn set_application_name(name: &str) -> MeResult<()> {
    set_option("application_name", name, pg_sys::GucAction::GUC_ACTION_SET)
}

/// Puts back the `application_name` that [`label_activity`] replaced.
pub fn restore_activity(previous: Option<String>) {
    let _ = set_application_name(&previous.unwrap_or_default());
}
