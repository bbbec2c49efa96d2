-- Transformation pipelines: runs (progress readable from other sessions), the batches
-- they wrote (for exact undo in history mode), and a dead-letter table for item errors.
CREATE TABLE migration_engine.pipeline_runs (
    run_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pipeline_name  text NOT NULL,
    definition     jsonb NOT NULL,
    options        jsonb NOT NULL DEFAULT '{}',
    mode           text NOT NULL CHECK (mode IN ('history', 'patch')),
    status         text NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'UNDONE')),
    data_schema    text NOT NULL,
    entity_type    text NOT NULL,
    last_entity_id uuid,
    total_rows     bigint,
    rows_done      bigint NOT NULL DEFAULT 0,
    rows_changed   bigint NOT NULL DEFAULT 0,
    rows_failed    bigint NOT NULL DEFAULT 0,
    batches        integer NOT NULL DEFAULT 0,
    longest_batch_ms double precision NOT NULL DEFAULT 0,
    step_counts    jsonb NOT NULL DEFAULT '{}',
    error          text,
    migration_id   uuid REFERENCES migration_engine.knowledge_migrations(migration_id) ON DELETE SET NULL,
    started_by     text NOT NULL DEFAULT current_user,
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at    timestamptz,
    -- the batch statement, compiled once when the run begins (every batch binds its
    -- keyset bounds to it), and its SHA-256 in hex, checked when a session reads it;
    -- NULL for a run begun before 0.2.0 (compiled at its next batch, then kept)
    batch_sql      text,
    batch_sql_hash text
);
SELECT pg_catalog.pg_extension_config_dump('migration_engine.pipeline_runs', '');

CREATE TABLE migration_engine.pipeline_batches (
    run_id      uuid NOT NULL REFERENCES migration_engine.pipeline_runs(run_id) ON DELETE CASCADE,
    batch_no    integer NOT NULL,
    written_at  timestamptz NOT NULL,   -- the batch transaction's now(): valid_from of what it wrote
    rows        integer NOT NULL,
    changed     integer NOT NULL,
    duration_ms double precision NOT NULL,
    min_version_id bigint,              -- the versions it wrote (history mode)
    max_version_id bigint,
    PRIMARY KEY (run_id, batch_no)
);
SELECT pg_catalog.pg_extension_config_dump('migration_engine.pipeline_batches', '');

CREATE TABLE migration_engine.pipeline_dead_letters (
    dead_letter_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id           uuid REFERENCES migration_engine.pipeline_runs(run_id) ON DELETE CASCADE,
    pipeline_name    text NOT NULL,
    step_name        text,
    entity_id        uuid NOT NULL,
    version_id       bigint,
    error            text NOT NULL,
    sqlstate         text,
    original_content jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    replayed_at      timestamptz
);
SELECT pg_catalog.pg_extension_config_dump('migration_engine.pipeline_dead_letters', '');

ALTER TABLE migration_engine.migration_execution_state ADD COLUMN pipeline_run_id uuid;
CREATE INDEX migration_execution_state_pipeline_idx ON migration_engine.migration_execution_state (pipeline_run_id)
    WHERE pipeline_run_id IS NOT NULL;

-- Progress of pipeline runs, readable from any session while run_pipeline commits batches.
CREATE VIEW migration_engine.pipeline_progress AS
SELECT run_id, pipeline_name, status, mode, rows_done, total_rows, rows_changed, rows_failed, batches,
       round((100.0 * rows_done / nullif(total_rows, 0))::numeric, 1) AS progress_pct,
       round((rows_done / nullif(extract(epoch FROM coalesce(finished_at, clock_timestamp()) - started_at), 0))::numeric) AS rows_per_second,
       CASE WHEN status = 'RUNNING' AND rows_done > 0 AND total_rows > rows_done THEN
           (extract(epoch FROM clock_timestamp() - started_at) / rows_done * (total_rows - rows_done)) * interval '1 second'
       END AS eta,
       longest_batch_ms, error, started_at, finished_at,
       -- the same estimate in whole seconds, for NOTICEs and metrics
       CASE WHEN status = 'RUNNING' AND rows_done > 0 AND total_rows > rows_done THEN
           round((extract(epoch FROM clock_timestamp() - started_at) / rows_done * (total_rows - rows_done))::numeric)
       END AS eta_seconds
FROM migration_engine.pipeline_runs;
GRANT SELECT ON migration_engine.pipeline_progress TO PUBLIC;

-- Raised by compiled LOOKUP_TRANSFORM rules with onMissing = "error".
CREATE FUNCTION migration_engine.pipeline_raise(message text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'invalid_parameter_value';
END
$$;

-- CALL migration_engine.run_pipeline(pipeline, options): commits after every batch, so
-- row locks are short and other sessions see progress; a failed run is resumed with
-- options {"resume": "<run_id>"}. No SET clause: a procedure with one cannot COMMIT.
CREATE PROCEDURE migration_engine.run_pipeline(pipeline jsonb, options jsonb DEFAULT '{}')
LANGUAGE plpgsql
AS $$
DECLARE
    state jsonb;
    run uuid;
BEGIN
    state := migration_engine.pipeline_begin(pipeline, options);
    run := (state ->> 'run_id')::uuid;
    COMMIT;
    LOOP
        state := migration_engine.pipeline_batch(run);
        COMMIT;
        RAISE NOTICE 'pipeline %: % of % rows (% changed, % failed), % rows/s, eta %', state ->> 'pipeline_name',
            state ->> 'rows_done', state ->> 'total_rows', state ->> 'rows_changed', state ->> 'rows_failed',
            state ->> 'rows_per_second', coalesce((state ->> 'eta_seconds') || ' s', '-');
        EXIT WHEN (state ->> 'finished')::boolean;
    END LOOP;
    IF state ->> 'status' = 'FAILED' THEN
        -- the committed batches and the FAILED run are kept; raising makes deploy tools see it
        RAISE EXCEPTION 'pipeline % FAILED: %', state ->> 'pipeline_name', state ->> 'error'
            USING DETAIL = format('Run %s is FAILED, its committed batches stay (migration_engine.pipeline_runs).', run),
                  HINT = format('Fix the cause and CALL migration_engine.run_pipeline(pipeline, ''{"resume": "%s"}'').', run);
    END IF;
END
$$;
REVOKE EXECUTE ON PROCEDURE migration_engine.run_pipeline(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE migration_engine.run_pipeline(jsonb, jsonb) TO migration_admin;
