//! One execution of a run's compiled statement with its bounds bound: what a batch, a
//! skipped item's retry and a dead letter's replay all do. Below `batch` and
//! `dead_letters`, so that neither needs the other for it.
use super::compiled::Compiled;
use crate::catalog::PipelineRunId;
use crate::errors::{MeError, MeResult};
use crate::spi::subxact::Aborted;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

/// What a batch binds to its run's statement ($2, $3, $5): the only part that changes
/// from one batch to the next.
pub struct Bounds {
    /// the last entity of the previous batch (None: from the start)
    pub after: Option<Uuid>,
    pub limit: i64,
    /// only this entity (the item-by-item runs of SKIP and replay)
    pub only: Option<Uuid>,
}

impl Bounds {
    /// One item, by its id.
    pub fn item(id: Uuid) -> Self {
        Bounds {
            after: None,
            limit: 1,
            only: Some(id),
        }
    }
}

pub struct BatchOutcome {
    pub last: Option<Uuid>,
    /// items the batch selected (a batch smaller than the batch size is the last one)
    pub selected: i64,
    /// [min, max] version_id of the rows the batch wrote (history undo finds them by it)
    pub written_range: Value,
    pub counts: Vec<i64>,
    pub changed: i64,
    pub written: i64,
}

/// The run's statement with `b` bound; its validation refusals as errors.
pub fn run_statement(c: &Compiled, run_id: PipelineRunId, b: &Bounds) -> MeResult<BatchOutcome> {
    let args = [
        c.pipeline.source.entity_type.as_str().into(),
        b.after.into(),
        b.limit.into(),
        run_id.into(),
        b.only.into(),
    ];
    let (last, counts, changed, written, inbad, outbad, range) = Spi::connect_mut(|client| {
        let t = client.update(&c.sql, Some(1), &args)?;
        let r = t.first();
        Ok::<_, pgrx::spi::Error>((
            r.get::<Uuid>(1)?,
            r.get::<JsonB>(2)?.map(|j| j.0).unwrap_or(Value::Null),
            r.get::<i64>(3)?.unwrap_or(0),
            r.get::<i64>(4)?.unwrap_or(0),
            r.get::<Vec<String>>(5)?,
            r.get::<Vec<String>>(6)?,
            r.get::<JsonB>(7)?.map(|j| j.0).unwrap_or(Value::Null),
        ))
    })?;
    if let Some(ids) = inbad {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!(
                "validation.input does not hold for entities {}",
                ids.join(", ")
            ),
        ));
    }
    if let Some(ids) = outbad {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!(
                "validation.output does not hold for entities {}",
                ids.join(", ")
            ),
        ));
    }
    let counts: Vec<i64> = counts
        .as_array()
        .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(0)).collect())
        .unwrap_or_default();
    Ok(BatchOutcome {
        last,
        selected: counts.first().copied().unwrap_or(0),
        written_range: range,
        counts,
        changed,
        written,
    })
}

pub fn error_text(e: Aborted<MeError>) -> (String, String) {
    match e {
        Aborted::Raised(c) => (c.message.clone(), c.sqlstate()),
        Aborted::Returned(m) => (
            m.message.clone(),
            crate::spi::subxact::sqlstate_text(m.code),
        ),
    }
}
