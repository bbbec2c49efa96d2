//! The migration's TRANSFORM steps applied to the entities a replay round brought over:
//! the same pipelines the target was migrated with, so that rows written on the source
//! during the run arrive in the target's format (used by the run and by the canary sync).
use super::capture;
use crate::errors::MeResult;
use crate::spi::first_value;
use crate::spi::temporal::{ENTITIES, OPEN_END};
use pgrx::Uuid;
use serde_json::Value;

/// The migration's transformation on the entities of this replay round.
pub(super) fn apply_transforms(target: &str, pipelines: &[Value]) -> MeResult<()> {
    if pipelines.is_empty() {
        return Ok(());
    }
    let ids = first_value::<Vec<Uuid>>(
        &format!(
            "SELECT array_agg(DISTINCT (row_data ->> 'entity_id')::uuid) FROM {} \
             WHERE table_name = '{ENTITIES}' AND operation <> 'D' AND row_data ->> 'valid_to' = {OPEN_END}",
            capture::replay_table()?
        ),
        &[],
    )?
    .unwrap_or_default();
    for p in pipelines {
        crate::pipeline::transform_entities(p, target, &ids)?;
    }
    Ok(())
}
