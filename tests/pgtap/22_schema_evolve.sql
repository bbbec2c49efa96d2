-- Schema: add_field_backward_compatible, deprecate_field, validate_entities.
BEGIN;
SELECT plan(28);

SELECT throws_ok($$SELECT migration_engine.add_field_backward_compatible('Person', 'email', '{"type": "text"}')$$, '55000', NULL,
                 'without an active schema, add_field is refused');
SELECT migration_engine.register_schema_version('1.0.0',
    '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "age": {"type": "integer"}}}}}');

-- a few thousand people, some with history
INSERT INTO kg.temporal_entities (entity_type, content, valid_from, valid_to)
SELECT 'Person', jsonb_build_object('name', 'old ' || g, 'age', 20), now() - interval '1 day', now() - interval '1 hour' FROM generate_series(1, 500) g;
INSERT INTO kg.temporal_entities (entity_type, content) SELECT 'Person', jsonb_build_object('name', 'p' || g, 'age', g % 90) FROM generate_series(1, 3000) g;
INSERT INTO kg.temporal_entities (entity_type, content) VALUES ('Person', '{"name": "has it", "country": "fr"}');
CREATE TABLE kg.entity_person (entity_id uuid PRIMARY KEY);

CREATE TEMP TABLE r AS SELECT migration_engine.add_field_backward_compatible('Person', 'country', '{"type": "text", "nullable": true}', '"de"', batch_size => 700) AS res;
SELECT is((SELECT res->>'version_number' FROM r), '1.0.1', 'a new, unique version number');
SELECT is((SELECT version_number FROM migration_engine.schema_versions WHERE is_active), '1.0.1', 'the new version is active');
SELECT is((SELECT schema_definition->'entities'->'Person'->'fields'->'country'->>'default' FROM migration_engine.schema_versions WHERE is_active), 'de',
          'the field and its default are in the new version');
SELECT is((SELECT status || '/' || migration_type FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_field_Person_country'),
          'COMPLETED/SCHEMA', 'a SCHEMA migration is recorded');
SELECT ok((SELECT rollback_script LIKE '%activate_schema_version(''1.0.0'')%' FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_field_Person_country'),
          'with a rollback');
SELECT is((SELECT (res->'backfill'->>'rows_updated')::int FROM r), 3000, 'the backfill updated the current entities lacking the field');
SELECT ok((SELECT (res->'backfill'->>'batches')::int >= 5 FROM r), 'in batches');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE valid_to = 'infinity' AND content->>'country' = 'de'), 3000::bigint, 'current versions carry the default');
SELECT is((SELECT content->>'country' FROM kg.temporal_entities WHERE content->>'name' = 'has it'), 'fr', 'an existing value is kept');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE valid_to < 'infinity' AND content ? 'country'), 0::bigint, 'history rows are untouched');
SELECT has_column('kg', 'entity_person', 'country', 'the projection table got the column');

SELECT throws_ok($$SELECT migration_engine.add_field_backward_compatible('Person', 'country', '{"type": "text"}')$$, '42710', NULL, 'an existing field is refused');
SELECT throws_ok($$SELECT migration_engine.add_field_backward_compatible('Robot', 'x', '{"type": "text"}')$$, '42704', NULL, 'an unknown entity type is refused');
SELECT throws_ok($$SELECT migration_engine.add_field_backward_compatible('Person', 'x; DROP TABLE kg.temporal_entities', '{"type": "text"}')$$, '42602', NULL,
                 'a field name that is not a plain name is refused');
SELECT throws_ok($$SELECT migration_engine.add_field_backward_compatible('Person', 'height', '{"type": "integer"}', '"tall"')$$, '22023', NULL,
                 'a default that does not fit the type is refused');
SELECT is((SELECT count(*) FROM migration_engine.schema_versions), 2::bigint, 'refused calls changed nothing');

-- deferred backfill, run by the committing procedure's batch function
CREATE TEMP TABLE r2 AS SELECT migration_engine.add_field_backward_compatible('Person', 'score', '{"type": "integer"}', '0', backfill => 'deferred') AS res;
SELECT is((SELECT res->'backfill'->>'status' FROM r2), 'PENDING', 'a deferred backfill waits for CALL run_backfill');
SELECT is((SELECT migration_engine.backfill_batch((res->'backfill'->>'backfill_id')::bigint, 5000)->>'rows_updated' FROM r2), '3001', 'backfill_batch resumes from its keyset');

-- deprecate
CREATE TEMP TABLE d AS SELECT migration_engine.deprecate_field('Person', 'age', 'use birth_date', '2.0.0') AS res;
SELECT is((SELECT (res->>'entities_tagged')::int FROM d), 3000, 'entities still using the field are tagged');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE metadata->'deprecated_fields' = '["age"]'), 3000::bigint, 'the tag holds the field name once');
SELECT is((SELECT entities_using || ' ' || removal_version FROM migration_engine.deprecated_fields WHERE field_name = 'age'), '3000 2.0.0',
          'deprecated_fields lists it with its usage');
SELECT throws_ok($$SELECT migration_engine.deprecate_field('Person', 'age')$$, '55000', NULL, 'deprecating twice is refused');

-- validate_entities
INSERT INTO kg.temporal_entities (entity_type, content) VALUES ('Person', '{"age": "old"}');
SELECT is((SELECT jsonb_array_length(migration_engine.validate_entities('Person'))), 1, 'one non-conforming entity');
SELECT is((SELECT jsonb_agg(v->>'kind' ORDER BY v->>'kind') FROM jsonb_array_elements(migration_engine.validate_entities()->0->'violations') v),
          '["MISSING_REQUIRED_FIELD", "WRONG_TYPE"]'::jsonb, 'with its violations');

SELECT migration_engine.add_field_backward_compatible('Person', 'status', '{"type": "text", "enum": ["a", "b"]}');
INSERT INTO kg.temporal_entities (entity_type, content) VALUES
  ('Person', '{"name": "half", "age": 5.5}'), ('Person', '{"name": 5}'), ('Person', '{"name": "st", "status": "c"}'),
  ('Person', '{"name": "fine", "age": 7, "status": "b"}');
SELECT is((SELECT jsonb_agg(v->>'kind' ORDER BY e->'violations'->0->>'message') FROM jsonb_array_elements(migration_engine.validate_entities('Person')) e,
                  jsonb_array_elements(e->'violations') v WHERE v->>'kind' <> 'MISSING_REQUIRED_FIELD'),
          '["WRONG_TYPE", "WRONG_TYPE", "WRONG_TYPE", "ENUM_VIOLATION"]'::jsonb, 'non-integral numbers, wrong JSON types and values outside an enum are found');
SELECT is((SELECT count(*) FROM jsonb_array_elements(migration_engine.validate_entities('Person'))), 4::bigint, 'conforming entities are not reported');
SELECT throws_ok($$SELECT migration_engine.validate_entities('Robot')$$, '42704', NULL, 'an unknown entity type is an error');

SELECT * FROM finish();
ROLLBACK;
