-- Who may do what (runs last in CREATE EXTENSION). docs/SECURITY.md has the matrix.
--
-- Fail closed: every routine of the extension starts executable by nobody but its owner,
-- and is then granted from one of three reviewed lists below. A routine on no list stays
-- the owner's (trigger functions, and the helpers the extension's own triggers call).
-- tests/pgtap/80_security.sql fails when a routine is on no list or a name here is unknown.
--
-- Reading: everyone may read the catalog (migrations, steps, schema versions, audit) and
-- call the read-only functions (diffs, plans, graphs, as-of reads).
-- Changing: only the extension owner (a superuser) and members of migration_admin may
-- create, run, roll back or switch anything: those functions run arbitrary SQL or move
-- the whole graph.
-- Graph data: the kg tables follow ordinary table privileges; migration_admin may read
-- and write rows, but not TRUNCATE them (history and the blue-green capture would lose
-- them unseen) nor create TRIGGERs on them (a trigger fires as whoever writes, the
-- owner included).
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
                        migration_engine.pipeline_dead_letters,
                        migration_engine.top_level_runs TO migration_admin;
-- the audit trail: insert only, never update, delete or truncate (a trigger enforces it too)
GRANT INSERT ON migration_engine.audit_log TO migration_admin;
-- deploy failures: the same (written by deploy_migration's autonomous worker, as the caller)
GRANT INSERT ON migration_engine.deploy_failures TO migration_admin;
REVOKE UPDATE, DELETE, TRUNCATE ON migration_engine.deploy_failures FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON migration_engine.audit_log FROM PUBLIC;

-- canaries: migration_admin runs them; canary_metrics_writer may only add observations
-- (who and which source are stamped, not chosen: no column grant for them)
GRANT INSERT, UPDATE, DELETE ON migration_engine.canary_rollouts, migration_engine.canary_metrics TO migration_admin;
-- ended canaries kept: insert only (a trigger refuses the rest too)
GRANT INSERT ON migration_engine.canary_rollout_history TO migration_admin;
REVOKE UPDATE, DELETE, TRUNCATE ON migration_engine.canary_rollout_history FROM PUBLIC;
GRANT INSERT (migration_id, step_number, percentage, metric, value, version)
    ON migration_engine.canary_metrics TO canary_metrics_writer;

-- a cluster migration's peer conninfo may hold a password: only its owner reads it
REVOKE SELECT ON migration_engine.cluster_migrations FROM PUBLIC;
GRANT SELECT (cluster_migration_id, role, migration_name, announce_conninfo, publication_name,
              subscription_name, data_schema, phase, error, started_by, started_at,
              phase_changed_at, fenced_at, switched_at, switch_report)
    ON migration_engine.cluster_migrations TO PUBLIC;

-- captured rows are graph data: not for everyone to read
REVOKE ALL ON migration_engine.change_log FROM PUBLIC;
GRANT SELECT, DELETE ON migration_engine.change_log TO migration_admin;

-- blue-green reads the sequences' positions (copy, headroom, replay progress)
GRANT SELECT ON ALL SEQUENCES IN SCHEMA migration_engine TO migration_admin;

GRANT USAGE ON SCHEMA kg TO migration_admin;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA kg TO migration_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA kg TO migration_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA kg_live TO migration_admin;

-- the graph's readers and writers (docs/SECURITY.md, "Roles"); adopt_active_schema gives
-- them the same on every schema that becomes active. Writers write through the graph
-- functions, which run with their rights: INSERT for new versions, UPDATE for closing the
-- current one (history protection refuses every other UPDATE), no DELETE or TRUNCATE.
GRANT USAGE ON SCHEMA kg TO kg_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA kg TO kg_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA kg_live TO kg_reader;
GRANT INSERT, UPDATE ON kg.temporal_entities, kg.temporal_relations TO kg_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA kg TO kg_writer;

DO $$
DECLARE
    -- read-only functions, and the graph functions (whose rights are the tables')
    for_everyone text[] := ARRAY[
        'active_schema', 'canary_route', 'compatibility_mode', 'detect_breaking_changes',
        'entity_as_of', 'entity_history', 'evaluate_canary', 'is_type_compatible', 'lint_sql',
        'migration_graph', 'migration_plan', 'safety_rules', 'validate_entities', 'check_compatibility_against_data',
        'uuid_v7', 'uuid_v7_time', 'content_conforms', 'repeated_hashes',
        'deprecated_field_usage', 'canary_metric_value_ok', 'history_rewrite_allowed',
        'upsert_entity', 'upsert_relation', 'delete_entity', 'delete_relation'];
    -- functions and procedures that change state or run user SQL
    for_admins text[] := ARRAY[
        'register_schema_version', 'activate_schema_version', 'set_compatibility_mode',
        'add_field_backward_compatible', 'backfill_batch', 'deprecate_field', 'run_backfill',
        'mark_deprecated_field',
        'create_migration', 'execute_migration', 'deploy_migration', 'rollback_migration', 'resume_migration',
        'cancel_migration', 'pause_migration', 'run_migration_begin', 'run_migration_step', 'run_migration',
        'execute_pipeline', 'pipeline_begin', 'pipeline_batch', 'undo_pipeline_run', 'replay_dead_letters',
        'pipeline_raise', 'run_pipeline', 'top_level_start', 'top_level_wait',
        'rollback_begin', 'rollback_step', 'run_rollback', 'wait_for_top_level_step',
        'execute_blue_green_migration', 'switch_active_schema', 'switch_back', 'set_extension_trigger',
        'drop_inactive_schema', 'validate_migration_safety', 'safety_report',
        'start_canary', 'set_canary_percentage', 'advance_canary', 'pause_canary', 'resume_canary',
        'abort_canary', 'record_canary_metric', 'adopt_active_schema',
        'drop_adopted_schema'];
    for_metric_writers text[] := ARRAY['record_canary_metric'];
    -- granted to nobody: cluster migrations (sql/cluster.sql) are a superuser's, because
    -- PostgreSQL 15 lets only a superuser create a subscription and publishing the
    -- extension's tables needs their owner; the functions check it too (42501)
    for_superusers text[] := ARRAY[
        'start_cluster_migration', 'cluster_migration_status', 'resume_cluster_migration',
        'switch_cluster_migration', 'cluster_switch_fence', 'cluster_switch_complete',
        'cluster_switch_cleanup', 'abort_cluster_migration', 'cluster_peer_begin',
        'cluster_peer_transition', 'set_cluster_fence', 'refuse_write_to_fenced_cluster'];
    -- the owner's alone: trigger functions and what only the extension's triggers call
    for_nobody text[] := ARRAY[
        'audit_append_only', 'audit_stamp', 'capture_change', 'check_one_active_schema_version',
        'forbid_schema_version_edit', 'forbid_singleton_removal', 'refuse_write_to_retired_schema',
        'point_live_view', 'drop_live_view', 'on_active_schema_change', 'forbid_migration_edit',
        'routines_called_by_schema', 'is_data_schema', 'protect_history', 'protect_history_of',
        'purge_history', 'restore_singleton', 'data_schema_at_install',
        -- the support functions of the aggregate repeated_hashes (PostgreSQL checks the
        -- aggregate's owner's right to call them, not the caller's)
        'repeated_hashes_add', 'repeated_hashes_combine', 'repeated_hashes_serialize',
        'repeated_hashes_deserialize', 'repeated_hashes_final'];
    f record;
    unknown text[];
BEGIN
    SELECT array_agg(x) INTO unknown FROM unnest(for_everyone || for_admins || for_nobody || for_superusers) x
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.proname = x
                        AND p.pronamespace = 'migration_engine'::regnamespace);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'grants.sql names routines that do not exist: %', unknown;
    END IF;
    EXECUTE 'REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA migration_engine FROM PUBLIC';
    FOR f IN
        SELECT p.oid::regprocedure AS sig, p.proname::text AS name,
               CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'migration_engine'::regnamespace
    LOOP
        IF f.name = ANY (for_everyone) THEN
            EXECUTE format('GRANT EXECUTE ON %s %s TO PUBLIC', f.kind, f.sig);
        END IF;
        IF f.name = ANY (for_admins) THEN
            EXECUTE format('GRANT EXECUTE ON %s %s TO migration_admin', f.kind, f.sig);
        END IF;
        IF f.name = ANY (for_metric_writers) THEN
            EXECUTE format('GRANT EXECUTE ON %s %s TO canary_metrics_writer', f.kind, f.sig);
        END IF;
    END LOOP;
END
$$;

-- Last: the data schema gets the name chosen at install (sql/kg_store.sql); everything
-- refers to it by oid, and active_schema_version by name, set here without the switch
-- machinery (there is nothing to switch from). A schema kg of the user's comes back.
DO $$
DECLARE
    wanted text := migration_engine.data_schema_at_install();
    replication_role text := current_setting('session_replication_role');
BEGIN
    IF wanted <> 'kg' THEN
        EXECUTE format('ALTER SCHEMA kg RENAME TO %I', wanted);
        PERFORM set_config('session_replication_role', 'replica', true);
        UPDATE migration_engine.active_schema_version SET "current_schema" = wanted WHERE id = 1;
        PERFORM set_config('session_replication_role', replication_role, true);
        IF pg_catalog.to_regnamespace('migration_engine_install_hold') IS NOT NULL THEN
            ALTER SCHEMA migration_engine_install_hold RENAME TO kg;
        END IF;
    END IF;
END
$$;
