-- The migration engine's own tables and views (loaded after the catalog).

-- Cancel / pause requests from other sessions. A separate table, so that a request never
-- waits behind the row lock that a running migration holds on its catalog row.
CREATE TABLE migration_engine.migration_control (
    request_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id uuid NOT NULL REFERENCES migration_engine.knowledge_migrations(migration_id) ON DELETE CASCADE,
    request      text NOT NULL CHECK (request IN ('PAUSE', 'CANCEL')),
    requested_by text NOT NULL DEFAULT current_user,
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    handled_at   timestamptz
);
CREATE INDEX migration_control_pending ON migration_engine.migration_control (migration_id) WHERE handled_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('migration_engine.migration_control', '');

-- One line per migration: status (with PAUSED and STALE made visible), timing, progress of
-- its latest run, last error.
CREATE VIEW migration_engine.migration_status AS
SELECT m.migration_id,
       m.migration_name,
       m.version,
       m.migration_type,
       m.priority,
       CASE
           WHEN m.status = 'PENDING' AND m.control_request = 'PAUSE' THEN 'PAUSED'
           WHEN m.status = 'RUNNING' AND NOT EXISTS (
                    SELECT 1 FROM pg_catalog.pg_stat_activity a
                    WHERE a.pid = m.backend_pid AND a.backend_start = m.backend_start) THEN 'STALE'
           ELSE m.status
       END AS display_status,
       m.status,
       m.started_at,
       m.completed_at,
       round(extract(epoch FROM (coalesce(m.completed_at, CASE WHEN m.status = 'RUNNING' THEN clock_timestamp() END) - m.started_at)) * 1000)::bigint AS duration_ms,
       coalesce(jsonb_array_length(m.definition -> 'forward'), 0) AS total_steps,
       coalesce(p.done_steps, 0) AS done_steps,
       CASE WHEN m.status = 'COMPLETED' THEN 100.0
            WHEN coalesce(jsonb_array_length(m.definition -> 'forward'), 0) = 0 THEN NULL
            ELSE round(100.0 * coalesce(p.done_steps, 0) / jsonb_array_length(m.definition -> 'forward'), 1) END AS progress_pct,
       m.last_error,
       m.executed_by,
       m.backend_pid,
       (SELECT array_agg(d.migration_name ORDER BY d.migration_name)
        FROM migration_engine.knowledge_migrations d WHERE d.migration_id = ANY (m.depends_on)) AS depends_on,
       -- the step running now (CALL run_migration records it when it starts)
       CASE WHEN m.status = 'RUNNING' THEN p.running_step END AS running_step,
       CASE WHEN m.status = 'RUNNING' THEN p.running_since END AS running_step_started_at,
       CASE WHEN m.status = 'RUNNING' THEN round(extract(epoch FROM clock_timestamp() - p.running_since), 1) END AS running_step_seconds
FROM migration_engine.knowledge_migrations m
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE s.step_status IN ('COMPLETED', 'SKIPPED')) AS done_steps,
           min(s.step_name) FILTER (WHERE s.step_status = 'RUNNING') AS running_step,
           min(s.started_at) FILTER (WHERE s.step_status = 'RUNNING') AS running_since
    FROM (SELECT DISTINCT ON (step_number) step_number, step_status, step_name, started_at
          FROM migration_engine.migration_execution_state e
          WHERE e.migration_id = m.migration_id AND e.direction = 'forward'
            AND e.run_id = (SELECT run_id FROM migration_engine.migration_execution_state l
                            WHERE l.migration_id = m.migration_id AND l.direction = 'forward'
                            ORDER BY l.started_at DESC LIMIT 1)
          ORDER BY step_number, started_at DESC, completed_at DESC NULLS LAST) s
) p ON true;
GRANT SELECT ON migration_engine.migration_status TO PUBLIC;

-- Throughput the extension measured on this server (rows/s), for the safety checks'
-- duration estimates: calibrated on first use, refreshed by every backfill.
CREATE TABLE migration_engine.throughput_stats (
    kind           text PRIMARY KEY,
    rows_per_second double precision NOT NULL CHECK (rows_per_second > 0),
    sample_rows    bigint NOT NULL,
    measured_at    timestamptz NOT NULL DEFAULT now()
);
