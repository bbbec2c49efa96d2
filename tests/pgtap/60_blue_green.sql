-- Blue-green migrations: copy, migrate, validate, switch; switch back with the writes made
-- since; guardrails and bad input. (Concurrent writers and notifications: tests/client.)
BEGIN;
SELECT plan(83);

INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
SELECT md5('e' || g)::uuid, 'Person', jsonb_build_object('name', 'person ' || g, 'age', g % 90)
FROM generate_series(1, 500) g;
INSERT INTO kg.temporal_relations (relation_type, source_entity_id, target_entity_id)
SELECT 'KNOWS', md5('e' || g)::uuid, md5('e' || (g + 1))::uuid FROM generate_series(1, 499) g;
-- a table of the user's own in the data schema, with a serial, a comment, a grant, a view
CREATE TABLE kg.notes (id serial PRIMARY KEY, entity_id uuid NOT NULL, body text CHECK (body <> ''));
CREATE INDEX notes_by_entity ON kg.notes (entity_id);
COMMENT ON TABLE kg.notes IS 'free-text notes';
GRANT SELECT ON kg.notes TO me_plain_user;
INSERT INTO kg.notes (entity_id, body) SELECT md5('e' || g)::uuid, 'note ' || g FROM generate_series(1, 20) g;
CREATE VIEW kg.adults AS SELECT entity_id FROM kg.temporal_entities WHERE (content->>'age')::int >= 18 AND valid_to = 'infinity';

SELECT migration_engine.create_migration('{"name": "bg_add_score", "version": "1", "forward": [
    {"name": "add score", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN score int NOT NULL DEFAULT 7"},
    {"name": "notes ts", "type": "SQL", "script": "ALTER TABLE notes ADD COLUMN written_at timestamptz DEFAULT now()"}],
  "validation": [{"name": "all scored", "script": "SELECT count(*) = 0 FROM temporal_entities WHERE score IS NULL"}],
  "rollback": [{"name": "drop score", "type": "SQL", "script": "ALTER TABLE temporal_entities DROP COLUMN score"}]}');
CREATE TEMP TABLE ids AS SELECT migration_name AS name, migration_id AS id FROM migration_engine.knowledge_migrations;

-- bad input first: nothing changes
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'green; DROP TABLE kg.notes')$$,
                 '42602', NULL, 'a target name with SQL in it is refused');
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration('00000000-0000-0000-0000-000000000000', 'green')$$,
                 '42704', NULL, 'an unknown migration id is refused');
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'kg')$$,
                 '22023', NULL, 'the active schema cannot be the target');
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'green', '{"maxLag": 5}')$$,
                 '22023', NULL, 'an unknown option is refused');
CREATE SCHEMA busy; CREATE TABLE busy.t (x int);
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'busy')$$,
                 '42P06', NULL, 'a target schema that exists and is not empty is refused');
UPDATE migration_engine.active_schema_version SET migration_in_progress = true;
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'green')$$,
                 '55006', NULL, 'refused while a blue-green migration is in progress');
UPDATE migration_engine.active_schema_version SET migration_in_progress = false;
CREATE TABLE kg.keyless (x int);
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'green')$$,
                 '55000', NULL, 'a data-schema table without a primary key is refused (its changes could not be replayed)');
DROP TABLE kg.keyless;
SET ROLE me_plain_user;
SELECT throws_ok($$SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'green')$$,
                 '42501', NULL, 'a plain role cannot run a blue-green migration');
SELECT throws_ok($$SELECT migration_engine.switch_active_schema('kg')$$, '42501', NULL, 'a plain role cannot switch schemas');
RESET ROLE;
SELECT is(migration_engine.active_schema(), 'kg', 'after all the refusals the active schema is unchanged');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_add_score'), 'PENDING', 'and the migration is still PENDING');
SELECT hasnt_schema('green', 'and no target was created');

-- clients' prepared statements, made before the switch (issue 12, problem 7)
PREPARE live_v1 AS SELECT * FROM kg_live.temporal_entities_v1;
PREPARE live_named AS SELECT entity_id, content, valid_to, is_current FROM kg_live.temporal_entities;
SELECT is((SELECT count(*)::int FROM kg_live.temporal_entities WHERE valid_to = 'infinity'), 0,
          'kg_live shows no infinity (clients such as psycopg 3 cannot load it)');
SELECT is((SELECT count(*)::int FROM kg_live.temporal_entities WHERE valid_to IS NULL AND is_current), (SELECT count(*)::int FROM kg.temporal_entities WHERE valid_to = 'infinity'),
          'the current versions read valid_to NULL and is_current');

-- the happy path
CREATE TEMP TABLE r AS SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_add_score'), 'green') AS v;
SELECT is((SELECT v->>'success' FROM r), 'true', 'the blue-green migration succeeds');
SELECT is((SELECT v->>'previous_schema' || ' -> ' || (v->>'new_schema') FROM r), 'kg -> green', 'it reports previous and new schema');
SELECT ok((SELECT (v->>'switched_at')::timestamptz IS NOT NULL FROM r), 'and when it switched');
SELECT ok((SELECT v->'timings_ms' ?& ARRAY['copy_ms', 'migrate_ms', 'validate_ms', 'catch_up_ms', 'write_freeze_ms', 'total_ms'] FROM r),
          'with timings of copy, migrate, validate, catch-up and the write freeze');
SELECT is((SELECT (v->'rows'->>'copied')::int FROM r), 500 + 499 + 20, 'and the rows copied');
SELECT is(migration_engine.active_schema(), 'green', 'green is the active schema');
SELECT throws_ok($$DELETE FROM green.temporal_entities$$, '42501', NULL, 'the new active schema keeps its history (history protection follows the switch)');
SELECT is((SELECT previous_schema FROM migration_engine.active_schema_version), 'kg', 'kg is the previous schema');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_add_score'), 'COMPLETED', 'the migration is COMPLETED');
SELECT is((SELECT migration_in_progress FROM migration_engine.active_schema_version), false, 'nothing is in progress any more');
SELECT is((SELECT count(*)::int FROM green.temporal_entities WHERE score = 7), 500, 'the migration ran in green (every entity scored)');
SELECT hasnt_column('kg', 'temporal_entities', 'score', 'and not in kg');
SELECT is((SELECT count(*)::int FROM green.temporal_relations), 499, 'relations are copied');
SELECT is((SELECT string_agg(body, ',' ORDER BY id) FROM green.notes), (SELECT string_agg(body, ',' ORDER BY id) FROM kg.notes), 'the user table is copied with its rows');
SELECT has_column('green', 'notes', 'written_at', 'and migrated');
SELECT is(obj_description('green.notes'::regclass, 'pg_class'), 'free-text notes', 'with its comment');
SELECT ok(has_table_privilege('me_plain_user', 'green.notes', 'SELECT'), 'and its grants');
SELECT has_index('green', 'notes', 'notes_by_entity', 'and its indexes');
SELECT has_index('green', 'temporal_entities', 'temporal_entities_one_current', 'the temporal store keeps its one-current index');
SELECT is((SELECT count(*)::int FROM green.adults), (SELECT count(*)::int FROM kg.adults), 'views are copied, over the green tables');
INSERT INTO green.notes (entity_id, body) VALUES (md5('e1')::uuid, 'after the switch');
SELECT cmp_ok((SELECT max(id) FROM green.notes), '>', 20, 'serial sequences continue past the copied rows');
SELECT ok(EXISTS (SELECT 1 FROM migration_engine.audit_log WHERE operation = 'schema_switched' AND object_name = 'green'), 'the switch is audited');
SELECT is((SELECT count(*)::int FROM kg_live.temporal_entities WHERE score = 7), 500, 'kg_live follows the switch (it reads green)');
SELECT lives_ok('EXECUTE live_v1', 'a prepared SELECT * on kg_live.temporal_entities_v1 survives a switch that adds a column');
SELECT lives_ok('EXECUTE live_named', 'a prepared statement naming its columns survives it too');
SELECT hasnt_column('kg_live', 'temporal_entities_v1', 'score', 'shape 1 keeps the columns it had');
SELECT is((SELECT count(*)::int FROM kg_live.temporal_entities_v2 WHERE score = 7 AND is_current), 500,
          'the switch published shape 2 with the new column, over green');
SELECT is((SELECT count(*)::int FROM kg_live.temporal_entities_v1), (SELECT count(*)::int FROM green.temporal_entities),
          'shape 1 reads green too');

-- writes after the switch
SELECT lives_ok($$SELECT migration_engine.upsert_entity('Person', '{"name": "born in green"}', md5('g1')::uuid)$$, 'the graph functions write to green');
SELECT is((SELECT count(*)::int FROM green.temporal_entities WHERE entity_id = md5('g1')::uuid), 1, 'the entity is in green');
SELECT throws_ok($$INSERT INTO kg.temporal_entities (entity_type) VALUES ('Late')$$, '40001', NULL,
                 'a write to the retired schema is refused with a retryable error');
INSERT INTO kg_live.temporal_entities (entity_type, content) VALUES ('ViaLive', '{"n": 1}');
SELECT is((SELECT count(*)::int FROM green.temporal_entities WHERE entity_type = 'ViaLive'), 1, 'a write through kg_live lands in green');
SELECT cmp_ok((SELECT count(*)::int FROM migration_engine.change_log WHERE schema_name = 'green'), '>=', 2, 'writes to green are logged for a switch back');

-- switch back: the writes made in green come along
CREATE TEMP TABLE b AS SELECT migration_engine.switch_back() AS v;
SELECT is((SELECT v->>'new_schema' FROM b), 'kg', 'switch_back returns to kg');
SELECT is(migration_engine.active_schema(), 'kg', 'kg is active again');
SELECT is((SELECT v->>'rolled_back_migration' FROM b), 'bg_add_score', 'switch_back names the blue-green migration it undid');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_add_score'), 'ROLLED_BACK',
          'which is ROLLED_BACK now, not COMPLETED');
SELECT throws_ok($$SELECT migration_engine.rollback_migration('bg_add_score')$$, '55000', NULL,
                 'so rollback_migration does not run its steps against the old schema');
SELECT is((SELECT content->>'name' FROM kg.temporal_entities WHERE entity_id = md5('g1')::uuid AND valid_to = 'infinity'), 'born in green',
          'an entity written in green after the switch is in kg after the switch back');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE entity_type = 'ViaLive'), 1, 'so is the row written through kg_live');
SELECT is((SELECT count(*)::int FROM kg.notes), 21, 'and the note added in green');
SELECT is((SELECT count(*)::int FROM migration_engine.change_log WHERE schema_name = 'green'), 0, 'the replayed changes are consumed');
SELECT throws_ok($$INSERT INTO green.notes (entity_id, body) VALUES (md5('e1')::uuid, 'x')$$, '40001', NULL, 'green is retired now');
SELECT lives_ok($$INSERT INTO kg.notes (entity_id, body) VALUES (md5('e1')::uuid, 'back in kg')$$, 'and kg takes writes again');

-- switch_active_schema: guardrails
SELECT throws_ok($$SELECT migration_engine.switch_active_schema('kg')$$, '22023', NULL, 'switching to the active schema is refused');
SELECT throws_ok($$SELECT migration_engine.switch_active_schema('nowhere')$$, '3F000', NULL, 'switching to a missing schema is refused');
SELECT throws_ok($$SELECT migration_engine.switch_active_schema('busy')$$, '55000', NULL, 'switching to a schema that is not a data schema is refused');
SELECT throws_ok($$SELECT migration_engine.switch_active_schema('x; DROP SCHEMA kg')$$, '42602', NULL, 'a schema name with SQL in it is refused');
SELECT throws_ok($$SELECT migration_engine.drop_inactive_schema('kg')$$, '55006', NULL, 'the active schema cannot be dropped');
SELECT lives_ok($$SELECT migration_engine.drop_inactive_schema('green')$$, 'the inactive schema can be dropped');
SELECT hasnt_schema('green', 'it is gone');
SELECT throws_ok($$SELECT migration_engine.switch_back()$$, '55000', NULL, 'no switch back once the previous schema is dropped');

-- failures: nothing switched, nothing left behind
SELECT migration_engine.create_migration('{"name": "bg_broken", "version": "1", "forward": [
    {"name": "ok", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN x int"},
    {"name": "boom", "type": "SQL", "script": "ALTER TABLE no_such_table ADD COLUMN y int"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
SELECT migration_engine.create_migration('{"name": "bg_invalid", "version": "1", "forward": [
    {"name": "ok", "type": "SQL", "script": "UPDATE temporal_entities SET content = content - ''name''"}],
  "validation": [{"name": "names kept", "script": "SELECT bool_and(content ? ''name'') FROM temporal_entities WHERE entity_type = ''Person''"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
INSERT INTO ids SELECT migration_name, migration_id FROM migration_engine.knowledge_migrations WHERE migration_name IN ('bg_broken', 'bg_invalid');
CREATE TEMP TABLE f AS SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_broken'), 'blue2') AS v;
SELECT is((SELECT v->>'success' FROM f), 'false', 'a failing step: success false');
SELECT ok((SELECT v->>'error' LIKE '%boom%no_such_table%' FROM f), 'with the failing step and its error');
SELECT is(migration_engine.active_schema(), 'kg', 'nothing switched');
SELECT hasnt_schema('blue2', 'the half-built target is dropped');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_broken'), 'FAILED', 'the migration is FAILED');
SELECT is((SELECT last_error FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_broken') IS NOT NULL, true, 'with the error recorded');
CREATE TEMP TABLE f2 AS SELECT migration_engine.execute_blue_green_migration((SELECT id FROM ids WHERE name = 'bg_invalid'), 'blue3', '{"keepTargetOnFailure": true}') AS v;
SELECT is((SELECT v->>'success' FROM f2), 'false', 'a failing validation: success false');
SELECT has_schema('blue3', 'keepTargetOnFailure leaves the target for inspection');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE content ? 'name' AND entity_type = 'Person' AND valid_to = 'infinity'), 501,
          'the active schema kept its data');

-- a member of migration_admin who is no superuser and owns nothing of kg
SELECT migration_engine.create_migration('{"name": "bg_admin", "version": "1", "forward": [
    {"name": "c", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN by_admin int"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO me_admin_user', current_database()); END $$;
-- the user table of the data schema is the deployer's to read and copy, as kg's own are
GRANT ALL ON kg.notes TO migration_admin;
GRANT ALL ON SEQUENCE kg.notes_id_seq TO migration_admin;
SET ROLE me_admin_user;
SELECT is((SELECT migration_engine.execute_blue_green_migration(
            (SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_admin'), 'by_admin')->>'success'),
          'true', 'a migration_admin member who owns none of kg runs a blue-green migration');
SELECT is(migration_engine.active_schema(), 'by_admin', 'and switches');
SELECT lives_ok($$SELECT migration_engine.upsert_entity('Person', '{"name": "admin was here"}', md5('adm')::uuid)$$, 'writes go to the new schema');
SELECT is((SELECT migration_engine.switch_back()->>'new_schema'), 'kg', 'and back, with the write');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE entity_id = md5('adm')::uuid), 1, 'the write came back to kg');
RESET ROLE;

-- a deploy tool's revert then re-deploy of a blue-green change: switch_back, drop the
-- target, run it again
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_admin'), 'ROLLED_BACK', 'the reverted blue-green migration is ROLLED_BACK');
SELECT lives_ok($$SELECT migration_engine.drop_inactive_schema('by_admin')$$, 'its target can be dropped');
SELECT is((SELECT migration_engine.execute_blue_green_migration(
            (SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_admin'), 'by_admin')->>'success'),
          'true', 'and the same migration deploys again');

SELECT * FROM finish();
ROLLBACK;
