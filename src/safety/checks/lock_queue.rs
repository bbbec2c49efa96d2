//! LockQueueCheck: sessions that would block the migration's locks right now (holding
//! locks on the tables it touches), long-running or idle in transaction.
use crate::errors::MeResult;
use crate::safety::{Context, SafetyCheck};
use crate::spi::first_value;
use migration_engine_core::safety::codes::BLOCKING_SESSIONS;
use migration_engine_core::safety::{CheckResult, Issue, Severity};
use pgrx::JsonB;
use serde_json::json;

pub struct LockQueueCheck;

impl SafetyCheck for LockQueueCheck {
    fn name(&self) -> &'static str {
        "LockQueueCheck"
    }

    fn run(&self, ctx: &Context) -> MeResult<CheckResult> {
        let mut tables: Vec<String> = ctx
            .forward
            .iter()
            .flat_map(|s| s.target_tables())
            .map(str::to_string)
            .collect();
        tables.sort();
        tables.dedup();
        let mut issues = Vec::new();
        if !tables.is_empty() {
            let sessions = first_value::<JsonB>(
                "SELECT jsonb_agg(DISTINCT jsonb_build_object('pid', a.pid, 'state', a.state, 'table', c.relname, \
                        'lock_mode', l.mode, 'transaction_age_s', round(extract(epoch FROM now() - a.xact_start)::numeric, 1), \
                        'user', a.usename)) \
                 FROM pg_catalog.pg_locks l \
                 JOIN pg_catalog.pg_class c ON c.oid = l.relation \
                 JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.granted AND l.pid <> pg_catalog.pg_backend_pid() \
                   AND c.oid = ANY (SELECT CASE WHEN strpos(t, '.') > 0 THEN pg_catalog.to_regclass(t) \
                        ELSE coalesce(pg_catalog.to_regclass(pg_catalog.quote_ident($2) || '.' || t), pg_catalog.to_regclass('public.' || t)) END \
                        FROM unnest($1::text[]) t)",
                &[tables.clone().into(), ctx.data_schema.as_str().into()],
            )?;
            if let Some(JsonB(list)) = sessions {
                if let Some(items) = list.as_array().filter(|a| !a.is_empty()) {
                    let pids: Vec<String> = items.iter().map(|s| s["pid"].to_string()).collect();
                    issues.push(
                        Issue::new(
                            Severity::High,
                            BLOCKING_SESSIONS,
                            format!("{} session(s) hold locks on tables this migration changes (pids {})", items.len(), pids.join(", ")),
                        )
                        .with_details(json!({"sessions": items})),
                    );
                }
            }
        }
        Ok(CheckResult::new(self.name(), issues))
    }
}
