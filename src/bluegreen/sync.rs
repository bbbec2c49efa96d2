//! Keeping a target in sync with its source across transactions (a canary): the
//! source logs every write, each tick replays it; finalize switches, stop_sync ends it.
use super::capture::{discard, replay, set_capture_all};
use super::copy::tables;
use super::switch::{self, switch, CatchUpPhase};
use super::transforms::apply_transforms;
use crate::catalog::MigrationId;
use crate::catalog::MigrationRow;
use crate::errors::MeResult;
use migration_engine_core::rollout::blue_green::BlueGreenOptions;
use serde_json::Value;

/// From now on the source logs every write ('always': the capture fence ends with this
/// transaction) and the target takes no direct writes (only replays): the canary keeps
/// them in sync by replaying at each tick.
pub(super) fn start_sync(source: &str, target: &str, o: &BlueGreenOptions) -> MeResult<()> {
    set_capture_all(source, "always", o)?;
    for t in tables(target)? {
        switch::retire(target, &t, source)?;
    }
    Ok(())
}

/// Replay what the source logged into the target, through the migration's TRANSFORM
/// steps (a canary tick). Returns the changes replayed.
pub(crate) fn sync(source: &str, target: &str, transforms: &[Value]) -> MeResult<i64> {
    let o = BlueGreenOptions::default();
    replay(
        source,
        target,
        o.replay_batch,
        !transforms.is_empty(),
        &mut || apply_transforms(target, transforms),
    )
}

/// The switch that finalizes a canary.
pub(crate) fn finalize(
    source: &str,
    target: &str,
    migration_id: MigrationId,
    transforms: &[Value],
) -> MeResult<Value> {
    let o = BlueGreenOptions::default();
    switch(
        source,
        target,
        Some(migration_id),
        &o,
        |phase| match phase {
            // the canary's ticks kept the target in sync until now
            CatchUpPhase::BeforeFreeze => Ok(0),
            _ => sync(source, target, transforms),
        },
    )
}

/// Stop syncing after a canary rolled back: the source logs only under a fence again,
/// its log is dropped; the target stays (retired) for inspection.
pub(crate) fn stop_sync(source: &str) -> MeResult<()> {
    set_capture_all(source, "gated", &BlueGreenOptions::default())?;
    discard(source)?;
    crate::catalog::mark_blue_green_ended()?;
    Ok(())
}

/// The pipelines of a migration's TRANSFORM steps.
pub(crate) fn transforms_of(row: &MigrationRow) -> Vec<Value> {
    row.definition
        .forward
        .iter()
        .filter_map(|s| s.kind.transform_pipeline())
        .map(|pipeline| Value::Object(pipeline.clone()))
        .collect()
}
