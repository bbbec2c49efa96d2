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
}

const EVALUATORS: &[Evaluator] = &[
    // Fraction of failed requests: lower is better.
    Evaluator {
        metric: "error_rate",
        weight: 0.4,
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
        score: |v| if v > 0.99 { 1.0 } else { 0.0 },
    },
];

/// Names of the metrics that are scored.
pub fn known_metrics() -> impl Iterator<Item = &'static str> {
    EVALUATORS.iter().map(|e| e.metric)
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
