-- The top-level runner's log (src/runner): one row per attempt at a step that must run
-- outside any transaction block ("transaction": false: CREATE INDEX CONCURRENTLY, VACUUM,
-- ...). CALL run_migration writes the request and commits it; a background worker of the
-- extension, logged in as the caller, runs the statements as top-level statements (each
-- in its own transaction, as psql would send them), writes the outcome here and commits;
-- the caller polls this row in short transactions, so that it never holds a snapshot the
-- build has to wait for. Rows are never deleted: they are the step's record (who, what,
-- how long, what it waited for, what it cleaned up).
CREATE TABLE migration_engine.top_level_runs (
    attempt_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id     uuid NOT NULL REFERENCES migration_engine.knowledge_migrations(migration_id),
    run_id           uuid NOT NULL,
    step_number      integer NOT NULL,
    step_name        text NOT NULL,
    script           text NOT NULL,
    -- search_path, statement_timeout, lock_timeout, application_name for the worker
    settings         jsonb NOT NULL,
    run_as           text NOT NULL DEFAULT current_user,
    status           text NOT NULL DEFAULT 'QUEUED'
                     CHECK (status IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED')),
    worker_pid       integer,
    queued_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at       timestamptz,
    finished_at      timestamptz,
    statements_total integer,
    statements_done  integer NOT NULL DEFAULT 0,
    sqlstate         text,
    error            text,
    -- invalid indexes a failed or interrupted concurrent build left, dropped before a
    -- retry or after the failure: [{"index": name, "when": "before" | "after"}]
    cleaned          jsonb NOT NULL DEFAULT '[]',
    -- the transactions a concurrent build waited for, last seen: [{pid, role, ...}]
    waited_for       jsonb NOT NULL DEFAULT '[]',
    -- since when the current blockers have blocked it (onBlocked's clock)
    blocked_since    timestamptz,
    -- what onBlocked did: [{policy, pids, blockers, at}] (also audited)
    acted_on         jsonb NOT NULL DEFAULT '[]'
);
COMMENT ON TABLE migration_engine.top_level_runs IS 'Steps run outside a transaction block by the top-level runner: one row per attempt';
CREATE INDEX top_level_runs_by_step ON migration_engine.top_level_runs (migration_id, run_id, step_number, attempt_id);
SELECT pg_catalog.pg_extension_config_dump('migration_engine.top_level_runs', '');
-- (its sequence is marked with the others, in sql/backup.sql)
