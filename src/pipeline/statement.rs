//! The batch statement: one SQL statement per batch that reads the next keyset batch of
//! current entities, runs every step over it set-based (each step one CTE, so per-step
//! counts come for free), checks the output, and writes what changed — new temporal
//! versions (history) or in place (patch). Postgres does the work in C.
use crate::errors::{MeError, MeResult};
use crate::spi::quoted_ident;
use crate::spi::temporal::{
    close_at_of, current_of, live_of, qualified, ENTITIES, LIVE, RELATIONS,
};
use migration_engine_core::engine::state::StepStatus;
use migration_engine_core::pipeline::relational::{Join, JoinOn};
use migration_engine_core::pipeline::{
    compile_pipeline, compile_segment, Pipeline, Quoter, StepAction,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    History,
    Patch,
}

pub struct BatchSql {
    pub sql: String,
}

fn compile_err(e: impl std::fmt::Display) -> MeError {
    MeError::invalid_parameter(format!("the pipeline cannot be compiled: {e}"))
}

fn path_literal(q: &Quoter, segments: &[&str]) -> MeResult<String> {
    q.text_array(segments).map_err(compile_err)
}

/// A JOIN step as a jsonb expression over `prev` (the item) for the entity `eid`.
fn join_expr(
    join: &Join,
    prev: &str,
    eid: &str,
    entities: &str,
    relations: &str,
) -> MeResult<String> {
    let q = Quoter;
    let (e_live, r_live) = (live_of("e"), live_of("r"));
    let related = match &join.on {
        JoinOn::Relation(rel) => format!(
            "SELECT e.content FROM {relations} r JOIN {entities} e ON e.entity_id = r.target_entity_id \
               AND {e_live} \
             WHERE r.source_entity_id = {eid} AND r.relation_type = {} AND {r_live} \
             ORDER BY r.relation_id LIMIT 1",
            q.literal(rel).map_err(compile_err)?
        ),
        JoinOn::Field { field, entity_type, target_field } => format!(
            "SELECT e.content FROM {entities} e WHERE e.entity_type = {} AND {e_live} \
               AND e.content #> {} = {prev} #> {} ORDER BY e.entity_id LIMIT 1",
            q.literal(entity_type).map_err(compile_err)?,
            path_literal(&q, &target_field.segments())?,
            path_literal(&q, &field.segments())?
        ),
    };
    let mut expr = "rel.v".to_string();
    for f in &join.fields {
        let from = path_literal(&q, &f.from.segments())?;
        let to = path_literal(&q, &f.to.segments())?;
        expr = format!("CASE WHEN rel.c #> {from} IS NULL THEN {expr} ELSE jsonb_set({expr}, {to}, rel.c #> {from}, true) END");
    }
    Ok(format!("CASE WHEN {prev} IS NULL THEN NULL ELSE (SELECT {expr} FROM (SELECT {prev} AS v, ({related}) AS c) rel) END"))
}

/// ` AND (<the source filter over content>)`, or nothing. One function for the batch
/// statement and for SKIP's item query: they must select the same items.
fn source_filter(p: &Pipeline) -> MeResult<String> {
    let sql = p
        .source
        .filter
        .as_ref()
        .map(|f| f.to_sql("content", &Quoter));
    Ok(sql
        .transpose()
        .map_err(compile_err)?
        .map(|f| format!(" AND ({f})"))
        .unwrap_or_default())
}

/// The items of a batch, read without running the steps: SKIP runs the batch statement
/// again for each of them. Parameters as the batch statement's $1, $2 and $3; built once
/// per run with its statement, so a failing batch compiles nothing.
pub fn items_sql(p: &Pipeline, schema: &str) -> MeResult<String> {
    let table = qualified(&quoted_ident("data schema", schema)?, ENTITIES);
    Ok(format!(
        "SELECT entity_id, version_id, content FROM {table} WHERE entity_type = $1 AND {LIVE} \
         AND ($2::uuid IS NULL OR entity_id > $2){} ORDER BY entity_id LIMIT $3",
        source_filter(p)?
    ))
}

/// Build the batch statement. Parameters: $1 entity type, $2 last entity id (keyset),
/// $3 batch size, $4 run id, $5 only this entity (NULL for all; SKIP's item-by-item runs).
pub fn build(
    p: &Pipeline,
    schema: &str,
    mode: Mode,
    write: bool,
    track: bool,
) -> MeResult<BatchSql> {
    build_with(p, schema, mode, write, track, false)
}

/// The batch statement over a list of entities: $5 is a uuid[] (blue-green replays the
/// migration's transformation on the entities written while it ran).
pub fn build_for_entities(p: &Pipeline, schema: &str, mode: Mode) -> MeResult<BatchSql> {
    build_with(p, schema, mode, true, false, true)
}

fn build_with(
    p: &Pipeline,
    schema: &str,
    mode: Mode,
    write: bool,
    track: bool,
    entity_list: bool,
) -> MeResult<BatchSql> {
    let only = if entity_list {
        "entity_id = ANY ($5::uuid[])"
    } else {
        "($5::uuid IS NULL OR entity_id = $5)"
    };
    let sch = quoted_ident("data schema", schema)?;
    let (entities, relations) = (qualified(&sch, ENTITIES), qualified(&sch, RELATIONS));
    let (t_current, t_close_at) = (current_of("t"), close_at_of("t"));
    let over_content = compile_pipeline(p, "content").map_err(compile_err)?;
    let over_v = compile_pipeline(p, "f.v").map_err(compile_err)?;
    let source_filter = source_filter(p)?;
    let mut ctes = vec![format!(
        "b AS (SELECT version_id, entity_id, content, metadata FROM {entities} \
           WHERE entity_type = $1 AND {LIVE} \
             AND ($2::uuid IS NULL OR entity_id > $2) AND {only}{source_filter} \
           ORDER BY entity_id LIMIT $3)"
    )];
    ctes.push(
        "s0 AS (SELECT version_id, entity_id, content, metadata, content AS v FROM b)".into(),
    );
    let mut counts = vec!["(SELECT count(*) FROM b)".to_string()];
    let mut step_names = Vec::new();
    for (k, step) in p.steps.iter().enumerate() {
        let prev = format!("s{k}");
        let expr = match &step.action {
            StepAction::Join(join) => join_expr(
                join,
                &format!("{prev}.v"),
                &format!("{prev}.entity_id"),
                &entities,
                &relations,
            )?,
            // AGGREGATE writes group entities after the batches; items pass through
            StepAction::Aggregate(_) => format!("{prev}.v"),
            _ => compile_segment(p, k..k + 1, &format!("{prev}.v")).map_err(compile_err)?,
        };
        ctes.push(format!(
            "s{n} AS (SELECT version_id, entity_id, content, metadata, {expr} AS v FROM {prev})",
            n = k + 1
        ));
        counts.push(format!("(SELECT count(v) FROM s{})", k + 1));
        step_names.push(step.name.clone());
    }
    let last = p.steps.len();
    ctes.push(format!(
        "fin AS (SELECT * FROM s{last} WHERE v IS NOT NULL AND v IS DISTINCT FROM content)"
    ));
    let input_bad = over_content
        .input_check_sql
        .map(|c| format!("SELECT entity_id FROM b WHERE NOT coalesce(({c}), false)"))
        .unwrap_or_else(|| "SELECT NULL::uuid AS entity_id WHERE false".into());
    let output_bad = over_v
        .output_check_sql
        .map(|c| format!("SELECT f.entity_id FROM fin f WHERE NOT coalesce(({c}), false)"))
        .unwrap_or_else(|| "SELECT NULL::uuid AS entity_id WHERE false".into());
    ctes.push(format!("inbad AS ({input_bad})"));
    ctes.push(format!("outbad AS ({output_bad})"));
    let ok = "NOT EXISTS (SELECT 1 FROM inbad) AND NOT EXISTS (SELECT 1 FROM outbad)";
    if write {
        match mode {
            Mode::History => {
                ctes.push(format!(
                    // a version written after this transaction began (a long run, a
                    // blue-green replay) is closed when it began, not before
                    "closed AS (UPDATE {entities} t SET valid_to = {t_close_at} FROM fin f \
                       WHERE t.version_id = f.version_id AND {t_current} AND {ok} RETURNING t.version_id, t.valid_to)"
                ));
                ctes.push(format!(
                    "written AS (INSERT INTO {entities} (entity_id, entity_type, content, metadata, valid_from) \
                       SELECT f.entity_id, $1, f.v, f.metadata, c.valid_to FROM fin f JOIN closed c USING (version_id) \
                       RETURNING version_id, entity_id, NULL::jsonb AS old, content AS new)"
                ));
            }
            Mode::Patch => {
                ctes.push(format!(
                    "written AS (UPDATE {entities} t SET content = f.v FROM fin f \
                       WHERE t.version_id = f.version_id AND {t_current} AND {ok} \
                       RETURNING t.version_id, t.entity_id, f.content AS old, f.v AS new)"
                ));
            }
        }
        if track {
            let names = Quoter
                .literal(&step_names.join(", "))
                .map_err(compile_err)?;
            let pname = Quoter.literal(&p.name).map_err(compile_err)?;
            let completed = Quoter
                .literal(StepStatus::Completed.as_str())
                .map_err(compile_err)?;
            ctes.push(format!(
                "tracked AS (INSERT INTO migration_engine.migration_execution_state \
                   (pipeline_run_id, run_id, direction, step_number, step_name, step_status, entity_id, old_value, new_value, \
                    transformation_applied, started_at, completed_at) \
                 SELECT $4, $4, 'pipeline', 0, {pname}, {completed}, entity_id, old, new, {names}, now(), clock_timestamp() \
                 FROM written RETURNING 1)"
            ));
        }
    } else {
        ctes.push("written AS (SELECT version_id, entity_id FROM fin WHERE false)".into());
    }
    let sql = format!(
        "WITH {} SELECT (SELECT entity_id FROM b ORDER BY entity_id DESC LIMIT 1), \
           jsonb_build_array({}), (SELECT count(*) FROM fin), (SELECT count(*) FROM written), \
           (SELECT array_agg(entity_id::text) FROM (SELECT entity_id FROM inbad LIMIT 5) x), \
           (SELECT array_agg(entity_id::text) FROM (SELECT entity_id FROM outbad LIMIT 5) y), \
           (SELECT jsonb_build_array(min(version_id), max(version_id)) FROM written)",
        ctes.join(",\n"),
        counts.join(", ")
    );
    Ok(BatchSql { sql })
}

/// Before/after pairs of the first `n` items (with whether each would change), nothing
/// written; an item a FILTER drops is shown unchanged, as the run would leave it.
pub fn preview_sql(p: &Pipeline, schema: &str) -> MeResult<String> {
    let built = build(p, schema, Mode::Patch, false, false)?;
    let with_end = built
        .sql
        .find(" SELECT (SELECT entity_id FROM b ORDER BY")
        .unwrap_or(built.sql.len());
    Ok(format!(
        "{} SELECT coalesce(jsonb_agg(jsonb_build_object('entity_id', entity_id, 'before', content, 'after', coalesce(v, content), \
                'changed', v IS NOT NULL AND v IS DISTINCT FROM content) ORDER BY entity_id), '[]') FROM s{}",
        &built.sql[..with_end],
        p.steps.len()
    ))
}
