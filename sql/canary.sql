-- Canary migrations: the new version is a migrated copy of the active data schema (the
-- blue-green machinery), kept in sync while a growing share of routing keys reads it.

CREATE TABLE migration_engine.canary_rollouts (
    migration_id    uuid PRIMARY KEY REFERENCES migration_engine.knowledge_migrations(migration_id) ON DELETE CASCADE,
    migration_name  text NOT NULL UNIQUE,
    config          jsonb NOT NULL,
    old_schema      text NOT NULL,
    new_schema      text NOT NULL,
    percentage      integer NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    status          text NOT NULL DEFAULT 'RUNNING'
                    CHECK (status IN ('RUNNING', 'PAUSED', 'COMPLETED', 'ROLLED_BACK', 'ABORTED')),
    step_number     integer NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    step_started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    last_score      double precision,
    last_evaluation jsonb,
    reason          text,
    worker_pid      integer,
    -- the role the background worker runs as: whoever started (or resumed) the canary
    worker_role     text
);
COMMENT ON TABLE migration_engine.canary_rollouts IS 'One row per canary migration: its split, its state, its last evaluation';

CREATE TABLE migration_engine.canary_metrics (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id uuid NOT NULL REFERENCES migration_engine.canary_rollouts(migration_id) ON DELETE CASCADE,
    step_number  integer NOT NULL,
    percentage   integer NOT NULL,
    metric       text NOT NULL CHECK (metric ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    value        double precision NOT NULL
                 CONSTRAINT value_in_metric_range CHECK (migration_engine.canary_metric_value_ok(metric, value)),
    version      text NOT NULL DEFAULT 'new' CHECK (version IN ('new', 'old')),
    source       text NOT NULL DEFAULT 'client' CHECK (source IN ('client', 'extension')),
    recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    recorded_by  text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE migration_engine.canary_metrics IS 'Observations of a canary, per step, for the new (or the old) version';
CREATE INDEX canary_metrics_by_step ON migration_engine.canary_metrics (migration_id, metric, step_number, id);

-- canary_rollouts holds one row per migration; when a new canary of the same migration
-- starts, the ended one's row and its observations are moved here first, never changed.
CREATE TABLE migration_engine.canary_rollout_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id   uuid NOT NULL,
    migration_name text NOT NULL,
    archived_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- the canary_rollouts row, and its canary_metrics rows (oldest first), as they were
    rollout        jsonb NOT NULL,
    metrics        jsonb NOT NULL
);
COMMENT ON TABLE migration_engine.canary_rollout_history IS 'Ended canaries of a migration that was canaried again: their row and observations, append-only';
CREATE INDEX canary_rollout_history_by_migration ON migration_engine.canary_rollout_history (migration_name, archived_at);
CREATE TRIGGER canary_rollout_history_no_update
    BEFORE UPDATE OR DELETE ON migration_engine.canary_rollout_history
    FOR EACH ROW EXECUTE FUNCTION migration_engine.audit_append_only();
CREATE TRIGGER canary_rollout_history_no_truncate
    BEFORE TRUNCATE ON migration_engine.canary_rollout_history
    FOR EACH STATEMENT EXECUTE FUNCTION migration_engine.audit_append_only();

CREATE VIEW migration_engine.canary_status AS
SELECT r.migration_name,
       r.status,
       r.percentage,
       r.old_schema,
       r.new_schema,
       r.step_number,
       r.last_score,
       r.last_evaluation AS last_details,
       r.reason,
       r.started_at,
       r.step_started_at,
       r.finished_at,
       r.config,
       coalesce((SELECT jsonb_agg(jsonb_build_object('step', s.step_name, 'status', s.step_status,
                                                     'at', s.started_at, 'details', s.new_value)
                                  ORDER BY s.started_at, s.step_number)
                 FROM migration_engine.migration_execution_state s
                 -- this canary's steps (an earlier canary of the migration is in canary_rollout_history)
                 WHERE s.migration_id = r.migration_id AND s.direction = 'canary' AND s.started_at >= r.started_at), '[]'::jsonb) AS history,
       r.worker_role
FROM migration_engine.canary_rollouts r;
