//! Blue-green migrations: the options a run takes and the pure decisions of its loop
//! (when to stop catching up and freeze writes, how long to back off after a lock
//! timeout). The shell copies, replays and switches.
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct BlueGreenOptions {
    /// Leave the half-built target schema for inspection when the migration fails.
    pub keep_target_on_failure: bool,
    /// Freeze writes for the final catch-up only when at most this many captured
    /// changes are waiting (the catch-up lag bound).
    pub max_lag_rows: u64,
    /// Catch-up rounds before giving up on reaching `max_lag_rows`.
    pub max_catch_up_rounds: u32,
    /// lock_timeout for each attempt to freeze writes (and to take the capture fence).
    pub switch_lock_timeout_ms: u32,
    /// Attempts to freeze writes before the migration fails.
    pub switch_retries: u32,
    /// Budget for the whole operation.
    pub timeout_ms: u64,
    /// Skip the data-integrity checks on the target (validation rules still run).
    pub skip_integrity: bool,
    /// Identity/serial values reserved between the source's sequences and the target's
    /// own, so that rows the migration creates never collide with replayed rows.
    pub sequence_headroom: i64,
    /// Changes replayed per round (each round is one statement per table).
    pub replay_batch: u64,
    /// Run even though the safety checks report critical issues (audited), as
    /// execute_migration's `force`.
    pub force: bool,
}

impl Default for BlueGreenOptions {
    fn default() -> Self {
        BlueGreenOptions {
            keep_target_on_failure: false,
            max_lag_rows: 1_000,
            max_catch_up_rounds: 100,
            switch_lock_timeout_ms: 50,
            switch_retries: 20,
            timeout_ms: 3_600_000,
            skip_integrity: false,
            sequence_headroom: 10_000_000,
            replay_batch: 50_000,
            force: false,
        }
    }
}

/// The keys blue-green and switch options take.
pub const BLUE_GREEN_OPTION_KEYS: &[&str] = &[
    "keepTargetOnFailure",
    "skipIntegrity",
    "force",
    "maxLagRows",
    "maxCatchUpRounds",
    "switchLockTimeout",
    "switchRetries",
    "timeout",
    "sequenceHeadroom",
    "replayBatch",
];

impl BlueGreenOptions {
    /// Read `options` (a JSON object, camelCase keys); unknown keys are refused so a
    /// typo does not silently fall back to a default.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("options must be a JSON object")?;
        if let Some(unknown) = crate::keys::first_unknown(obj, BLUE_GREEN_OPTION_KEYS) {
            return Err(crate::keys::unknown_option_message(
                unknown,
                BLUE_GREEN_OPTION_KEYS,
            ));
        }
        let mut o = BlueGreenOptions::default();
        for (k, val) in obj {
            let whole = |max: u64| -> Result<u64, String> {
                val.as_u64().filter(|n| *n <= max).ok_or_else(|| {
                    format!("options.{k} must be a whole number from 0 to {max}, not {val}")
                })
            };
            let flag = || -> Result<bool, String> {
                val.as_bool()
                    .ok_or_else(|| format!("options.{k} must be true or false, not {val}"))
            };
            match k.as_str() {
                "keepTargetOnFailure" => o.keep_target_on_failure = flag()?,
                "skipIntegrity" => o.skip_integrity = flag()?,
                "force" => o.force = flag()?,
                "maxLagRows" => o.max_lag_rows = whole(u64::from(u32::MAX))?,
                "maxCatchUpRounds" => o.max_catch_up_rounds = whole(100_000)? as u32,
                "switchLockTimeout" => o.switch_lock_timeout_ms = whole(60_000)?.max(1) as u32,
                "switchRetries" => o.switch_retries = whole(1_000)? as u32,
                "timeout" => o.timeout_ms = whole(7 * 24 * 3_600_000)?.max(1),
                "sequenceHeadroom" => o.sequence_headroom = whole(1 << 40)? as i64,
                "replayBatch" => o.replay_batch = whole(10_000_000)?.max(1),
                _ => unreachable!("unknown keys were refused above"),
            }
        }
        Ok(o)
    }

    /// Wait before freeze attempt `attempt` (0-based): doubling from the lock timeout,
    /// capped at two seconds, so a long transaction ahead of us is not hammered.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let base = u64::from(self.switch_lock_timeout_ms.max(1));
        base.saturating_mul(1u64 << attempt.min(16)).min(2_000)
    }
}

/// What the catch-up loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Replay another round while writes continue.
    Replay,
    /// The backlog is small enough: freeze writes, replay the rest, switch.
    Freeze,
    /// The backlog does not shrink below the bound: give up (nothing switched).
    GiveUp,
}

/// The catch-up decision after `rounds` rounds with `backlog` changes waiting.
pub fn catch_up_step(backlog: u64, rounds: u32, o: &BlueGreenOptions) -> CatchUp {
    if backlog <= o.max_lag_rows {
        CatchUp::Freeze
    } else if rounds >= o.max_catch_up_rounds {
        CatchUp::GiveUp
    } else {
        CatchUp::Replay
    }
}

/// Where the replay of a change log stands within one transaction: a seq at or below
/// which nothing is left to replay. Replayed entries are deleted, but stay in the log's
/// index until commit; starting each round from the floor instead of the beginning keeps
/// the rounds from walking over them again.
///
/// Each round first reads the log's last seq, then the transactions running (all of them,
/// from the lock table: a snapshot's own list leaves out running transactions above its
/// xmax), then takes its snapshot. Entries at or below that last seq whose writer was not
/// running are visible to the snapshot; entries above it are not known yet. A writer
/// first seen running at round r got its transaction id after round r-1's reading, so its
/// entries lie above the last seq read at round r-1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayFloor {
    floor: i64,
    /// writers in progress at the last snapshot, with the seq their entries lie above
    pending: std::collections::BTreeMap<String, i64>,
    /// the log's last seq, read just before the previous round
    previous_last: i64,
}

impl ReplayFloor {
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// After a round that took `taken` entries (at most `batch`, the highest `max_taken`)
    /// above the floor: `last` is the log's last seq and `in_progress` the transactions
    /// running, both read (in that order) before the round's snapshot.
    pub fn after_round(
        &mut self,
        last: i64,
        in_progress: &[String],
        taken: u64,
        batch: u64,
        max_taken: Option<i64>,
    ) {
        for xid in in_progress {
            self.pending
                .entry(xid.clone())
                .or_insert(self.previous_last);
        }
        self.pending.retain(|xid, _| in_progress.contains(xid));
        self.previous_last = last;
        // up to `last`, everything not pending is taken, unless the round was full
        let done = if taken < batch {
            last
        } else {
            max_taken.unwrap_or(self.floor).min(last)
        };
        self.floor = self.pending.values().copied().fold(done, i64::min);
    }

    /// Start again from the beginning (the rounds were rolled back).
    pub fn reset(&mut self) {
        *self = ReplayFloor::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(
            BlueGreenOptions::parse(&json!({})).unwrap(),
            BlueGreenOptions::default()
        );
        let o = BlueGreenOptions::parse(
            &json!({"keepTargetOnFailure": true, "maxLagRows": 10, "switchLockTimeout": 20}),
        )
        .unwrap();
        assert!(o.keep_target_on_failure);
        assert_eq!(o.max_lag_rows, 10);
        assert_eq!(o.switch_lock_timeout_ms, 20);
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(BlueGreenOptions::parse(&json!([])).is_err());
        assert!(BlueGreenOptions::parse(&json!({"maxLagRows": -1})).is_err());
        assert!(BlueGreenOptions::parse(&json!({"maxLagRows": "10"})).is_err());
        assert!(BlueGreenOptions::parse(&json!({"keepTarget": true}))
            .unwrap_err()
            .contains("unknown option"));
        assert!(BlueGreenOptions::parse(&json!({"skipIntegrity": 1})).is_err());
    }

    #[test]
    fn catch_up_freezes_under_the_bound_and_gives_up_after_the_rounds() {
        let o = BlueGreenOptions {
            max_lag_rows: 100,
            max_catch_up_rounds: 3,
            ..Default::default()
        };
        assert_eq!(catch_up_step(100, 0, &o), CatchUp::Freeze);
        assert_eq!(catch_up_step(101, 2, &o), CatchUp::Replay);
        assert_eq!(catch_up_step(101, 3, &o), CatchUp::GiveUp);
        assert_eq!(catch_up_step(0, 99, &o), CatchUp::Freeze);
    }

    /// A log, writers that commit out of order, and replay rounds as the shell runs them.
    #[derive(Debug, Clone)]
    enum Action {
        Write(usize),
        Commit(usize),
        ReadLast,
        Round(u64),
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            4 => (0usize..4).prop_map(Action::Write),
            2 => (0usize..4).prop_map(Action::Commit),
            1 => Just(Action::ReadLast),
            2 => (1u64..6).prop_map(Action::Round),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// No entry that is not replayed yet ever lies at or below the floor, however the
        /// writers interleave with the rounds (reading the last seq, then the snapshot).
        #[test]
        fn nothing_unreplayed_is_below_the_floor(actions in prop::collection::vec(action(), 1..120)) {
            // entries: (seq, xid); writers: their current xid, if they have written
            let mut entries: Vec<(i64, u32)> = Vec::new();
            let mut replayed = std::collections::HashSet::new();
            let mut committed = std::collections::HashSet::new();
            let mut writer_xid: [Option<u32>; 4] = [None; 4];
            let (mut counter, mut next_xid) = (0i64, 1u32);
            let mut last_read: Option<(i64, Vec<String>)> = None;
            let mut f = ReplayFloor::default();
            for a in actions {
                match a {
                    Action::Write(w) => {
                        let xid = *writer_xid[w].get_or_insert_with(|| { next_xid += 1; next_xid });
                        counter += 1;
                        entries.push((counter, xid));
                    }
                    Action::Commit(w) => {
                        if let Some(xid) = writer_xid[w].take() {
                            committed.insert(xid);
                        }
                    }
                    // the last seq, then the running transactions; writes may follow
                    // before the round's snapshot
                    Action::ReadLast => {
                        last_read = Some((counter, writer_xid.iter().flatten().map(|x| x.to_string()).collect()))
                    }
                    Action::Round(batch) => {
                        let (last, in_progress) = last_read.take().unwrap_or_else(|| {
                            (counter, writer_xid.iter().flatten().map(|x| x.to_string()).collect())
                        });
                        let mut visible: Vec<i64> = entries
                            .iter()
                            .filter(|(seq, xid)| committed.contains(xid) && *seq > f.floor() && !replayed.contains(seq))
                            .map(|(seq, _)| *seq)
                            .collect();
                        visible.sort_unstable();
                        visible.truncate(batch as usize);
                        for seq in &visible {
                            replayed.insert(*seq);
                        }
                        f.after_round(last, &in_progress, visible.len() as u64, batch, visible.last().copied());
                        for (seq, _) in &entries {
                            prop_assert!(replayed.contains(seq) || *seq > f.floor(),
                                "entry {seq} is unreplayed at or below the floor {}", f.floor());
                        }
                        prop_assert!(f.floor() <= counter);
                    }
                }
            }
        }

        #[test]
        fn backoff_grows_and_is_capped(timeout in 1u32..60_000, attempt in 0u32..100) {
            let o = BlueGreenOptions { switch_lock_timeout_ms: timeout, ..Default::default() };
            let b = o.backoff_ms(attempt);
            prop_assert!(b <= 2_000);
            prop_assert!(b >= u64::from(timeout).min(2_000));
            prop_assert!(o.backoff_ms(attempt + 1) >= b);
        }
    }
}
