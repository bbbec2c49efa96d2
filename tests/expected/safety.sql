-- The safety analysis' result shapes: validate_migration_safety (JSON) and
-- safety_report (markdown) of a migration with lock hazards, and of a safe one.
\pset format unaligned
\pset tuples_only on
CREATE TABLE accounts (id int PRIMARY KEY, email text);
INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 100) g;
-- table statistics are part of the estimate: take them now, not whenever autovacuum does
ANALYZE accounts;
SELECT migration_engine.create_migration('{
  "name": "risky", "version": "1",
  "forward": [
    {"name": "index", "type": "SQL", "script": "CREATE INDEX accounts_email ON accounts (email)"},
    {"name": "not_null", "type": "SQL", "script": "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL"}],
  "rollback": [{"name": "undo", "type": "SQL", "script": "DROP INDEX accounts_email; ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL"}]}') IS NOT NULL;
SELECT migration_engine.create_migration('{
  "name": "safe", "version": "2",
  "forward": [{"name": "column", "type": "SQL", "script": "ALTER TABLE accounts ADD COLUMN note text"}],
  "rollback": [{"name": "undo", "type": "SQL", "script": "ALTER TABLE accounts DROP COLUMN note"}]}') IS NOT NULL;
SELECT jsonb_pretty(migration_engine.validate_migration_safety('risky'));
SELECT jsonb_pretty(migration_engine.validate_migration_safety('safe'));
SELECT migration_engine.safety_report('risky');
