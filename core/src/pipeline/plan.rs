//! How the shell runs a pipeline: its steps cut into segments, in order.
//!
//! A set-based segment is a run of MAP, FILTER and CUSTOM steps that
//! `compile_segment` fuses into one jsonb expression per item, so a batch is
//! one statement (`UPDATE ... SET content = <expr> ...`). AGGREGATE and JOIN
//! read other entities and write relations; each is a segment of its own that
//! the shell runs with its own queries.
//!
//! Contract for the shell, per batch of `batch_size` items:
//! - segments run in order, passing each item's current value along (a batch
//!   working table, or one statement when the plan has a single segment);
//! - an item that a segment turns into SQL NULL was dropped by a FILTER (or a
//!   CUSTOM function returned NULL): it is not written at all and later
//!   segments skip it, so entities filtered out are left exactly as they were;
//! - items are written only after the last segment, and only when their value
//!   changed; `on_error` says what to do when a segment's statement fails.

use super::definition::{ErrorHandling, Pipeline, StepAction};
use serde::Serialize;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelinePlan {
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// Indexes into `Pipeline::steps`.
    pub steps: Range<usize>,
    pub kind: SegmentKind,
    pub on_error: OnError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SegmentKind {
    /// One statement per batch: `compile_segment(p, steps, item)`.
    SetBased,
    /// Parsed `Aggregate` config; the shell groups and writes entities.
    Aggregate,
    /// Parsed `Join` config; the shell looks up related entities.
    Join,
}

/// What the shell does when a segment fails on a batch. The batch runs in a
/// subtransaction, so a failure leaves nothing behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum OnError {
    /// FAIL: stop the run; batches already committed stay, and the run can be
    /// resumed after the cause is fixed.
    Fail,
    /// RETRY: run the batch again up to `times` times (useful for transient
    /// errors: lock timeouts, serialization failures), then behave as FAIL.
    Retry { times: u32 },
    /// SKIP: run the batch again item by item, each in its own subtransaction,
    /// and leave the items that fail unchanged (logged with their error), as
    /// the reference engine drops failing items from a MAP step's output.
    SkipFailedItems,
}

impl OnError {
    fn of(handling: ErrorHandling, retries: u32) -> Self {
        match handling {
            ErrorHandling::Fail => Self::Fail,
            ErrorHandling::Retry => Self::Retry { times: retries },
            ErrorHandling::Skip => Self::SkipFailedItems,
        }
    }
}

impl PipelinePlan {
    /// True when one statement per batch runs the whole pipeline.
    pub fn is_single_statement(&self) -> bool {
        matches!(self.segments.as_slice(), [s] if s.kind == SegmentKind::SetBased)
    }
}

/// Cuts the steps into segments. Consecutive set-based steps share a segment
/// while they share an error policy: one statement can only be handled one way
/// when it fails. FILTER steps and step conditions cannot fail (their paths run
/// with `silent => true`), so a FILTER joins whatever segment it is next to
/// and never forces a cut.
pub fn plan(p: &Pipeline) -> PipelinePlan {
    let mut segments: Vec<Segment> = Vec::new();
    // Error policy of the open set-based segment; None while it holds only FILTERs.
    let mut policy: Option<OnError> = None;
    for (i, step) in p.steps.iter().enumerate() {
        let kind = match step.action {
            StepAction::Aggregate(_) => SegmentKind::Aggregate,
            StepAction::Join(_) => SegmentKind::Join,
            _ => SegmentKind::SetBased,
        };
        let step_policy = match step.action {
            StepAction::Filter(_) => None,
            _ => Some(OnError::of(step.error_handling, step.retries)),
        };
        let open = segments
            .last_mut()
            .filter(|s| s.kind == SegmentKind::SetBased);
        match (kind, open) {
            (SegmentKind::SetBased, Some(seg))
                if step_policy.is_none() || policy.is_none() || policy == step_policy =>
            {
                seg.steps.end = i + 1;
                policy = policy.or(step_policy);
                seg.on_error = policy.unwrap_or(OnError::Fail);
            }
            _ => {
                policy = if kind == SegmentKind::SetBased {
                    step_policy
                } else {
                    None
                };
                segments.push(Segment {
                    steps: i..i + 1,
                    kind,
                    on_error: step_policy.unwrap_or(OnError::Fail),
                });
            }
        }
    }
    PipelinePlan { segments }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::definition::parse_pipeline;
    use serde_json::{json, Value};

    fn plan_of(steps: Value) -> PipelinePlan {
        let p = json!({"name": "p", "source": {"entityType": "Person"}, "steps": steps});
        plan(&parse_pipeline(&p).unwrap())
    }

    fn map(name: &str, handling: &str) -> Value {
        json!({"name": name, "type": "MAP", "errorHandling": handling,
               "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "a", "target": "b"}]}})
    }

    fn filter(name: &str) -> Value {
        json!({"name": name, "type": "FILTER", "config": {"condition": "$.age > 18"}})
    }

    fn cuts(p: &PipelinePlan) -> Vec<(Range<usize>, SegmentKind, OnError)> {
        p.segments
            .iter()
            .map(|s| (s.steps.clone(), s.kind, s.on_error))
            .collect()
    }

    #[test]
    fn set_based_steps_fuse_and_filters_never_cut() {
        let p = plan_of(
            json!([filter("f0"), map("m1", "SKIP"), filter("f2"), map("m3", "SKIP"),
            {"name": "c4", "type": "CUSTOM", "errorHandling": "SKIP", "config": {"function": "public.fix"}}]),
        );
        assert_eq!(
            cuts(&p),
            vec![(0..5, SegmentKind::SetBased, OnError::SkipFailedItems)]
        );
        assert!(p.is_single_statement());
    }

    #[test]
    fn different_error_policies_cut() {
        let p = plan_of(json!([
            map("m0", "FAIL"),
            filter("f1"),
            map("m2", "RETRY"),
            map("m3", "RETRY")
        ]));
        assert_eq!(
            cuts(&p),
            vec![
                (0..2, SegmentKind::SetBased, OnError::Fail),
                (2..4, SegmentKind::SetBased, OnError::Retry { times: 3 }),
            ]
        );
        assert!(!p.is_single_statement());
    }

    #[test]
    fn aggregate_and_join_stand_alone() {
        let agg = json!({"name": "g", "type": "AGGREGATE", "errorHandling": "SKIP", "config": {"groupBy": ["city"],
            "aggregates": [{"function": "count", "as": "n"}], "targetEntityType": "City"}});
        let join = json!({"name": "j", "type": "JOIN", "config": {"relationType": "LIVES_IN", "fields": [{"from": "name", "to": "cityName"}]}});
        let p = plan_of(json!([
            map("m0", "FAIL"),
            agg,
            join,
            filter("f3"),
            map("m4", "SKIP")
        ]));
        assert_eq!(
            cuts(&p),
            vec![
                (0..1, SegmentKind::SetBased, OnError::Fail),
                (1..2, SegmentKind::Aggregate, OnError::SkipFailedItems),
                (2..3, SegmentKind::Join, OnError::Fail),
                (3..5, SegmentKind::SetBased, OnError::SkipFailedItems),
            ]
        );
    }
}
