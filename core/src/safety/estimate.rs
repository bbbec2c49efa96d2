//! Performance estimate: how long the migration's data work takes and how
//! much memory the batch executor holds, from a measured throughput.
//!
//! Deliberately simple arithmetic on numbers the shell measures
//! (`pg_class.reltuples` or counts for the rows, a timed sample batch for
//! the throughput, `avg_width` from `pg_stats` for the row width): a rough
//! number from real measurements beats a precise model of guessed ones.

use super::report::{codes, Issue};
use super::Severity;
use serde::Serialize;
use serde_json::json;

/// Above this the seed asks for a maintenance window: one hour.
pub const LONG_MIGRATION_SECONDS: f64 = 3600.0;
/// Above this memory use is reported: 1 GiB.
pub const HIGH_MEMORY_BYTES: u64 = 1 << 30;

/// Rows the migration touches in one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableWork {
    pub table: String,
    pub rows: u64,
}

/// The estimate, with the per-table split for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub total_rows: u64,
    pub seconds: f64,
    /// Rows held at once (one batch, or the largest table when unbatched)
    /// times the average row width.
    pub memory_bytes: u64,
    pub tables: Vec<TableEstimate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableEstimate {
    pub table: String,
    pub rows: u64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EstimateError {
    /// The throughput is zero, negative or not a number: no time can be
    /// derived from it.
    NoThroughput(f64),
}

impl std::fmt::Display for EstimateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EstimateError::NoThroughput(v) => write!(
                f,
                "throughput must be a positive number of rows per second, got {v}; measure a sample batch first"
            ),
        }
    }
}

impl std::error::Error for EstimateError {}

/// Seconds = rows / throughput, per table and in total. Memory = rows held at
/// once × `avg_row_bytes`, where a batch holds `batch_rows` (or a whole table
/// when `None`: an unbatched statement is one big batch).
pub fn estimate(
    work: &[TableWork],
    rows_per_second: f64,
    avg_row_bytes: u64,
    batch_rows: Option<u64>,
) -> Result<Estimate, EstimateError> {
    if !(rows_per_second.is_finite() && rows_per_second > 0.0) {
        return Err(EstimateError::NoThroughput(rows_per_second));
    }
    let tables = work
        .iter()
        .map(|w| TableEstimate {
            table: w.table.clone(),
            rows: w.rows,
            seconds: w.rows as f64 / rows_per_second,
        })
        .collect();
    let total_rows = work.iter().fold(0u64, |acc, w| acc.saturating_add(w.rows));
    let largest = work.iter().map(|w| w.rows).max().unwrap_or(0);
    let held = batch_rows.map_or(largest, |b| b.min(largest));
    Ok(Estimate {
        total_rows,
        seconds: total_rows as f64 / rows_per_second,
        memory_bytes: held.saturating_mul(avg_row_bytes),
        tables,
    })
}

/// LONG_MIGRATION_TIME (HIGH) above an hour, HIGH_MEMORY_USAGE (MEDIUM) above
/// 1 GiB, with the seed's messages.
pub fn performance_issues(e: &Estimate) -> Vec<Issue> {
    let mut issues = Vec::new();
    if e.seconds > LONG_MIGRATION_SECONDS {
        issues.push(
            Issue::new(
                Severity::High,
                codes::LONG_MIGRATION_TIME,
                format!(
                    "Migration estimated to take {} minutes",
                    (e.seconds / 60.0).round()
                ),
            )
            .with_details(json!({
                "estimated_seconds": e.seconds,
                "affected_rows": e.total_rows,
                "tables": e.tables,
            })),
        );
    }
    if e.memory_bytes > HIGH_MEMORY_BYTES {
        issues.push(
            Issue::new(
                Severity::Medium,
                codes::HIGH_MEMORY_USAGE,
                format!(
                    "High memory usage estimated: {}MB",
                    (e.memory_bytes as f64 / (1024.0 * 1024.0)).round()
                ),
            )
            .with_details(json!({"estimated_memory_bytes": e.memory_bytes})),
        );
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(rows: u64) -> Vec<TableWork> {
        vec![
            TableWork {
                table: "a".into(),
                rows,
            },
            TableWork {
                table: "b".into(),
                rows: rows / 2,
            },
        ]
    }

    #[test]
    fn time_and_memory_from_throughput_and_width() {
        let e = estimate(&work(1_000_000), 1000.0, 200, Some(10_000)).unwrap();
        assert_eq!(e.total_rows, 1_500_000);
        assert_eq!(e.seconds, 1500.0);
        assert_eq!(e.memory_bytes, 2_000_000);
        assert_eq!(
            (e.tables[1].table.as_str(), e.tables[1].seconds),
            ("b", 500.0)
        );
        assert!(performance_issues(&e).is_empty());
    }

    #[test]
    fn long_and_memory_hungry_migrations_are_reported() {
        let e = estimate(&work(10_000_000), 1000.0, 200, None).unwrap();
        let issues = performance_issues(&e);
        assert_eq!(issues[0].code, "LONG_MIGRATION_TIME");
        assert_eq!(issues[0].severity, Severity::High);
        assert_eq!(issues[0].message, "Migration estimated to take 250 minutes");
        assert_eq!(issues[0].details["affected_rows"], 15_000_000);
        assert_eq!(issues[1].code, "HIGH_MEMORY_USAGE");
        assert_eq!(issues[1].message, "High memory usage estimated: 1907MB");
    }

    #[test]
    fn no_throughput_is_an_error() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(estimate(&work(1), bad, 1, None).is_err());
        }
    }
}
