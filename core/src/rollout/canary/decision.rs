//! What a canary does after each observation. The shell loop is: set the
//! percentage, wait `stabilizationSeconds`, collect metrics, `evaluate`, then
//! `next_step`, and apply the decision. The first percentage is the config's
//! `canaryPercentage`.
//!
//! Order of checks, as in the reference behaviour: failed metrics first; at 100 %
//! with healthy metrics the rollout is finished whatever the clock says (the
//! metrics at full traffic are checked once before finalizing, rather than
//! finalizing blind the moment 100 % is set); otherwise past `maxDuration` the
//! rollout fails; otherwise it advances.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanaryFailure {
    MetricsFailed,
    TimedOut,
}

impl CanaryFailure {
    pub fn code(self) -> &'static str {
        match self {
            Self::MetricsFailed => "CANARY_METRICS_FAILED",
            Self::TimedOut => "CANARY_TIMED_OUT",
        }
    }
}

impl fmt::Display for CanaryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MetricsFailed => "canary metrics scored below the success threshold",
            Self::TimedOut => "canary did not reach 100% within maxDuration",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanaryDecision {
    /// Route this percentage to the new version next.
    Advance(u8),
    /// 100 % and healthy: make the new version the only one.
    Finalize,
    /// Route everyone back to the old version.
    Rollback { reason: CanaryFailure },
    /// Keep the current split and wait for a human (rollbackOnFailure = false).
    Pause { reason: CanaryFailure },
}

pub fn next_step(
    current_pct: u8,
    step_pct: u8,
    evaluation_success: bool,
    rollback_on_failure: bool,
    elapsed_minutes: f64,
    max_duration_minutes: f64,
) -> CanaryDecision {
    let fail = |reason| {
        if rollback_on_failure {
            CanaryDecision::Rollback { reason }
        } else {
            CanaryDecision::Pause { reason }
        }
    };
    if !evaluation_success {
        fail(CanaryFailure::MetricsFailed)
    } else if current_pct >= 100 {
        CanaryDecision::Finalize
    } else if elapsed_minutes > max_duration_minutes {
        fail(CanaryFailure::TimedOut)
    } else {
        // A zero step would never finish; treat it as the smallest step.
        CanaryDecision::Advance(current_pct.saturating_add(step_pct.max(1)).min(100))
    }
}

#[cfg(test)]
mod tests {
    use super::CanaryDecision::*;
    use super::CanaryFailure::*;
    use super::*;

    #[test]
    fn decisions() {
        assert_eq!(next_step(10, 10, true, true, 1.0, 60.0), Advance(20));
        assert_eq!(next_step(95, 10, true, true, 1.0, 60.0), Advance(100));
        assert_eq!(next_step(250, 10, true, true, 1.0, 60.0), Finalize);
        assert_eq!(next_step(100, 10, true, true, 100.0, 60.0), Finalize);
        assert_eq!(
            next_step(30, 10, false, true, 1.0, 60.0),
            Rollback {
                reason: MetricsFailed
            }
        );
        assert_eq!(
            next_step(100, 10, false, false, 1.0, 60.0),
            Pause {
                reason: MetricsFailed
            }
        );
        assert_eq!(
            next_step(30, 10, true, true, 60.5, 60.0),
            Rollback { reason: TimedOut }
        );
        assert_eq!(
            next_step(30, 10, true, false, 61.0, 60.0),
            Pause { reason: TimedOut }
        );
        assert_eq!(next_step(30, 10, true, true, 60.0, 60.0), Advance(40));
        assert_eq!(next_step(30, 0, true, true, 0.0, 60.0), Advance(31));
        assert_eq!(next_step(200, 200, true, true, 0.0, 60.0), Finalize);
    }

    #[test]
    fn healthy_rollout_reaches_finalize() {
        let mut pct = 10;
        let mut steps = 0;
        loop {
            match next_step(pct, 10, true, true, f64::from(steps), 60.0) {
                Advance(p) => pct = p,
                Finalize => break,
                other => panic!("{other:?}"),
            }
            steps += 1;
        }
        assert_eq!((pct, steps), (100, 9));
        assert_eq!(TimedOut.code(), "CANARY_TIMED_OUT");
        assert!(MetricsFailed.to_string().contains("threshold"));
    }
}
