//! The data schema's vocabulary, spelled once: its two tables and what "the current
//! version of a row" means. A version is current while its `valid_to` is the open end
//! `'infinity'` (closing a version sets `valid_to`; a unique partial index on
//! `(entity_id) WHERE valid_to = 'infinity'` keeps one current version per id), and
//! live when it is current and not a deletion marker. Every query of the shell that asks
//! for current or live rows uses these, so the rule cannot drift between files; the
//! partial indexes' predicate in sql/kg_store.sql is the same text, which lets
//! PostgreSQL use them.

/// The entities table of a data schema.
pub const ENTITIES: &str = "temporal_entities";
/// The relations table of a data schema.
pub const RELATIONS: &str = "temporal_relations";

/// The open end of a current version's validity, as SQL text.
pub const OPEN_END: &str = "'infinity'";

/// The row is the current version of its id (a deletion marker included).
pub const CURRENT: &str = "valid_to = 'infinity'";

/// The row is a closed (past) version.
pub const CLOSED: &str = "valid_to <> 'infinity'";

/// The row is the current version of its id and not a deletion marker.
pub const LIVE: &str = "valid_to = 'infinity' AND NOT is_deleted";

/// When a change closes the current version: now (the transaction's start), unless that
/// version began later, written by a transaction that started after this one and
/// committed first; then the old version ends where it began, and history stays ordered.
pub const CLOSE_AT: &str = "greatest(now(), valid_from)";

/// [`CLOSE_AT`] for the row of a table referred to as `alias`.
pub fn close_at_of(alias: &str) -> String {
    format!("greatest(now(), {alias}.valid_from)")
}

/// [`CURRENT`] for the row of a table referred to as `alias`.
pub fn current_of(alias: &str) -> String {
    format!("{alias}.valid_to = {OPEN_END}")
}

/// [`LIVE`] for the row of a table referred to as `alias`.
pub fn live_of(alias: &str) -> String {
    format!("{alias}.valid_to = {OPEN_END} AND NOT {alias}.is_deleted")
}

/// `schema.table` where `schema` is already quoted (see `quoted_ident`; `data_table`
/// for the active data schema).
pub fn qualified(quoted_schema: &str, table: &str) -> String {
    format!("{quoted_schema}.{table}")
}
