-- Foundation: the temporal knowledge-graph store.
BEGIN;
SELECT plan(20);

SELECT has_schema('kg');
SELECT is(migration_engine.active_schema(), 'kg', 'active_schema() names the data schema');
SELECT lives_ok($$INSERT INTO kg.temporal_entities (entity_type, content) VALUES ('Person', '{"name": "Grace"}')$$,
                'a plain INSERT works: entity_id, validity and flags have defaults');
SELECT is((SELECT valid_to FROM kg.temporal_entities WHERE content->>'name' = 'Grace'), 'infinity'::timestamptz,
          'a new version is current (valid_to = infinity)');

-- at most one current version per entity
SELECT throws_ok($$INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
                   SELECT entity_id, 'Person', '{}' FROM kg.temporal_entities WHERE content->>'name' = 'Grace'$$,
                 '23505', NULL, 'a second current version of one entity is rejected');
SELECT throws_ok($$INSERT INTO kg.temporal_entities (entity_type, content) VALUES ('Person', '[1]')$$,
                 '23514', NULL, 'content must be a JSON object');

-- upsert_entity keeps history
CREATE TEMP TABLE ids AS SELECT migration_engine.upsert_entity('Person', '{"name": "Ada", "age": 36}') AS id;
SELECT migration_engine.upsert_entity('Person', '{"name": "Ada", "age": 37}', (SELECT id FROM ids));
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE entity_id = (SELECT id FROM ids)), 2::bigint,
          'upsert_entity wrote a second version');
SELECT is((SELECT count(*) FROM kg.temporal_entities WHERE entity_id = (SELECT id FROM ids) AND valid_to = 'infinity'),
          1::bigint, 'exactly one of them is current');
SELECT is((SELECT content->>'age' FROM kg.temporal_entities WHERE entity_id = (SELECT id FROM ids) AND valid_to < 'infinity'),
          '36', 'the old version is kept, unchanged');
SELECT is((SELECT content->>'age' FROM migration_engine.entity_as_of((SELECT id FROM ids))), '37',
          'entity_as_of(now) reads the current version');
SELECT is((SELECT is_current::text || ' ' || coalesce(valid_to::text, 'NULL') FROM migration_engine.entity_as_of((SELECT id FROM ids))),
          'true NULL', 'entity_as_of: the current version says is_current, with valid_to NULL');
SELECT is((SELECT count(*) FROM migration_engine.entity_as_of((SELECT id FROM ids), '-infinity')), 0::bigint,
          'entity_as_of before it existed reads nothing');
SELECT throws_ok($$SELECT migration_engine.upsert_entity('Company', '{}', (SELECT id FROM ids))$$,
                 '22023', NULL, 'an entity keeps its type');
SELECT throws_ok($$SELECT migration_engine.upsert_entity('Person; DROP TABLE kg.temporal_entities', '{}')$$,
                 '42602', NULL, 'an entity type that is not a plain name is refused');

-- soft delete
SELECT ok(migration_engine.delete_entity((SELECT id FROM ids)), 'delete_entity deletes');
SELECT is((SELECT count(*) FROM migration_engine.entity_history((SELECT id FROM ids))), 3::bigint,
          'history holds both versions and the deletion');
-- clients read history with stock settings: no 'infinity' (psycopg 3 cannot load it)
SELECT is((SELECT count(*) FROM migration_engine.entity_history((SELECT id FROM ids)) WHERE valid_to IS NULL), 1::bigint,
          'entity_history: the current version has valid_to NULL, not infinity');
SELECT is((SELECT array_agg(is_deleted) FROM migration_engine.entity_history((SELECT id FROM ids)) WHERE is_current),
          ARRAY[true], 'entity_history: is_current marks the current version (here the deletion) only');
SELECT is((SELECT count(*) FROM migration_engine.entity_history((SELECT id FROM ids)) WHERE NOT is_current AND valid_to IS NOT NULL), 2::bigint,
          'entity_history: closed versions keep their valid_to');

-- relations
CREATE TEMP TABLE rel AS SELECT migration_engine.upsert_relation('KNOWS', migration_engine.upsert_entity('Person', '{"name": "Alan"}'),
    (SELECT entity_id FROM kg.temporal_entities WHERE content->>'name' = 'Grace')) AS id;
SELECT is((SELECT count(*) FROM kg.temporal_relations WHERE relation_id = (SELECT id FROM rel)), 1::bigint,
          'upsert_relation writes an edge');

SELECT * FROM finish();
ROLLBACK;
