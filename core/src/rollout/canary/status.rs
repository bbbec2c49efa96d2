//! The life of a canary rollout (`canary_rollouts.status`): live while RUNNING or
//! PAUSED, then over in one of three ways. Which way it ended decides where
//! `canary_route` sends every key from then on.

text_enum! {
    pub enum RolloutStatus {
        Running => "RUNNING",
        Paused => "PAUSED",
        Completed => "COMPLETED",
        RolledBack => "ROLLED_BACK",
        Aborted => "ABORTED",
    }
}

/// Where every routing key goes once a rollout is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalRoute {
    New,
    Old,
}

impl RolloutStatus {
    /// Still steering traffic: percentages may change, metrics may be recorded.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }

    /// `None` while live (the percentage decides per key); once over, everyone goes
    /// to the new version (finalized) or back to the old one.
    pub fn final_route(self) -> Option<FinalRoute> {
        match self {
            Self::Running | Self::Paused => None,
            Self::Completed => Some(FinalRoute::New),
            Self::RolledBack | Self::Aborted => Some(FinalRoute::Old),
        }
    }

    /// Legal changes of a rollout's status: a live rollout pauses, resumes or ends;
    /// an ended one never changes again (a new canary replaces its row).
    pub fn can_transition(self, to: Self) -> bool {
        use RolloutStatus::*;
        matches!(
            (self, to),
            (Running, Paused)
                | (Paused, Running)
                | (Running | Paused, Completed | RolledBack | Aborted)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::RolloutStatus::*;
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_spellings() {
        for s in RolloutStatus::ALL {
            assert_eq!(RolloutStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RolloutStatus::parse("running"), None);
        assert_eq!(RolloutStatus::parse("PENDING"), None);
    }

    #[test]
    fn live_ones_route_by_percentage_ended_ones_do_not() {
        for s in RolloutStatus::ALL {
            assert_eq!(s.is_live(), s.final_route().is_none(), "{s}");
        }
        assert_eq!(Completed.final_route(), Some(FinalRoute::New));
        assert_eq!(Aborted.final_route(), Some(FinalRoute::Old));
    }

    #[test]
    fn an_ended_rollout_never_changes() {
        for from in [Completed, RolledBack, Aborted] {
            for to in RolloutStatus::ALL {
                assert!(!from.can_transition(to), "{from} -> {to}");
            }
        }
        assert!(Running.can_transition(Paused) && Paused.can_transition(Running));
        assert!(Paused.can_transition(Aborted) && !Running.can_transition(Running));
    }
}
