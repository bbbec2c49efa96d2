-- Deploy kg_example:broken: its second step fails (no such table)
\set ON_ERROR_STOP 1
SELECT migration_engine.create_migration($${
  "name": "broken", "version": "1", "type": "SCHEMA",
  "forward": [{"name": "fine", "type": "SQL", "script": "CREATE TABLE IF NOT EXISTS broken_marker (id int)"},
              {"name": "boom", "type": "SQL", "script": "ALTER TABLE no_such_table ADD COLUMN x int"}],
  "rollback": [{"name": "undo", "type": "SQL", "script": "DROP TABLE IF EXISTS broken_marker"}]
}$$::jsonb);
CALL migration_engine.run_migration('broken');
