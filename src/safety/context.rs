//! What the checks look at: the migration, its steps parsed by Postgres, the data schema.
use super::parse::{parse_step, require_one_expression};
use crate::engine::catalog::{load, MigrationRow};
use crate::errors::MeResult;
use crate::spi::{data_schema, quoted_ident};
use migration_engine_core::engine::definition::{
    MigrationDefinition, Step, StepKind, ValidationRule,
};
use migration_engine_core::safety::StatementFacts;
use pgrx::prelude::*;
use serde_json::Value;

pub struct Context {
    pub migration: MigrationRow,
    pub data_schema: String,
    pub forward: Vec<StatementFacts>,
    pub rollback: Vec<StatementFacts>,
    /// (step name, parser message) of steps whose SQL does not parse
    pub forward_errors: Vec<(String, String)>,
    /// (step or rule name, problem) of conditions and validations that are not one
    /// expression (see parse::require_one_expression)
    pub hidden_statements: Vec<(String, String)>,
    pub rollback_errors: Vec<(String, String)>,
    pub trial: bool,
    pub skip_integrity: bool,
}

fn parse_steps(steps: &[Step]) -> (Vec<StatementFacts>, Vec<(String, String)>) {
    let mut facts = Vec::new();
    let mut errors = Vec::new();
    let mut add =
        |name: &str, sql: &str, in_transaction: bool| match parse_step(name, sql, in_transaction) {
            Ok(f) => facts.extend(f),
            Err(e) => errors.push((name.to_string(), e)),
        };
    for step in steps {
        // conditions and VALIDATE scripts are analysed as what the engine runs, so SQL
        // smuggled into one is seen like a step's
        if let Some(c) = &step.condition {
            add(&step.name, &format!("SELECT ({c})::boolean"), true);
        }
        match &step.kind {
            StepKind::Sql { script } => add(&step.name, script, step.transaction),
            StepKind::Validate { script } => {
                add(&step.name, &format!("SELECT ({script})::boolean"), true)
            }
            _ => {}
        }
    }
    (facts, errors)
}

fn hidden_statements(def: &MigrationDefinition) -> Vec<(String, String)> {
    crate::engine::boolean_expressions(def)
        .into_iter()
        .filter_map(|(name, what, text)| {
            require_one_expression(&what, text)
                .err()
                .map(|e| (name.to_string(), e))
        })
        .collect()
}

fn parse_rules(rules: &[ValidationRule]) -> (Vec<StatementFacts>, Vec<(String, String)>) {
    let mut facts = Vec::new();
    let mut errors = Vec::new();
    for r in rules {
        match parse_step(&r.name, &format!("SELECT ({})::boolean", r.script), true) {
            Ok(f) => facts.extend(f),
            Err(e) => errors.push((r.name.clone(), e)),
        }
    }
    (facts, errors)
}

impl Context {
    pub fn load(migration_name: &str, options: &Value) -> MeResult<Context> {
        let migration = load(migration_name, false)?;
        let schema = data_schema()?;
        // Unqualified names resolve as they will when the steps run: data schema first.
        let path = format!(
            "{}, public, pg_catalog",
            quoted_ident("data schema", &schema)?
        );
        Spi::run_with_args("SELECT set_config('search_path', $1, true)", &[path.into()])?;
        let hidden_statements = hidden_statements(&migration.definition);
        let (mut forward, mut forward_errors) = parse_steps(&migration.definition.forward);
        let (rules, rule_errors) = parse_rules(&migration.definition.validation);
        forward.extend(rules);
        forward_errors.extend(rule_errors);
        let (rollback, rollback_errors) = parse_steps(&migration.definition.rollback);
        Spi::run(
            "SELECT set_config('search_path', 'migration_engine, pg_catalog, pg_temp', true)",
        )?;
        Ok(Context {
            migration,
            data_schema: schema,
            forward,
            rollback,
            forward_errors,
            hidden_statements,
            rollback_errors,
            trial: options
                .get("trial")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            skip_integrity: options
                .get("skipIntegrity")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}
