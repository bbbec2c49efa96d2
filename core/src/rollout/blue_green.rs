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
        }
    }
}

impl BlueGreenOptions {
    /// Read `options` (a JSON object, camelCase keys); unknown keys are refused so a
    /// typo does not silently fall back to a default.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("options must be a JSON object")?;
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
                "maxLagRows" => o.max_lag_rows = whole(u64::from(u32::MAX))?,
                "maxCatchUpRounds" => o.max_catch_up_rounds = whole(100_000)? as u32,
                "switchLockTimeout" => o.switch_lock_timeout_ms = whole(60_000)?.max(1) as u32,
                "switchRetries" => o.switch_retries = whole(1_000)? as u32,
                "timeout" => o.timeout_ms = whole(7 * 24 * 3_600_000)?.max(1),
                "sequenceHeadroom" => o.sequence_headroom = whole(1 << 40)? as i64,
                "replayBatch" => o.replay_batch = whole(10_000_000)?.max(1),
                other => {
                    return Err(format!(
                        "unknown option {other:?}; known: keepTargetOnFailure, skipIntegrity, maxLagRows, \
                         maxCatchUpRounds, switchLockTimeout, switchRetries, timeout, sequenceHeadroom, replayBatch"
                    ))
                }
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

    proptest! {
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
