//! What the shell extracts from PostgreSQL's parse tree for one statement.
//!
//! Kept close to the parse nodes (`IndexStmt`, `AlterTableStmt`, `RenameStmt`,
//! ...) so that filling it is a plain match in the shell. Relation names are
//! as the parser returns them: unquoted identifiers already folded to lower
//! case, `schema.table` when the statement qualifies the name.
//!
//! Catalog facts the parse tree cannot give (a column's current type, whether a
//! validated `CHECK (col IS NOT NULL)` exists, a default's volatility) are
//! looked up by the shell before it builds these values.

use super::lock::LockMode;
use serde::{Deserialize, Serialize};

/// One SQL statement of a migration step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementFacts {
    /// The statement text, as written in the step (used in findings and recipes).
    pub sql: String,
    /// Name of the step holding the statement.
    pub step: String,
    /// What the statement does.
    pub kind: StatementKind,
    /// The step runs inside a transaction block (the step's `"transaction"`,
    /// true unless the definition says `false`).
    pub in_transaction: bool,
}

impl StatementFacts {
    /// A statement of a transactional step (the default for steps).
    pub fn new(step: &str, sql: &str, kind: StatementKind) -> Self {
        StatementFacts {
            sql: sql.to_string(),
            step: step.to_string(),
            kind,
            in_transaction: true,
        }
    }

    /// The same statement in a step declared with `"transaction": false`.
    pub fn outside_transaction(mut self) -> Self {
        self.in_transaction = false;
        self
    }

    /// Tables whose existing rows or readers the statement affects. Empty when
    /// the parse tree does not name one (DROP INDEX names an index).
    pub fn target_tables(&self) -> Vec<&str> {
        use StatementKind::*;
        match &self.kind {
            CreateTable { table, .. }
            | CreateIndex { table, .. }
            | AlterTable { table, .. }
            | RenameTable { table }
            | RenameColumn { table, .. }
            | Update { table, .. }
            | Insert { table } => vec![table.as_str()],
            DropTable { tables } | Truncate { tables, .. } | LockTable { tables, .. } => {
                tables.iter().map(String::as_str).collect()
            }
            Vacuum { table, .. } | Cluster { table } | Reindex { table, .. } => {
                table.iter().map(String::as_str).collect()
            }
            DropIndex { .. }
            | TransactionControl { .. }
            | CreateFunction { .. }
            | RenameEnumValue { .. }
            | RenameSchema { .. }
            | DropDatabase { .. }
            | SetVariable { .. }
            | Other { .. } => Vec::new(),
        }
    }

    /// The strongest table lock the statement takes on a table it names, read from
    /// the "Explicit Locking" chapter of the PostgreSQL manual; `None` for statements
    /// that wait on no table lock worth a `lock_timeout` (SELECT, SET, CREATE FUNCTION,
    /// CREATE TABLE of a new table).
    pub fn table_lock(&self) -> Option<LockMode> {
        use LockMode::*;
        use StatementKind::*;
        Some(match &self.kind {
            CreateIndex {
                concurrently: true, ..
            }
            | DropIndex { concurrently: true }
            | Reindex {
                concurrently: true, ..
            }
            | Vacuum { full: false, .. } => ShareUpdateExclusive,
            CreateIndex { .. } | Reindex { .. } => Share,
            AlterTable { commands, .. } => commands
                .iter()
                .map(AlterCommand::lock)
                .max()
                .unwrap_or(AccessExclusive),
            DropIndex { .. }
            | RenameTable { .. }
            | RenameColumn { .. }
            | DropTable { .. }
            | Truncate { .. }
            | Cluster { .. }
            | Vacuum { full: true, .. } => AccessExclusive,
            LockTable { mode, .. } => LockMode::parse(mode).unwrap_or(AccessExclusive),
            Update { .. } | Insert { .. } => RowExclusive,
            _ => return None,
        })
    }

    /// `(table, commands)` for an ALTER TABLE, else `None`.
    pub fn alter_commands(&self) -> Option<(&str, &[AlterCommand])> {
        match &self.kind {
            StatementKind::AlterTable { table, commands } => Some((table, commands)),
            _ => None,
        }
    }
}

/// The statement kinds the safety rules care about; everything else is `Other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StatementKind {
    /// `CREATE TABLE` (also `CREATE TABLE AS`): later statements on this table
    /// in the same migration lock nobody.
    CreateTable {
        table: String,
        /// Columns declared with type `json` (not `jsonb`).
        #[serde(default)]
        json_columns: Vec<String>,
    },
    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] ... ON table (columns)`.
    CreateIndex {
        table: String,
        concurrently: bool,
        unique: bool,
        /// Key columns in order (an expression key is `""`).
        #[serde(default)]
        columns: Vec<String>,
        /// The table is partitioned (`relkind = 'p'`): PostgreSQL 15 cannot build
        /// its index CONCURRENTLY.
        #[serde(default)]
        partitioned: bool,
        /// `ON ONLY`: on a partitioned table it builds nothing (an invalid parent index
        /// that partitions' indexes are attached to later).
        #[serde(default)]
        only: bool,
    },
    /// `DROP INDEX [CONCURRENTLY]`.
    DropIndex { concurrently: bool },
    /// `ALTER TABLE table cmd, cmd, ...`; the whole statement holds the
    /// strongest lock any of its commands needs.
    AlterTable {
        table: String,
        commands: Vec<AlterCommand>,
    },
    /// `ALTER TABLE table RENAME TO ...` (table is the old name).
    RenameTable { table: String },
    /// `ALTER TABLE table RENAME [COLUMN] column TO ...` (column is the old name).
    RenameColumn { table: String, column: String },
    /// `DROP TABLE a, b`.
    DropTable { tables: Vec<String> },
    /// `TRUNCATE a, b [CASCADE]`.
    Truncate { tables: Vec<String>, cascade: bool },
    /// `VACUUM [FULL] [table]`.
    Vacuum { full: bool, table: Option<String> },
    /// `CLUSTER [table]`.
    Cluster { table: Option<String> },
    /// `REINDEX {INDEX|TABLE|...} [CONCURRENTLY] name`; `table` when the target is
    /// a table.
    Reindex {
        concurrently: bool,
        table: Option<String>,
        /// INDEX, TABLE, SCHEMA, DATABASE or SYSTEM. SYSTEM has no CONCURRENTLY form.
        #[serde(default)]
        target: String,
    },
    /// `LOCK [TABLE] a, b [IN mode MODE]`; `mode` as PostgreSQL spells it,
    /// "ACCESS EXCLUSIVE" when the statement gives none (the default).
    LockTable { tables: Vec<String>, mode: String },
    /// `UPDATE table SET columns...`.
    Update { table: String, columns: Vec<String> },
    /// `INSERT INTO table ...`.
    Insert { table: String },
    /// BEGIN, START TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT, ... (`TransactionStmt`).
    TransactionControl { op: TransactionOp },
    /// `CREATE [OR REPLACE] FUNCTION|PROCEDURE name`; `volatile` unless it is declared
    /// IMMUTABLE or STABLE (PostgreSQL's default is VOLATILE).
    CreateFunction { name: String, volatile: bool },
    /// `ALTER TYPE name RENAME VALUE 'a' TO 'b'`.
    RenameEnumValue { type_name: String, value: String },
    /// `ALTER SCHEMA name RENAME TO ...`.
    RenameSchema { schema: String },
    /// `DROP DATABASE name`.
    DropDatabase { database: String },
    /// `SET [LOCAL] name ...` (`name` lower case).
    SetVariable { name: String },
    /// Anything else; `tag` is the command tag, e.g. "CREATE FUNCTION".
    Other { tag: String },
}

/// One command (`AlterTableCmd`) of an ALTER TABLE. Inline constraints of a
/// column definition (`ADD COLUMN x int UNIQUE`) come as separate
/// [`AlterCommand::AddConstraint`] entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlterCommand {
    AddColumn {
        column: String,
        /// The column definition has a DEFAULT (or is serial/identity/generated).
        has_default: bool,
        /// The default must be computed per row: it calls a VOLATILE function
        /// (`pg_proc.provolatile = 'v'`: clock_timestamp(), random(),
        /// gen_random_uuid(), nextval() behind serial/identity), or the column is
        /// `GENERATED ... STORED`. `now()` is STABLE and takes the fast path.
        volatile_default: bool,
        /// Declared NOT NULL.
        not_null: bool,
        /// The type is `json` (not `jsonb`).
        #[serde(default)]
        json: bool,
        /// The type is a domain with a CHECK constraint: PostgreSQL evaluates it
        /// for every existing row, rewriting the table.
        #[serde(default)]
        domain_check: bool,
        /// Functions the default calls that the catalog does not know (bare names):
        /// one created earlier in the script is judged by its declaration, any other
        /// is taken as volatile.
        #[serde(default)]
        default_calls: Vec<String>,
    },
    DropColumn {
        column: String,
    },
    /// `ALTER COLUMN column TYPE new_type [USING ...]`.
    AlterColumnType {
        column: String,
        /// Current type from the catalog (`format_type`); `None` if unknown.
        old_type: Option<String>,
        /// Target type as written, with its modifiers: "varchar(100)".
        new_type: String,
        /// A USING expression other than the bare column: forces a rewrite.
        has_using: bool,
        /// From `pg_cast`: the old type's base type converts to the new one's
        /// without a function (`castmethod = 'b'`, or the same type). `None` when
        /// the catalog could not tell (a type that does not exist yet).
        #[serde(default)]
        binary_coercible: Option<bool>,
        /// What still reads every row or rebuilds without a rewrite: "a domain
        /// CHECK", "CHECK constraint c", "index i".
        #[serde(default)]
        revalidates: Vec<String>,
        /// The new type is `json`.
        #[serde(default)]
        json: bool,
        /// The new type is a domain with a CHECK constraint: PostgreSQL rewrites the
        /// table to test every value (`ATColumnChangeRequiresRewrite`).
        #[serde(default)]
        domain_check: bool,
    },
    /// `ALTER COLUMN column DROP NOT NULL`.
    DropNotNull {
        column: String,
    },
    /// `DETACH PARTITION partition [CONCURRENTLY]`.
    DetachPartition {
        partition: String,
        concurrently: bool,
        /// The partitioned table has a DEFAULT partition (the concurrent form is refused).
        #[serde(default)]
        has_default_partition: bool,
    },
    /// `ALTER COLUMN column SET NOT NULL`.
    SetNotNull {
        column: String,
        /// A validated `CHECK (column IS NOT NULL)` exists, so PostgreSQL 12+
        /// skips the full-table scan.
        validated_check_exists: bool,
    },
    /// `ADD [CONSTRAINT name] ...`.
    AddConstraint {
        /// Constraint name when the statement gives one (used in recipes).
        name: Option<String>,
        kind: ConstraintKind,
        /// `NOT VALID`: existing rows are not checked now.
        not_valid: bool,
        /// `UNIQUE/PRIMARY KEY USING INDEX existing_index`.
        using_index: bool,
        /// The constrained (for a foreign key: the referencing) columns.
        #[serde(default)]
        columns: Vec<String>,
        /// Foreign key: an index of the table starts with `columns` (from the
        /// catalog; the script pass adds indexes created earlier in the script).
        #[serde(default)]
        columns_indexed: bool,
        /// PRIMARY KEY USING INDEX: the index's columns that are nullable now
        /// (PostgreSQL sets NOT NULL on them, scanning the table).
        #[serde(default)]
        nullable_columns: Vec<String>,
        /// CHECK (`column` IS NOT NULL): the column it proves non-null.
        #[serde(default)]
        proves_not_null: Option<String>,
    },
    /// `VALIDATE CONSTRAINT name` (SHARE UPDATE EXCLUSIVE: the safe second half).
    ValidateConstraint {
        #[serde(default)]
        name: String,
        /// The constraint is an existing NOT VALID `CHECK (column IS NOT NULL)` (from the
        /// catalog): once validated, it proves `column` non-null.
        #[serde(default)]
        proves_not_null: Option<String>,
    },
    /// `SET LOGGED`, `SET UNLOGGED`, `SET ACCESS METHOD` or `SET TABLESPACE` that changes
    /// something: PostgreSQL copies the table into new storage (a new relfilenode) under
    /// ACCESS EXCLUSIVE. `what` is the subcommand as written ("SET UNLOGGED"). Found by
    /// the trial: the static analysis had no rule for it.
    MovesStorage {
        what: String,
    },
    /// Any other subcommand; `what` names it for messages ("SET DEFAULT").
    Other {
        what: String,
    },
}

impl AlterCommand {
    /// The table lock this subcommand needs (ALTER TABLE takes the strongest of its
    /// commands'): most need ACCESS EXCLUSIVE; the ones PostgreSQL documents lower are
    /// listed.
    pub fn lock(&self) -> LockMode {
        match self {
            AlterCommand::ValidateConstraint { .. }
            | AlterCommand::DetachPartition {
                concurrently: true, ..
            } => LockMode::ShareUpdateExclusive,
            AlterCommand::AddConstraint {
                kind: ConstraintKind::ForeignKey,
                ..
            } => LockMode::ShareRowExclusive,
            _ => LockMode::AccessExclusive,
        }
    }
}

/// What a `TransactionStmt` does, as far as the analysis cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionOp {
    /// BEGIN / START TRANSACTION: the statements up to COMMIT share one transaction.
    Begin,
    /// COMMIT, ROLLBACK (and their PREPARED forms): the transaction ends.
    End,
    /// SAVEPOINT, RELEASE, ROLLBACK TO: inside the same transaction.
    Savepoint,
}

/// `Constraint.contype` of an added table constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConstraintKind {
    ForeignKey,
    Check,
    Unique,
    PrimaryKey,
    Exclusion,
}

/// Fallback for a shell that only has the raw parse tree (function names not
/// resolved): well-known VOLATILE functions that make an added column's default
/// rewrite the table. `now()`, `current_timestamp`, `statement_timestamp()`
/// are STABLE and deliberately absent.
pub fn known_volatile_function(name: &str) -> bool {
    const VOLATILE: &[&str] = &[
        "clock_timestamp",
        "timeofday",
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v4",
        "uuidv7",
        "nextval",
        "txid_current",
        "pg_current_xact_id",
    ];
    let name = name.trim().to_ascii_lowercase();
    let bare = name.rsplit('.').next().unwrap_or(&name);
    VOLATILE.contains(&bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_not_volatile_but_clock_timestamp_is() {
        assert!(!known_volatile_function("now"));
        assert!(known_volatile_function("pg_catalog.clock_timestamp"));
        assert!(known_volatile_function("GEN_RANDOM_UUID"));
    }

    #[test]
    fn facts_round_trip_through_json() {
        let s = StatementFacts::new(
            "s1",
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u NOT VALID",
            StatementKind::AlterTable {
                table: "t".into(),
                commands: vec![AlterCommand::AddConstraint {
                    name: Some("fk".into()),
                    kind: ConstraintKind::ForeignKey,
                    not_valid: true,
                    using_index: false,
                    columns: vec!["a".into()],
                    columns_indexed: false,
                    nullable_columns: vec![],
                    proves_not_null: None,
                }],
            },
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["kind"]["type"], "alter_table");
        assert_eq!(v["kind"]["commands"][0]["kind"], "FOREIGN_KEY");
        assert_eq!(serde_json::from_value::<StatementFacts>(v).unwrap(), s);
        assert_eq!(s.target_tables(), ["t"]);
    }
}
