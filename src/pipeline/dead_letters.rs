//! Item errors under SKIP: the batch again item by item, each in a subtransaction, the
//! items that fail kept in `pipeline_dead_letters` (with the step that fails on them);
//! and the replay of a run's dead letters as a new run.
use super::compiled::{begin, compile, Compiled};
use super::execution::{error_text, run_statement, BatchOutcome, Bounds};
use super::options::{stored_option_keys, PipelineOptions};
use super::parse::parse;
pub use crate::catalog::DeadLetter;
use crate::catalog::PipelineRunId;
use crate::catalog::{
    complete_replay_run, dead_letters, insert_dead_letter, load_pipeline_run,
    mark_dead_letter_replayed, NewDeadLetter,
};
use crate::errors::MeResult;
use crate::spi::subxact::atomically;
use migration_engine_core::pipeline::{compile_segment, Pipeline, StepAction};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// The first step that raises for this item (dead letters name it). Compiles its
/// probes here, for an item that failed only: naming the step is diagnosis, not part of
/// a batch.
fn failing_step(p: &Pipeline, content: &Value) -> Option<String> {
    for k in 0..p.steps.len() {
        if matches!(
            p.steps[k].action,
            StepAction::Join(_) | StepAction::Aggregate(_)
        ) {
            continue;
        }
        let expr = compile_segment(p, 0..k + 1, "$1::jsonb").ok()?;
        let r = atomically(|| {
            Spi::get_one_with_args::<JsonB>(
                &format!("SELECT {expr}"),
                &[JsonB(content.clone()).into()],
            )
        });
        if r.is_err() {
            return Some(p.steps[k].name.clone());
        }
    }
    None
}

fn widen(a: &Value, b: &Value) -> Value {
    let pick = |i: usize, f: fn(i64, i64) -> i64| match (a[i].as_i64(), b[i].as_i64()) {
        (Some(x), Some(y)) => json!(f(x, y)),
        (Some(x), None) | (None, Some(x)) => json!(x),
        _ => Value::Null,
    };
    json!([pick(0, i64::min), pick(1, i64::max)])
}

/// SKIP: the batch `b` again, item by item; failing items go to the dead-letter table.
/// Returns the batch's outcome and how many items failed.
pub fn skip_items(
    c: &Compiled,
    run_id: PipelineRunId,
    b: &Bounds,
) -> MeResult<(BatchOutcome, i64)> {
    // the same items the batch statement selected: same keyset, same source filter
    let items = Spi::connect(|client| {
        let rows = client.select(
            &c.items_sql,
            None,
            &[
                c.pipeline.source.entity_type.as_str().into(),
                b.after.into(),
                b.limit.into(),
            ],
        )?;
        let mut out = Vec::new();
        for r in rows {
            out.push((
                r.get::<Uuid>(1)?.expect("id"),
                r.get::<i64>(2)?,
                r.get::<JsonB>(3)?.map(|j| j.0).unwrap_or(Value::Null),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })?;
    let mut total = BatchOutcome {
        last: items.last().map(|i| i.0),
        selected: items.len() as i64,
        written_range: json!([null, null]),
        counts: Vec::new(),
        changed: 0,
        written: 0,
    };
    let mut failed = 0;
    for (id, version, content) in items {
        match atomically(|| run_statement(c, run_id, &Bounds::item(id))) {
            Ok(o) => {
                total.written_range = widen(&total.written_range, &o.written_range);
                total.changed += o.changed;
                total.written += o.written;
                if total.counts.len() < o.counts.len() {
                    total.counts.resize(o.counts.len(), 0);
                }
                for (sum, n) in total.counts.iter_mut().zip(o.counts) {
                    *sum += n;
                }
            }
            Err(e) => {
                failed += 1;
                let (message, sqlstate) = error_text(e);
                insert_dead_letter(NewDeadLetter {
                    run_id,
                    pipeline_name: &c.pipeline.name,
                    step_name: failing_step(&c.pipeline, &content),
                    entity_id: id,
                    version_id: version,
                    error: &message,
                    sqlstate: &sqlstate,
                    original_content: content,
                })?;
            }
        }
    }
    Ok((total, failed))
}

/// The first ten dead letters of a run, for execute_pipeline's `errors_sample`.
pub fn sample(run_id: PipelineRunId) -> MeResult<Vec<DeadLetter>> {
    dead_letters(run_id, false, Some(10))
}

/// Re-run a run's pipeline for the items it dead-lettered (after the data or the
/// pipeline was fixed): each item in its own subtransaction, as a new run; items that
/// succeed are marked replayed, the others stay with their new error.
pub fn replay(run_id: PipelineRunId) -> MeResult<Value> {
    // locked: a second replay of the same run waits, then finds nothing open
    let run = load_pipeline_run(run_id, true)?;
    let (definition, options) = (&run.definition, &run.options);
    let letters = dead_letters(run_id, true, None)?;
    let opts = PipelineOptions::parse(options, &stored_option_keys())?;
    let (new_run, c) = begin(
        compile(parse(definition)?, &opts)?,
        definition,
        options,
        None,
    )?;
    let (mut replayed, mut failed) = (0i64, Vec::new());
    for letter in letters {
        match atomically(|| run_statement(&c, new_run, &Bounds::item(letter.entity_id))) {
            Ok(_) => {
                replayed += 1;
                mark_dead_letter_replayed(letter.dead_letter_id)?;
            }
            Err(e) => failed
                .push(json!({"entity_id": letter.entity_id.to_string(), "error": error_text(e).0})),
        }
    }
    complete_replay_run(new_run, replayed, failed.len() as i64)?;
    Ok(json!({"run_id": new_run.to_string(), "replayed": replayed, "still_failing": failed}))
}
