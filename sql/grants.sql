-- Who may do what (runs last in CREATE EXTENSION).
--
-- Reading: everyone may read the catalog (migrations, steps, schema versions, audit) and
-- call the read-only functions (diffs, plans, graphs, as-of reads).
-- Changing: only the extension owner (a superuser) and members of migration_admin may
-- create, run, roll back or switch anything: those functions run arbitrary SQL or move
-- the whole graph, so EXECUTE is revoked from PUBLIC for them.
-- Graph data: the kg tables follow ordinary table privileges; migration_admin gets all.
GRANT USAGE ON SCHEMA migration_engine TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA migration_engine TO PUBLIC;
GRANT INSERT, UPDATE ON migration_engine.knowledge_migrations,
                        migration_engine.migration_execution_state,
                        migration_engine.schema_versions,
                        migration_engine.active_schema_version,
                        migration_engine.migration_control,
                        migration_engine.registry_settings,
                        migration_engine.field_backfills,
                        migration_engine.throughput_stats,
                        migration_engine.pipeline_runs,
                        migration_engine.pipeline_batches,
                        migration_engine.pipeline_dead_letters TO migration_admin;
-- the audit trail: insert only, never update, delete or truncate (a trigger enforces it too)
GRANT INSERT ON migration_engine.audit_log TO migration_admin;
REVOKE UPDATE, DELETE, TRUNCATE ON migration_engine.audit_log FROM PUBLIC;

-- canary metrics are recorded through record_canary_metric (security definer)
GRANT INSERT, UPDATE, DELETE ON migration_engine.canary_rollouts, migration_engine.canary_metrics TO migration_admin;

-- captured rows are graph data: not for everyone to read
REVOKE ALL ON migration_engine.change_log FROM PUBLIC;
GRANT SELECT, DELETE ON migration_engine.change_log TO migration_admin;

-- blue-green reads the sequences' positions (copy, headroom, replay progress)
GRANT SELECT ON ALL SEQUENCES IN SCHEMA migration_engine TO migration_admin;

GRANT USAGE ON SCHEMA kg TO migration_admin;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA kg TO migration_admin;
GRANT ALL ON ALL TABLES IN SCHEMA kg TO migration_admin;

-- Functions that change state: owner and migration_admin only.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'migration_engine' AND p.prokind = 'f'
          AND p.proname = ANY (ARRAY[
              'register_schema_version', 'activate_schema_version', 'set_compatibility_mode',
              'add_field_backward_compatible', 'backfill_batch', 'deprecate_field',
              'create_migration', 'execute_migration', 'rollback_migration', 'resume_migration',
              'cancel_migration', 'pause_migration', 'run_migration_begin', 'run_migration_step',
              'execute_pipeline', 'pipeline_begin', 'pipeline_batch', 'undo_pipeline_run', 'replay_dead_letters', 'pipeline_raise',
              'execute_blue_green_migration', 'switch_active_schema', 'switch_back', 'set_extension_trigger', 'point_live_view', 'drop_live_view',
              'drop_inactive_schema', 'validate_migration_safety', 'safety_report', 'start_canary', 'set_canary_percentage', 'advance_canary',
              'pause_canary', 'resume_canary', 'abort_canary'])
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO migration_admin', f);
    END LOOP;
END
$$;
