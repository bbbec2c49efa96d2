-- Deploy kg_example:add_score
-- No BEGIN/COMMIT here: CALL run_migration commits after every step (inside a transaction
-- block it is refused up front). A failing step makes this script, and so the deploy,
-- fail; the migration's FAILED record stays. create_migration of an identical definition
-- returns the existing migration, so a re-deploy after a revert works.
\set ON_ERROR_STOP 1
SELECT migration_engine.create_migration($${
  "name": "add_score", "version": "1", "type": "SCHEMA",
  "forward": [{"name": "add column", "type": "SQL",
               "script": "ALTER TABLE temporal_entities ADD COLUMN IF NOT EXISTS score int NOT NULL DEFAULT 0"}],
  "rollback": [{"name": "drop column", "type": "SQL",
                "script": "ALTER TABLE temporal_entities DROP COLUMN IF EXISTS score"}]
}$$::jsonb);
CALL migration_engine.run_migration('add_score');
