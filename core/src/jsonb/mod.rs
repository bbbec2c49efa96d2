//! PostgreSQL's binary `jsonb` format, read directly.
//!
//! Receiving a `jsonb` argument through pgrx turns it into text
//! (`JsonbToCString`) which `serde_json` then parses; for multi-MB documents
//! that round trip dominates the call. This module reads the detoasted datum
//! directly instead. It is pure Rust and never touches Postgres: the shell
//! hands it bytes.
//!
//! # The format in brief
//!
//! A datum's payload is one *container*: a `u32` header (element or member
//! count, and whether it is an array or an object), then one 4-byte *JEntry*
//! per child (for an object: all keys, then all values), then the children's
//! data. Each JEntry holds the child's type and either its length or, on every
//! 32nd entry (`HAS_OFF`), its end offset, so a child's start is found by
//! walking back to the nearest stored offset. Object keys are sorted by
//! length, then bytewise. Numbers are `numeric` varlenas and nested
//! containers are containers again, both 4-byte aligned relative to the start
//! of their parent container. A raw scalar (`'5'::jsonb`) is a one-element
//! array flagged `JB_FSCALAR`. The bit layout is in `format.rs`.
//!
//! # Input
//!
//! The datum must be fully detoasted (`pg_detoast_datum` or
//! `pg_detoast_datum_packed`). The slice needs no particular alignment: all
//! alignment padding in the format is relative to the start of a container,
//! and the readers compute it that way.
//!
//! Multi-byte integers are read in **native byte order**, as Postgres writes
//! them (the jsonb on-disk format is not portable across endianness). Both
//! little- and big-endian varlena header layouts are handled; only
//! little-endian is exercised by the tests.
//!
//! Strings are expected to be UTF-8 (a `UTF8` server encoding); invalid
//! UTF-8 is an error.
//!
//! # Submodules
//!
//! * `format`: the on-disk constants (header and JEntry bits, type tags,
//!   alignment), the container header check, and the one JEntry walker that
//!   turns a JEntry array into each child's data range; both readers locate
//!   children only through it.
//! * `decode`: [`decode()`] and [`decode_varlena`], the whole datum into a
//!   [`serde_json::Value`] (what the text path would produce), and
//!   [`DecodeError`].
//! * `view`: [`JsonbRef`], a borrowed view that reads in place without
//!   allocating: lazy accessors, binary search over object keys
//!   ([`jsonb_key_cmp`]), and [`JsonbRef::validate`], which succeeds exactly
//!   when `decode` would.
//! * `encode`: [`jsonb_varlena`] and [`jsonb_varlena_of`], a value written
//!   in the binary form `jsonb_in` would store (for results: no trip through
//!   JSON text), and [`Out`], a result assembled from borrowed parts. The
//!   varlena headers follow this machine's byte order, as above.
//! * Tests: `tests` (the decoder and the encoder, against byte images
//!   captured from PostgreSQL 15 and the text path), `view_tests`, `bench`
//!   (an ignored benchmark), and `test_encoder`, a model of `JsonbValue`
//!   (keeping each number's decimal text) written by the encoder, which the
//!   schema diff's tests use too.

mod decode;
mod encode;
mod format;
mod view;

pub use self::decode::{decode, decode_varlena, DecodeError, DecodeErrorKind};
pub use self::encode::{jsonb_varlena, jsonb_varlena_of, EncodeError, Out};
pub use self::format::MAX_DEPTH;
pub use self::view::{jsonb_key_cmp, ArrayIter, JsonbContainer, JsonbNumber, JsonbRef, ObjectIter};

#[cfg(test)]
mod bench;
#[cfg(test)]
pub(crate) mod test_encoder;
#[cfg(test)]
mod view_tests;
// Last: clippy's items_after_test_module.
#[cfg(test)]
pub(crate) mod tests;
