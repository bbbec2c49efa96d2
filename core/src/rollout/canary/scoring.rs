//! Canary health score: each known metric is scored 0..1 by a step function and
//! weighted; the result is the weighted mean over the known metrics present.
//! Thresholds and weights are the reference behaviour's (seed "Canary Migration
//! Pattern"). Adding a metric is adding one row to `EVALUATORS`.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

struct Evaluator {
    metric: &'static str,
    weight: f64,
    score: fn(f64) -> f64,
    /// The values an observation may take (inclusive). A value outside is refused when
    /// recorded: a negative error rate or latency is never a measurement, and would
    /// raise the score of a failing canary.
    range: (f64, f64),
}

/// The magnitude allowed for a metric that has no evaluator (reported, not scored):
/// large enough for any counter, small enough that sums of many stay finite.
pub const CUSTOM_METRIC_LIMIT: f64 = 1e12;

const EVALUATORS: &[Evaluator] = &[
    // Fraction of failed requests: lower is better.
    Evaluator {
        metric: "error_rate",
        weight: 0.4,
        range: (0.0, 1.0),
        score: |v| {
            if v < 0.01 {
                1.0
            } else if v < 0.05 {
                0.7
            } else {
                0.0
            }
        },
    },
    // Milliseconds: lower is better.
    Evaluator {
        metric: "response_time",
        weight: 0.3,
        // an hour, in milliseconds
        range: (0.0, 3_600_000.0),
        score: |v| {
            if v < 100.0 {
                1.0
            } else if v < 500.0 {
                0.8
            } else if v < 1000.0 {
                0.5
            } else {
                0.0
            }
        },
    },
    // Ratio of new to baseline throughput: higher is better.
    Evaluator {
        metric: "throughput",
        weight: 0.2,
        range: (0.0, 1_000.0),
        score: |v| {
            if v > 0.95 {
                1.0
            } else if v > 0.8 {
                0.8
            } else {
                0.0
            }
        },
    },
    // Fraction of rows that agree between old and new: higher is better.
    Evaluator {
        metric: "data_consistency",
        weight: 0.1,
        range: (0.0, 1.0),
        score: |v| if v > 0.99 { 1.0 } else { 0.0 },
    },
];

/// Names of the metrics that are scored.
pub fn known_metrics() -> impl Iterator<Item = &'static str> {
    EVALUATORS.iter().map(|e| e.metric)
}

/// Why an observation of `metric` cannot be recorded, or None when it can.
pub fn metric_value_problem(metric: &str, value: f64) -> Option<String> {
    if !value.is_finite() {
        return Some(format!("{metric} must be a finite number, not {value}"));
    }
    match EVALUATORS.iter().find(|e| e.metric == metric) {
        Some(e) if value < e.range.0 || value > e.range.1 => Some(format!(
            "{metric} must be between {} and {}, not {value}",
            e.range.0, e.range.1
        )),
        Some(_) => None,
        None if value.abs() > CUSTOM_METRIC_LIMIT => Some(format!(
            "{metric} must be between -{CUSTOM_METRIC_LIMIT:e} and {CUSTOM_METRIC_LIMIT:e}, not {value}"
        )),
        None => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub success: bool,
    pub score: f64,
    /// Per metric: `{value, score, weight, evaluated: true}`, or
    /// `{value, evaluated: false}` for metrics without an evaluator.
    pub details: Value,
}

/// Scores `metrics`; `success` is `score >= threshold`. With no scorable metric the
/// score is 0: absence of evidence must not pass a canary.
pub fn evaluate(metrics: &BTreeMap<String, f64>, threshold: f64) -> Evaluation {
    let mut details = Map::new();
    let (mut total, mut weights) = (0.0, 0.0);
    for (name, &value) in metrics {
        let entry = match EVALUATORS.iter().find(|e| e.metric == name) {
            Some(e) => {
                // A metric that could not be measured (NaN, infinite) fails: the
                // step functions would otherwise score +inf throughput as perfect.
                let score = if value.is_finite() {
                    (e.score)(value)
                } else {
                    0.0
                };
                total += score * e.weight;
                weights += e.weight;
                json!({"value": value, "score": score, "weight": e.weight, "evaluated": true})
            }
            None => json!({"value": value, "evaluated": false}),
        };
        details.insert(name.clone(), entry);
    }
    let score = if weights > 0.0 { total / weights } else { 0.0 };
    Evaluation {
        success: score >= threshold,
        score,
        details: Value::Object(details),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn tabled_scores() {
        let cases: &[(&[(&str, f64)], f64)] = &[
            (&[("error_rate", 0.2), ("response_time", 50.0)], 0.3 / 0.7),
            (&[("error_rate", 0.001)], 1.0),
            (&[("error_rate", 0.03)], 0.7),
            (&[("response_time", 300.0)], 0.8),
            (&[("response_time", 999.0)], 0.5),
            (&[("response_time", 1000.0)], 0.0),
            (&[("throughput", 0.9)], 0.8),
            (&[("throughput", 0.8)], 0.0),
            (&[("data_consistency", 0.995)], 1.0),
            (
                &[
                    ("error_rate", 0.0),
                    ("response_time", 0.0),
                    ("throughput", 1.0),
                    ("data_consistency", 1.0),
                ],
                1.0,
            ),
            (
                &[("error_rate", 0.03), ("throughput", 0.9)],
                (0.7 * 0.4 + 0.8 * 0.2) / 0.6,
            ),
            (&[], 0.0),
            (&[("custom_latency", 1.0)], 0.0),
            (&[("throughput", f64::INFINITY)], 0.0),
        ];
        for (input, expected) in cases {
            let e = evaluate(&metrics(input), 0.8);
            assert!(
                (e.score - expected).abs() < 1e-12,
                "{input:?}: {} vs {expected}",
                e.score
            );
            assert_eq!(e.success, e.score >= 0.8);
        }
        assert!((evaluate(&metrics(cases[0].0), 0.8).score - 0.428571).abs() < 1e-6);
    }

    #[test]
    fn observations_out_of_range_are_refused() {
        for (m, v) in [
            ("error_rate", -0.001),
            ("error_rate", 1.5),
            ("error_rate", -1000.0),
            ("response_time", -1000.0),
            ("response_time", 1e200),
            ("throughput", -0.1),
            ("data_consistency", 1.01),
            ("queue_depth", 1e300),
            ("queue_depth", f64::NAN),
            ("error_rate", f64::INFINITY),
        ] {
            assert!(metric_value_problem(m, v).is_some(), "{m} = {v} accepted");
        }
        for (m, v) in [
            ("error_rate", 0.0),
            ("error_rate", 1.0),
            ("response_time", 0.0),
            ("response_time", 3_600_000.0),
            ("throughput", 1.2),
            ("data_consistency", 0.5),
            ("queue_depth", -7.0),
            ("queue_depth", 1e12),
        ] {
            assert_eq!(metric_value_problem(m, v), None, "{m} = {v} refused");
        }
    }

    proptest::proptest! {
        /// Any observation that can be recorded gives a score in 0..=1: no recorded
        /// value can push the score above what the evaluators allow.
        #[test]
        fn recordable_values_score_within_bounds(
            er in proptest::num::f64::ANY, rt in proptest::num::f64::ANY,
            tp in proptest::num::f64::ANY, dc in proptest::num::f64::ANY,
        ) {
            let m: BTreeMap<String, f64> = [("error_rate", er), ("response_time", rt), ("throughput", tp), ("data_consistency", dc)]
                .into_iter()
                .filter(|(k, v)| metric_value_problem(k, *v).is_none())
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            let e = evaluate(&m, 0.8);
            proptest::prop_assert!((0.0..=1.0).contains(&e.score));
        }
    }

    #[test]
    fn details_report_custom_metrics_unscored() {
        let e = evaluate(
            &metrics(&[("error_rate", 0.001), ("queue_depth", 7.0)]),
            0.9,
        );
        assert!(e.success);
        assert_eq!(
            e.details["error_rate"],
            json!({"value": 0.001, "score": 1.0, "weight": 0.4, "evaluated": true})
        );
        assert_eq!(
            e.details["queue_depth"],
            json!({"value": 7.0, "evaluated": false})
        );
        assert!(!evaluate(&metrics(&[("queue_depth", 7.0)]), 0.0 + f64::MIN_POSITIVE).success);
        assert_eq!(known_metrics().count(), 4);
    }
}
