//! A jsonb argument as its stored bytes. pgrx's `JsonB` prints the datum to text
//! (`jsonb_out`) and parses that text again; for multi-megabyte schema documents that
//! round trip costs more than the diff itself. The core reads the binary format in place
//! (`jsonb::JsonbRef`, `detect_breaking_changes_binary`) and decodes only what it needs.
use crate::errors::MeError;
use migration_engine_core::jsonb::DecodeErrorKind;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{FromDatum, JsonB};

/// A jsonb argument as its stored bytes (the payload after the varlena header), for
/// code that reads the binary format in place (`detect_breaking_changes_binary`). The
/// bytes are borrowed for the call: they are the datum itself, or its detoasted copy in
/// the call's memory context (copying them again cost a page-faulting megabyte-sized
/// allocation per document).
pub struct JsonbBytes<'a>(pub &'a [u8]);

impl<'a> FromDatum for JsonbBytes<'a> {
    // SAFETY: FromDatum's contract: when !is_null the caller passes a datum of type jsonb (the only
    // SQL type this is declared as: impl_sql_translatable below), a varlena as payload needs.
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        Some(JsonbBytes(payload(datum)))
    }
}

/// The bytes after the varlena header of a jsonb datum, detoasted; they live in the
/// current memory context, as long as the call.
// SAFETY: callers pass a non-null jsonb datum (a varlena, maybe toasted or short-header).
// pg_detoast_datum_packed returns it or a detoasted copy palloc'd in the current context, so the
// slice covers VARSIZE_ANY_EXHDR bytes; callers must not keep it past that context.
unsafe fn payload<'a>(datum: pg_sys::Datum) -> &'a [u8] {
    let detoasted = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
    let len = pgrx::varsize_any_exhdr(detoasted);
    std::slice::from_raw_parts(pgrx::vardata_any(detoasted) as *const u8, len)
}

pgrx::impl_sql_translatable!(JsonbBytes<'_>, arg_only = "jsonb");

// SAFETY: a JsonbBytes argument is declared jsonb in SQL (arg_only = "jsonb" above), so unboxing it
// through FromDatum, which reads a jsonb varlena, matches the argument's type.
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for JsonbBytes<'fcx> {
    // SAFETY: ArgAbi's contract: pgrx's generated wrapper passes an argument whose datum is a
    // jsonb; a null one is not read but raises (the panic becomes an ERROR).
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the argument's datum is a jsonb (this fn's contract), which is what
        // JsonbBytes::from_polymorphic_datum reads; a null comes back as None, unread.
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    // SAFETY: same contract as unbox_arg_unchecked: the argument is a jsonb or SQL NULL.
    unsafe fn unbox_nullable_arg(
        arg: pgrx::callconv::Arg<'_, 'fcx>,
    ) -> pgrx::nullable::Nullable<Self> {
        // SAFETY: the argument's datum is a jsonb (this fn's contract); FromDatum maps a null to
        // None without reading the datum.
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

/// A jsonb argument decoded from its stored bytes by the core's reader, with one
/// documented limit: containers nested deeper than `JSONB_MAX_DEPTH` levels are refused
/// with 54001 (statement_too_complex). pgrx's `JsonB` prints the value to text and
/// parses it with serde, whose recursion limit turned a deep document into XX000; a
/// number beyond the range of f64 gets 22003 here instead of the same.
pub struct JsonArg(pub JsonB);

pub use migration_engine_core::jsonb::MAX_DEPTH as JSONB_MAX_DEPTH;

impl FromDatum for JsonArg {
    // SAFETY: FromDatum's contract: when !is_null the caller passes a datum of type jsonb (the only
    // SQL type this is declared as: impl_sql_translatable below); the decoded value owns its data,
    // so nothing borrowed from payload outlives this call.
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        // decoded in place: no copy of the datum, no text round trip
        match migration_engine_core::jsonb::decode(payload(datum)) {
            Ok(value) => Some(JsonArg(JsonB(value))),
            Err(e) => {
                let report: ErrorReport = decode_refusal(&e.kind).into();
                report.report(PgLogLevel::ERROR);
                unreachable!("an ERROR report does not return")
            }
        }
    }
}

/// The refusal for a jsonb argument the core reader cannot represent (too deep, a
/// number beyond f64), or None when `bytes` decode.
pub(crate) fn unreadable(bytes: &[u8]) -> Option<MeError> {
    migration_engine_core::jsonb::decode(bytes)
        .err()
        .map(|e| decode_refusal(&e.kind))
}

/// The refusal for a jsonb argument the core reader cannot represent.
pub(crate) fn decode_refusal(kind: &DecodeErrorKind) -> MeError {
    match kind {
        DecodeErrorKind::DepthLimitExceeded => MeError::new(
            PgSqlErrorCode::ERRCODE_STATEMENT_TOO_COMPLEX,
            format!("a jsonb argument is nested deeper than {JSONB_MAX_DEPTH} levels"),
        )
        .hint(format!(
            "Arrays and objects may nest at most {JSONB_MAX_DEPTH} levels deep in any argument; flatten the document."
        )),
        DecodeErrorKind::NumberOutOfRange => MeError::new(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            "a jsonb argument holds a number beyond the range of double precision",
        )
        .hint("Numbers in arguments must lie within ±1.7e308; pass larger values as strings."),
        other => MeError::new(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("a jsonb argument could not be read: {other}"),
        ),
    }
}

pgrx::impl_sql_translatable!(JsonArg, arg_only = "jsonb");

// SAFETY: a JsonArg argument is declared jsonb in SQL (arg_only = "jsonb" above), so unboxing it
// through FromDatum, which reads a jsonb varlena, matches the argument's type.
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for JsonArg {
    // SAFETY: ArgAbi's contract: pgrx's generated wrapper passes an argument whose datum is a
    // jsonb; a null one is not read but refused with an ERROR.
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        let position = arg.index() + 1;
        // SAFETY: the argument's datum is a jsonb (this fn's contract), which is what
        // JsonArg::from_polymorphic_datum reads; a null comes back as None, unread.
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| {
            let report: ErrorReport =
                crate::errors::null_refusal(&format!("jsonb argument {position}")).into();
            report.report(PgLogLevel::ERROR);
            unreachable!("an ERROR report does not return")
        })
    }

    // SAFETY: same contract as unbox_arg_unchecked: the argument is a jsonb or SQL NULL.
    unsafe fn unbox_nullable_arg(
        arg: pgrx::callconv::Arg<'_, 'fcx>,
    ) -> pgrx::nullable::Nullable<Self> {
        // SAFETY: the argument's datum is a jsonb (this fn's contract); FromDatum maps a null to
        // None without reading the datum.
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}
