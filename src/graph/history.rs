//! History protection. Versions in the active data schema's temporal tables are never
//! rewritten or removed by hand: the `protect_history` triggers (sql/history.sql) refuse
//! UPDATE (but closing the current version), DELETE and TRUNCATE. The extension's own
//! statements that legitimately rewrite in place (patch-mode pipelines, backfills,
//! undo, blue-green replay, deprecation marks, retention purges) run inside
//! a [`RewritingHistory`] guard, which only this backend's Rust code can hold: there is no SQL
//! to set it, so neither a user nor a migration step can.
use crate::errors::{MeError, MeResult};
use crate::spi::temporal::{CLOSED, ENTITIES, RELATIONS};
use crate::spi::{audit, data_schema, first_value, quoted_ident};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;
use std::cell::Cell;

thread_local! {
    /// How many `RewritingHistory` guards this backend holds.
    static REWRITING: Cell<u32> = const { Cell::new(0) };
}

/// While a value of this type lives, the history triggers stand aside for this
/// backend's statements: held by the extension's own in-place writers, for the length
/// of their own generated statements. Never hold one across user SQL. Dropping it (also
/// when an ERROR unwinds) restores the previous depth.
pub struct RewritingHistory(());

impl RewritingHistory {
    #[must_use = "the triggers stand aside only while the guard lives"]
    pub fn enter() -> Self {
        REWRITING.with(|d| d.set(d.get() + 1));
        RewritingHistory(())
    }
}

impl Drop for RewritingHistory {
    fn drop(&mut self) {
        REWRITING.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Whether the statement now running is one of the extension's own history rewrites:
/// the protect_history triggers' WHEN condition. Reads a backend-local flag; calling it
/// reveals nothing and changes nothing.
#[pg_extern(volatile, parallel_restricted)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn history_rewrite_allowed() -> bool {
    REWRITING.with(|d| d.get() > 0)
}

/// Retention: remove the versions of the active data schema that were closed before
/// `closed_before` (current versions are never removed), optionally of one entity type
/// only, and relation versions closed before the same moment. Audited; returns what it
/// removed. For the extension's owner only (no grant).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn purge_history(
    closed_before: Option<TimestampWithTimeZone>,
    entity_type: default!(Option<&str>, "NULL"),
) -> Result<JsonB, pgrx::pg_sys::panic::ErrorReport> {
    crate::required!(closed_before);
    Ok(JsonB(purge(closed_before, entity_type)?))
}

fn purge(
    closed_before: TimestampWithTimeZone,
    entity_type: Option<&str>,
) -> MeResult<serde_json::Value> {
    if let Some(t) = entity_type {
        quoted_ident("entity type", t)?;
    }
    let in_future = first_value::<bool>("SELECT $1 > clock_timestamp()", &[closed_before.into()])?
        .unwrap_or(true);
    if in_future {
        return Err(
            MeError::invalid_parameter("closed_before lies in the future")
                .hint("Pass a past moment, e.g. now() - interval '1 year'; nothing was removed."),
        );
    }
    let schema = data_schema()?;
    let q = quoted_ident("data schema", &schema)?;
    // the triggers stand aside for these two statements only
    let rewriting = RewritingHistory::enter();
    let entities = first_value::<i64>(
        &format!(
            "WITH gone AS (DELETE FROM {q}.{ENTITIES} WHERE {CLOSED} AND valid_to < $1 \
             AND ($2::text IS NULL OR entity_type = $2) RETURNING 1) SELECT count(*) FROM gone"
        ),
        &[closed_before.into(), entity_type.into()],
    )?
    .unwrap_or(0);
    // relation versions have no entity type of their own: only a whole-graph purge
    // removes them
    let relations = if entity_type.is_none() {
        first_value::<i64>(
            &format!(
                "WITH gone AS (DELETE FROM {q}.{RELATIONS} WHERE {CLOSED} AND valid_to < $1 \
                 RETURNING 1) SELECT count(*) FROM gone"
            ),
            &[closed_before.into()],
        )?
        .unwrap_or(0)
    } else {
        0
    };
    drop(rewriting);
    let result = json!({
        "schema": schema,
        "closed_before": first_value::<String>("SELECT $1::text", &[closed_before.into()])?,
        "entity_type": entity_type,
        "entity_versions_removed": entities,
        "relation_versions_removed": relations,
    });
    audit("PURGE_HISTORY", "schema", &schema, result.clone())?;
    Ok(result)
}
