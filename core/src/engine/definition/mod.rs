//! A migration definition as users write it (camelCase JSON), parsed into a value
//! that is known to be executable: every step has what its kind needs, names are
//! unique, numbers are in range. Parsing stops at the first error and reports its
//! JSON path.
//!
//! Unknown keys are refused (since 0.2.0; 0.1.0 ignored them): a misspelled key such as
//! `depends_on` silently changed what ran. Tools annotate definitions under `metadata`.

mod checksum;
mod error;
mod function;
mod read;
mod render;
mod step;

pub use checksum::checksum;
pub use error::DefinitionError;
pub use function::{call_sql, FunctionArgs, FunctionName};
pub use read::MAX_NAME_CHARS;
pub use render::steps_sql_text;
pub use step::{Step, StepKind, StepType, STEP_KEYS};

use read::{index_path, Obj};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub const DEFAULT_PRIORITY: i32 = 100;

/// The keys a definition takes.
pub const DEFINITION_KEYS: &[&str] = &[
    "name",
    "version",
    "description",
    "type",
    "dependsOn",
    "forward",
    "rollback",
    "validation",
    "metadata",
    "priority",
    "options",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MigrationType {
    #[default]
    Schema,
    Data,
    Hybrid,
}

impl MigrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schema => "SCHEMA",
            Self::Data => "DATA",
            Self::Hybrid => "HYBRID",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Schema, Self::Data, Self::Hybrid]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A check run after the forward steps; the migration fails if it does not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationRule {
    pub name: String,
    pub script: String,
}

/// Migration-wide execution options. The same shape is accepted as `options` in a
/// definition and, through [`MigrationOptions::parse`], as call-time options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MigrationOptions {
    /// Default for steps that do not set `continueOnError` themselves.
    pub continue_on_error: bool,
}

impl MigrationOptions {
    pub fn parse(v: &Value) -> Result<Self, DefinitionError> {
        Self::parse_at(v, "$")
    }

    fn parse_at(v: &Value, path: impl Into<String>) -> Result<Self, DefinitionError> {
        let o = Obj::new(v, path)?;
        o.only(&["continueOnError"])?;
        Ok(Self {
            continue_on_error: o.opt_bool("continueOnError")?.unwrap_or(false),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MigrationDefinition {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub migration_type: MigrationType,
    /// Names of migrations that must be COMPLETED first; duplicates removed, order kept.
    pub depends_on: Vec<String>,
    pub forward: Vec<Step>,
    pub rollback: Vec<Step>,
    pub validation: Vec<ValidationRule>,
    pub metadata: Map<String, Value>,
    /// Lower runs first among migrations whose dependencies are satisfied.
    pub priority: i32,
    pub options: MigrationOptions,
}

impl MigrationDefinition {
    pub fn parse(v: &Value) -> Result<Self, DefinitionError> {
        let o = Obj::new(v, "$")?;
        o.only(DEFINITION_KEYS)?;
        let name = o.req_name("name")?.to_string();
        let migration_type = match o.opt_str("type")? {
            None => MigrationType::default(),
            Some(t) => {
                MigrationType::parse(t).ok_or_else(|| DefinitionError::UnknownMigrationType {
                    path: o.at("type"),
                    found: t.to_string(),
                })?
            }
        };
        let forward_items =
            o.opt_array("forward")?
                .ok_or_else(|| DefinitionError::MissingField {
                    path: o.at("forward"),
                })?;
        if forward_items.is_empty() {
            return Err(DefinitionError::EmptyForward {
                path: o.at("forward"),
            });
        }
        let empty = Vec::new();
        Ok(Self {
            depends_on: parse_depends_on(&o, &name)?,
            // a version keys rows and logs like a name: no control characters either
            version: o.req_name("version")?.to_string(),
            description: o.opt_str("description")?.map(str::to_string),
            migration_type,
            forward: step::parse_steps(forward_items, &o.at("forward"))?,
            rollback: step::parse_steps(
                o.opt_array("rollback")?.unwrap_or(&empty),
                &o.at("rollback"),
            )?,
            validation: parse_rules(
                o.opt_array("validation")?.unwrap_or(&empty),
                &o.at("validation"),
            )?,
            metadata: o.opt_object("metadata")?.cloned().unwrap_or_default(),
            priority: o.opt_i32("priority")?.unwrap_or(DEFAULT_PRIORITY),
            options: match o.get("options") {
                Some(v) => MigrationOptions::parse_at(v, o.at("options"))?,
                None => MigrationOptions::default(),
            },
            name,
        })
    }

    pub fn forward_script(&self) -> String {
        steps_sql_text(&self.forward)
    }

    /// `None` when the migration declares no rollback steps (column stays NULL).
    pub fn rollback_script(&self) -> Option<String> {
        (!self.rollback.is_empty()).then(|| steps_sql_text(&self.rollback))
    }
}

fn parse_depends_on(o: &Obj<'_>, own_name: &str) -> Result<Vec<String>, DefinitionError> {
    let mut deps: Vec<String> = Vec::new();
    for (i, item) in o.opt_array("dependsOn")?.into_iter().flatten().enumerate() {
        let path = index_path(&o.at("dependsOn"), i);
        let dep = match item {
            Value::String(s) if !s.trim().is_empty() => s,
            Value::String(_) => {
                return Err(DefinitionError::InvalidValue {
                    path,
                    reason: "must not be empty".into(),
                })
            }
            other => {
                return Err(DefinitionError::InvalidType {
                    path,
                    expected: "a migration name (string)",
                    found: read::type_name(other),
                })
            }
        };
        if dep == own_name {
            return Err(DefinitionError::SelfDependency {
                path,
                name: dep.clone(),
            });
        }
        if !deps.contains(dep) {
            deps.push(dep.clone());
        }
    }
    Ok(deps)
}

fn parse_rules(items: &[Value], path: &str) -> Result<Vec<ValidationRule>, DefinitionError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let o = Obj::new(item, index_path(path, i))?;
        o.only(&["name", "script", "description"])?;
        let rule = ValidationRule {
            name: o.req_name("name")?.to_string(),
            script: o.req_text("script")?.to_string(),
        };
        if let Some(first) = seen.insert(rule.name.clone(), i) {
            return Err(DefinitionError::DuplicateRuleName {
                path: o.at("name"),
                name: rule.name,
                first: format!("{}.name", index_path(path, first)),
            });
        }
        rules.push(rule);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests;
