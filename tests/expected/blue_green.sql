-- execute_blue_green_migration's result shape (timings masked), on a small graph:
-- an added field, validated and switched.
\pset format unaligned
\pset tuples_only on
SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('name', 'p' || g))) FROM generate_series(1, 20) g;
SELECT migration_engine.create_migration('{
  "name": "person_region", "version": "1", "type": "SCHEMA",
  "forward": [{"name": "region", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN region text"}],
  "rollback": [{"name": "no_region", "type": "SQL", "script": "ALTER TABLE temporal_entities DROP COLUMN region"}]}') IS NOT NULL;
SELECT jsonb_pretty(migration_engine.execute_blue_green_migration(
    (SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'person_region'), 'green'));
SELECT migration_engine.active_schema();
