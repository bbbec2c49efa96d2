//! Text form of a list of steps, stored in `forward_script` / `rollback_script` so
//! that a human (or `psql \x`) can read what a migration does. It is a description:
//! the engine executes the parsed steps, never this text.

use super::function::FunctionArgs;
use super::step::{Step, StepKind};
use serde_json::Value;

/// One statement per step, each terminated by `;`, separated by blank lines.
pub fn steps_sql_text(steps: &[Step]) -> String {
    steps.iter().map(step_text).collect::<Vec<_>>().join("\n\n")
}

fn step_text(step: &Step) -> String {
    match &step.kind {
        StepKind::Sql { script } | StepKind::Validate { script } => terminate(script.trim()),
        StepKind::Function { function, args } => {
            let args = match args {
                FunctionArgs::Positional(values) => values.iter().map(literal).collect::<Vec<_>>(),
                FunctionArgs::Named(map) => map
                    .iter()
                    .map(|(k, v)| format!("{k} => {}", literal(v)))
                    .collect(),
            };
            format!("SELECT {function}({});", args.join(", "))
        }
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

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote_literal(s),
        other => format!("{}::jsonb", quote_literal(&other.to_string())),
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
             SELECT public.fill(batch => 10, label => 'it''s', opts => '{\"x\":[1]}'::jsonb);\n\n\
             SELECT f(NULL, true);\n\n\
             -- TRANSFORM e\n\n\
             SELECT count(*) = 0 FROM t;";
        assert_eq!(steps_sql_text(&steps), expected);
        assert_eq!(steps_sql_text(&[]), "");
    }
}
