-- A Flyway-style migration file: the definition and one call. deploy_migration creates
-- the migration (the same definition again: nothing to do), runs it in this transaction,
-- and raises when it fails, so the deploy fails; the failure is kept in
-- migration_engine.deploy_failures all the same.
SELECT migration_engine.deploy_migration($json${
  "name": "add_score", "version": "1",
  "forward":  [{"name": "add", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN score integer"}],
  "rollback": [{"name": "drop", "type": "SQL", "script": "ALTER TABLE temporal_entities DROP COLUMN score"}]
}$json$);
