//! Undoing a pipeline run exactly. History mode: every version the run created that is
//! still current is closed, and the content it replaced becomes current again (as a new
//! version, so the history shows the run and its undo). Patch mode: the per-entity
//! records (migration_execution_state: old_value / new_value) put the old content back.
//! Entities written by someone else since the run are not clobbered: they are reported
//! as conflicts and left alone.
use crate::catalog::MigrationId;
use crate::catalog::PipelineRunId;
use crate::catalog::{completed_runs_of_migration, load_pipeline_run, transition_pipeline_run};
use crate::errors::{MeError, MeResult};
use crate::spi::temporal::{close_at_of, current_of, qualified, ENTITIES};
use crate::spi::{audit, quoted_ident};
use migration_engine_core::engine::state::PipelineRunStatus;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

pub fn undo(run_id: PipelineRunId) -> MeResult<Value> {
    let _rewriting = crate::graph::history::RewritingHistory::enter();
    let run = load_pipeline_run(run_id, true)?;
    if run.status == PipelineRunStatus::Undone {
        return Err(MeError::prerequisite(format!(
            "pipeline run {run_id} was already undone"
        )));
    }
    let table = qualified(&quoted_ident("data schema", &run.data_schema)?, ENTITIES);
    let (n_current, t_current, t_close_at) = (current_of("n"), current_of("t"), close_at_of("t"));
    let sql = if run.mode == "history" {
        format!(
            "WITH batches AS (SELECT written_at, min_version_id, max_version_id FROM migration_engine.pipeline_batches \
                              WHERE run_id = $1 AND min_version_id IS NOT NULL), \
             pairs AS ( \
                 SELECT n.version_id AS new_vid, n.entity_id, {n_current} AS current, o.content AS old_content, o.metadata AS old_metadata \
                 FROM {table} n \
                 JOIN LATERAL (SELECT content, metadata FROM {table} o WHERE o.entity_id = n.entity_id AND o.version_id < n.version_id \
                               AND o.valid_to = n.valid_from ORDER BY o.version_id DESC LIMIT 1) o ON true \
                 JOIN batches bt ON n.version_id BETWEEN bt.min_version_id AND bt.max_version_id AND n.valid_from = bt.written_at \
                 WHERE n.entity_type = $2 AND NOT n.is_deleted), \
             closed AS (UPDATE {table} t SET valid_to = {t_close_at} FROM pairs p \
                        WHERE t.version_id = p.new_vid AND p.current AND {t_current} \
                        RETURNING t.entity_id, p.old_content, p.old_metadata, t.valid_to), \
             reopened AS (INSERT INTO {table} (entity_id, entity_type, content, metadata, valid_from) \
                          SELECT entity_id, $2, old_content, old_metadata, valid_to FROM closed RETURNING entity_id) \
             SELECT (SELECT count(*) FROM reopened), \
                    (SELECT coalesce(jsonb_agg(entity_id), '[]') FROM (SELECT entity_id FROM pairs WHERE NOT current LIMIT 100) c), \
                    (SELECT count(*) FROM pairs WHERE NOT current)"
        )
    } else {
        format!(
            "WITH recs AS (SELECT DISTINCT ON (entity_id) entity_id, old_value, new_value FROM migration_engine.migration_execution_state \
                           WHERE pipeline_run_id = $1 ORDER BY entity_id, completed_at DESC), \
             restored AS (UPDATE {table} t SET content = r.old_value FROM recs r \
                          WHERE t.entity_id = r.entity_id AND {t_current} AND t.entity_type = $2 AND t.content = r.new_value \
                          RETURNING t.entity_id), \
             conflicts AS (SELECT r.entity_id FROM recs r WHERE NOT EXISTS (SELECT 1 FROM restored x WHERE x.entity_id = r.entity_id)) \
             SELECT (SELECT count(*) FROM restored), \
                    (SELECT coalesce(jsonb_agg(entity_id), '[]') FROM (SELECT entity_id FROM conflicts LIMIT 100) c), \
                    (SELECT count(*) FROM conflicts)"
        )
    };
    let (restored, conflicts, conflict_count) = Spi::connect_mut(|c| {
        let t = c.update(
            &sql,
            Some(1),
            &[run_id.into(), run.entity_type.as_str().into()],
        )?;
        let r = t.first();
        Ok::<_, pgrx::spi::Error>((
            r.get::<i64>(1)?.unwrap_or(0),
            r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(json!([])),
            r.get::<i64>(3)?.unwrap_or(0),
        ))
    })?;
    transition_pipeline_run(&run, PipelineRunStatus::Undone, None)?;
    let result = json!({"run_id": run_id.to_string(), "mode": run.mode, "restored": restored,
        "conflicts": conflict_count, "conflicting_entity_ids": conflicts, "success": conflict_count == 0});
    audit("pipeline_undone", "pipeline_run", &run.name, result.clone())?;
    Ok(result)
}

/// Undo the pipeline runs a migration's TRANSFORM steps made, newest first.
pub fn undo_migration_runs(migration_id: MigrationId) -> MeResult<Vec<Value>> {
    let runs = completed_runs_of_migration(migration_id)?;
    runs.into_iter().map(undo).collect()
}
