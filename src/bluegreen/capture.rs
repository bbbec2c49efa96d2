//! Change capture and replay. The capture trigger (sql/blue_green.sql) logs changed rows
//! into migration_engine.change_log; replay applies the latest state of each logged row
//! to another schema, set-based, one statement per table and round.
use super::copy::{column_list, tables, writable_columns, TableInfo};
use crate::errors::{MeError, MeResult};
use crate::spi::subxact::{atomically, Aborted};
use crate::spi::temporal::{current_of, ENTITIES, OPEN_END, RELATIONS};
use crate::spi::{first_value, quoted_ident};
use migration_engine_core::rollout::blue_green::{BlueGreenOptions, ReplayFloor};
use pgrx::prelude::*;
use std::time::Duration;

const KEY_CLASS: i32 = 1_296_385;
const FENCE: i32 = 1;
const RUNNING: i32 = 2;

/// Claim "a blue-green migration is running" for this transaction (never waits).
pub fn try_claim_run() -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)",
        &[KEY_CLASS.into(), RUNNING.into()],
    )?
    .unwrap_or(false))
}

/// Run `f` under a short lock_timeout in a subtransaction, retrying with back-off while
/// it fails for a lock timeout: never queue behind a long transaction indefinitely.
pub fn with_lock_retries<R>(
    what: &str,
    o: &BlueGreenOptions,
    mut between: impl FnMut() -> MeResult<()>,
    mut f: impl FnMut() -> MeResult<R>,
) -> MeResult<(R, u32)> {
    let mut attempt = 0;
    loop {
        let r = atomically(|| {
            Spi::run_with_args(
                "SELECT set_config('lock_timeout', $1, true)",
                &[format!("{}ms", o.switch_lock_timeout_ms).into()],
            )?;
            f()
        });
        match r {
            Ok(v) => {
                Spi::run("SELECT set_config('lock_timeout', '0', true)")?;
                return Ok((v, attempt));
            }
            Err(Aborted::Raised(e)) if e.code == PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE => {
                if attempt >= o.switch_retries {
                    return Err(MeError::new(
                        PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE,
                        format!("could not {what} in {} attempts of {} ms: other transactions hold conflicting locks", attempt + 1, o.switch_lock_timeout_ms),
                    )
                    .hint("Look for long-running or idle-in-transaction sessions in pg_stat_activity; retry, or raise switchRetries / switchLockTimeout."));
                }
                std::thread::sleep(Duration::from_millis(o.backoff_ms(attempt)));
                pgrx::check_for_interrupts!();
                attempt += 1;
                between()?;
            }
            Err(Aborted::Raised(e)) => return Err(MeError::new(e.code, e.message)),
            Err(Aborted::Returned(e)) => return Err(e),
        }
    }
}

/// Raise the capture fence for this transaction: from now on every write to a table with
/// a gated capture trigger is logged. Taking it waits until the writers that wrote
/// without logging have ended, so no write is neither copied nor logged.
pub fn raise_fence(o: &BlueGreenOptions) -> MeResult<u32> {
    let (_, attempts) = with_lock_retries(
        "raise the change-capture fence",
        o,
        || Ok(()),
        || {
            Spi::run_with_args(
                "SELECT pg_catalog.pg_advisory_xact_lock($1, $2)",
                &[KEY_CLASS.into(), FENCE.into()],
            )?;
            Ok(())
        },
    )?;
    Ok(attempts)
}

/// Put the capture trigger on `table` in `mode` ('gated': fires only while the fence is
/// up, a condition the executor evaluates itself; 'always'), replacing any. The DDL runs
/// in sql/blue_green.sql's set_extension_trigger, as the extension's owner.
pub fn set_capture(schema: &str, t: &TableInfo, mode: &str) -> MeResult<()> {
    set_trigger(schema, &t.name, "capture", Some(mode), &t.key)
}

/// Every keyed table of `schema` to capture `mode`, each with lock retries (its writers
/// hold locks the trigger change must wait for).
pub fn set_capture_all(schema: &str, mode: &str, o: &BlueGreenOptions) -> MeResult<()> {
    for t in tables(schema)?.iter().filter(|t| !t.key.is_empty()) {
        with_lock_retries(
            &format!("set the capture trigger of {}", t.name),
            o,
            || Ok(()),
            || set_capture(schema, t, mode),
        )?;
    }
    Ok(())
}

/// One of the extension's own triggers on a table of a data schema (see
/// migration_engine.set_extension_trigger).
pub fn set_trigger(
    schema: &str,
    table: &str,
    kind: &str,
    arg: Option<&str>,
    keys: &[String],
) -> MeResult<()> {
    Spi::run_with_args(
        "SELECT migration_engine.set_extension_trigger($1, $2, $3, $4, $5)",
        &[
            schema.into(),
            table.into(),
            kind.into(),
            arg.into(),
            keys.to_vec().into(),
        ],
    )?;
    Ok(())
}

/// This role's temporary table of a replay round. Per role: a table another role made
/// earlier in the session (SET ROLE) is not ours to use.
pub fn replay_table() -> MeResult<String> {
    let oid = first_value::<pgrx::pg_sys::Oid>(
        "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user",
        &[],
    )?
    .ok_or_else(|| MeError::internal("current_user has no role"))?;
    Ok(format!("pg_temp.me_replay_{}", oid.to_u32()))
}

/// Forget what was logged for `schema` (a failed run's leftovers, a closed switch-back window).
pub fn discard(schema: &str) -> MeResult<i64> {
    Ok(Spi::connect_mut(|c| {
        c.update(
            "DELETE FROM migration_engine.change_log WHERE schema_name = $1",
            None,
            &[schema.into()],
        )
        .map(|r| r.len() as i64)
    })?)
}

/// Replay what was logged for `from` into `to` until nothing is left (one shot).
pub fn replay(
    from: &str,
    to: &str,
    batch: u64,
    transformed: bool,
    after_round: &mut dyn FnMut() -> MeResult<()>,
) -> MeResult<i64> {
    Replayer::new(from, to, batch, transformed)?.run(None, after_round)
}

/// Replay of one schema's log into another, round after round within one transaction.
/// Per row only its latest logged state is applied, in log order; columns are matched by
/// name (columns the target added get their defaults). Taken entries are deleted (a
/// failure puts them back); each round starts from the core's `ReplayFloor`, not from
/// the start of the log.
pub struct Replayer {
    from: String,
    plans: Vec<TablePlan>,
    batch: u64,
    floor: ReplayFloor,
}

impl Replayer {
    /// `transformed`: the target runs a transformation on replayed rows (its own versions
    /// must give way to newer ones).
    pub fn new(from: &str, to: &str, batch: u64, transformed: bool) -> MeResult<Replayer> {
        let mut plans = Vec::new();
        for t in tables(from)? {
            if t.key.is_empty() {
                continue;
            }
            plans.extend(TablePlan::new(from, to, &t, transformed)?);
        }
        Spi::run(
            &format!("CREATE TEMP TABLE IF NOT EXISTS {} (seq bigint, table_name text, operation \"char\", row_key jsonb, row_data jsonb) \
             ON COMMIT DROP", replay_table()?),
        )?;
        Ok(Replayer {
            from: from.to_string(),
            plans,
            batch,
            floor: ReplayFloor::default(),
        })
    }

    /// Changes waiting.
    pub fn backlog(&self) -> MeResult<i64> {
        Ok(first_value::<i64>(
            "SELECT count(*) FROM migration_engine.change_log WHERE schema_name = $1 AND seq > $2",
            &[self.from.as_str().into(), self.floor.floor().into()],
        )?
        .unwrap_or(0))
    }

    /// Up to `rounds` rounds (all that is left when None). `after_round` runs once per
    /// round while the replay table holds the round's rows (blue-green applies the
    /// migration's transformation there). Returns the changes replayed.
    pub fn run(
        &mut self,
        rounds: Option<u32>,
        after_round: &mut dyn FnMut() -> MeResult<()>,
    ) -> MeResult<i64> {
        // replays rewrite the target in place (the source's updates and deletes)
        let _rewriting = crate::graph::history::RewritingHistory::enter();
        // a retired target (a canary's new version) takes these writes; the rounds sort
        // tens of thousands of rows: in memory, not on disk
        let work_mem = first_value::<String>(
            "SELECT current_setting('work_mem') FROM (SELECT set_config('migration_engine.replaying', 'on', true)) s",
            &[],
        )?
        .unwrap_or_else(|| "4MB".into());
        Spi::run("SELECT set_config('work_mem', greatest(pg_size_bytes(current_setting('work_mem')), 64 * 1024 * 1024)::text || 'B', true)")?;
        let mut applied = 0;
        let mut round = 0;
        let r = loop {
            if rounds.is_some_and(|r| round >= r) {
                break Ok(applied);
            }
            round += 1;
            match self.round(after_round) {
                Ok(0) => break Ok(applied),
                Ok(n) => applied += n,
                Err(e) => {
                    // the caller rolls this back: start from the beginning next time
                    self.floor.reset();
                    break Err(e);
                }
            }
        };
        Spi::run_with_args(
            "SELECT set_config('migration_engine.replaying', 'off', true), set_config('work_mem', $1, true)",
            &[work_mem.into()],
        )?;
        r
    }

    fn round(&mut self, after_round: &mut dyn FnMut() -> MeResult<()>) -> MeResult<i64> {
        // before this round's snapshot, in this order: the log's last seq, then every
        // transaction running (the lock table lists them all; a snapshot's own list
        // leaves out those above its xmax)
        let last = first_value::<i64>(
            "SELECT coalesce(pg_catalog.pg_sequence_last_value(pg_catalog.pg_get_serial_sequence('migration_engine.change_log', 'seq')::regclass), 0)",
            &[],
        )?
        .unwrap_or(0);
        let in_progress = first_value::<Vec<String>>(
            "SELECT coalesce(array_agg(transactionid::text), '{}') FROM pg_catalog.pg_locks \
             WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted AND pid <> pg_catalog.pg_backend_pid()",
            &[],
        )?
        .unwrap_or_default();
        let tmp = replay_table()?;
        Spi::run(&format!("TRUNCATE {tmp}"))?;
        let (taken, max_seq) = Spi::connect_mut(|c| {
            let t = c.update(
                &format!("WITH taken AS ( \
                   DELETE FROM migration_engine.change_log WHERE seq IN ( \
                     SELECT seq FROM migration_engine.change_log WHERE schema_name = $1 AND seq > $3 ORDER BY seq LIMIT $2) \
                   RETURNING seq, table_name, operation, row_key, row_data), \
                 kept AS (INSERT INTO {tmp} \
                   SELECT DISTINCT ON (table_name, row_key) seq, table_name, operation, row_key, row_data \
                   FROM taken ORDER BY table_name, row_key, seq DESC RETURNING 1) \
                 SELECT (SELECT count(*) FROM taken), (SELECT max(seq) FROM taken)"),
                Some(1),
                &[self.from.as_str().into(), (self.batch as i64).into(), self.floor.floor().into()],
            )?;
            let row = t.first();
            Ok::<_, pgrx::spi::Error>((row.get::<i64>(1)?.unwrap_or(0), row.get::<i64>(2)?))
        })?;
        self.floor
            .after_round(last, &in_progress, taken as u64, self.batch, max_seq);
        if taken == 0 {
            return Ok(0);
        }
        for p in &self.plans {
            Spi::run(&p.delete)?;
            if let Some(close) = &p.close_superseded {
                Spi::run(close)?;
            }
            Spi::run(&p.upsert)?;
        }
        after_round()?;
        Ok(taken)
    }
}

/// The two statements that apply one table's share of a replay batch.
struct TablePlan {
    delete: String,
    /// temporal tables: close the target's current version of an entity (or relation)
    /// when a newer current one arrives (the target may have made its own, by the
    /// migration's transformation), so the one-current rule holds and history is kept
    close_superseded: Option<String>,
    upsert: String,
}

impl TablePlan {
    fn new(from: &str, to: &str, t: &TableInfo, transformed: bool) -> MeResult<Option<TablePlan>> {
        let tmp = replay_table()?;
        let (src, dst) = (quoted_ident("schema", from)?, quoted_ident("schema", to)?);
        let name = quoted_ident("table", &t.name)?;
        let target_cols = writable_columns(to, &t.name)?;
        let common: Vec<String> = writable_columns(from, &t.name)?
            .into_iter()
            .filter(|c| target_cols.contains(c))
            .collect();
        if common.is_empty() {
            return Ok(None); // the migration dropped the table: nothing to replay into
        }
        let key = column_list(&t.key)?;
        let key_match = t
            .key
            .iter()
            .map(|k| {
                let k = quoted_ident("column", k)?;
                Ok(format!("x.{k} = k.{k}"))
            })
            .collect::<MeResult<Vec<_>>>()?
            .join(" AND ");
        let cols = column_list(&common)?;
        let from_row = common
            .iter()
            .map(|c| Ok(format!("r.{}", quoted_ident("column", c)?)))
            .collect::<MeResult<Vec<_>>>()?
            .join(", ");
        let updates: Vec<String> = common
            .iter()
            .filter(|c| !t.key.contains(c))
            .map(|c| {
                let c = quoted_ident("column", c)?;
                Ok(format!("{c} = EXCLUDED.{c}"))
            })
            .collect::<MeResult<_>>()?;
        let on_conflict = if updates.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!("DO UPDATE SET {}", updates.join(", "))
        };
        let table_literal = crate::spi::literal(&t.name);
        // without a transformation the target makes no versions of its own: log order suffices
        let temporal_id = match t.name.as_str() {
            _ if !transformed => None,
            ENTITIES => Some("entity_id"),
            RELATIONS => Some("relation_id"),
            _ => None,
        }
        .filter(|id| {
            [*id, "version_id", "valid_from", "valid_to"]
                .iter()
                .all(|c| common.iter().any(|k| k == c))
        });
        let close_superseded = temporal_id.map(|id| {
            let x_current = current_of("x");
            format!(
                "UPDATE {dst}.{name} x SET valid_to = greatest(x.valid_from, n.at) \
                 FROM (SELECT (l.row_data ->> '{id}')::uuid AS id, (l.row_data ->> 'version_id')::bigint AS vid, \
                              (l.row_data ->> 'valid_from')::timestamptz AS at \
                       FROM {tmp} l WHERE l.table_name = {table_literal} AND l.operation <> 'D' \
                         AND l.row_data ->> 'valid_to' = {OPEN_END}) n \
                 WHERE x.{id} = n.id AND {x_current} AND x.version_id <> n.vid"
            )
        });
        Ok(Some(TablePlan {
            close_superseded,
            delete: format!(
                "DELETE FROM {dst}.{name} x USING {tmp} l \
                 CROSS JOIN LATERAL jsonb_populate_record(NULL::{src}.{name}, l.row_key) k \
                 WHERE l.table_name = {table_literal} AND l.operation = 'D' AND {key_match}"
            ),
            // in log order, so that a version is closed before its successor arrives
            upsert: format!(
                "INSERT INTO {dst}.{name} AS x ({cols}) OVERRIDING SYSTEM VALUE \
                 SELECT {from_row} FROM {tmp} l CROSS JOIN LATERAL jsonb_populate_record(NULL::{src}.{name}, l.row_data) r \
                 WHERE l.table_name = {table_literal} AND l.operation <> 'D' ORDER BY l.seq \
                 ON CONFLICT ({key}) {on_conflict}"
            ),
        }))
    }
}
