//! The atomic switch: freeze writes to the old schema, bring the new one up to date,
//! make it active, redefine kg_live, retire the old schema, notify. One transaction:
//! the notification is delivered when it commits, and not at all if it rolls back.
use super::capture::{discard, set_capture, set_trigger, with_lock_retries};
use super::copy::{tables, TableInfo};
use crate::errors::MeResult;
use crate::spi::{audit, first_value, quoted_ident};
use crate::timing::elapsed_ms;
use migration_engine_core::rollout::blue_green::BlueGreenOptions;
use pgrx::prelude::*;
use serde_json::{json, Value};
use std::time::Instant;

/// The views of kg_live, by name.
fn live_views() -> MeResult<Vec<String>> {
    Ok(first_value::<Vec<String>>(
        "SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'kg_live' AND c.relkind = 'v'",
        &[],
    )?
    .unwrap_or_default())
}

/// Freeze writes: kg_live's views first (their writers hold the view before the table,
/// so this order cannot deadlock with them), then the old schema's tables. Readers of
/// the tables go on; readers of kg_live wait for the switch.
fn freeze(from: &str, from_tables: &[TableInfo], views: &[String]) -> MeResult<()> {
    let src = quoted_ident("schema", from)?;
    if !views.is_empty() {
        let list = views
            .iter()
            .map(|v| Ok(format!("kg_live.{}", quoted_ident("view", v)?)))
            .collect::<MeResult<Vec<_>>>()?;
        Spi::run(&format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            list.join(", ")
        ))?;
    }
    if !from_tables.is_empty() {
        let list = from_tables
            .iter()
            .map(|t| Ok(format!("{src}.{}", quoted_ident("table", &t.name)?)))
            .collect::<MeResult<Vec<_>>>()?;
        Spi::run(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", list.join(", ")))?;
    }
    Ok(())
}

/// Every sequence of `to` at least where its namesake in `from` is, so that new rows
/// never take a value a replayed row already has.
fn sync_sequences(from: &str, to: &str) -> MeResult<()> {
    Spi::run_with_args(
        "SELECT pg_catalog.setval(format('%I.%I', t.schemaname, t.sequencename), f.last_value, true) \
         FROM pg_catalog.pg_sequences t JOIN pg_catalog.pg_sequences f \
           ON f.schemaname = $1 AND f.sequencename = t.sequencename \
         WHERE t.schemaname = $2 AND f.last_value IS NOT NULL AND f.last_value > coalesce(t.last_value, t.start_value - 1)",
        &[from.into(), to.into()],
    )?;
    Ok(())
}

/// Writes to a retired schema's tables are refused (retryably), so none is lost there.
pub(super) fn retire(schema: &str, t: &TableInfo, successor: &str) -> MeResult<()> {
    set_trigger(schema, &t.name, "retire", Some(successor), &[])
}

fn reinstate(schema: &str, t: &TableInfo) -> MeResult<()> {
    set_trigger(schema, &t.name, "reinstate", None, &[])
}

/// When [`switch`] asks its caller to replay what the old schema logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUpPhase {
    /// The new schema takes writes (ours first), the old one still does: a bounded
    /// catch-up here keeps the freeze short.
    BeforeFreeze,
    /// A freeze attempt timed out; writes go on until the next one.
    BetweenAttempts,
    /// Writes are frozen: replay everything left.
    Frozen,
}

/// Switch the active data schema from `from` to `to`. `catch_up` replays what waits in
/// each [`CatchUpPhase`]; it returns the rows replayed.
pub fn switch(
    from: &str,
    to: &str,
    migration_id: Option<crate::catalog::MigrationId>,
    o: &BlueGreenOptions,
    mut catch_up: impl FnMut(CatchUpPhase) -> MeResult<i64>,
) -> MeResult<Value> {
    let from_tables = tables(from)?;
    let to_tables = tables(to)?;
    let views = live_views()?;
    // the new schema takes writes (our replays first) from this transaction on
    for t in &to_tables {
        reinstate(to, t)?;
    }
    let before_freeze = catch_up(CatchUpPhase::BeforeFreeze)?;
    let (_, lock_attempts) = with_lock_retries(
        &format!("freeze writes to schema {from:?}"),
        o,
        || catch_up(CatchUpPhase::BetweenAttempts).map(|_| ()),
        || freeze(from, &from_tables, &views),
    )?;
    let frozen = Instant::now();
    let replayed = catch_up(CatchUpPhase::Frozen)?;
    sync_sequences(from, to)?;

    // the new schema: writes accepted and logged, so switch_back() can bring them to
    // the old one
    discard(to)?;
    let mut not_captured = Vec::new();
    for t in &to_tables {
        if t.key.is_empty() {
            not_captured.push(t.name.clone());
        } else {
            set_capture(to, t, "always")?;
        }
    }
    let switched_at = crate::catalog::record_switch(to, from, migration_id)?;
    // the old schema, no longer active: writes refused
    for t in &from_tables {
        retire(from, t, to)?;
        if !t.key.is_empty() {
            set_capture(from, t, "gated")?;
        }
    }
    let detail = json!({"schema": to, "previous_schema": from, "switched_at": switched_at,
        "migration_id": migration_id.map(|u| u.to_string()), "views": "kg_live",
        "search_path": format!("{}, public", quoted_ident("schema", to)?)});
    Spi::run_with_args(
        "SELECT pg_catalog.pg_notify('schema_switched', $1), pg_catalog.pg_notify('schema_switched_detail', $2)",
        &[to.into(), detail.to_string().into()],
    )?;
    audit("schema_switched", "schema", to, detail)?;
    Ok(json!({
        "switched_at": switched_at,
        "write_freeze_ms": elapsed_ms(frozen),
        "replayed_before_freeze": before_freeze,
        "replayed_during_freeze": replayed,
        "freeze_attempts": lock_attempts + 1,
        "not_captured_tables": not_captured,
    }))
}
