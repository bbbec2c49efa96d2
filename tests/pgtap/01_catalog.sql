-- Foundation: the catalog and its constraints, tried through SQL.
BEGIN;
SELECT plan(27);

SELECT has_schema('migration_engine');
SELECT has_table('migration_engine', 'knowledge_migrations', 'knowledge_migrations exists');
SELECT has_table('migration_engine', 'migration_execution_state', 'migration_execution_state exists');
SELECT has_table('migration_engine', 'schema_versions', 'schema_versions exists');
SELECT has_table('migration_engine', 'active_schema_version', 'active_schema_version exists');
SELECT has_table('migration_engine', 'audit_log', 'audit_log exists');
SELECT col_type_is('migration_engine', 'knowledge_migrations', 'depends_on', 'uuid[]', 'depends_on is uuid[]');
SELECT col_type_is('migration_engine', 'knowledge_migrations', 'executed_by', 'text', 'executed_by is a role name');
SELECT col_default_is('migration_engine', 'knowledge_migrations', 'executed_by', 'CURRENT_USER', 'executed_by defaults to current_user');
SELECT col_default_is('migration_engine', 'schema_versions', 'created_by', 'CURRENT_USER', 'created_by defaults to current_user');

-- knowledge_migrations: status and type are limited
SELECT lives_ok($$INSERT INTO migration_engine.knowledge_migrations (migration_name, version, forward_script)
                  VALUES ('m1', '1', 'SELECT 1')$$, 'a plain migration row is accepted');
SELECT is((SELECT status || '/' || migration_type || '/' || priority FROM migration_engine.knowledge_migrations
           WHERE migration_name = 'm1'), 'PENDING/SCHEMA/100', 'defaults PENDING, SCHEMA, priority 100');
SELECT throws_ok($$UPDATE migration_engine.knowledge_migrations SET status = 'DONE' WHERE migration_name = 'm1'$$,
                 '23514', NULL, 'an unknown status is rejected');
SELECT throws_ok($$INSERT INTO migration_engine.knowledge_migrations (migration_name, version, forward_script, migration_type)
                   VALUES ('m2', '1', 'SELECT 1', 'OTHER')$$, '23514', NULL, 'an unknown migration type is rejected');
SELECT throws_ok($$INSERT INTO migration_engine.knowledge_migrations (migration_name, version, forward_script)
                   VALUES ('m1', '2', 'SELECT 2')$$, '23505', NULL, 'migration names are unique');

-- migration_execution_state: step status is limited
SELECT throws_ok($$INSERT INTO migration_engine.migration_execution_state (migration_id, step_number, step_name, step_status)
                   SELECT migration_id, 0, 's', 'MAYBE' FROM migration_engine.knowledge_migrations WHERE migration_name = 'm1'$$,
                 '23514', NULL, 'an unknown step status is rejected');
SELECT lives_ok($$INSERT INTO migration_engine.migration_execution_state (migration_id, step_number, step_name, step_status)
                  SELECT migration_id, 0, 's', 'SKIPPED' FROM migration_engine.knowledge_migrations WHERE migration_name = 'm1'$$,
                'SKIPPED is a step status');

-- schema_versions: exactly one active
INSERT INTO migration_engine.schema_versions (version_number, schema_definition, is_active)
VALUES ('1.0.0', '{"entities": {}}', true);
SELECT throws_ok($$INSERT INTO migration_engine.schema_versions (version_number, schema_definition, is_active)
                   VALUES ('1.0.1', '{"entities": {}}', true)$$, '23P01', NULL, 'a second active version is rejected');
SELECT throws_ok($$INSERT INTO migration_engine.schema_versions (version_number, schema_definition)
                   VALUES ('1.0.0', '{"entities": {}}')$$, '23505', NULL, 'version numbers are unique');
SELECT throws_ok($$SET CONSTRAINTS migration_engine.exactly_one_active_schema_version IMMEDIATE;
                   UPDATE migration_engine.schema_versions SET is_active = false$$,
                 '23000', 'exactly one schema version must be active', 'no active version at all is rejected');
SELECT throws_ok($$UPDATE migration_engine.schema_versions SET schema_definition = '{"entities": {"X": {"fields": {}}}}'$$,
                 '55000', NULL, 'a registered version is immutable');

-- active_schema_version: a singleton that exists from install on
SELECT is((SELECT "current_schema" FROM migration_engine.active_schema_version), 'kg', 'the singleton points to kg');
SELECT throws_ok($$INSERT INTO migration_engine.active_schema_version (id, "current_schema") VALUES (2, 'x')$$,
                 '23514', NULL, 'a second singleton row is impossible');
SELECT throws_ok($$DELETE FROM migration_engine.active_schema_version$$, '23001', NULL, 'the singleton row cannot be deleted');

-- audit_log: append-only, stamped by the database
INSERT INTO migration_engine.audit_log (operation, actor, object_name) VALUES ('test', 'forged', 'x');
SELECT is((SELECT actor FROM migration_engine.audit_log WHERE operation = 'test'), current_user::text,
          'the actor is stamped by the database, not taken from the caller');
SELECT throws_ok($$UPDATE migration_engine.audit_log SET operation = 'changed'$$, '42501', NULL,
                 'audit rows cannot be updated, even by the owner');
SELECT throws_ok($$DELETE FROM migration_engine.audit_log$$, '42501', NULL, 'audit rows cannot be deleted');

SELECT * FROM finish();
ROLLBACK;
