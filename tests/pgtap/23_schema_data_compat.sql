-- Schema: check_compatibility_against_data, compatibility verdicts tested against the
-- stored entity versions, each judged by the schema version active when it was written.
BEGIN;
SELECT plan(23);

SELECT throws_ok($$SELECT migration_engine.check_compatibility_against_data('{"entities": {}}')$$, '55000', NULL,
                 'with no schema version ever active there is nothing to judge by');

SELECT migration_engine.set_compatibility_mode('NONE');
SELECT migration_engine.register_schema_version('1',
  '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "status": {"type": "text", "enum": ["a", "b", "c"]}, "age": {"type": "integer"}}},
                 "Robot": {"fields": {"serial": {"type": "text"}}}}}');
-- written under 1: name is optional, so the first one is valid when written
INSERT INTO kg.temporal_entities (entity_id, entity_type, content, valid_from) VALUES
  ('00000000-0000-0000-0000-00000000000a', 'Person', '{"status": "a", "age": 40}', clock_timestamp()),
  ('00000000-0000-0000-0000-00000000000b', 'Person', '{"name": "B", "status": "b", "age": 40000}', clock_timestamp()),
  ('00000000-0000-0000-0000-0000000000f1', 'Robot', '{"serial": "r1"}', clock_timestamp());
SELECT migration_engine.register_schema_version('2',
  '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "status": {"type": "text", "enum": ["a", "b", "c"]}, "age": {"type": "integer"}}},
                 "Robot": {"fields": {"serial": {"type": "text"}}}}}');
SELECT migration_engine.activate_schema_version('2');
-- written under 2: the second version of b, and an entity that broke 2's own rule when written
UPDATE kg.temporal_entities SET valid_to = clock_timestamp()
WHERE entity_id = '00000000-0000-0000-0000-00000000000b' AND valid_to = 'infinity';
INSERT INTO kg.temporal_entities (entity_id, entity_type, content, valid_from) VALUES
  ('00000000-0000-0000-0000-00000000000b', 'Person', '{"name": "B2", "status": "b", "age": 41000}', clock_timestamp()),
  ('00000000-0000-0000-0000-00000000000c', 'Person', '{"status": "c", "age": 7}', clock_timestamp());

-- proposed: status loses b and c; age narrows to smallint; email is required; Robot is removed
CREATE TEMP TABLE r AS SELECT migration_engine.check_compatibility_against_data(
  '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "status": {"type": "text", "enum": ["a", "z"]},
                                       "age": {"type": "smallint"}, "email": {"type": "text", "nullable": false}}}}}',
  '{"mode": "BACKWARD", "sampleSize": 1}') AS v;
CREATE TEMP VIEW c AS SELECT x FROM r, jsonb_array_elements(r.v->'changes') x;

SELECT is((SELECT v->>'mode' FROM r), 'BACKWARD', 'the mode asked for is the one judged');
SELECT is((SELECT v->>'entity_versions_checked' FROM r), '5', 'every stored, not deleted entity version is read');
SELECT is((SELECT jsonb_agg(g->>'schema_version' ORDER BY g->>'schema_version') FROM r, jsonb_array_elements(v->'ranges') g), '["1", "2"]',
          'one range per activation period');

SELECT is((SELECT x->>'affected_entities' FROM c WHERE x->>'type' = 'REQUIRED_FIELD_ADDED'), '3',
          'a required field no stored version holds is a real break, counted in distinct entities');
SELECT is((SELECT x->>'affected_entity_versions' FROM c WHERE x->>'type' = 'REQUIRED_FIELD_ADDED'), '4', 'and in versions');
SELECT is((SELECT x->'by_version' @> '[{"schema_version": "1", "entities": 2}, {"schema_version": "2", "entities": 2}]' FROM c WHERE x->>'type' = 'REQUIRED_FIELD_ADDED'),
          true, 'per version range');
SELECT is((SELECT jsonb_array_length(x->'by_version'->0->'sample_ids') FROM c WHERE x->>'type' = 'REQUIRED_FIELD_ADDED'), 1,
          'with at most sampleSize sample ids');

SELECT is((SELECT x->>'verdict' || ' ' || (x->>'affected_entities') FROM c WHERE x->>'type' = 'ENUM_VALUE_REMOVED' AND x->'details'->>'value' = 'b'),
          'REAL 1', 'a removed enum value held by a stored version is real');
SELECT is((SELECT x->>'verdict' || ' ' || (x->>'affected_entities') || ' ' || (x->>'downgraded') || ' ' || (x->>'severity')
           FROM c WHERE x->>'type' = 'ENUM_VALUE_REMOVED' AND x->'details'->>'value' = 'c'),
          'REAL 1 false HIGH', 'c is held by a version written under 2');
SELECT is((SELECT x->'by_version'->0->'sample_ids' FROM c WHERE x->>'type' = 'FIELD_TYPE_CHANGED'),
          '["00000000-0000-0000-0000-00000000000b"]', 'a narrowed type is hit by the value that does not fit, with its id');

SELECT is((SELECT x->>'affected_entities' FROM c WHERE x->>'type' = 'ENTITY_REMOVED'), '1', 'a removed type is hit by every version of it');

-- as-of: a, written under 1 without a name, runs into 1 -> proposed (name became required);
-- c broke version 2's rule when it was written, so the proposal is not what breaks it
SELECT is((SELECT x->>'affected_entities' FROM c WHERE x->>'type' = 'FIELD_NULLABILITY_CHANGED'), '1',
          'an entity version is judged by the schema active when it was written');
SELECT is((SELECT x->'against_versions' FROM c WHERE x->>'type' = 'FIELD_NULLABILITY_CHANGED'), '["1"]',
          'the change exists against version 1 only');
SELECT is((SELECT x->'by_version'->0->'sample_ids' FROM c WHERE x->>'type' = 'FIELD_NULLABILITY_CHANGED'),
          '["00000000-0000-0000-0000-00000000000a"]', 'and only the version written under 1 counts');

-- a theoretical break: Robot's serial narrows, but no stored serial is longer than 10
CREATE TEMP TABLE t AS SELECT migration_engine.check_compatibility_against_data(
  '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "status": {"type": "text", "enum": ["a", "b", "c"]},
                                       "age": {"type": "integer"}, "nick": {"type": "text", "nullable": false, "default": "x"}}},
                 "Robot": {"fields": {"serial": {"type": "varchar(10)"}}}}}', '{"mode": "BACKWARD"}') AS v;
SELECT is((SELECT x->>'verdict' || ' ' || (x->>'affected_entities') || ' ' || (x->>'downgraded') || ' ' || (x->>'severity')
           FROM t, jsonb_array_elements(t.v->'changes') x WHERE x->>'type' = 'FIELD_TYPE_CHANGED'),
          'THEORETICAL 0 true LOW', 'a narrowing no stored value runs into is downgraded, and says so');
SELECT is((SELECT (v->>'compatible')::boolean FROM t), true,
          'once theoretical breaks are cleared the proposal is BACKWARD compatible with the data');

-- it runs with the caller's rights (not SECURITY DEFINER): reading the graph needs SELECT on it
SET ROLE me_plain_user;
SELECT throws_ok($$SELECT migration_engine.check_compatibility_against_data('{"entities": {}}')$$, '42501', NULL,
                 'a role that may not read the graph may not test a proposal against it');
RESET ROLE;
GRANT kg_reader TO me_plain_user;
SET ROLE me_plain_user;
SELECT lives_ok($$SELECT migration_engine.check_compatibility_against_data('{"entities": {}}')$$,
                'a graph reader may');
RESET ROLE;

-- bad input changes nothing and says what to do
SELECT throws_ok($$SELECT migration_engine.check_compatibility_against_data('{"entities": {}}', '{"sample_size": 3}')$$, '22023', NULL,
                 'an unknown option key is refused');
SELECT throws_ok($$SELECT migration_engine.check_compatibility_against_data('{"entities": {}}', '{"mode": "SIDEWAYS"}')$$, '22023', NULL,
                 'an unknown mode is refused');
SELECT throws_ok($$SELECT migration_engine.check_compatibility_against_data('{"entities": {}}', '{"sampleSize": 1000}')$$, '22023', NULL,
                 'a sample size above 100 is refused');
SELECT throws_like($$SELECT migration_engine.check_compatibility_against_data('{"entities": {"P": {"fields": {"x": {"type": 5}}}}}')$$,
                   '%$.entities.P.fields.x.type%', 'a malformed proposal is refused with its JSON path');

SELECT * FROM finish();
ROLLBACK;
