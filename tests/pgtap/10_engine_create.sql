-- Engine: create_migration, migration_plan, migration_graph, bad definitions.
BEGIN;
SELECT plan(23);

SELECT lives_ok($$SELECT migration_engine.create_migration('{
    "name": "m_base", "version": "1.0.0", "type": "SCHEMA",
    "forward": [{"name": "t", "type": "SQL", "script": "CREATE TABLE eng_t (id int primary key, v text)"}],
    "rollback": [{"name": "drop", "type": "SQL", "script": "DROP TABLE eng_t"}]}')$$, 'a migration is created');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_base'), 'PENDING', 'it starts PENDING');
SELECT ok((SELECT checksum ~ '^[0-9a-f]{64}$' FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_base'), 'a sha256 checksum is kept');
SELECT ok((SELECT forward_script LIKE '%CREATE TABLE eng_t%' FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_base'), 'forward_script holds the SQL');

SELECT migration_engine.create_migration('{"name": "m_child", "version": "1.0.1", "dependsOn": ["m_base"], "priority": 5,
    "forward": [{"name": "ins", "type": "SQL", "script": "INSERT INTO eng_t VALUES (1, ''a'')"}],
    "rollback": [{"name": "del", "type": "SQL", "script": "DELETE FROM eng_t"}]}');
SELECT migration_engine.create_migration('{"name": "m_alone", "version": "1.0.0", "priority": 1,
    "forward": [{"name": "noop", "type": "SQL", "script": "SELECT 1"}]}');
SELECT is((SELECT array_agg(migration_name ORDER BY execution_order) FROM migration_engine.migration_plan()),
          ARRAY['m_alone', 'm_base', 'm_child'], 'the plan runs dependencies first, then by priority');
SELECT ok(migration_engine.migration_graph() LIKE 'flowchart%', 'the graph renders as Mermaid');
SELECT ok(migration_engine.migration_graph('dot') LIKE 'digraph%', 'the graph renders as DOT');
SELECT throws_ok($$SELECT migration_engine.migration_graph('png')$$, '22023', NULL, 'an unknown graph format is refused');

SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "m_base", "version": "2", "forward": [{"name": "x", "type": "SQL", "script": "SELECT 2"}]}')$$,
                 '42710', NULL, 'a duplicate name is refused');
-- a deploy tool's re-deploy of the same change: the same definition again is the same migration
SELECT is(migration_engine.create_migration(definition), migration_id, 'an identical definition again returns the existing id')
FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_base';
SELECT is((SELECT count(*)::int FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_base'), 1, 'and adds nothing');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "bad1", "version": "1", "forward": [{"name": "x", "type": "SHELL", "script": "rm"}]}')$$,
                 '22023', NULL, 'an unknown step type is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "bad2", "version": "1", "forward": [{"name": "x", "type": "SQL"}]}')$$,
                 '22023', NULL, 'a SQL step without script is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "bad3", "version": "1", "forward": []}')$$,
                 '22023', NULL, 'an empty forward is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "bad4", "version": "1", "dependsOn": ["nope"], "forward": [{"name": "x", "type": "SQL", "script": "SELECT 1"}]}')$$,
                 '42704', NULL, 'a dependency on an unknown migration is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "bad5", "version": "1", "forward": [{"name": "x", "type": "FUNCTION", "function": "pg_catalog.now(); DROP TABLE x"}]}')$$,
                 '22023', NULL, 'a function name that is not a plain name is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "bad6", "version": "1", "forward": [{"name": "x", "type": "FUNCTION"}]}')$$,
                 '22023', NULL, 'a FUNCTION step without function is refused');

-- a cycle could only come from edited rows, and a migration's definition cannot be edited
SELECT throws_ok($$UPDATE migration_engine.knowledge_migrations SET depends_on = ARRAY[(SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_child')]
                   WHERE migration_name = 'm_base'$$, '55000', NULL, 'editing a migration''s dependencies is refused');
SELECT lives_ok($$SELECT * FROM migration_engine.migration_plan()$$, 'so the plan stays acyclic');
SELECT is((SELECT count(*) FROM migration_engine.audit_log WHERE operation = 'migration_created'), 3::bigint, 'creations are audited');

-- a FUNCTION step's stored text is the statement that runs: a parameter named by a
-- keyword is quoted in both, so the stored text runs as it reads
CREATE TABLE eng_calls (n int, label text);
CREATE FUNCTION eng_record(n int, "order" text) RETURNS void LANGUAGE sql AS $f$ INSERT INTO eng_calls VALUES (n, "order") $f$;
SELECT ok(migration_engine.create_migration('{"name": "m_call", "version": "9",
  "forward": [{"name": "call", "type": "FUNCTION", "function": "public.eng_record", "parameters": {"n": 7, "order": "it''s"}}],
  "rollback": [{"name": "r", "type": "SQL", "script": "DELETE FROM eng_calls"}]}') IS NOT NULL, 'a migration calling a function with a keyword parameter');
SELECT is((SELECT forward_script FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_call'),
          $$SELECT "public"."eng_record"("n" => '7', "order" => 'it''s');$$,
          'a FUNCTION step is stored as the quoted call the engine runs');
DO $$ BEGIN EXECUTE (SELECT forward_script FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_call'); END $$;
SELECT is((SELECT n || ' ' || label FROM eng_calls), '7 it''s', 'and the stored text runs as it reads');

SELECT * FROM finish();
ROLLBACK;
