//! A jsonb argument read straight from its binary form. pgrx's `JsonB` prints the datum
//! to text (`jsonb_out`) and parses that text again; for multi-megabyte schema documents
//! that round trip costs more than the diff itself. The core's `jsonb_binary` decoder
//! walks the stored format instead (it falls back to the text path on anything it does
//! not expect).
use migration_engine_core::jsonb_binary::decode;
use pgrx::prelude::*;
use pgrx::{FromDatum, JsonB};

pub struct JsonbValue(pub serde_json::Value);

impl FromDatum for JsonbValue {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        typoid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        let detoasted = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        let len = pgrx::varsize_any_exhdr(detoasted);
        let bytes = std::slice::from_raw_parts(pgrx::vardata_any(detoasted) as *const u8, len);
        match decode(bytes) {
            Ok(v) => Some(JsonbValue(v)),
            Err(_) => JsonB::from_polymorphic_datum(datum, false, typoid).map(|j| JsonbValue(j.0)),
        }
    }
}

pgrx::impl_sql_translatable!(JsonbValue, arg_only = "jsonb");

// What pgrx's own `argue_from_datum!` does for its types: unbox through FromDatum.
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for JsonbValue {
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(
        arg: pgrx::callconv::Arg<'_, 'fcx>,
    ) -> pgrx::nullable::Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}
