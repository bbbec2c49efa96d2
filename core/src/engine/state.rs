//! The status machines of a migration and of its steps, as values. The shell asks
//! before it writes a status, so an illegal jump (e.g. COMPLETED → RUNNING without
//! a rollback) is refused in one place instead of being prevented by convention.
//!
//! Pause and cancel are not statuses: the table's CHECK allows only the five
//! below, and a pause/cancel is a *request* made by another session while the
//! migration stays RUNNING. They are modelled as [`ControlFlags`], read between
//! steps.

use std::fmt;

text_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum MigrationStatus {
        Pending => "PENDING",
        Running => "RUNNING",
        Completed => "COMPLETED",
        Failed => "FAILED",
        RolledBack => "ROLLED_BACK",
    }
}

impl MigrationStatus {
    /// Statuses from which executing (again) is the next thing to do.
    pub fn is_runnable(self) -> bool {
        matches!(self, Self::Pending | Self::Failed | Self::RolledBack)
    }
}

/// Legal migration status changes.
pub fn can_transition(from: MigrationStatus, to: MigrationStatus) -> bool {
    use MigrationStatus::*;
    matches!(
        (from, to),
        (Pending | Failed | RolledBack, Running)
            | (Running, Completed | Failed)
            | (Completed | Failed, RolledBack)
            // A rollback that fails halfway (e.g. after a non-transactional step)
            // leaves the data neither applied nor reverted: FAILED says so, and
            // both retrying the rollback and re-executing remain possible.
            | (Completed, Failed)
            // A canary rolled back or aborted mid-rollout: the migration was live
            // (RUNNING) for the whole rollout and ends without having been applied.
            | (Running, RolledBack)
    )
}

/// Why the engine refuses to act on a migration in its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    AlreadyCompleted,
    AlreadyRunning,
    NothingToRollBack { status: MigrationStatus },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyCompleted => "ALREADY_COMPLETED",
            Self::AlreadyRunning => "ALREADY_RUNNING",
            Self::NothingToRollBack { .. } => "NOTHING_TO_ROLL_BACK",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyCompleted => f.write_str(
                "the migration is already COMPLETED; roll it back first to run it again",
            ),
            Self::AlreadyRunning => f.write_str(
                "the migration is RUNNING in another session; wait for it, or request cancellation",
            ),
            Self::NothingToRollBack { status } => write!(
                f,
                "the migration is {status}; only COMPLETED or FAILED migrations can be rolled back"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

pub fn can_execute(status: MigrationStatus) -> Result<(), Refusal> {
    match status {
        MigrationStatus::Completed => Err(Refusal::AlreadyCompleted),
        MigrationStatus::Running => Err(Refusal::AlreadyRunning),
        _ => Ok(()),
    }
}

pub fn can_rollback(status: MigrationStatus) -> Result<(), Refusal> {
    match status {
        MigrationStatus::Completed | MigrationStatus::Failed => Ok(()),
        MigrationStatus::Running => Err(Refusal::AlreadyRunning),
        status => Err(Refusal::NothingToRollBack { status }),
    }
}

/// Requests another session may set on a RUNNING migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlFlags {
    pub pause_requested: bool,
    pub cancel_requested: bool,
}

text_enum! {
    /// A pipeline run (`pipeline_runs.status`): RUNNING while batches remain, then
    /// COMPLETED or FAILED; UNDONE once a rollback restored what it changed.
    pub enum PipelineRunStatus {
        Running => "RUNNING",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Undone => "UNDONE",
    }
}

impl PipelineRunStatus {
    /// Legal changes of a run's status: a running run ends; a failed one is resumed;
    /// any run not yet undone may be undone (a crashed run's committed batches too).
    pub fn can_transition(self, to: Self) -> bool {
        use PipelineRunStatus::*;
        matches!(
            (self, to),
            (Running, Completed | Failed)
                | (Failed, Running)
                | (Running | Completed | Failed, Undone)
        )
    }
}

text_enum! {
    /// A request another session leaves for a running migration (`migration_control`).
    pub enum ControlRequest {
        Pause => "PAUSE",
        Cancel => "CANCEL",
    }
}

impl ControlRequest {
    /// The verb in messages: "nothing to pause", "cancel requested".
    pub fn verb(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Cancel => "cancel",
        }
    }
}

/// What to do at a step boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepGate {
    Continue,
    Pause,
    Cancel,
}

impl ControlFlags {
    /// Cancel wins over pause: a paused migration that is also cancelled should not
    /// wait for a resume that will never come.
    pub fn gate(self) -> StepGate {
        if self.cancel_requested {
            StepGate::Cancel
        } else if self.pause_requested {
            StepGate::Pause
        } else {
            StepGate::Continue
        }
    }
}

text_enum! {
    pub enum StepStatus {
        Pending => "PENDING",
        Running => "RUNNING",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Skipped => "SKIPPED",
    }
}

impl StepStatus {
    /// A step is SKIPPED before it runs (its condition was false); a FAILED step may
    /// be retried (the row's retry_count counts the attempts).
    pub fn can_transition(self, to: Self) -> bool {
        use StepStatus::*;
        matches!(
            (self, to),
            (Pending, Running | Skipped) | (Running, Completed | Failed) | (Failed, Running)
        )
    }
}

text_enum! {
    /// One attempt of the top-level runner at a step outside a transaction
    /// (`top_level_runs.status`): queued by the caller, claimed by a worker, then over.
    pub enum AttemptStatus {
        Queued => "QUEUED",
        Running => "RUNNING",
        Completed => "COMPLETED",
        Failed => "FAILED",
    }
}

impl AttemptStatus {
    /// The worker has written an outcome (or the attempt was marked lost).
    pub fn is_over(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

text_enum! {
    /// A field backfill (`field_backfills.status`): created PENDING, RUNNING once a batch
    /// ran, COMPLETED when a batch found fewer rows than it asked for.
    pub enum BackfillStatus {
        Pending => "PENDING",
        Running => "RUNNING",
        Completed => "COMPLETED",
    }
}

#[cfg(test)]
mod tests {
    use super::MigrationStatus::*;
    use super::*;

    #[test]
    fn round_trips() {
        for s in MigrationStatus::ALL {
            assert_eq!(MigrationStatus::parse(s.as_str()), Some(s));
        }
        for s in AttemptStatus::ALL {
            assert_eq!(AttemptStatus::parse(s.as_str()), Some(s));
        }
        assert!(AttemptStatus::Failed.is_over() && !AttemptStatus::Queued.is_over());
        for s in StepStatus::ALL {
            assert_eq!(StepStatus::parse(s.as_str()), Some(s));
        }
        for s in PipelineRunStatus::ALL {
            assert_eq!(PipelineRunStatus::parse(s.as_str()), Some(s));
        }
        for r in ControlRequest::ALL {
            assert_eq!(ControlRequest::parse(r.as_str()), Some(r));
            assert_eq!(r.verb(), r.as_str().to_lowercase());
        }
        for s in BackfillStatus::ALL {
            assert_eq!(BackfillStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MigrationStatus::parse("PAUSED"), None);
        assert_eq!(MigrationStatus::parse("pending"), None);
    }

    #[test]
    fn pipeline_runs_end_once_and_undo_once() {
        use PipelineRunStatus as R;
        for (from, to) in [
            (R::Running, R::Completed),
            (R::Running, R::Failed),
            (R::Failed, R::Running),
            (R::Completed, R::Undone),
        ] {
            assert!(from.can_transition(to), "{from:?} -> {to:?}");
        }
        for (from, to) in [
            (R::Completed, R::Running),
            (R::Undone, R::Undone),
            (R::Undone, R::Running),
            (R::Completed, R::Failed),
        ] {
            assert!(!from.can_transition(to), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn lifecycle_forward_rollback_forward() {
        let path = [Pending, Running, Completed, RolledBack, Running, Completed];
        assert!(path.windows(2).all(|w| can_transition(w[0], w[1])));
        assert!(can_transition(Running, Failed) && can_transition(Failed, Running));
        for bad in [
            (Completed, Running),
            (Pending, Completed),
            (RolledBack, Completed),
            (Pending, Pending),
        ] {
            assert!(!can_transition(bad.0, bad.1), "{bad:?}");
        }
    }

    #[test]
    fn guards_agree_with_transitions() {
        for s in MigrationStatus::ALL {
            assert_eq!(can_execute(s).is_ok(), can_transition(s, Running), "{s}");
            // a user's rollback of a RUNNING migration is refused; only a live
            // rollout (canary) that ends moves RUNNING to ROLLED_BACK
            assert_eq!(
                can_rollback(s).is_ok(),
                can_transition(s, RolledBack) && s != Running,
                "{s}"
            );
            assert_eq!(can_execute(s).is_ok(), s.is_runnable(), "{s}");
        }
        assert_eq!(
            can_execute(Completed).unwrap_err().code(),
            "ALREADY_COMPLETED"
        );
        assert_eq!(
            can_rollback(Pending).unwrap_err().code(),
            "NOTHING_TO_ROLL_BACK"
        );
        assert!(can_rollback(Running)
            .unwrap_err()
            .to_string()
            .contains("RUNNING"));
    }

    #[test]
    fn control_flags_and_steps() {
        let f = |p, c| {
            ControlFlags {
                pause_requested: p,
                cancel_requested: c,
            }
            .gate()
        };
        assert_eq!(f(false, false), StepGate::Continue);
        assert_eq!(f(true, false), StepGate::Pause);
        assert_eq!(f(true, true), StepGate::Cancel);
        assert!(StepStatus::Pending.can_transition(StepStatus::Skipped));
        assert!(!StepStatus::Completed.can_transition(StepStatus::Running));
    }
}
