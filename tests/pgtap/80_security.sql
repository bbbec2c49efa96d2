-- Security: no path from migration_admin (or any role) to another role's rights, and no
-- way to steer a rollout from outside. Each section is a reproducer of a finding of the
-- security review (issue 19) that passed before the fix. The canary worker's role is
-- tested by tests/client/security_worker.sh (it needs commits).
BEGIN;
SELECT plan(68);

CREATE ROLE me_metrics_user LOGIN IN ROLE canary_metrics_writer;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO me_admin_user', current_database()); END $$;
CREATE TABLE public.victim (id int);
GRANT SELECT ON public.victim TO PUBLIC;

-- 1. The reviewed lists: every SECURITY DEFINER routine, and every routine anyone may run.
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc
           WHERE pronamespace = 'migration_engine'::regnamespace AND prosecdef),
          ARRAY['adopt_active_schema', 'capture_change', 'drop_adopted_schema', 'drop_live_view',
                'point_live_view', 'set_cluster_fence', 'set_extension_trigger'],
          'the SECURITY DEFINER routines are exactly the reviewed ones (docs/SECURITY.md)');
SELECT is((SELECT array_agg(DISTINCT proname::text ORDER BY proname::text) FROM pg_proc
           WHERE pronamespace = 'migration_engine'::regnamespace AND has_function_privilege('me_plain_user', oid, 'EXECUTE')),
          ARRAY['active_schema', 'canary_metric_value_ok', 'canary_route', 'check_compatibility_against_data', 'compatibility_mode', 'content_conforms', 'delete_entity',
                'delete_relation', 'deprecated_field_usage', 'detect_breaking_changes', 'entity_as_of', 'entity_history',
                'evaluate_canary', 'history_rewrite_allowed', 'is_type_compatible', 'lint_sql', 'migration_graph', 'migration_plan',
                'repeated_hashes', 'safety_rules', 'upsert_entity', 'upsert_relation', 'uuid_v7', 'uuid_v7_time', 'validate_entities'],
          'a plain role may run exactly the read-only and graph functions');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'migration_engine'::regnamespace AND prosecdef
             AND (has_function_privilege('me_plain_user', oid, 'EXECUTE') OR has_function_privilege('canary_metrics_writer', oid, 'EXECUTE'))), 0,
          'a plain role or a metrics writer may run no SECURITY DEFINER routine');
SELECT is((SELECT array_agg(DISTINCT proname::text ORDER BY proname::text) FROM pg_proc
           WHERE pronamespace = 'migration_engine'::regnamespace AND has_function_privilege('canary_metrics_writer', oid, 'EXECUTE')
             AND NOT has_function_privilege('me_plain_user', oid, 'EXECUTE')),
          ARRAY['record_canary_metric'], 'a metrics writer may run record_canary_metric beyond what everyone may');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'migration_engine'::regnamespace AND prosecdef
             AND NOT EXISTS (SELECT 1 FROM unnest(proconfig) c WHERE c LIKE 'search_path=%')), 0,
          'every SECURITY DEFINER routine pins search_path');
SELECT is((SELECT array_agg(DISTINCT proname::text ORDER BY proname::text) FROM pg_proc
           WHERE pronamespace = 'migration_engine'::regnamespace AND prosecdef
             AND has_function_privilege('migration_admin', oid, 'EXECUTE')),
          ARRAY['adopt_active_schema', 'drop_adopted_schema', 'set_extension_trigger'],
          'of those, migration_admin may call only the three that act on the active schema or an inactive one');

-- 2. No TRIGGER or TRUNCATE on the graph for migration_admin.
CREATE FUNCTION public.me_record_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.victim VALUES (1); RETURN NULL; END $$;
ALTER FUNCTION public.me_record_user() OWNER TO me_admin_user;
CREATE TABLE public.adm_t (id int PRIMARY KEY);
ALTER TABLE public.adm_t OWNER TO me_admin_user;
SET ROLE me_admin_user;
SELECT throws_ok($$CREATE TRIGGER zz AFTER INSERT ON kg.temporal_entities FOR EACH ROW EXECUTE FUNCTION public.me_record_user()$$,
                 '42501', NULL, 'a migration_admin member cannot put a trigger on the graph');
SELECT throws_ok($$CREATE TRIGGER zz INSTEAD OF INSERT ON kg_live.temporal_entities FOR EACH ROW EXECUTE FUNCTION public.me_record_user()$$,
                 '42501', NULL, 'nor on a kg_live view');
SELECT throws_ok($$TRUNCATE kg.temporal_entities$$, '42501', NULL, 'nor truncate the graph');
SELECT throws_ok($$TRUNCATE kg.temporal_relations$$, '42501', NULL, 'nor its relations');
SELECT lives_ok($$SELECT migration_engine.upsert_entity('Person', '{"name": "still writes"}')$$, 'but writes through the graph functions');
-- the extension's capture trigger is a SECURITY DEFINER function: not for anyone's own tables
SELECT throws_ok($$CREATE TRIGGER c AFTER INSERT ON public.adm_t FOR EACH ROW EXECUTE FUNCTION migration_engine.capture_change('always', 'id')$$,
                 '42501', NULL, 'the capture function cannot be attached to a table of the member''s (it would forge replayed rows)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM public.victim), 0, 'no trigger of the member''s ran');

-- 3. Canary metrics: who may record, what, and how they count.
INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
SELECT md5('s' || g)::uuid, 'Person', jsonb_build_object('name', 'p' || g) FROM generate_series(1, 50) g;
SELECT migration_engine.create_migration('{"name": "sec_canary", "version": "1", "forward": [
    {"name": "col", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN sec int"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
SELECT is((migration_engine.start_canary('{"migrationName": "sec_canary", "targetSchema": "sec_new", "canaryPercentage": 10,
            "stepPercentage": 10, "stabilizationSeconds": 3600}')->>'success'), 'true', 'a canary starts');
SELECT lives_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'error_rate', 0.9),
                         migration_engine.record_canary_metric('sec_canary', 'response_time', 5000)$$, 'real observations: a failing canary');
SELECT is((migration_engine.evaluate_canary('sec_canary')->>'score')::float8, 0::float8, 'it scores 0');
SET ROLE me_plain_user;
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'error_rate', -1000)$$, '42501', NULL,
                 'a plain role cannot record a metric');
SELECT throws_ok($$INSERT INTO migration_engine.canary_metrics (migration_id, step_number, percentage, metric, value)
                   SELECT migration_id, 1, 10, 'error_rate', 0 FROM migration_engine.canary_rollouts$$, '42501', NULL,
                 'nor insert one');
RESET ROLE;
SET ROLE me_admin_user;
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'error_rate', -1000)$$, '22023', NULL,
                 'a negative error rate is refused');
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'response_time', -1000)$$, '22023', NULL,
                 'a negative response time is refused');
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'response_time', 1e200)$$, '22023', NULL,
                 'an absurd response time is refused');
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'queue_depth', 1e300)$$, '22023', NULL,
                 'a custom metric is bounded too');
SELECT throws_ok($$INSERT INTO migration_engine.canary_metrics (migration_id, step_number, percentage, metric, value)
                   SELECT migration_id, 1, 10, 'error_rate', -5 FROM migration_engine.canary_rollouts$$, '23514', NULL,
                 'a direct INSERT out of range is refused by the table');
RESET ROLE;
SET ROLE me_metrics_user;
SELECT lives_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'error_rate', 0.0),
                         migration_engine.record_canary_metric('sec_canary', 'response_time', 10)$$,
                'a canary_metrics_writer member records observations');
SELECT throws_ok($$SELECT migration_engine.advance_canary('sec_canary')$$, '42501', NULL, 'but cannot advance the canary');
SELECT is((SELECT recorded_by FROM migration_engine.canary_metrics ORDER BY id DESC LIMIT 1), 'me_metrics_user',
          'and is recorded as who recorded');
RESET ROLE;
SELECT lives_ok($$SELECT migration_engine.record_canary_metric('sec_canary', 'error_rate', 0.9),
                         migration_engine.record_canary_metric('sec_canary', 'response_time', 5000)$$, 'two more real observations');
SELECT is((migration_engine.evaluate_canary('sec_canary')->>'score')::float8, 0::float8,
          'the median of the step''s observations: one healthy report among failing ones does not pass the canary');
SELECT is((migration_engine.advance_canary('sec_canary')->>'decision'), 'ROLLBACK', 'and advance rolls it back');

-- 4. SQL hidden in a condition, a VALIDATE script or a validation rule.
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "sec_cond", "version": "1", "forward": [
    {"name": "s", "type": "SQL", "script": "SELECT 1", "condition": "true)::boolean; DROP TABLE public.victim; SELECT (true"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}')$$, '42601', NULL, 'a condition with a second statement is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "sec_cond2", "version": "1", "forward": [
    {"name": "s", "type": "SQL", "script": "SELECT 1", "condition": "true) UNION SELECT (false"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}')$$, '42601', NULL, 'a condition that breaks out of its parentheses is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "sec_val", "version": "1", "forward": [
    {"name": "v", "type": "VALIDATE", "script": "true)::boolean; DROP TABLE public.victim; SELECT (true"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}')$$, '42601', NULL, 'a VALIDATE script with a second statement is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "sec_rule", "version": "1", "forward": [
    {"name": "s", "type": "SQL", "script": "SELECT 1"}],
  "validation": [{"name": "v", "script": "true)::boolean; DROP TABLE public.victim; SELECT (true"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}')$$, '42601', NULL, 'a validation rule with a second statement is refused');
SELECT lives_ok($$SELECT migration_engine.create_migration('{"name": "sec_ok", "version": "1", "forward": [
    {"name": "s", "type": "SQL", "script": "SELECT 1", "condition": "(SELECT count(*) FROM public.victim) = 0 AND true"},
    {"name": "v", "type": "VALIDATE", "script": "SELECT count(*) = 0 FROM public.victim"}],
  "validation": [{"name": "q", "script": "EXISTS (SELECT 1 FROM pg_class)"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}')$$, 'an expression or a query with its own FROM is accepted');
-- a row written around create_migration (migration_admin may insert catalog rows) is checked when it runs
INSERT INTO migration_engine.knowledge_migrations (migration_name, version, forward_script, definition, checksum)
VALUES ('sec_sneaky', '1', 'SELECT 1', '{"name": "sec_sneaky", "version": "1", "forward": [
    {"name": "s", "type": "SQL", "script": "SELECT 1", "condition": "true)::boolean; DROP TABLE public.victim; SELECT (true"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}', 'x');
CREATE TEMP TABLE sneaky AS SELECT migration_engine.execute_migration('sec_sneaky', '{"force": true}') AS v;
SELECT is((SELECT v->>'success' FROM sneaky), 'false', 'such a condition fails its step when run');
SELECT is((SELECT v->'failed_step'->>'sqlstate' FROM sneaky), '42601', 'with a syntax error');
SELECT has_table('public', 'victim', 'and the hidden DROP never ran');
SELECT ok((SELECT count(*) > 0 FROM jsonb_array_elements(migration_engine.validate_migration_safety('sec_sneaky')->'all_results') c,
                jsonb_array_elements(c->'issues') i WHERE i->'details'->>'statement' = 'DROP TABLE public.victim'),
          'the safety checks see the hidden statement as a statement');
SELECT is((SELECT string_agg(i->>'code', ',') FROM jsonb_array_elements(migration_engine.validate_migration_safety('sec_sneaky')->'critical_issues') i),
          'HIDDEN_STATEMENT', 'and report the condition as a critical issue');
SELECT is((migration_engine.execute_migration('sec_sneaky')->>'code'), 'SAFETY_CHECK_FAILED', 'so the gate refuses it');

-- 5. kg_live shows the active schema and nothing else.
SET ROLE me_admin_user;
CREATE SCHEMA adm2;
CREATE TABLE adm2.temporal_entities (LIKE kg.temporal_entities INCLUDING ALL);
CREATE TABLE adm2.temporal_relations (LIKE kg.temporal_relations INCLUDING ALL);
SELECT throws_ok($$SELECT migration_engine.point_live_view('adm2', 'temporal_entities')$$, '42501', NULL,
                 'a member cannot repoint kg_live by hand');
SELECT throws_ok($$SELECT migration_engine.drop_live_view('temporal_entities')$$, '42501', NULL, 'nor drop its views');
SELECT lives_ok($$SELECT migration_engine.adopt_active_schema()$$, 'adopt_active_schema acts on the active schema only');
SELECT throws_ok($$SELECT migration_engine.set_extension_trigger('kg', 'temporal_entities', 'retire', 'adm2', '{}')$$, '55006', NULL,
                 'the active schema cannot be retired');
SELECT throws_ok($$SELECT migration_engine.set_extension_trigger('kg', 'temporal_entities', 'capture', 'gated', '{no_such_column}')$$,
                 '42703', NULL, 'a capture key that is no column is refused');
SELECT throws_ok($$SELECT migration_engine.drop_adopted_schema('kg')$$, '42501', NULL, 'kg cannot be dropped through the helper');
-- a schema whose table calls the member's own function cannot become the graph
CREATE FUNCTION adm2.pwn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.victim VALUES (2); RETURN NULL; END $$;
CREATE TRIGGER pwn AFTER INSERT ON adm2.temporal_entities FOR EACH ROW EXECUTE FUNCTION adm2.pwn();
SELECT throws_ok($$UPDATE migration_engine.active_schema_version SET "current_schema" = 'adm2' WHERE id = 1$$, '42501', NULL,
                 'a direct UPDATE to a schema with the member''s trigger is refused');
SELECT throws_ok($$SELECT migration_engine.switch_active_schema('adm2')$$, '42501', NULL, 'and so is a switch to it');
SELECT is(migration_engine.active_schema(), 'kg', 'nothing switched');
DROP TRIGGER pwn ON adm2.temporal_entities;
ALTER TABLE adm2.temporal_entities ALTER COLUMN content SET DEFAULT '{}'::jsonb;
SELECT lives_ok($$UPDATE migration_engine.active_schema_version SET "current_schema" = 'adm2', previous_schema = 'kg' WHERE id = 1$$,
                'a direct UPDATE to a clean data schema is a switch');
SELECT is((SELECT pg_get_viewdef('kg_live.temporal_entities'::regclass) LIKE '%adm2.temporal_entities%'), true, 'kg_live follows it');
SELECT is((SELECT count(*)::int FROM migration_engine.audit_log WHERE operation = 'active_schema_changed' AND object_name = 'adm2'
             AND actor = 'me_admin_user'), 1, 'audited, with who made it');
SELECT is((SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'adm2.temporal_entities'::regclass),
          (SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'migration_engine'),
          'the active schema''s tables are the extension owner''s now');
SELECT throws_ok($$CREATE TRIGGER later AFTER INSERT ON adm2.temporal_entities FOR EACH ROW EXECUTE FUNCTION adm2.pwn()$$, '42501', NULL,
                 'so the member can put no trigger on them afterwards');
SELECT throws_ok($$CREATE FUNCTION adm2.more() RETURNS int LANGUAGE sql AS 'SELECT 1'$$, '42501', NULL,
                 'nor create objects in the active schema');
RESET ROLE;
UPDATE migration_engine.active_schema_version SET "current_schema" = 'kg' WHERE id = 1;
SELECT is((SELECT pg_get_viewdef('kg_live.temporal_entities'::regclass) LIKE '%kg.temporal_entities%'), true, 'and back to kg');
SELECT is((SELECT count(*)::int FROM public.victim), 0, 'no function of the member''s ran');

-- 6. Migrations are immutable once created; relations need entities; blue-green is gated.
SET ROLE me_admin_user;
SELECT throws_ok($$UPDATE migration_engine.knowledge_migrations SET definition = '{}' WHERE migration_name = 'sec_ok'$$, '55000', NULL,
                 'a member cannot rewrite a migration''s definition');
SELECT throws_ok($$UPDATE migration_engine.knowledge_migrations SET forward_script = 'DROP TABLE x' WHERE migration_name = 'sec_ok'$$, '55000', NULL,
                 'nor its scripts');
SELECT throws_ok($$UPDATE migration_engine.knowledge_migrations SET checksum = 'x' WHERE migration_name = 'sec_ok'$$, '55000', NULL,
                 'nor its checksum');
SELECT lives_ok($$UPDATE migration_engine.knowledge_migrations SET execution_log = execution_log || '[{"note": 1}]' WHERE migration_name = 'sec_ok'$$,
                'its execution log may grow');
SELECT throws_ok($$UPDATE migration_engine.knowledge_migrations SET execution_log = '[]' WHERE migration_name = 'sec_ok'$$, '55000', NULL,
                 'but not be rewritten');
SELECT throws_ok($$SELECT migration_engine.upsert_relation('KNOWS', md5('s1')::uuid, '00000000-0000-0000-0000-000000000001')$$, '23503', NULL,
                 'a relation to an entity that does not exist is refused');
RESET ROLE;
SELECT migration_engine.delete_entity(md5('s2')::uuid);
SELECT throws_ok($$SELECT migration_engine.upsert_relation('KNOWS', md5('s1')::uuid, md5('s2')::uuid)$$, '23503', NULL,
                 'and so is one to a deleted entity');
SELECT migration_engine.create_migration('{"name": "sec_bg_unsafe", "version": "1", "forward": [
    {"name": "c", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN unsafe int"}]}');
SELECT is((SELECT migration_engine.execute_blue_green_migration(
             (SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'sec_bg_unsafe'), 'sec_green')->>'code'),
          'SAFETY_CHECK_FAILED', 'a blue-green migration that fails its safety checks is refused, as execute_migration does');
SELECT hasnt_schema('sec_green', 'and nothing was copied');

-- cluster migrations are a superuser's (PostgreSQL 15's CREATE SUBSCRIPTION), and the
-- peer's conninfo, which may hold a password, is its owner's to read
SELECT is((SELECT array_agg(DISTINCT proname::text ORDER BY proname::text) FROM pg_proc
           WHERE pronamespace = 'migration_engine'::regnamespace AND proname ~ 'cluster'
             AND has_function_privilege('migration_admin', oid, 'EXECUTE')), NULL,
          'migration_admin may run no cluster migration routine');
SELECT is(has_column_privilege('me_admin_user', 'migration_engine.cluster_migrations', 'peer_conninfo', 'SELECT'), false,
          'nor read the peer conninfo of a cluster migration');
SELECT * FROM finish();
ROLLBACK;
