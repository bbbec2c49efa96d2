-- The result shapes of the engine that users script against: create_migration,
-- execute_migration (success and failure), migration_plan, migration_status,
-- rollback_migration. Timings, ids and clocks are masked by tests/expected/mask.py.
\pset format unaligned
\pset tuples_only on
SELECT (migration_engine.create_migration('{
  "name": "people", "version": "1", "description": "a table of people",
  "forward": [
    {"name": "create", "type": "SQL", "script": "CREATE TABLE people (id int PRIMARY KEY, name text)"},
    {"name": "fill", "type": "SQL", "script": "INSERT INTO people SELECT g, ''p'' || g FROM generate_series(1, 3) g"}],
  "rollback": [{"name": "drop", "type": "SQL", "script": "DROP TABLE people"}]}')) IS NOT NULL;
SELECT (migration_engine.create_migration('{
  "name": "people_email", "version": "2", "dependsOn": ["people"],
  "forward": [{"name": "email", "type": "SQL", "script": "ALTER TABLE people ADD COLUMN email text"}],
  "rollback": [{"name": "no_email", "type": "SQL", "script": "ALTER TABLE people DROP COLUMN email"}]}')) IS NOT NULL;
SELECT (migration_engine.create_migration('{
  "name": "broken", "version": "3",
  "forward": [{"name": "bad", "type": "SQL", "script": "ALTER TABLE no_such_table ADD COLUMN x int"}],
  "rollback": [{"name": "none", "type": "SQL", "script": "SELECT 1"}]}')) IS NOT NULL;
SELECT execution_order || ' ' || migration_name || ' ' || status FROM migration_engine.migration_plan() ORDER BY execution_order;
SELECT jsonb_pretty(migration_engine.execute_migration('people'));
SELECT jsonb_pretty(migration_engine.execute_migration('people_email', '{"dryRun": true}'));
SELECT jsonb_pretty(migration_engine.execute_migration('people_email'));
SELECT jsonb_pretty(migration_engine.execute_migration('broken'));
SELECT jsonb_pretty(migration_engine.rollback_migration('people_email'));
SELECT migration_name || ' ' || status FROM migration_engine.knowledge_migrations ORDER BY migration_name;
