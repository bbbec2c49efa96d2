//! A jsonb result written in its binary form. pgrx's `JsonB` prints the value to JSON
//! text and has `jsonb_in` parse it again; for a result of a megabyte (the change list
//! of `detect_breaking_changes`) that round trip cost more than building the value. The
//! core's encoder writes the bytes `jsonb_in` would have stored
//! (`migration_engine_core::jsonb::jsonb_varlena`; the in-server test
//! `tests::binary_jsonb_results_are_what_jsonb_in_stores` compares them byte for byte).
use crate::errors::MeError;
use migration_engine_core::jsonb::{self, Out};
use pgrx::callconv::{BoxRet, FcInfo};
use pgrx::prelude::*;
use pgrx::IntoDatum;
use serde_json::Value;

/// A jsonb result as its varlena (4-byte header), ready to hand to PostgreSQL.
pub struct JsonbOut(Vec<u8>);

impl JsonbOut {
    /// Encode `v`; a value too large for jsonb is 54000 (program_limit_exceeded), as
    /// `jsonb_in` would refuse its text.
    pub fn new(v: &Value) -> Result<JsonbOut, MeError> {
        jsonb::jsonb_varlena(v).map(JsonbOut).map_err(too_large)
    }

    /// [`JsonbOut::new`] of a result assembled from borrowed parts (no copy into a
    /// `serde_json::Value` first).
    pub fn of(v: &Out<'_>) -> Result<JsonbOut, MeError> {
        jsonb::jsonb_varlena_of(v).map(JsonbOut).map_err(too_large)
    }
}

fn too_large(e: jsonb::EncodeError) -> MeError {
    MeError::new(
        PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        e.to_string(),
    )
    .hint("Ask for a smaller result (fewer or smaller documents).")
}

impl IntoDatum for JsonbOut {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        // SAFETY: palloc returns at least the requested bytes in the current memory
        // context (or raises); the copy fills all of them, and the first four are the
        // varlena header the encoder wrote (the total length, 4-byte form), so the datum
        // is a complete jsonb varlena owned by PostgreSQL's memory context.
        unsafe {
            let ptr = pg_sys::palloc(self.0.len()) as *mut u8;
            std::ptr::copy_nonoverlapping(self.0.as_ptr(), ptr, self.0.len());
            Some(pg_sys::Datum::from(ptr))
        }
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

pgrx::impl_sql_translatable!(JsonbOut, "jsonb");

// SAFETY: a JsonbOut is declared jsonb in SQL (impl_sql_translatable above) and its datum
// is a complete jsonb varlena (into_datum), which is what the caller of the function reads.
unsafe impl BoxRet for JsonbOut {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> pgrx::datum::Datum<'fcx> {
        match self.into_datum() {
            // SAFETY: the datum is a jsonb varlena in the current memory context, the
            // function's return type (BoxRet's contract).
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}
