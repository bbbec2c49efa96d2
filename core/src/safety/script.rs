//! A migration's statements read as one script, in order: what an earlier
//! statement creates, validates or opens changes what a later one does. The
//! per-statement rules see facts refined by this pass; the script rules see the
//! whole sequence with each statement's transaction.
//!
//! Refinements (each a false alarm or a miss of a statement-by-statement reading):
//! - a step with `"transaction": false` that runs an explicit BEGIN puts the
//!   statements up to COMMIT in a transaction block (so a CONCURRENTLY among them
//!   fails);
//! - a DEFAULT calling a function created earlier in the script without
//!   IMMUTABLE/STABLE is volatile (the catalog cannot know it yet);
//! - SET NOT NULL after a `CHECK (col IS NOT NULL)` validated earlier in the script
//!   skips its scan, as with one validated before the migration;
//! - a foreign key whose columns an earlier statement indexed has its index.

use super::statement::{
    AlterCommand, ConstraintKind, StatementFacts, StatementKind, TransactionOp,
};
use super::text::same_table;

/// How a script will be run, where the statements cannot say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LintOptions {
    /// The script runs outside this engine (psql, Flyway, a deploy tool): nothing
    /// sets a lock_timeout for it, and it manages its own transactions.
    pub outside_engine: bool,
}

/// One statement as the script pass sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scripted {
    /// The statement's facts, refined by what came before it.
    pub facts: StatementFacts,
    /// The transaction block the statement runs in (statements with the same number
    /// share it), `None` when it runs on its own (autocommit).
    pub transaction: Option<usize>,
    /// Every table it names was created earlier in the script (empty, unused).
    pub on_new_table: bool,
}

/// What the statements so far have created or proven.
#[derive(Default)]
struct State {
    tables: Vec<String>,
    /// (name, volatile) of functions created so far.
    functions: Vec<(String, bool)>,
    /// (table, column) proven non-null by a validated CHECK.
    not_null: Vec<(String, String)>,
    /// (table, constraint, column) added NOT VALID, waiting for VALIDATE.
    pending_not_null: Vec<(String, String, String)>,
    /// (table, key columns) of indexes created so far.
    indexes: Vec<(String, Vec<String>)>,
    /// An explicit BEGIN is open in the current step.
    explicit: Option<usize>,
    step: Option<String>,
    transactions: usize,
}

/// Refine every statement and give it its transaction.
pub fn read_script(statements: &[StatementFacts]) -> Vec<Scripted> {
    let mut state = State::default();
    statements.iter().map(|s| state.read(s)).collect()
}

impl State {
    fn read(&mut self, s: &StatementFacts) -> Scripted {
        if self.step.as_deref() != Some(s.step.as_str()) {
            self.step = Some(s.step.clone());
            self.explicit = None;
            self.transactions += 1;
        }
        let mut facts = s.clone();
        let transaction = if s.in_transaction {
            Some(self.transactions)
        } else {
            self.explicit
        };
        // The BEGIN itself runs outside the block it opens.
        if self.explicit.is_some() {
            facts.in_transaction = true;
        }
        self.refine(&mut facts);
        let targets = facts.target_tables();
        let on_new_table = !targets.is_empty()
            && targets
                .iter()
                .all(|t| self.tables.iter().any(|c| same_table(c, t)));
        self.learn(&facts);
        Scripted {
            facts,
            transaction,
            on_new_table,
        }
    }

    fn refine(&self, facts: &mut StatementFacts) {
        let StatementKind::AlterTable { table, commands } = &mut facts.kind else {
            return;
        };
        for command in commands {
            match command {
                AlterCommand::AddColumn {
                    default_calls,
                    volatile_default,
                    has_default,
                    ..
                } if default_calls.iter().any(|f| self.function_is_volatile(f)) => {
                    *volatile_default = true;
                    *has_default = true;
                }
                AlterCommand::SetNotNull {
                    column,
                    validated_check_exists,
                } => {
                    *validated_check_exists |= self
                        .not_null
                        .iter()
                        .any(|(t, c)| same_table(t, table) && c == column);
                }
                AlterCommand::AddConstraint {
                    kind: ConstraintKind::ForeignKey,
                    columns,
                    columns_indexed,
                    ..
                } => {
                    *columns_indexed |= self.indexes.iter().any(|(t, keys)| {
                        same_table(t, table)
                            && keys.len() >= columns.len()
                            && keys[..columns.len()] == columns[..]
                    });
                }
                _ => {}
            }
        }
    }

    /// A function the catalog did not know: its declaration earlier in the script, or
    /// volatile when there is none (it does not exist yet; functions are VOLATILE unless
    /// declared otherwise).
    fn function_is_volatile(&self, name: &str) -> bool {
        let bare = name.rsplit('.').next().unwrap_or(name);
        self.functions
            .iter()
            .rev()
            .find(|(f, _)| f.rsplit('.').next() == Some(bare))
            .is_none_or(|(_, volatile)| *volatile)
    }

    fn learn(&mut self, facts: &StatementFacts) {
        match &facts.kind {
            StatementKind::CreateTable { table, .. } => self.tables.push(table.clone()),
            StatementKind::CreateFunction { name, volatile } => {
                self.functions.push((name.clone(), *volatile))
            }
            StatementKind::CreateIndex { table, columns, .. } => {
                self.indexes.push((table.clone(), columns.clone()))
            }
            StatementKind::TransactionControl { op }
                if !facts.in_transaction || self.explicit.is_some() =>
            {
                match op {
                    TransactionOp::Begin if !facts.in_transaction => {
                        self.transactions += 1;
                        self.explicit = Some(self.transactions);
                    }
                    TransactionOp::End => self.explicit = None,
                    _ => {}
                }
            }
            StatementKind::AlterTable { table, commands } => {
                for command in commands {
                    self.learn_command(table, command);
                }
            }
            _ => {}
        }
    }

    fn learn_command(&mut self, table: &str, command: &AlterCommand) {
        match command {
            AlterCommand::AddConstraint {
                kind: ConstraintKind::Check,
                proves_not_null: Some(column),
                not_valid,
                name,
                ..
            } => {
                if *not_valid {
                    let name = name.clone().unwrap_or_default();
                    self.pending_not_null
                        .push((table.to_string(), name, column.clone()));
                } else {
                    self.not_null.push((table.to_string(), column.clone()));
                }
            }
            AlterCommand::ValidateConstraint {
                name,
                proves_not_null,
            } => {
                if let Some(column) = proves_not_null {
                    self.not_null.push((table.to_string(), column.clone()));
                }
                let validated: Vec<_> = self
                    .pending_not_null
                    .iter()
                    .filter(|(t, c, _)| same_table(t, table) && c == name)
                    .map(|(_, _, column)| (table.to_string(), column.clone()))
                    .collect();
                self.not_null.extend(validated);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::testing::*;
    use crate::safety::{analyze, ConstraintKind};

    fn codes(statements: &[StatementFacts]) -> Vec<&'static str> {
        analyze(statements).iter().map(|f| f.code).collect()
    }

    #[test]
    fn concurrently_after_an_explicit_begin_is_in_a_transaction() {
        let begin = stmt(
            "BEGIN",
            TransactionControl {
                op: TransactionOp::Begin,
            },
        )
        .outside_transaction();
        let index = stmt(
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            CreateIndex {
                table: "t".into(),
                concurrently: true,
                unique: false,
                columns: vec!["a".into()],
                partitioned: false,
                only: false,
            },
        )
        .outside_transaction();
        let commit = stmt(
            "COMMIT",
            TransactionControl {
                op: TransactionOp::End,
            },
        )
        .outside_transaction();
        assert!(codes(std::slice::from_ref(&index)).is_empty());
        let script = [begin, index.clone(), commit.clone(), index];
        let found = codes(&script);
        assert_eq!(
            found
                .iter()
                .filter(|c| **c == "CONCURRENTLY_IN_TRANSACTION")
                .count(),
            1,
            "{found:?}"
        );
        let read = read_script(&script);
        assert_eq!(
            (read[1].transaction, read[3].transaction),
            (read[2].transaction, None)
        );
    }

    fn not_null_check(not_valid: bool) -> StatementFacts {
        alter(
            "ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL)",
            vec![constraint(ConstraintKind::Check, |c| {
                if let AlterCommand::AddConstraint {
                    name,
                    not_valid: nv,
                    proves_not_null,
                    ..
                } = c
                {
                    *name = Some("t_a_nn".into());
                    *nv = not_valid;
                    *proves_not_null = Some("a".into());
                }
            })],
        )
    }

    fn set_not_null() -> StatementFacts {
        let cmd = AlterCommand::SetNotNull {
            column: "a".into(),
            validated_check_exists: false,
        };
        alter("ALTER TABLE t ALTER COLUMN a SET NOT NULL", vec![cmd])
    }

    #[test]
    fn set_not_null_after_a_check_validated_in_the_script_is_safe() {
        assert!(codes(&[set_not_null()]).contains(&"SET_NOT_NULL_WITHOUT_CHECK"));
        let mut validate = alter(
            "ALTER TABLE t VALIDATE CONSTRAINT t_a_nn",
            vec![AlterCommand::ValidateConstraint {
                name: "t_a_nn".into(),
                proves_not_null: None,
            }],
        );
        validate.step = "s2".into();
        let mut set = set_not_null();
        set.step = "s3".into();
        let found = codes(&[not_null_check(true), validate, set]);
        assert!(!found.contains(&"SET_NOT_NULL_WITHOUT_CHECK"), "{found:?}");
        // NOT VALID and never validated: SET NOT NULL still scans
        let mut set = set_not_null();
        set.step = "s2".into();
        assert!(codes(&[not_null_check(true), set]).contains(&"SET_NOT_NULL_WITHOUT_CHECK"));
    }

    #[test]
    fn a_default_calling_a_function_created_in_the_script_is_judged_by_its_declaration() {
        let add = alter(
            "ALTER TABLE t ADD COLUMN a int DEFAULT f()",
            vec![add_column("a", |c| {
                c.has_default = true;
                c.default_calls = vec!["f".into()];
            })],
        );
        let create = |volatile| {
            stmt(
                "CREATE FUNCTION f() ...",
                CreateFunction {
                    name: "public.f".into(),
                    volatile,
                },
            )
        };
        assert!(codes(&[create(true), add.clone()]).contains(&"ADD_COLUMN_VOLATILE_DEFAULT"));
        assert!(!codes(&[create(false), add.clone()]).contains(&"ADD_COLUMN_VOLATILE_DEFAULT"));
        assert!(
            codes(&[add]).contains(&"ADD_COLUMN_VOLATILE_DEFAULT"),
            "a function that exists nowhere yet is taken as volatile"
        );
    }

    #[test]
    fn an_index_created_earlier_serves_the_foreign_key() {
        let fk = alter(
            "ALTER TABLE t ADD FOREIGN KEY (a, b) REFERENCES u NOT VALID",
            vec![constraint(ConstraintKind::ForeignKey, |c| {
                if let AlterCommand::AddConstraint {
                    columns, not_valid, ..
                } = c
                {
                    *columns = vec!["a".into(), "b".into()];
                    *not_valid = true;
                }
            })],
        );
        let index = |columns: &[&str]| {
            let columns = columns.iter().map(|c| c.to_string()).collect();
            stmt(
                "CREATE INDEX CONCURRENTLY ...",
                CreateIndex {
                    table: "public.t".into(),
                    concurrently: true,
                    unique: false,
                    columns,
                    partitioned: false,
                    only: false,
                },
            )
            .outside_transaction()
        };
        assert!(codes(std::slice::from_ref(&fk)).contains(&"FOREIGN_KEY_WITHOUT_INDEX"));
        assert!(
            !codes(&[index(&["a", "b", "c"]), fk.clone()]).contains(&"FOREIGN_KEY_WITHOUT_INDEX")
        );
        assert!(codes(&[index(&["b", "a"]), fk]).contains(&"FOREIGN_KEY_WITHOUT_INDEX"));
    }
}
