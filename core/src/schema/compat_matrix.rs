//! The compatibility matrix: every change kind (and the variants whose verdict
//! differs) × every mode, as a table. Each row says, for one schema change, which
//! of the seven modes accept it; the test runs each row through
//! [`check_against_history`] twice:
//!
//! - with the change made against the latest version (history `[old]`): every
//!   mode, transitive or not, gives the row's verdict;
//! - with the change made two versions back (history `[old, new]`, registering
//!   `new` again): the non-transitive modes accept (nothing changed against the
//!   latest) and the transitive ones give the row's verdict.
//!
//! `docs/SCHEMA.md` carries the same table between `compat-matrix` markers; a test
//! checks that the two agree cell by cell, so the documentation cannot drift.
//!
//! The verdicts follow from two definitions (Confluent's): BACKWARD = readers on
//! the new schema can read data written with the old one; FORWARD = readers still
//! on the old schema can read data written with the new one. A reader ignores
//! fields it does not know and fails on a required field that is missing, a value
//! outside its type or enum, or an entity type it does not know. Writers may omit
//! a field that is nullable or has a default; the store applies the default when
//! writing, so stored content holds the value.

use super::compat::{check_against_history, CompatibilityMode};
use serde_json::{json, Value};

/// One row: a named change, the old and new documents, and the verdict of each
/// mode in [`CompatibilityMode::ALL`] order (NONE, BACKWARD, BACKWARD_TRANSITIVE,
/// FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE) when the change is made
/// against the latest version. `Y` = accepted, `N` = refused.
struct Row {
    change: &'static str,
    old: Value,
    new: Value,
    verdicts: &'static str,
}

fn p(fields: Value) -> Value {
    json!({"entities": {"P": {"fields": fields}}})
}

fn versioned(version: &str, fields: Value) -> Value {
    json!({"version": version, "entities": {"P": {"fields": fields}}})
}

fn field(t: &str) -> Value {
    json!({"type": t})
}

fn required(t: &str) -> Value {
    json!({"type": t, "nullable": false})
}

fn row(change: &'static str, old: Value, new: Value, verdicts: &'static str) -> Row {
    Row {
        change,
        old,
        new,
        verdicts,
    }
}

/// Both compatible, only BACKWARD, only FORWARD, neither.
const BOTH: &str = "YYYYYYY";
const BACKWARD_ONLY: &str = "YYYNNNN";
const FORWARD_ONLY: &str = "YNNYYNN";
const NEITHER: &str = "YNNNNNN";

fn matrix() -> Vec<Row> {
    let a = || p(json!({"a": field("text")}));
    vec![
        row("no change", a(), a(), BOTH),
        row(
            "ENTITY_ADDED",
            a(),
            json!({"entities": {"P": {"fields": {"a": field("text")}}, "Q": {"fields": {}}}}),
            BACKWARD_ONLY,
        ),
        row(
            "ENTITY_REMOVED",
            json!({"entities": {"P": {"fields": {"a": field("text")}}, "Q": {"fields": {}}}}),
            a(),
            FORWARD_ONLY,
        ),
        row(
            "ENTITY_RENAMED",
            a(),
            json!({"entities": {"Person": {"renamed_from": "P", "fields": {"a": field("text")}}}}),
            NEITHER,
        ),
        row(
            "FIELD_ADDED (nullable)",
            a(),
            p(json!({"a": field("text"), "b": field("text")})),
            BOTH,
        ),
        row(
            "FIELD_ADDED (not null, with a default)",
            a(),
            p(
                json!({"a": field("text"), "b": {"type": "text", "nullable": false, "default": "x"}}),
            ),
            BOTH,
        ),
        row(
            "REQUIRED_FIELD_ADDED",
            a(),
            p(json!({"a": field("text"), "b": required("text")})),
            FORWARD_ONLY,
        ),
        row(
            "FIELD_REMOVED (nullable)",
            p(json!({"a": field("text"), "b": field("text")})),
            a(),
            BOTH,
        ),
        row(
            "FIELD_REMOVED (not null, with a default)",
            p(
                json!({"a": field("text"), "b": {"type": "text", "nullable": false, "default": "x"}}),
            ),
            a(),
            BOTH,
        ),
        row(
            "FIELD_REMOVED (required)",
            p(json!({"a": field("text"), "b": required("text")})),
            a(),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_DEPRECATED",
            a(),
            p(json!({"a": {"type": "text", "deprecated": true, "removal_version": "2.0"}})),
            BOTH,
        ),
        row(
            "DEPRECATED_FIELD_REMOVED_EARLY (nullable)",
            versioned(
                "1.0",
                json!({"a": field("text"), "b": {"type": "text", "deprecated": true, "removal_version": "2.0"}}),
            ),
            versioned("1.5", json!({"a": field("text")})),
            BOTH,
        ),
        row(
            "DEPRECATED_FIELD_REMOVED_EARLY (required)",
            versioned(
                "1.0",
                json!({"a": field("text"), "b": {"type": "text", "nullable": false, "deprecated": true, "removal_version": "2.0"}}),
            ),
            versioned("1.5", json!({"a": field("text")})),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_TYPE_CHANGED widened (integer → bigint)",
            p(json!({"n": field("integer")})),
            p(json!({"n": field("bigint")})),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_TYPE_CHANGED widened (varchar(10) → varchar(20))",
            p(json!({"s": field("varchar(10)")})),
            p(json!({"s": field("varchar(20)")})),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_TYPE_CHANGED widened (numeric(8,2) → numeric(10,2))",
            p(json!({"x": field("numeric(8,2)")})),
            p(json!({"x": field("numeric(10,2)")})),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_TYPE_CHANGED widened (timestamp → timestamptz)",
            p(json!({"t": field("timestamp")})),
            p(json!({"t": field("timestamptz")})),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_TYPE_CHANGED narrowed (bigint → integer)",
            p(json!({"n": field("bigint")})),
            p(json!({"n": field("integer")})),
            FORWARD_ONLY,
        ),
        row(
            "FIELD_TYPE_CHANGED narrowed (text → varchar(10))",
            p(json!({"s": field("text")})),
            p(json!({"s": field("varchar(10)")})),
            FORWARD_ONLY,
        ),
        row(
            "FIELD_TYPE_CHANGED unrelated (text → integer)",
            p(json!({"s": field("text")})),
            p(json!({"s": field("integer")})),
            NEITHER,
        ),
        row(
            "FIELD_TYPE_CHANGED unrelated (boolean → date)",
            p(json!({"s": field("boolean")})),
            p(json!({"s": field("date")})),
            NEITHER,
        ),
        row(
            "FIELD_NULLABILITY_CHANGED (nullable → not null)",
            a(),
            p(json!({"a": required("text")})),
            FORWARD_ONLY,
        ),
        row(
            "FIELD_NULLABILITY_CHANGED (not null → nullable)",
            p(json!({"a": required("text")})),
            a(),
            BACKWARD_ONLY,
        ),
        row(
            "ENUM_VALUE_ADDED",
            p(json!({"s": {"type": "text", "enum": ["x", "y"]}})),
            p(json!({"s": {"type": "text", "enum": ["x", "y", "z"]}})),
            BACKWARD_ONLY,
        ),
        row(
            "ENUM_VALUE_REMOVED",
            p(json!({"s": {"type": "text", "enum": ["x", "y", "z"]}})),
            p(json!({"s": {"type": "text", "enum": ["x", "y"]}})),
            FORWARD_ONLY,
        ),
        row(
            "ENUM_VALUE_ADDED and ENUM_VALUE_REMOVED (x, y → x, z)",
            p(json!({"s": {"type": "text", "enum": ["x", "y"]}})),
            p(json!({"s": {"type": "text", "enum": ["x", "z"]}})),
            NEITHER,
        ),
        row(
            "enum values reordered",
            p(json!({"s": {"type": "text", "enum": ["x", "y"]}})),
            p(json!({"s": {"type": "text", "enum": ["y", "x"]}})),
            BOTH,
        ),
        row(
            "ENUM_CONSTRAINT_ADDED",
            p(json!({"s": field("text")})),
            p(json!({"s": {"type": "text", "enum": ["x"]}})),
            FORWARD_ONLY,
        ),
        row(
            "ENUM_CONSTRAINT_REMOVED",
            p(json!({"s": {"type": "text", "enum": ["x"]}})),
            p(json!({"s": field("text")})),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_DEFAULT_CHANGED (a value changed)",
            p(json!({"a": {"type": "text", "default": "x"}})),
            p(json!({"a": {"type": "text", "default": "y"}})),
            BOTH,
        ),
        row(
            "FIELD_DEFAULT_CHANGED (added to a nullable field)",
            a(),
            p(json!({"a": {"type": "text", "default": "x"}})),
            BOTH,
        ),
        row(
            "FIELD_DEFAULT_CHANGED (removed from a nullable field)",
            p(json!({"a": {"type": "text", "default": "x"}})),
            a(),
            BOTH,
        ),
        row(
            "FIELD_DEFAULT_CHANGED (added to a required field)",
            p(json!({"a": required("text")})),
            p(json!({"a": {"type": "text", "nullable": false, "default": "x"}})),
            BOTH,
        ),
        row(
            "FIELD_DEFAULT_CHANGED (removed from a not-null field)",
            p(json!({"a": {"type": "text", "nullable": false, "default": "x"}})),
            p(json!({"a": required("text")})),
            FORWARD_ONLY,
        ),
        row(
            "FIELD_RENAMED (nullable → nullable)",
            a(),
            p(json!({"b": {"type": "text", "renamed_from": "a"}})),
            BOTH,
        ),
        row(
            "FIELD_RENAMED (required → required)",
            p(json!({"a": required("text")})),
            p(json!({"b": {"type": "text", "nullable": false, "renamed_from": "a"}})),
            NEITHER,
        ),
        row(
            "FIELD_RENAMED (nullable → required)",
            a(),
            p(json!({"b": {"type": "text", "nullable": false, "renamed_from": "a"}})),
            FORWARD_ONLY,
        ),
        row(
            "FIELD_RENAMED (required → nullable)",
            p(json!({"a": required("text")})),
            p(json!({"b": {"type": "text", "renamed_from": "a"}})),
            BACKWARD_ONLY,
        ),
        row(
            "FIELD_RENAMED and widened (integer → bigint, nullable)",
            p(json!({"a": field("integer")})),
            p(json!({"b": {"type": "bigint", "renamed_from": "a"}})),
            BACKWARD_ONLY,
        ),
        row(
            "description changed only",
            a(),
            p(json!({"a": {"type": "text", "description": "the a"}})),
            BOTH,
        ),
    ]
}

/// The verdict letters of one row as the modes' booleans.
fn expected(row: &Row) -> Vec<bool> {
    assert_eq!(row.verdicts.len(), 7, "{}: seven verdicts", row.change);
    row.verdicts.chars().map(|c| c == 'Y').collect()
}

fn accepted(mode: CompatibilityMode, new: &Value, history: &[&Value]) -> bool {
    check_against_history(mode, new, history)
        .unwrap_or_else(|e| panic!("{mode}: {}", e.message))
        .is_empty()
}

#[test]
fn every_cell_of_the_matrix() {
    let mut wrong = Vec::new();
    for row in matrix() {
        let want = expected(&row);
        for (mode, want) in CompatibilityMode::ALL.into_iter().zip(want) {
            let latest = accepted(mode, &row.new, &[&row.old]);
            // The change two versions back: only transitive modes look there.
            let two_back = accepted(mode, &row.new, &[&row.old, &row.new]);
            let want_two_back = want || !mode.is_transitive();
            if latest != want {
                wrong.push(format!(
                    "{} × {mode}: got {latest}, want {want}",
                    row.change
                ));
            }
            if two_back != want_two_back {
                wrong.push(format!(
                    "{} × {mode} (two versions back): got {two_back}, want {want_two_back}",
                    row.change
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong cells:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_change_kind_has_a_row() {
    use super::change::ChangeKind;
    let rows = matrix();
    for kind in ChangeKind::ALL {
        assert!(
            rows.iter().any(|r| r.change.contains(kind.code())),
            "no matrix row for {}",
            kind.code()
        );
    }
}

#[test]
fn the_rows_report_the_change_they_name() {
    use super::diff::detect_breaking_changes;
    for row in matrix() {
        let changes = detect_breaking_changes(&row.old, &row.new).unwrap();
        let codes: Vec<_> = changes.iter().map(|c| c.kind.code()).collect();
        let named: Vec<_> = row
            .change
            .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .filter(|w| w.len() > 3 && w.contains('_'))
            .collect();
        for code in &named {
            assert!(codes.contains(code), "{}: reported {codes:?}", row.change);
        }
        if named.is_empty() {
            assert!(codes.is_empty(), "{}: reported {codes:?}", row.change);
        }
    }
}

/// The table in docs/SCHEMA.md, between the markers, cell by cell.
#[test]
fn the_documented_matrix_is_this_one() {
    let doc = include_str!("../../../docs/SCHEMA.md");
    let start = doc
        .find("<!-- compat-matrix:start -->")
        .expect("docs/SCHEMA.md has the compat-matrix start marker");
    let end = doc
        .find("<!-- compat-matrix:end -->")
        .expect("docs/SCHEMA.md has the compat-matrix end marker");
    let documented: Vec<(String, String)> = doc[start..end]
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("| Change") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let verdicts: String = cells[1..]
                .iter()
                .map(|c| if *c == "✓" { 'Y' } else { 'N' })
                .collect();
            (cells[0].replace('`', ""), verdicts)
        })
        .collect();
    let ours: Vec<(String, String)> = matrix()
        .into_iter()
        .map(|r| (r.change.to_owned(), r.verdicts.to_owned()))
        .collect();
    assert_eq!(documented, ours, "regenerate with: cargo test -p migration_engine_core print_compat_matrix -- --ignored --nocapture");
}

/// Prints the markdown table for docs/SCHEMA.md.
#[test]
#[ignore]
fn print_compat_matrix() {
    let modes: Vec<_> = CompatibilityMode::ALL.iter().map(|m| m.as_str()).collect();
    println!("| Change | {} |", modes.join(" | "));
    println!("|---|{}", "---|".repeat(modes.len()));
    for row in matrix() {
        let cells: Vec<&str> = row
            .verdicts
            .chars()
            .map(|c| if c == 'Y' { "✓" } else { "✗" })
            .collect();
        println!("| {} | {} |", row.change, cells.join(" | "));
    }
}
