//! Canary rollout: route a growing share of keys to the new version while its
//! health score stays above a threshold; roll back (or pause) when it does not.
//! Routing, scoring, configuration and the step decision are separate files; the
//! shell holds the loop and the clock.

mod config;
mod decision;
mod routing;
mod scoring;
mod status;

pub use config::{CanaryConfig, CanaryConfigError, CANARY_CONFIG_KEYS};
pub use decision::{next_step, CanaryDecision, CanaryFailure};
pub use routing::{routes_to_new, routing_bucket, BUCKETS};
pub use scoring::{evaluate, known_metrics, metric_value_problem, Evaluation};
pub use status::{FinalRoute, RolloutStatus};

impl CanaryConfig {
    /// `next_step` with this config's step size, failure policy and time budget.
    pub fn next_step(
        &self,
        current_pct: u8,
        evaluation: &Evaluation,
        elapsed_minutes: f64,
    ) -> CanaryDecision {
        next_step(
            current_pct,
            self.step_percentage,
            evaluation.success,
            self.rollback_on_failure,
            elapsed_minutes,
            f64::from(self.max_duration_minutes),
        )
    }
}
