use std::fmt;

/// Why no execution order could be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Two nodes share a name, so a dependency on it would be ambiguous.
    DuplicateName {
        name: String,
    },
    UnknownStatus {
        migration: String,
        status: String,
    },
    UnknownDependency {
        migration: String,
        dependency: String,
    },
    /// The dependency is RUNNING: it is neither done nor ours to run.
    DependencyRunning {
        migration: String,
        dependency: String,
    },
    /// Each listed migration depends on the next, and the last on the first.
    Cycle {
        cycle: Vec<String>,
    },
    UnknownMigration {
        name: String,
    },
}

impl PlanError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::DuplicateName { .. } => "DUPLICATE_MIGRATION_NAME",
            Self::UnknownStatus { .. } => "UNKNOWN_STATUS",
            Self::UnknownDependency { .. } => "UNKNOWN_DEPENDENCY",
            Self::DependencyRunning { .. } => "DEPENDENCY_RUNNING",
            Self::Cycle { .. } => "DEPENDENCY_CYCLE",
            Self::UnknownMigration { .. } => "UNKNOWN_MIGRATION",
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateName { name } => write!(f, "migration name {name:?} appears twice; names must be unique"),
            Self::UnknownStatus { migration, status } => write!(
                f,
                "migration {migration:?} has status {status:?}, which is not one of \
                 PENDING, RUNNING, COMPLETED, FAILED, ROLLED_BACK; repair the row"
            ),
            Self::UnknownDependency { migration, dependency } => write!(
                f,
                "migration {migration:?} depends on {dependency:?}, which is not registered; \
                 register it or remove it from dependsOn"
            ),
            Self::DependencyRunning { migration, dependency } => write!(
                f,
                "migration {migration:?} depends on {dependency:?}, which is RUNNING; wait for it to finish"
            ),
            Self::Cycle { cycle } => {
                let mut text = cycle.join(" → ");
                if let Some(first) = cycle.first() {
                    text = format!("{text} → {first}");
                }
                write!(f, "dependency cycle (→ means \"depends on\"): {text}; remove one of these dependencies")
            }
            Self::UnknownMigration { name } => write!(f, "no migration named {name:?} is registered"),
        }
    }
}

impl std::error::Error for PlanError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_display_closes_the_loop() {
        let e = PlanError::Cycle {
            cycle: vec!["a".into(), "b".into(), "c".into()],
        };
        assert!(e.to_string().contains("a → b → c → a"));
        assert_eq!(e.code(), "DEPENDENCY_CYCLE");
    }
}
