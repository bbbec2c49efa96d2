//! Table lock modes and what a lock rule reports.

use super::rules::RuleDoc;
use super::statement::StatementFacts;
use super::Severity;
use serde::{Deserialize, Serialize};

/// PostgreSQL's table-level lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LockMode {
    #[serde(rename = "ACCESS SHARE")]
    AccessShare,
    #[serde(rename = "ROW SHARE")]
    RowShare,
    #[serde(rename = "ROW EXCLUSIVE")]
    RowExclusive,
    #[serde(rename = "SHARE UPDATE EXCLUSIVE")]
    ShareUpdateExclusive,
    #[serde(rename = "SHARE")]
    Share,
    #[serde(rename = "SHARE ROW EXCLUSIVE")]
    ShareRowExclusive,
    #[serde(rename = "EXCLUSIVE")]
    Exclusive,
    #[serde(rename = "ACCESS EXCLUSIVE")]
    AccessExclusive,
}

impl LockMode {
    const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// "share row exclusive", "SHARE  ROW EXCLUSIVE", "ShareRowExclusiveLock"
    /// (the C name) all parse.
    pub fn parse(s: &str) -> Option<LockMode> {
        let squashed: String = s
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_uppercase();
        let squashed = squashed.strip_suffix("LOCK").unwrap_or(&squashed);
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().replace(' ', "") == squashed)
    }

    /// Which ordinary traffic waits while the lock is held (the conflict table
    /// of "Explicit Locking" in the PostgreSQL manual, read for plain SELECT and
    /// INSERT/UPDATE/DELETE).
    pub fn blocks(self) -> Blocks {
        match self {
            LockMode::AccessExclusive => Blocks::ReadsAndWrites,
            LockMode::Exclusive | LockMode::ShareRowExclusive | LockMode::Share => Blocks::Writes,
            _ => Blocks::SchemaChanges,
        }
    }
}

impl std::fmt::Display for LockMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What application traffic waits on, in the words the report prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Blocks {
    #[serde(rename = "reads and writes")]
    ReadsAndWrites,
    #[serde(rename = "writes")]
    Writes,
    /// Only DDL and maintenance (VACUUM, CREATE INDEX) wait.
    #[serde(rename = "schema changes")]
    SchemaChanges,
    /// No lock worth reporting: the finding is about failure or data loss.
    #[serde(rename = "nothing")]
    Nothing,
}

impl Blocks {
    pub fn as_str(self) -> &'static str {
        match self {
            Blocks::ReadsAndWrites => "reads and writes",
            Blocks::Writes => "writes",
            Blocks::SchemaChanges => "schema changes",
            Blocks::Nothing => "nothing",
        }
    }
}

/// What kind of harm a finding is about: the report groups and words them by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Traffic waits on a lock, a rewrite or a scan.
    Lock,
    /// The statement fails (here, or on a table with rows).
    Failure,
    /// Clients written for the old schema break, though nothing waits.
    Compatibility,
    /// Rows are destroyed.
    DataLoss,
    /// Works, but a better form exists (cost later, not now).
    Style,
}

/// One problem a lock rule found in one statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockFinding {
    /// The rule's stable code, e.g. "CREATE_INDEX_NOT_CONCURRENTLY".
    pub code: &'static str,
    pub severity: Severity,
    pub category: Category,
    /// What happens, naming the table/column.
    pub message: String,
    /// The table lock the statement takes, when that is the problem.
    pub lock_mode: Option<LockMode>,
    /// Every row is rewritten (new relfilenode) while the lock is held.
    pub rewrites_table: bool,
    /// Every row is read while the lock is held.
    pub scans_table: bool,
    pub blocks: Blocks,
    /// The safe way, as concrete SQL where the facts allow it.
    pub recipe: String,
    pub step: String,
    /// The offending statement's text.
    pub statement: String,
}

impl LockFinding {
    /// A finding with the rule's default severity and no lock; refine with the
    /// builder methods below.
    pub(crate) fn new(doc: &RuleDoc, s: &StatementFacts, message: String, recipe: String) -> Self {
        LockFinding {
            code: doc.code,
            severity: doc.severity,
            category: doc.category,
            message,
            lock_mode: None,
            rewrites_table: false,
            scans_table: false,
            blocks: Blocks::Nothing,
            recipe,
            step: s.step.clone(),
            statement: s.sql.clone(),
        }
    }

    pub(crate) fn lock(mut self, mode: LockMode) -> Self {
        self.lock_mode = Some(mode);
        self.blocks = mode.blocks();
        self
    }

    /// A rewrite reads every row too.
    pub(crate) fn rewrites(mut self) -> Self {
        self.rewrites_table = true;
        self.scans_table = true;
        self
    }

    pub(crate) fn scans(mut self) -> Self {
        self.scans_table = true;
        self
    }

    pub(crate) fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sql_and_c_spellings() {
        assert_eq!(
            LockMode::parse("share row exclusive"),
            Some(LockMode::ShareRowExclusive)
        );
        assert_eq!(
            LockMode::parse("AccessExclusiveLock"),
            Some(LockMode::AccessExclusive)
        );
        assert_eq!(LockMode::parse("SHARE"), Some(LockMode::Share));
        assert_eq!(LockMode::parse("sharing"), None);
        for m in LockMode::ALL {
            assert_eq!(LockMode::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }

    #[test]
    fn only_access_exclusive_blocks_reads() {
        assert_eq!(LockMode::AccessExclusive.blocks(), Blocks::ReadsAndWrites);
        assert_eq!(LockMode::Share.blocks(), Blocks::Writes);
        assert_eq!(
            serde_json::to_value(Blocks::ReadsAndWrites).unwrap(),
            Blocks::ReadsAndWrites.as_str()
        );
        assert_eq!(
            LockMode::ShareUpdateExclusive.blocks(),
            Blocks::SchemaChanges
        );
    }
}
