//! The switch back's replay: the writes made in the schema being left come back to the
//! previous one through the rollback TRANSFORM steps of the migration that built it, so
//! they arrive in the old format (the core's `plan_back_replay` decides, per round).
use super::capture::{replay_table, Replayer};
use super::switch::CatchUpPhase;
use super::transforms::apply_transforms;
use crate::errors::{MeError, MeResult};
use crate::spi::first_value;
use crate::spi::temporal::ENTITIES;
use migration_engine_core::rollout::blue_green::{catch_up_step, BlueGreenOptions, CatchUp};
use migration_engine_core::rollout::switch_back::{
    plan_back_replay, plan_forward_replay, BackReplay, Formats,
};
use serde_json::Value;

/// What the migration that built the schema being left declares about formats.
struct BackTransforms {
    migration: Option<String>,
    formats: Formats,
    /// the pipelines of its rollback TRANSFORM steps
    pipelines: Vec<Value>,
}

impl BackTransforms {
    /// Of the migration recorded as having built the active schema (none for a plain
    /// switch, or once that migration is no longer COMPLETED).
    fn of_active_schema() -> MeResult<BackTransforms> {
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
        let forward_transforms = forward_transforms(&row);
        Ok(BackTransforms {
            migration: Some(name),
            formats: Formats {
                forward_transforms,
                rollback_transforms: pipelines.len(),
            },
            pipelines,
        })
    }

    /// A switch forward again to `target` (no migration built the schema being left):
    /// the migration that built `target`, and its TRANSFORM steps' count.
    fn built(target: &str) -> MeResult<Option<(String, usize)>> {
        let Some(name) = crate::catalog::migration_that_built(target)? else {
            return Ok(None);
        };
        let transforms = forward_transforms(&crate::catalog::load(&name, false)?);
        Ok(Some((name, transforms)))
    }

    fn plan(&self, entity_writes: i64, untransformed: bool) -> MeResult<BackReplay> {
        plan_back_replay(
            self.migration.as_deref(),
            self.formats,
            entity_writes,
            untransformed,
        )
        .map_err(|r| MeError::prerequisite(r.message).hint(r.hint))
    }
}

/// The replay of a switch back, from the schema being left (`from`) into the previous
/// one (`to`), round after round across the switch's phases.
pub(super) struct SwitchBack<'a> {
    from: &'a str,
    to: &'a str,
    o: &'a BlueGreenOptions,
    untransformed: bool,
    back: BackTransforms,
    /// switching forward again: the migration that built the target and its TRANSFORM
    /// steps, which would not run on the writes brought there
    forward: Option<(String, usize)>,
    replayer: Replayer,
    /// how the writes came back (the answer of the rounds that held entity writes)
    pub(super) how: Option<BackReplay>,
}

impl<'a> SwitchBack<'a> {
    /// Refused here, before a row is replayed, when the writes waiting would come back in
    /// the new format (the replay itself would fail on them, or land them).
    pub(super) fn new(
        from: &'a str,
        to: &'a str,
        o: &'a BlueGreenOptions,
        untransformed: bool,
    ) -> MeResult<SwitchBack<'a>> {
        let back = BackTransforms::of_active_schema()?;
        let forward = match back.migration {
            Some(_) => None,
            None => BackTransforms::built(to)?,
        };
        let waiting = entity_writes(from, false)?;
        back.plan(waiting, untransformed)?;
        refuse_forward(&forward, to, waiting)?;
        // a transformation made versions of its own on either side: a replayed current
        // version must close the one the target holds
        let transformed =
            back.formats.forward_transforms > 0 || back.formats.rollback_transforms > 0;
        Ok(SwitchBack {
            replayer: Replayer::new(from, to, o.replay_batch, transformed)?,
            from,
            to,
            o,
            untransformed,
            back,
            forward,
            how: None,
        })
    }

    /// The switch's catch-up: before the freeze, rounds until at most `maxLagRows`
    /// changes wait (or `maxCatchUpRounds` ran: the freeze then takes the rest, since a
    /// switch back is not given up for traffic); one round between freeze attempts;
    /// everything under the freeze.
    pub(super) fn catch_up(&mut self, phase: CatchUpPhase) -> MeResult<i64> {
        match phase {
            CatchUpPhase::Frozen => self.rounds(None),
            CatchUpPhase::BetweenAttempts => self.rounds(Some(1)),
            CatchUpPhase::BeforeFreeze => {
                let (mut replayed, mut rounds) = (0, 0);
                while catch_up_step(self.replayer.backlog()?.max(0) as u64, rounds, self.o)
                    == CatchUp::Replay
                {
                    replayed += self.rounds(Some(1))?;
                    rounds += 1;
                }
                Ok(replayed)
            }
        }
    }

    /// Each round's entities go through the rollback transformations, or the round is
    /// refused when they would arrive in the new format (a write committed since the
    /// check in `new`); a refusal is an error, and the caller's transaction takes back
    /// whatever was replayed before it.
    fn rounds(&mut self, rounds: Option<u32>) -> MeResult<i64> {
        let SwitchBack {
            from,
            to,
            untransformed,
            back,
            forward,
            replayer,
            how,
            ..
        } = self;
        // only a refusal depends on what still waits in the log; otherwise the round's
        // own entities are enough to say how they came back
        let may_refuse = forward.as_ref().is_some_and(|(_, n)| *n > 0)
            || (back.formats.forward_transforms > 0
                && (back.formats.rollback_transforms == 0 || *untransformed));
        replayer.run(rounds, &mut || {
            let writes = if may_refuse {
                entity_writes(from, true)?
            } else {
                round_entity_writes()?
            };
            let decided = back.plan(writes, *untransformed)?;
            refuse_forward(forward, to, writes)?;
            if decided == BackReplay::Transformed {
                apply_transforms(to, &back.pipelines)?;
            }
            if writes > 0 {
                *how = Some(decided);
            }
            Ok(())
        })
    }
}

/// How many of a migration's forward steps are TRANSFORM steps.
fn forward_transforms(row: &crate::catalog::MigrationRow) -> usize {
    row.definition
        .forward
        .iter()
        .filter(|s| s.kind.transform_pipeline().is_some())
        .count()
}

/// Switching forward again: refused when entities were written meanwhile (see
/// `plan_forward_replay`).
fn refuse_forward(forward: &Option<(String, usize)>, target: &str, writes: i64) -> MeResult<()> {
    match forward {
        Some((name, transforms)) => plan_forward_replay(name, target, *transforms, writes)
            .map_err(|r| MeError::prerequisite(r.message).hint(r.hint)),
        None => Ok(()),
    }
}

/// The entities of this round's replay table.
fn round_entity_writes() -> MeResult<i64> {
    Ok(first_value::<i64>(
        &format!(
            "SELECT count(DISTINCT row_data ->> 'entity_id') FROM {} WHERE table_name = '{ENTITIES}'",
            replay_table()?
        ),
        &[],
    )?
    .unwrap_or(0))
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
