-- Pipelines: every step type and mapping rule, history and patch modes, SKIP/RETRY/FAIL,
-- undo, dry run, bad pipelines, a pipeline as a TRANSFORM step rolled back with its migration.
BEGIN;
SELECT plan(39);

INSERT INTO kg.temporal_entities (entity_type, content, valid_from)
SELECT 'Person', jsonb_build_object('fullName', 'person ' || g, 'age', (20 + g % 60)::text, 'first', 'F' || g, 'last', 'L' || g,
                                    'cc', (ARRAY['de', 'fr', 'xx'])[1 + g % 3], 'address', jsonb_build_object('city', 'paris')),
       now() - interval '1 day'
FROM generate_series(1, 300) g;
CREATE TEMP TABLE before AS SELECT entity_id, content FROM kg.temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity';
CREATE TEMP TABLE one AS SELECT entity_id FROM before WHERE content->>'fullName' = 'person 7';

CREATE TEMP TABLE p1 AS SELECT '{"name": "normalise people", "source": {"entityType": "Person"}, "batchSize": 64,
  "steps": [{"name": "map", "type": "MAP", "config": {"mappingRules": [
      {"type": "FIELD_RENAME", "source": "fullName", "target": "name"},
      {"type": "FIELD_TRANSFORM", "field": "age", "transformation": "to_integer"},
      {"type": "FIELD_TRANSFORM", "field": "name", "transformation": "upper"},
      {"type": "FIELD_MERGE", "sourceFields": ["first", "last"], "targetField": "initials", "mergeStrategy": "concat", "separator": "."},
      {"type": "FIELD_RENAME", "source": "address.city", "target": "address.town"},
      {"type": "CONDITIONAL_TRANSFORM", "condition": "$.age > \"70\"", "transformation": {"type": "FIELD_TRANSFORM", "field": "name", "transformation": "lower"}},
      {"type": "LOOKUP_TRANSFORM", "lookupTable": {"de": "Germany", "fr": "France"}, "keyField": "cc", "targetField": "country"}]}}]}'::jsonb AS p;

CREATE TEMP TABLE r1 AS SELECT migration_engine.execute_pipeline(p) AS res FROM p1;
SELECT is((SELECT res->>'success' FROM r1), 'true', 'a MAP pipeline succeeds');
SELECT ok((SELECT res ?& ARRAY['success', 'step_results', 'metrics', 'errors_sample'] FROM r1), 'the result has the seed''s keys');
SELECT is((SELECT (res->'step_results'->0->>'input_count')::int FROM r1), 300, 'step_results count the items');
SELECT is((SELECT (res->'metrics'->>'rows_changed')::int FROM r1), 300, 'every entity changed');
SELECT ok((SELECT (res->'metrics'->>'batches')::int >= 5 FROM r1), 'in keyset batches');
SELECT is((SELECT content - 'cc' - 'first' - 'last' FROM kg.temporal_entities WHERE entity_id = (SELECT entity_id FROM one) AND valid_to = 'infinity'),
          '{"age": 27, "name": "PERSON 7", "address": {"town": "paris"}, "country": "France", "initials": "F7.L7"}'::jsonb,
          'rename, transform, merge, nested rename and lookup applied');
SELECT ok((SELECT bool_and(content->>'name' = CASE WHEN (content->>'age')::int > 70 THEN lower(content->>'name') ELSE upper(content->>'name') END)
           FROM kg.temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity'),
          'CONDITIONAL_TRANSFORM applied on the condition of the item before the step');
SELECT ok((SELECT NOT (content ? 'country') FROM kg.temporal_entities WHERE valid_to = 'infinity' AND content->>'cc' = 'xx' LIMIT 1),
          'a missing lookup key keeps the item as it was (onMissing keep)');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE entity_type = 'Person'), 600::bigint, 'history mode wrote new versions');
SELECT is((SELECT content FROM migration_engine.entity_as_of((SELECT entity_id FROM one), now() - interval '1 hour')),
          (SELECT content FROM before WHERE entity_id = (SELECT entity_id FROM one)), 'the old version is readable as of before the run');
SELECT is((SELECT count(*) FROM migration_engine.pipeline_progress WHERE status = 'COMPLETED'), 1::bigint, 'the run is recorded with its progress');

-- undo in history mode
SELECT is((SELECT (migration_engine.undo_pipeline_run((res->>'run_id')::uuid)->>'restored')::int FROM r1), 300, 'undo restores every entity');
SELECT is((SELECT md5(string_agg(content::text, ',' ORDER BY entity_id)) FROM kg.temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity'),
          (SELECT md5(string_agg(content::text, ',' ORDER BY entity_id)) FROM before), 'after undo the content checksum equals the one before the run');

-- patch mode with tracked changes, and undo with a conflict
CREATE TEMP TABLE p2 AS SELECT '{"name": "upper names", "source": {"entityType": "Person", "filter": "$.age < \"30\""},
  "steps": [{"name": "up", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "fullName", "transformation": "upper"}]}}]}'::jsonb AS p;
CREATE TEMP TABLE r2 AS SELECT migration_engine.execute_pipeline(p, '{"mode": "patch"}') AS res FROM p2;
SELECT is((SELECT res->>'success' FROM r2), 'true', 'a patch-mode run succeeds');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE entity_type = 'Person'), 900::bigint, 'patch mode writes no versions (600 + the 300 of the undo)');
SELECT ok((SELECT count(*) > 0 FROM migration_engine.migration_execution_state WHERE pipeline_run_id = (SELECT (res->>'run_id')::uuid FROM r2)
           AND old_value IS NOT NULL AND new_value IS NOT NULL AND entity_id IS NOT NULL), 'per-entity changes are tracked');
SELECT ok((SELECT bool_and(content->>'fullName' = upper(content->>'fullName')) FROM kg.temporal_entities WHERE valid_to = 'infinity' AND content->>'age' < '30'),
          'the source filter selected the items');
-- A hand edit of a current version, as a concurrent writer would make it. History
-- protection refuses such edits; the superuser stands it aside as pg_restore does.
SET session_replication_role = replica; UPDATE kg.temporal_entities SET content = content || '{"touched": true}' WHERE entity_id = (SELECT entity_id FROM before WHERE content->>'age' = '21' LIMIT 1) AND valid_to = 'infinity'; RESET session_replication_role;
CREATE TEMP TABLE u2 AS SELECT migration_engine.undo_pipeline_run((res->>'run_id')::uuid) AS u FROM r2;
SELECT is((SELECT (u->>'conflicts')::int FROM u2), 1, 'an entity written since the run is reported as a conflict, not clobbered');

-- FILTER and CUSTOM
CREATE FUNCTION public.tag_senior(item jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT item || '{"senior": true}' $$;
CREATE TEMP TABLE r3 AS SELECT migration_engine.execute_pipeline('{"name": "seniors", "source": {"entityType": "Person"},
  "steps": [{"name": "only old", "type": "FILTER", "config": {"condition": "$.age > \"70\""}},
            {"name": "tag", "type": "CUSTOM", "config": {"function": "public.tag_senior"}}]}') AS res;
SELECT is((SELECT (res->'step_results'->0->>'output_count')::int FROM r3), (SELECT count(*)::int FROM before WHERE content->>'age' > '70'),
          'FILTER passes only matching items');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE valid_to = 'infinity' AND content ? 'senior'),
          (SELECT count(*) FROM before WHERE content->>'age' > '70'), 'CUSTOM applies to them; the others are untouched');

-- SKIP, RETRY, FAIL
SET session_replication_role = replica; UPDATE kg.temporal_entities SET content = content || '{"age": "old"}' WHERE entity_id = (SELECT entity_id FROM one) AND valid_to = 'infinity'; RESET session_replication_role;
CREATE TEMP TABLE r4 AS SELECT migration_engine.execute_pipeline('{"name": "ages", "source": {"entityType": "Person"}, "batchSize": 50,
  "steps": [{"name": "int", "type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "age", "transformation": "to_integer"}]}}]}') AS res;
SELECT is((SELECT (res->'metrics'->>'rows_failed')::int FROM r4), 1, 'SKIP records the failing item');
SELECT is((SELECT step_name || ':' || (original_content->>'age') FROM migration_engine.pipeline_dead_letters), 'int:old', 'in the dead-letter table, with its step and original content');
SELECT is((SELECT content->>'age' FROM kg.temporal_entities WHERE entity_id = (SELECT entity_id FROM one) AND valid_to = 'infinity'), 'old', 'and leaves it unchanged');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE valid_to = 'infinity' AND jsonb_typeof(content->'age') = 'number'), 299::bigint, 'the others are converted');
SET session_replication_role = replica; UPDATE kg.temporal_entities SET content = content || '{"age": "41"}' WHERE entity_id = (SELECT entity_id FROM one) AND valid_to = 'infinity'; RESET session_replication_role;
SELECT is((SELECT (migration_engine.replay_dead_letters((res->>'run_id')::uuid)->>'replayed')::int FROM r4), 1, 'a fixed dead letter replays');
SELECT is((SELECT content->'age' FROM kg.temporal_entities WHERE entity_id = (SELECT entity_id FROM one) AND valid_to = 'infinity'), '41'::jsonb,
          'and is transformed');
SET session_replication_role = replica; UPDATE kg.temporal_entities SET content = content || '{"age": "old"}' WHERE entity_id = (SELECT entity_id FROM one) AND valid_to = 'infinity'; RESET session_replication_role;
SET session_replication_role = replica; UPDATE kg.temporal_entities SET content = content || '{"age": "again"}' WHERE entity_id = (SELECT entity_id FROM before WHERE content->>'fullName' = 'person 8') AND valid_to = 'infinity'; RESET session_replication_role;
CREATE TEMP TABLE snapshot AS SELECT md5(string_agg(content::text, ',' ORDER BY entity_id)) AS h FROM kg.temporal_entities WHERE valid_to = 'infinity';
CREATE TEMP TABLE r5 AS SELECT migration_engine.execute_pipeline('{"name": "ages strict", "source": {"entityType": "Person"},
  "steps": [{"name": "int", "type": "MAP", "errorHandling": "FAIL", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "age", "transformation": "to_integer"}]}}]}') AS res;
SELECT is((SELECT res->>'success' FROM r5), 'false', 'FAIL stops the run');
SELECT is((SELECT md5(string_agg(content::text, ',' ORDER BY entity_id)) FROM kg.temporal_entities WHERE valid_to = 'infinity'), (SELECT h FROM snapshot),
          'and leaves the data exactly as before');
SELECT is((SELECT status FROM migration_engine.pipeline_runs WHERE pipeline_name = 'ages strict'), 'FAILED', 'the failed run is recorded');
CREATE TEMP TABLE r6 AS SELECT migration_engine.execute_pipeline('{"name": "ages retry", "source": {"entityType": "Person"},
  "steps": [{"name": "int", "type": "MAP", "errorHandling": "RETRY", "retries": 2, "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "age", "transformation": "to_integer"}]}}]}') AS res;
SELECT is((SELECT (res->'metrics'->>'rows_failed')::int FROM r6), 2, 'RETRY retries, then records the items that still fail');

-- dry run / preview
SELECT is((SELECT jsonb_array_length(migration_engine.execute_pipeline('{"name": "shout", "source": {"entityType": "Person"},
    "steps": [{"name": "up", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "fullName", "transformation": "upper"}]}}]}',
    '{"preview": 3}')->'preview')), 3, 'preview returns before/after pairs');
SELECT is((SELECT count(*) FROM migration_engine.pipeline_runs WHERE pipeline_name = 'shout'), 0::bigint, 'and writes nothing');

-- bad pipelines
SELECT throws_ok($$SELECT migration_engine.execute_pipeline('{"name": "x", "source": {"entityType": "Person"}, "steps": [{"name": "s", "type": "SHUFFLE", "config": {}}]}')$$,
                 '22023', NULL, 'an unknown step type is refused');
SELECT throws_ok($$SELECT migration_engine.execute_pipeline('{"name": "x", "source": {"entityType": "Person"}, "steps": [{"name": "s", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_SWAP"}]}}]}')$$,
                 '22023', NULL, 'an unknown rule is refused');
SELECT throws_ok($$SELECT migration_engine.execute_pipeline('{"name": "x", "source": {"entityType": "Person"}, "steps": [{"name": "s", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "a"}]}}]}')$$,
                 '22023', NULL, 'a rule missing its keys is refused');
SELECT throws_ok($$SELECT migration_engine.execute_pipeline('{"name": "x", "source": {"entityType": "Person", "filter": "$.age >>> 3"}, "steps": [{"name": "s", "type": "FILTER", "config": {"condition": "$.a == 1"}}]}')$$,
                 '22023', NULL, 'an invalid jsonpath is refused before anything is written');

-- TRANSFORM step of a migration, rolled back with the migration
SELECT migration_engine.create_migration('{"name": "transform_people", "version": "1", "type": "DATA",
  "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": {"name": "tp", "source": {"entityType": "Person"},
     "steps": [{"name": "m", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "cc", "target": "country_code"}]}}]}}]}');
CREATE TEMP TABLE snap2 AS SELECT md5(string_agg(content::text, ',' ORDER BY entity_id)) AS h FROM kg.temporal_entities WHERE valid_to = 'infinity';
SELECT is((SELECT migration_engine.execute_migration('transform_people', '{"force": true}')->>'success'), 'true', 'a TRANSFORM step runs its pipeline');
SELECT is((SELECT migration_engine.rollback_migration('transform_people')->>'success'), 'true', 'the migration rolls back');
SELECT is((SELECT md5(string_agg(content::text, ',' ORDER BY entity_id)) FROM kg.temporal_entities WHERE valid_to = 'infinity'), (SELECT h FROM snap2),
          'and its pipeline run is undone with it');

SELECT * FROM finish();
ROLLBACK;
