//! The switch back's replay: the writes made in the schema being left come back to the
//! previous one through the rollback TRANSFORM steps of the migration that built it, so
//! they arrive in the old format (the core's `plan_back_replay` decides, per round).
use super::capture::{replay, replay_table};
use super::transforms::apply_transforms;
use crate::errors::{MeError, MeResult};
use crate::spi::first_value;
use crate::spi::temporal::ENTITIES;
use migration_engine_core::rollout::blue_green::BlueGreenOptions;
use migration_engine_core::rollout::switch_back::{plan_back_replay, BackReplay, Formats};
use serde_json::Value;

/// What the migration that built the schema being left declares about formats.
pub(super) struct BackTransforms {
    migration: Option<String>,
    formats: Formats,
    /// the pipelines of its rollback TRANSFORM steps
    pipelines: Vec<Value>,
}

impl BackTransforms {
    /// Of the migration recorded as having built the active schema (none for a plain
    /// switch, or once that migration is no longer COMPLETED).
    pub(super) fn of_active_schema() -> MeResult<BackTransforms> {
        let Some(name) = crate::catalog::completed_migration_of_active_schema()? else {
            return Ok(BackTransforms {
                migration: None,
                formats: Formats::default(),
                pipelines: vec![],
            });
        };
        let row = crate::catalog::load(&name, false)?;
        let pipelines: Vec<Value> = row
            .definition
            .rollback
            .iter()
            .filter_map(|s| s.kind.transform_pipeline())
            .map(|p| Value::Object(p.clone()))
            .collect();
        let forward_transforms = row
            .definition
            .forward
            .iter()
            .filter(|s| s.kind.transform_pipeline().is_some())
            .count();
        Ok(BackTransforms {
            migration: Some(name),
            formats: Formats {
                forward_transforms,
                rollback_transforms: pipelines.len(),
            },
            pipelines,
        })
    }
}

/// Replay what `from` logged into `to` (all of it: the switch calls this until and under
/// its freeze). Each round's entities go through the rollback transformations, or the
/// round is refused when they would arrive in the new format; a refusal is an error, and
/// the caller's transaction takes back whatever was replayed before it.
pub(super) fn replay_back(
    from: &str,
    to: &str,
    o: &BlueGreenOptions,
    untransformed: bool,
    back: &BackTransforms,
    how: &mut Option<BackReplay>,
) -> MeResult<i64> {
    let plan = |writes| {
        plan_back_replay(
            back.migration.as_deref(),
            back.formats,
            writes,
            untransformed,
        )
        .map_err(|r| MeError::prerequisite(r.message).hint(r.hint))
    };
    // refused before a row is replayed: the replay itself would fail on, or land, them
    plan(entity_writes(from, false)?)?;
    // a transformation made versions of its own on either side: the replayed current
    // version must close the one the target holds
    let transformed = back.formats.forward_transforms > 0 || back.formats.rollback_transforms > 0;
    replay(from, to, o.replay_batch, transformed, &mut || {
        // a write committed since the check above is judged with its round
        let writes = entity_writes(from, true)?;
        let decided = plan(writes)?;
        if decided == BackReplay::Transformed {
            apply_transforms(to, &back.pipelines)?;
        }
        // the strongest answer of any round is the switch back's
        if writes > 0 || how.is_none() {
            *how = Some(decided);
        }
        Ok(())
    })
}

/// The entities written and still waiting in `from`'s log, and with `in_round`, those of
/// the round in the replay table (which exists once the replay has begun).
fn entity_writes(from: &str, in_round: bool) -> MeResult<i64> {
    let round = if in_round {
        format!(
            "SELECT row_data ->> 'entity_id' FROM {} WHERE table_name = '{ENTITIES}' UNION ALL ",
            replay_table()?
        )
    } else {
        String::new()
    };
    Ok(first_value::<i64>(
        &format!(
            "SELECT count(DISTINCT e) FROM ({round} \
                 SELECT row_data ->> 'entity_id' FROM migration_engine.change_log \
                 WHERE schema_name = $1 AND table_name = '{ENTITIES}') w(e)"
        ),
        &[from.into()],
    )?
    .unwrap_or(0))
}
