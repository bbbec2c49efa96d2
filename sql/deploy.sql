-- Deploy failures that outlive their transaction (src/engine/deploy.rs): when
-- deploy_migration fails, the error it raises rolls back the caller's transaction (the
-- migration row, its FAILED state, everything the file did), so that the deploy tool
-- sees the failure and nothing half-done is kept. This row is written by an autonomous
-- worker first, committed on its own: what failed, with which error, by whom, in which
-- backend. Append-only, like the audit trail.
CREATE TABLE migration_engine.deploy_failures (
    failure_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    failed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor          text NOT NULL DEFAULT current_user,
    migration_name text NOT NULL,
    version        text,
    checksum       text,
    definition     jsonb NOT NULL,
    failed_step    text,
    sqlstate       text,
    error          text NOT NULL,
    hint           text,
    -- the deploy's backend and its transaction (rolled back), to match server logs
    caller_pid     integer,
    caller_xid     bigint
);
COMMENT ON TABLE migration_engine.deploy_failures IS 'Failed deploy_migration calls, kept although their transaction was rolled back';
CREATE INDEX deploy_failures_by_name ON migration_engine.deploy_failures (migration_name, failed_at);
CREATE TRIGGER deploy_failures_no_update
    BEFORE UPDATE OR DELETE ON migration_engine.deploy_failures
    FOR EACH ROW EXECUTE FUNCTION migration_engine.audit_append_only();
CREATE TRIGGER deploy_failures_no_truncate
    BEFORE TRUNCATE ON migration_engine.deploy_failures
    FOR EACH STATEMENT EXECUTE FUNCTION migration_engine.audit_append_only();
SELECT pg_catalog.pg_extension_config_dump('migration_engine.deploy_failures', '');
