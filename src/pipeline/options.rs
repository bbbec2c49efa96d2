//! The options of execute_pipeline and CALL run_pipeline: which keys each takes, what
//! they mean, and their refusals. A run keeps its options; they are read again only
//! when a session that did not begin the run picks it up.
use super::statement::Mode;
use crate::errors::{MeError, MeResult};
use serde_json::Value;

/// The options execute_pipeline takes; pipeline_begin (CALL run_pipeline) also takes
/// `resume`.
pub const EXECUTE_OPTION_KEYS: &[&str] =
    &["mode", "trackChanges", "batchSize", "preview", "dryRun"];
pub const BEGIN_OPTION_KEYS: &[&str] = &["mode", "trackChanges", "batchSize", "resume"];

/// A run's stored options were checked by the call that started it.
pub fn stored_option_keys() -> Vec<&'static str> {
    [EXECUTE_OPTION_KEYS, BEGIN_OPTION_KEYS].concat()
}

/// The most rows a preview shows (each is decoded and returned whole).
const MAX_PREVIEW: i64 = 10_000;

pub struct PipelineOptions {
    pub mode: Mode,
    pub track: bool,
    pub batch_size: Option<u32>,
}

impl PipelineOptions {
    /// `known`: the keys the calling function takes (see `EXECUTE_OPTION_KEYS`).
    pub fn parse(v: &Value, known: &[&str]) -> MeResult<Self> {
        let obj = crate::spi::args::options_object(v, known)?;
        let mode = match obj.get("mode").and_then(Value::as_str) {
            None | Some("history") => Mode::History,
            Some("patch") => Mode::Patch,
            Some(other) => {
                return Err(MeError::invalid_parameter(format!(
                    "options.mode must be \"history\" or \"patch\", not {other:?}"
                )))
            }
        };
        let track = match obj.get("trackChanges") {
            None | Some(Value::Null) => mode == Mode::Patch,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(MeError::invalid_parameter(
                    "options.trackChanges must be true or false",
                ))
            }
        };
        let batch_size = match obj.get("batchSize") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| *n > 0 && *n <= 1_000_000)
                    .ok_or_else(|| {
                        MeError::invalid_parameter(
                            "options.batchSize must be a whole number from 1 to 1000000",
                        )
                    })? as u32,
            ),
        };
        Ok(PipelineOptions {
            mode,
            track,
            batch_size,
        })
    }
}

/// execute_pipeline's `preview` (or `dryRun`, ten rows): how many items to show before
/// and after, nothing written; `None` for a real run.
pub fn preview_rows(options: &Value) -> MeResult<Option<i64>> {
    if let Some(v) = options.get("preview").filter(|v| !v.is_null()) {
        let n = v.as_i64().filter(|n| (0..=MAX_PREVIEW).contains(n));
        return n.map(Some).ok_or_else(|| {
            MeError::invalid_parameter(format!(
                "options.preview must be a whole number of rows from 0 to {MAX_PREVIEW}, not {v}"
            ))
            .hint("preview: 10 shows the first ten rows before and after; nothing is written.")
        });
    }
    match options.get("dryRun") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
        Some(Value::Bool(true)) => Ok(Some(10)),
        Some(v) => Err(MeError::invalid_parameter(format!(
            "options.dryRun must be true or false, not {v}"
        ))),
    }
}
