//! The report as Markdown, for psql (`\pset format unaligned`) and for
//! pull-request comments. Everything user-supplied is escaped: a `|` in a
//! message must not split a table cell, a backtick must not end a code span.

use super::SafetyReport;
use crate::safety::Severity;
use serde_json::Value;
use std::fmt::Write;

const LEVELS: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

/// Title, verdict, a table of checks, each issue with its recipe, and the
/// recommendations.
pub fn to_markdown(report: &SafetyReport) -> String {
    let mut md = String::new();
    let name = if report.migration.is_empty() {
        "migration".to_string()
    } else {
        code(&report.migration)
    };
    let _ = writeln!(md, "# Safety report: {name}\n");
    let total: usize = report.all_results.iter().map(|r| r.issues.len()).sum();
    if report.overall_safety {
        let _ = writeln!(
            md,
            "**Verdict: safe to run.** No critical issue; {total} issue(s) to review.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "**Verdict: NOT safe to run.** {} critical issue(s) must be fixed first.\n",
            report.critical_issues.len()
        );
    }

    md.push_str("## Checks\n\n| Check | Result | Critical | High | Medium | Low |\n");
    md.push_str("|---|---|---:|---:|---:|---:|\n");
    for r in &report.all_results {
        let counts: Vec<String> = LEVELS
            .iter()
            .map(|l| {
                r.issues
                    .iter()
                    .filter(|i| i.severity == *l)
                    .count()
                    .to_string()
            })
            .collect();
        let verdict = if r.passed { "passed" } else { "**failed**" };
        let _ = writeln!(
            md,
            "| {} | {verdict} | {} |",
            cell(&r.check_name),
            counts.join(" | ")
        );
    }

    for r in report.all_results.iter().filter(|r| !r.issues.is_empty()) {
        let _ = writeln!(md, "\n## {}\n", cell(&r.check_name));
        for i in &r.issues {
            let _ = writeln!(
                md,
                "- **{}** {}: {}",
                i.severity,
                code(&i.code),
                line(&i.message)
            );
            detail_lines(&mut md, &i.details);
        }
    }

    if !report.recommendations.is_empty() {
        md.push_str("\n## Recommendations\n\n| Priority | Type | Action | What to do |\n");
        md.push_str("|---|---|---|---|\n");
        for r in &report.recommendations {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.priority,
                cell(&r.r#type),
                cell(&code(&r.action)),
                cell(&r.message)
            );
        }
    }
    md
}

/// Sub-bullets for the facts a lock finding carries (`Issue::from_lock`).
fn detail_lines(md: &mut String, d: &Value) {
    let text = |k: &str| d.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    if let (Some(step), Some(sql)) = (text("step"), text("statement")) {
        let _ = writeln!(md, "  - Step {}: {}", code(step), code(sql.trim()));
    }
    if let Some(mode) = text("lock_mode") {
        let mut effect = format!("{mode} lock, blocks {}", text("blocks").unwrap_or("?"));
        if d.get("rewrites_table") == Some(&Value::Bool(true)) {
            effect.push_str(", rewrites the table");
        } else if d.get("scans_table") == Some(&Value::Bool(true)) {
            effect.push_str(", scans the table");
        }
        let _ = writeln!(md, "  - Lock: {}", line(&effect));
    }
    if let Some(recipe) = text("recipe") {
        let _ = writeln!(md, "  - Safe way: {}", line(recipe));
    }
}

/// One line of text: newlines would break list items and table rows.
fn line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text for a table cell.
fn cell(s: &str) -> String {
    line(s).replace('|', "\\|")
}

/// An inline code span that survives backticks inside the text.
fn code(s: &str) -> String {
    let s = line(s);
    let mut fence = "`".to_string();
    while s.contains(fence.as_str()) {
        fence.push('`');
    }
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::report::{codes, CheckResult, Issue, SafetyReport};
    use crate::safety::{analyze, StatementFacts, StatementKind};

    fn report() -> SafetyReport {
        let index = StatementFacts::new(
            "add_index",
            "CREATE INDEX i ON t (a)",
            StatementKind::CreateIndex {
                table: "t".into(),
                concurrently: false,
                unique: false,
                columns: vec!["a".into()],
                partitioned: false,
                only: false,
            },
        );
        let mut issues: Vec<Issue> = analyze(&[index]).iter().map(Issue::from_lock).collect();
        issues.push(Issue::new(Severity::Low, "X", "a | b\nc"));
        SafetyReport::new(
            "add_field_person_email",
            vec![
                CheckResult::new(codes::PERFORMANCE_IMPACT_CHECK, issues),
                CheckResult::new(codes::DATA_INTEGRITY_CHECK, vec![]),
            ],
        )
    }

    #[test]
    fn renders_verdict_table_issues_and_recipes() {
        let md = to_markdown(&report());
        assert!(md.starts_with("# Safety report: `add_field_person_email`\n"));
        assert!(md.contains("**Verdict: safe to run.** No critical issue; 2 issue(s)"));
        assert!(md.contains("| PerformanceImpactCheck | passed | 0 | 1 | 0 | 1 |"));
        assert!(md.contains("| DataIntegrityCheck | passed | 0 | 0 | 0 | 0 |"));
        assert!(md.contains("  - Step `add_index`: `CREATE INDEX i ON t (a)`"));
        assert!(md.contains("  - Lock: SHARE lock, blocks writes, scans the table"));
        assert!(md.contains("  - Safe way: In a step with \"transaction\": false: CREATE INDEX CONCURRENTLY i ON t (a)"));
        assert!(md.contains("- **LOW** `X`: a | b c"));
        assert!(md.contains("| HIGH | SAFER_ALTERNATIVE | `USE_CREATE_INDEX_CONCURRENTLY` |"));
    }

    #[test]
    fn unsafe_verdict_and_escaping() {
        let r = SafetyReport::new("m", vec![CheckResult::failed("Odd|Check", "boom")]);
        let md = to_markdown(&r);
        assert!(md.contains("**Verdict: NOT safe to run.** 1 critical issue(s)"));
        assert!(md.contains("| Odd\\|Check | **failed** | 1 | 0 | 0 | 0 |"));
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }
}
