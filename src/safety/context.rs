//! What the checks look at: the migration, its steps parsed by Postgres, the data schema.
use crate::catalog::{load, MigrationRow};
use crate::errors::MeResult;
use crate::parser::parse_step;
use crate::spi::expression::require_one_expression;
use crate::spi::{data_schema, quoted_ident, with_search_path};
use migration_engine_core::engine::definition::{MigrationDefinition, Step};
use migration_engine_core::safety::StatementFacts;
use serde_json::Value;

pub struct Context {
    pub migration: MigrationRow,
    pub data_schema: String,
    pub forward: Vec<StatementFacts>,
    pub rollback: Vec<StatementFacts>,
    /// (step name, parser message) of steps whose SQL does not parse
    pub forward_errors: Vec<(String, String)>,
    /// (step or rule name, problem) of conditions and validations that are not one
    /// expression (see spi::expression::require_one_expression)
    pub hidden_statements: Vec<(String, String)>,
    pub rollback_errors: Vec<(String, String)>,
    pub trial: bool,
    pub skip_integrity: bool,
}

fn parse_steps(steps: &[Step]) -> (Vec<StatementFacts>, Vec<(String, String)>) {
    let mut facts = Vec::new();
    let mut errors = Vec::new();
    for step in steps {
        if let Some(script) = step.kind.statement_text() {
            match parse_step(&step.name, script, step.transaction) {
                Ok(f) => facts.extend(f),
                Err(e) => errors.push((step.name.clone(), e)),
            }
        }
    }
    (facts, errors)
}

/// The definition's conditions, VALIDATE scripts and validation rules, as the engine
/// runs them (`SELECT (<text>)::boolean`): parsed like scripts, so SQL smuggled into one
/// is analysed like a step's, and (step name, problem) of those that are not one
/// expression.
struct Expressions {
    facts: Vec<StatementFacts>,
    parse_errors: Vec<(String, String)>,
    hidden: Vec<(String, String)>,
}

fn parse_expressions(def: &MigrationDefinition) -> Expressions {
    let mut out = Expressions {
        facts: Vec::new(),
        parse_errors: Vec::new(),
        hidden: Vec::new(),
    };
    for (name, what, text) in crate::steps::boolean_expressions(def) {
        match parse_step(name, &format!("SELECT ({text})::boolean"), true) {
            Ok(f) => out.facts.extend(f),
            Err(e) => out.parse_errors.push((name.to_string(), e)),
        }
        if let Err(e) = require_one_expression(&what, text) {
            out.hidden.push((name.to_string(), e));
        }
    }
    out
}

/// The search_path a step's SQL is parsed under: unqualified names resolve as they will
/// when the steps run, data schema first.
pub fn parse_search_path(data_schema: &str) -> MeResult<String> {
    Ok(format!(
        "{}, public, pg_catalog",
        quoted_ident("data schema", data_schema)?
    ))
}

impl Context {
    pub fn load(migration_name: &str, options: &Value) -> MeResult<Context> {
        Self::for_row(load(migration_name, false)?, options)
    }

    pub fn for_row(migration: MigrationRow, options: &Value) -> MeResult<Context> {
        let schema = data_schema()?;
        let path = parse_search_path(&schema)?;
        let (forward, forward_errors, hidden, rollback, rollback_errors) =
            with_search_path(&path, || {
                let (mut forward, mut forward_errors) = parse_steps(&migration.definition.forward);
                let expressions = parse_expressions(&migration.definition);
                forward.extend(expressions.facts);
                forward_errors.extend(expressions.parse_errors);
                let (rollback, rollback_errors) = parse_steps(&migration.definition.rollback);
                (
                    forward,
                    forward_errors,
                    expressions.hidden,
                    rollback,
                    rollback_errors,
                )
            })?;
        Ok(Context {
            migration,
            data_schema: schema,
            forward,
            rollback,
            forward_errors,
            hidden_statements: hidden,
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
