//! One expression, as the engine runs it: the check that a step's condition, a VALIDATE
//! script or a validation rule is exactly one SQL expression (Postgres's own parser).
//! Below both the engine, which refuses such text, and the safety checks, which report it.
use crate::spi::subxact::{atomically, Aborted};
use pgrx::list::PgList;
use pgrx::pg_sys::{self, NodeTag};
use std::ffi::CString;

/// Check that `text` (a step's condition, a VALIDATE script, a validation rule) is one
/// SQL expression or one query, as the engine runs it: `SELECT (<text>)::boolean`. Text
/// that closes the parenthesis to smuggle in more (a second statement, a FROM, a UNION)
/// is refused: the engine would run SQL that the safety checks never saw as a step.
/// `Err` says what is wrong, for the caller to raise.
pub fn require_one_expression(what: &str, text: &str) -> Result<(), String> {
    let wrapped = format!("SELECT ({text})::boolean");
    let c_sql = CString::new(wrapped).map_err(|_| format!("{what} contains a NUL byte"))?;
    let shape = atomically(|| -> Result<Option<&'static str>, String> {
        let list =
            // SAFETY: raw_parser only needs a NUL-terminated string (c_sql outlives this closure)
            // and reads no catalog; a syntax ERROR becomes a pgrx panic that `atomically` catches.
            unsafe { pg_sys::raw_parser(c_sql.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT) };
        // SAFETY: `list` is raw_parser's result: NIL or a List of RawStmt pointers palloc'd in the
        // caller's context (atomically switched back to it), alive until this closure returns.
        let stmts = unsafe { PgList::<pg_sys::RawStmt>::from_pg(list) };
        if stmts.len() != 1 {
            return Ok(Some("more than one statement"));
        }
        let Some(raw) = stmts.get_ptr(0) else {
            return Ok(Some("no statement"));
        };
        // SAFETY: `raw` is the one cell of raw_parser's list: a non-null RawStmt*, live for this
        // closure.
        let node = unsafe { (*raw).stmt };
        // SAFETY: `||` short-circuits, so `node` is non-null here; every parse node starts with its
        // NodeTag.
        if node.is_null() || unsafe { (*node).type_ } != NodeTag::T_SelectStmt {
            return Ok(Some("not a query"));
        }
        // SAFETY: the tag is T_SelectStmt, so `node` is a SelectStmt; raw_parser's tree stays
        // allocated and unmodified until this closure returns.
        let s = unsafe { &*(node as *mut pg_sys::SelectStmt) };
        // SAFETY: a SelectStmt's targetList is NIL or a List of node pointers (ResTargets in a raw
        // tree); only its length is read.
        let targets = unsafe { PgList::<pg_sys::Node>::from_pg(s.targetList) };
        let plain = targets.len() == 1
            && s.op == pg_sys::SetOperation::SETOP_NONE
            && s.distinctClause.is_null()
            && s.intoClause.is_null()
            && s.fromClause.is_null()
            && s.whereClause.is_null()
            && s.groupClause.is_null()
            && s.havingClause.is_null()
            && s.windowClause.is_null()
            && s.valuesLists.is_null()
            && s.sortClause.is_null()
            && s.limitOffset.is_null()
            && s.limitCount.is_null()
            && s.lockingClause.is_null()
            && s.withClause.is_null();
        Ok((!plain).then_some("SQL around the expression"))
    });
    match shape {
        Ok(None) => Ok(()),
        Ok(Some(p)) => Err(format!(
            "{what} must be one SQL expression or query (it is run as SELECT (...)::boolean), but it has {p}"
        )),
        Err(Aborted::Raised(e)) => Err(format!("{what} does not parse: {}", e.message)),
        Err(Aborted::Returned(e)) => Err(e),
    }
}
