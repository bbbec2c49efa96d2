//! A trial run for the safety checks: the forward steps in a subtransaction that is
//! always rolled back, with the relation locks they took read from pg_locks first.
use super::kinds::RunOptions;
use super::run::execute_step;
use crate::catalog::MigrationRow;
use crate::errors::MeResult;
use crate::spi::data_schema;
use crate::spi::subxact::{atomically, Aborted};
use pgrx::prelude::*;
use serde_json::json;

type Observed = (Vec<(String, String)>, Option<String>);

pub fn trial_run(row: &MigrationRow) -> MeResult<Observed> {
    let schema = data_schema()?;
    let opts = RunOptions::parse(&json!({"lockTimeout": 2000, "statementTimeout": 60000}))?;
    // locks this transaction already holds are not the migration's
    let before = held_locks();
    let outcome = atomically(|| -> Result<(), Observed> {
        let mut error = None;
        for (i, step) in row.definition.forward.iter().enumerate() {
            let r = execute_step(
                &format!("{}:trial", row.name),
                i as i32,
                step,
                &schema,
                &opts,
            );
            if let Some(e) = r.error {
                error = Some(format!("step {}: {}", step.name, e.message));
                break;
            }
        }
        let locks = held_locks()
            .into_iter()
            .filter(|l| !before.contains(l))
            .collect();
        Err((locks, error))
    });
    Ok(match outcome {
        Err(Aborted::Returned(observed)) => observed,
        Err(Aborted::Raised(e)) => (Vec::new(), Some(e.message)),
        Ok(()) => (Vec::new(), None),
    })
}

/// Relation locks this backend holds on user tables (regclass text, lock mode).
fn held_locks() -> Vec<(String, String)> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT l.relation::regclass::text, l.mode FROM pg_catalog.pg_locks l \
             JOIN pg_catalog.pg_class c ON c.oid = l.relation \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted \
               AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema', 'migration_engine') \
               AND c.relkind IN ('r', 'p', 'm') \
             ORDER BY 1, 2",
            None,
            &[],
        )?;
        let mut out = Vec::new();
        for r in rows {
            out.push((r.get::<String>(1)?.unwrap_or_default(), r.get::<String>(2)?.unwrap_or_default()));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_default()
}
