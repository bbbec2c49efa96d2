//! Running a script as top-level statements, inside the runner's worker: what
//! PostgreSQL's simple-query loop does for a client (exec_simple_query), one statement
//! at a time: parse, analyze, plan, a portal run with `isTopLevel = true`, each statement
//! in its own transaction. That is what CREATE INDEX CONCURRENTLY, VACUUM and the like
//! require (PreventInTransactionBlock): SPI runs statements as part of a function, where
//! they are refused. pg_cron's worker mode and pg_background execute strings the same way.
use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::PgList;
use std::ffi::{CStr, CString};
use std::panic::AssertUnwindSafe;

/// One statement of a script, as the parser split it.
pub struct Statement {
    raw: *mut pg_sys::RawStmt,
    /// Its text (for logs and errors).
    pub text: String,
    /// For `CREATE INDEX CONCURRENTLY name ON [schema.]table`: the index it builds.
    pub concurrent_index: Option<IndexTarget>,
    /// CREATE/DROP/REINDEX ... CONCURRENTLY: a failure may leave invalid indexes.
    pub builds_concurrently: bool,
}

/// The index a concurrent build names: its name and the schema of its table (if given).
pub struct IndexTarget {
    pub name: String,
    pub schema: Option<String>,
}

/// An error a statement raised.
pub struct StatementError {
    pub sqlstate: String,
    pub message: String,
}

/// The parsed script. The parse trees live in a memory context of their own, which
/// outlives the statements' transactions (a commit frees the transaction's memory).
pub struct Script {
    context: pg_sys::MemoryContext,
    _source: CString,
    statements: Vec<Statement>,
}

impl Script {
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Run statement `index` of this script (see `run`). A method taking an index, not a
    /// statement, so that no statement can be run with another script's (perhaps freed)
    /// parse tree.
    pub fn run(&self, index: usize) -> Result<(), StatementError> {
        run(self, &self.statements[index])
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        // SAFETY: `context` was created by parse for this Script alone and is deleted only here,
        // once; it is not CurrentMemoryContext (parse switched back). Statements must not outlive
        // it.
        unsafe { pg_sys::MemoryContextDelete(self.context) }
    }
}

/// # Safety
/// `p` is null or a NUL-terminated string that lives for the call (a name field of a live
/// parse tree).
unsafe fn c_text(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: non-null here, and NUL-terminated and alive by this function's contract
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Parse `source` into statements (no transaction needed: the raw parser reads no
/// catalog). A syntax error is returned, not raised.
pub fn parse(source: &str) -> Result<Script, StatementError> {
    let csource = CString::new(source).map_err(|_| StatementError {
        sqlstate: "22021".into(),
        message: "the script contains a NUL byte".into(),
    })?;
    // SAFETY: main thread of the runner's worker; the context's name is a static C string (a
    // context keeps only the pointer). pg_parse_query reads no catalog, so it needs no transaction,
    // and its ERROR is caught by `caught`, whose guard restores CurrentMemoryContext.
    unsafe {
        let context = pg_sys::AllocSetContextCreateExtended(
            pg_sys::TopMemoryContext,
            c"migration_engine top-level script".as_ptr(),
            pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        );
        let old = pg_sys::MemoryContextSwitchTo(context);
        let parsed = caught(|| pg_sys::pg_parse_query(csource.as_ptr()));
        pg_sys::MemoryContextSwitchTo(old);
        let list = match parsed {
            Ok(list) => list,
            Err(e) => {
                pg_sys::MemoryContextDelete(context);
                return Err(e);
            }
        };
        // the list and its parse trees live in `context`, which the returned Script owns
        let raws = PgList::<pg_sys::RawStmt>::from_pg(list);
        let statements = raws.iter_ptr().map(|raw| describe(raw, source)).collect();
        Ok(Script {
            context,
            _source: csource,
            statements,
        })
    }
}

// SAFETY: callers pass a non-null RawStmt from pg_parse_query whose tree is still allocated: `stmt`
// is a tagged node (checked by is_a) and an IndexStmt's idxname and relation are null or valid.
unsafe fn describe(raw: *mut pg_sys::RawStmt, source: &str) -> Statement {
    let start = (*raw).stmt_location.max(0) as usize;
    let text = match (*raw).stmt_len {
        0 => source.get(start..),
        len => source.get(start..start + len as usize),
    }
    .unwrap_or(source)
    .trim()
    .to_string();
    let node = (*raw).stmt;
    let mut concurrent_index = None;
    let mut builds_concurrently = false;
    if is_a(node, pg_sys::NodeTag::T_IndexStmt) {
        let stmt = node as *mut pg_sys::IndexStmt;
        if (*stmt).concurrent {
            builds_concurrently = true;
            if let Some(name) = c_text((*stmt).idxname) {
                let schema = (*stmt).relation.as_ref().and_then(|r| c_text(r.schemaname));
                concurrent_index = Some(IndexTarget { name, schema });
            }
        }
    } else if is_a(node, pg_sys::NodeTag::T_ReindexStmt) || is_a(node, pg_sys::NodeTag::T_DropStmt)
    {
        // REINDEX (CONCURRENTLY) / DROP INDEX CONCURRENTLY: an interrupted one can leave
        // an invalid index (REINDEX's <name>_ccnew) behind
        builds_concurrently = text.to_ascii_lowercase().contains("concurrently");
    }
    Statement {
        raw,
        text,
        concurrent_index,
        builds_concurrently,
    }
}

// SAFETY: callers pass null or a pointer to a live node, which starts with its NodeTag.
unsafe fn is_a(node: *mut pg_sys::Node, tag: pg_sys::NodeTag) -> bool {
    !node.is_null() && (*node).type_ == tag
}

/// Run `f`, turning an ERROR it raises into a value (the caller cleans the transaction
/// up: this is the top level, there is nothing above to do it).
fn caught<R>(f: impl FnOnce() -> R) -> Result<R, StatementError> {
    PgTryBuilder::new(AssertUnwindSafe(|| Ok(f())))
        .catch_others(|e| {
            let report = match &e {
                CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r,
                CaughtError::RustPanic { ereport, .. } => ereport,
            };
            Err(StatementError {
                sqlstate: crate::spi::subxact::sqlstate_text(report.sql_error_code()),
                message: report.message().to_string(),
            })
        })
        .execute()
}

/// Run one statement of `script` as a top-level statement in a transaction of its own,
/// committed when it succeeds and aborted when it fails. Statements that manage their
/// own transactions (CREATE INDEX CONCURRENTLY commits between its phases) do so inside.
fn run(script: &Script, statement: &Statement) -> Result<(), StatementError> {
    let source = script._source.as_ptr();
    let activity = CString::new(statement.text.as_str()).unwrap_or_default();
    // The query and plan trees live in a context of the statement's own, as
    // exec_simple_query keeps them in MessageContext: a statement that commits inside
    // (DETACH PARTITION ... CONCURRENTLY, CREATE INDEX CONCURRENTLY) frees the transaction's
    // memory while the portal still runs its plan, which then read freed memory.
    // SAFETY: main thread of the runner's worker; the name is a static C string.
    let (caller_context, statement_context) = unsafe {
        (
            pg_sys::CurrentMemoryContext,
            pg_sys::AllocSetContextCreateExtended(
                pg_sys::TopMemoryContext,
                c"migration_engine top-level statement".as_ptr(),
                pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
            ),
        )
    };
    // SAFETY: main thread of the runner's worker, connected, no transaction open (as in
    // exec_simple_query); every caller passes a statement of this same `script`, borrowed for the
    // call, so its parse tree and query text outlive the portal. An ERROR is caught by `caught`.
    let outcome = caught(|| unsafe {
        // pg_stat_activity shows the statement, as for a client's query
        pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, activity.as_ptr());
        pg_sys::StartTransactionCommand();
        pg_sys::MemoryContextSwitchTo(statement_context);
        let raw = statement.raw;
        let snapshot = pg_sys::analyze_requires_snapshot(raw);
        if snapshot {
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        }
        let queries = pg_sys::pg_analyze_and_rewrite_fixedparams(
            raw,
            source,
            std::ptr::null(),
            0,
            std::ptr::null_mut(),
        );
        let plans = pg_sys::pg_plan_queries(
            queries,
            source,
            pg_sys::CURSOR_OPT_PARALLEL_OK as i32,
            std::ptr::null_mut(),
        );
        if snapshot {
            pg_sys::PopActiveSnapshot();
        }
        // CreatePortal raises rather than returning NULL, so `portal` may be written
        let portal = pg_sys::CreatePortal(c"".as_ptr(), true, true);
        (*portal).visible = false;
        pg_sys::PortalDefineQuery(
            portal,
            std::ptr::null(),
            source,
            pg_sys::CreateCommandTag((*raw).stmt),
            plans,
            std::ptr::null_mut(),
        );
        pg_sys::PortalStart(portal, std::ptr::null_mut(), 0, std::ptr::null_mut());
        let mut text_format: i16 = 0;
        // after PortalStart, as required; the one format code is copied into the portal
        pg_sys::PortalSetResultFormat(portal, 1, &mut text_format);
        let receiver = pg_sys::CreateDestReceiver(pg_sys::CommandDest::DestNone);
        // all-zero is a valid QueryCompletion: CMDTAG_UNKNOWN (0) and 0 rows
        let mut completion: pg_sys::QueryCompletion = std::mem::zeroed();
        pg_sys::PortalRun(
            portal,
            i64::MAX as std::ffi::c_long,
            true,
            true,
            receiver,
            receiver,
            &mut completion,
        );
        // DestNone's receiver is a static no-op one; destroyed as exec_simple_query does
        if let Some(destroy) = (*receiver).rDestroy {
            destroy(receiver);
        }
        pg_sys::PortalDrop(portal, false);
        pg_sys::CommitTransactionCommand();
    });
    if outcome.is_err() {
        // SAFETY: a statement raised and pgrx's guard already flushed the error state; this aborts
        // its transaction (or the one a CIC-style statement had open) as PostgresMain's error
        // recovery would, and does nothing when none is open.
        unsafe { pg_sys::AbortCurrentTransaction() };
    }
    // SAFETY: the caller's context outlives this call (it is the worker's, not a transaction's);
    // the statement context is this call's alone, no longer current, and its portal is dropped
    // (or, after an ERROR, cleaned up by the abort above).
    unsafe {
        pg_sys::MemoryContextSwitchTo(caller_context);
        pg_sys::MemoryContextDelete(statement_context);
    }
    // SAFETY: main thread of a connected worker, whose backend status entry exists; a null query
    // string is allowed with STATE_IDLE.
    unsafe { pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_IDLE, std::ptr::null()) };
    outcome
}
