//! Text form of a list of steps, stored in `forward_script` / `rollback_script` so
//! that a human (or `psql \x`) can read what a migration does. The engine executes the
//! parsed steps, not this text; a FUNCTION step's line is built by the same
//! `function::call_sql` the engine runs, so it reads exactly as what runs.

use super::function::call_sql;
use super::step::{Step, StepKind};

/// One statement per step, each terminated by `;`, separated by blank lines.
pub fn steps_sql_text(steps: &[Step]) -> String {
    steps.iter().map(step_text).collect::<Vec<_>>().join("\n\n")
}

fn step_text(step: &Step) -> String {
    match &step.kind {
        StepKind::Sql { script } | StepKind::Validate { script } => terminate(script.trim()),
        StepKind::Function { function, args } => match call_sql(function, args) {
            Ok(sql) => format!("{sql};"),
            // the engine refuses such a step before running it; say why here too
            Err(e) => format!("-- FUNCTION {}: {e}", step.name),
        },
        StepKind::Transform { .. } => format!("-- TRANSFORM {}", step.name),
    }
}

/// Appends `;` unless present. If the last line holds a `--` comment the `;` goes on
/// its own line, otherwise it would be commented out and two statements would merge.
fn terminate(script: &str) -> String {
    if script.ends_with(';') {
        script.to_string()
    } else if script.lines().last().is_some_and(|l| l.contains("--")) {
        format!("{script}\n;")
    } else {
        format!("{script};")
    }
}

#[cfg(test)]
mod tests {
    use super::super::step::parse_steps;
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_each_kind() {
        let steps = parse_steps(
            &[
                json!({"name": "a", "type": "SQL", "script": "  ALTER TABLE t ADD COLUMN c int  "}),
                json!({"name": "b", "type": "SQL", "script": "SELECT 1 -- note"}),
                json!({"name": "c", "type": "FUNCTION", "function": "public.fill",
                       "parameters": {"batch": 10, "label": "it's", "opts": {"x": [1]}}}),
                json!({"name": "d", "type": "FUNCTION", "function": "f", "parameters": [null, true]}),
                json!({"name": "e", "type": "TRANSFORM", "pipeline": {}}),
                json!({"name": "f", "type": "VALIDATE", "script": "SELECT count(*) = 0 FROM t;"}),
            ],
            "$.forward",
        )
        .unwrap();
        let expected = "ALTER TABLE t ADD COLUMN c int;\n\n\
             SELECT 1 -- note\n;\n\n\
             SELECT \"public\".\"fill\"(\"batch\" => '10', \"label\" => 'it''s', \"opts\" => '{\"x\":[1]}');\n\n\
             SELECT \"f\"(NULL, 'true');\n\n\
             -- TRANSFORM e\n\n\
             SELECT count(*) = 0 FROM t;";
        assert_eq!(steps_sql_text(&steps), expected);
        assert_eq!(steps_sql_text(&[]), "");
    }
}
