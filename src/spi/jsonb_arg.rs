//! A jsonb argument as its stored bytes. pgrx's `JsonB` prints the datum to text
//! (`jsonb_out`) and parses that text again; for multi-megabyte schema documents that
//! round trip costs more than the diff itself. The core reads the binary format in place
//! (`jsonb_view`, `detect_breaking_changes_binary`) and decodes only what it needs.
use pgrx::prelude::*;
use pgrx::FromDatum;

/// A jsonb argument as its stored bytes (the payload after the varlena header), for
/// code that reads the binary format in place (`detect_breaking_changes_binary`).
pub struct JsonbBytes(pub Vec<u8>);

impl FromDatum for JsonbBytes {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        let detoasted = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        let len = pgrx::varsize_any_exhdr(detoasted);
        Some(JsonbBytes(
            std::slice::from_raw_parts(pgrx::vardata_any(detoasted) as *const u8, len).to_vec(),
        ))
    }
}

pgrx::impl_sql_translatable!(JsonbBytes, arg_only = "jsonb");

unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for JsonbBytes {
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
