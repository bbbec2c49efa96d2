//! Time-ordered ids: UUID version 7 (RFC 9562), 48 bits of Unix time in milliseconds
//! followed by random bits, from the `uuid` crate. Ids made one after the other sort in
//! the order they were made, so a btree on them grows at its right edge instead of
//! splitting random pages (bench/uuid.sql measures what that is worth here).
use pgrx::prelude::*;
use pgrx::Uuid;

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const POSTGRES_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A new version 7 UUID. Within one backend they increase strictly (the crate keeps a
/// counter for ids made in the same millisecond).
pub fn new_v7() -> Uuid {
    Uuid::from_bytes(*uuid::Uuid::now_v7().as_bytes())
}

/// A new time-ordered id (UUID version 7).
/// No pinned search_path: it runs no SQL and resolves no name, and as a column default it
/// is called on every insert, where `SET search_path` would cost 40 % of the insert.
#[pg_extern(volatile, parallel_safe)]
fn uuid_v7() -> Uuid {
    new_v7()
}

/// When a version 7 UUID was made (millisecond precision); NULL for any other version,
/// such as the random ids of gen_random_uuid().
/// No pinned search_path either: no SQL, no name lookup.
#[pg_extern(immutable, parallel_safe, strict)]
fn uuid_v7_time(id: Uuid) -> Option<TimestampWithTimeZone> {
    let ms = migration_engine_core::ids::v7_unix_millis(id.as_bytes())?;
    TimestampWithTimeZone::try_from(ms * 1000 - POSTGRES_EPOCH_UNIX_MICROS).ok()
}
