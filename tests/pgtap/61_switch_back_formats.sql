-- switch_back after a blue-green migration with TRANSFORM steps: the writes made in the
-- new schema come back through the migration's rollback TRANSFORM steps, in the old
-- format; without such steps the switch back is refused (nothing changes) unless asked
-- for with {"untransformed": true}.
BEGIN;
SELECT plan(31);

INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
SELECT md5('p' || g)::uuid, 'Person', jsonb_build_object('name', 'person ' || g, 'age', g)
FROM generate_series(1, 50) g;

-- name -> full_name forward, full_name -> name in the rollback
SELECT migration_engine.create_migration('{"name": "sb_rename", "version": "1", "forward": [
    {"name": "rename", "type": "TRANSFORM", "pipeline": {"name": "to full_name", "source": {"entityType": "Person"},
       "steps": [{"name": "map", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "name", "target": "full_name"}]}}]}}],
  "rollback": [
    {"name": "rename back", "type": "TRANSFORM", "pipeline": {"name": "to name", "source": {"entityType": "Person"},
       "steps": [{"name": "map", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "full_name", "target": "name"}]}}]}}]}');
-- the same forward transformation, and no way back
SELECT migration_engine.create_migration('{"name": "sb_one_way", "version": "1", "forward": [
    {"name": "rename", "type": "TRANSFORM", "pipeline": {"name": "to label", "source": {"entityType": "Person"},
       "steps": [{"name": "map", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "name", "target": "label"}]}}]}}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
CREATE TEMP TABLE ids AS SELECT migration_name AS name, migration_id AS id FROM migration_engine.knowledge_migrations;

-- 1. with a rollback transformation
SELECT is((SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'sb_rename'), 'sb_green')->>'success'),
          'true', 'the renaming migration runs blue-green');
SELECT is((SELECT count(*)::int FROM sb_green.temporal_entities WHERE valid_to = 'infinity' AND content ? 'full_name' AND NOT content ? 'name'),
          50, 'green holds the new format');
-- the application writes in the new format: an update, a new entity, a deletion
SELECT lives_ok($$SELECT migration_engine.upsert_entity('Person', '{"full_name": "renamed one", "age": 1}', md5('p1')::uuid)$$,
                'an update in green');
SELECT lives_ok($$SELECT migration_engine.upsert_entity('Person', '{"full_name": "born in green", "age": 0}', md5('new')::uuid)$$,
                'a new entity in green');
SELECT ok(migration_engine.delete_entity(md5('p2')::uuid), 'a deletion in green');
CREATE TEMP TABLE back1 AS SELECT migration_engine.switch_back() AS v;
SELECT is((SELECT v->>'new_schema' FROM back1), 'kg', 'switch_back returns to kg');
SELECT is((SELECT v->>'transformed_back' FROM back1), 'true', 'and says the writes went through the rollback transformation');
SELECT is((SELECT v->'warning' FROM back1), 'null'::jsonb, 'with no warning');
SELECT is((SELECT content FROM kg.temporal_entities WHERE entity_id = md5('p1')::uuid AND valid_to = 'infinity'),
          '{"name": "renamed one", "age": 1}'::jsonb, 'the update is in kg in the old format');
SELECT is((SELECT content FROM kg.temporal_entities WHERE entity_id = md5('new')::uuid AND valid_to = 'infinity'),
          '{"name": "born in green", "age": 0}'::jsonb, 'so is the new entity');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE entity_id = md5('p2')::uuid AND valid_to = 'infinity' AND NOT is_deleted),
          0, 'the deletion came back');
-- (a deletion marker keeps the content the entity had when it was deleted, as in green)
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE valid_to = 'infinity' AND NOT is_deleted AND content ? 'full_name'),
          0, 'no live entity of kg is in the new format');
SELECT is((SELECT count(*)::int FROM (SELECT entity_id FROM kg.temporal_entities WHERE valid_to = 'infinity' GROUP BY 1 HAVING count(*) > 1) d),
          0, 'one current version per entity');
SELECT is((SELECT content->>'name' FROM kg.temporal_entities WHERE entity_id = md5('p1')::uuid ORDER BY valid_from, version_id LIMIT 1),
          'person 1', 'history kept: the updated entity''s first version is still kg''s original');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE entity_id = md5('p3')::uuid),
          1, 'an entity green did not write keeps its one version');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'sb_rename'), 'ROLLED_BACK',
          'the migration is ROLLED_BACK');

-- switching forward again to the schema the migration built: kg's writes would reach it
-- in the old format, so it is refused while any entity waits (run the migration again)
SELECT lives_ok($$SELECT migration_engine.upsert_entity('Person', '{"name": "written in kg", "age": 9}', md5('p9')::uuid)$$,
                'a write in kg after the switch back');
SELECT throws_like($$SELECT migration_engine.switch_active_schema('sb_green')$$,
                   'the writes to 1 entity made since the switch back would reach "sb_green" in the old format%',
                   'switching forward again is refused while an old-format write would reach it');
SELECT is(migration_engine.active_schema(), 'kg', 'nothing switched');

-- 2. without one
SELECT is((SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'sb_one_way'), 'sb_blue')->>'success'),
          'true', 'the one-way migration runs blue-green');
SELECT lives_ok($$SELECT migration_engine.upsert_entity('Person', '{"label": "labelled", "age": 4}', md5('p4')::uuid)$$,
                'a write in the new format');
SELECT throws_like($$SELECT migration_engine.switch_back()$$,
                   'the writes to 1 entity made since the switch would come back in the format of "sb_one_way"%',
                   'switch_back refuses to bring new-format writes back unchanged');
SELECT throws_ok($$SELECT migration_engine.switch_back()$$, '55000', NULL, 'with SQLSTATE 55000');
SELECT throws_ok($$SELECT migration_engine.switch_active_schema('kg')$$, '55000', NULL,
                 'switch_active_schema to the previous schema refuses it too');
SELECT is(migration_engine.active_schema(), 'sb_blue', 'nothing switched');
SELECT is((SELECT count(*)::int FROM migration_engine.change_log WHERE schema_name = 'sb_blue' AND table_name = 'temporal_entities'),
          2, 'the write still waits in the log (the closed version and the new one)');
SELECT is((SELECT content->>'name' FROM kg.temporal_entities WHERE entity_id = md5('p4')::uuid AND valid_to = 'infinity'),
          'person 4', 'kg is untouched');
SELECT throws_ok($$SELECT migration_engine.switch_back('{"untransformed": "yes"}')$$, '22023', NULL,
                 'untransformed must be true or false');
SELECT throws_like($$SELECT migration_engine.switch_back('{"untransformd": true}')$$, '%did you mean "untransformed"%',
                   'a misspelled untransformed is refused');
CREATE TEMP TABLE back2 AS SELECT migration_engine.switch_back('{"untransformed": true}') AS v;
SELECT is((SELECT (v->>'new_schema') || ', transformed back: ' || (v->>'transformed_back') || ', ' || (v->>'warning') FROM back2),
          'kg, transformed back: false, entity writes came back as they are, in the format of the migration''s TRANSFORM steps (untransformed: true)',
          'asked for, the writes come back as they are, with a warning');
SELECT is((SELECT content FROM kg.temporal_entities WHERE entity_id = md5('p4')::uuid AND valid_to = 'infinity'),
          '{"label": "labelled", "age": 4}'::jsonb, 'as written in the new schema');

SELECT * FROM finish();
ROLLBACK;
