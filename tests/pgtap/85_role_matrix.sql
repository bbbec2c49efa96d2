-- The privilege matrix of docs/SECURITY.md ("Roles"), tested cell by cell: each role
-- (a plain login, a kg_reader, a kg_writer, a migration_admin member) tries each action,
-- and the outcome is 'allowed' (it ran, or failed for a reason other than privilege) or
-- 'refused' (42501: no privilege, or history protection). Issue 18, class 6: a plain
-- role could not read the graph at all, and there were no roles for its users.
BEGIN;
SELECT plan(62);

CREATE ROLE me_reader LOGIN IN ROLE kg_reader;
CREATE ROLE me_writer LOGIN IN ROLE kg_writer;
SELECT migration_engine.upsert_entity('Person', '{"name": "Ada"}', md5('ada')::uuid);
SELECT migration_engine.upsert_entity('Person', '{"name": "Bob"}', md5('bob')::uuid);
SELECT migration_engine.create_migration('{"name": "matrix_m", "version": "1", "forward": [
    {"name": "s", "type": "SQL", "script": "SELECT 1"}], "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');

CREATE SCHEMA matrix;
-- Runs `call` as `who` and says 'allowed' or 'refused' (42501); the call's effects are
-- kept only when it succeeds, as in a real session.
CREATE FUNCTION matrix.outcome(who text, call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', who);
        EXECUTE call;
        RESET ROLE;
        RETURN 'allowed';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
        RESET ROLE;
        RETURN CASE state WHEN '42501' THEN 'refused' ELSE 'allowed (' || state || ')' END;
    END;
END
$$;
GRANT USAGE ON SCHEMA matrix TO PUBLIC;

CREATE TEMP TABLE cells (action text, call text, plain text, reader text, writer text, admin text);
GRANT SELECT ON cells TO PUBLIC;
INSERT INTO cells VALUES
  ('read kg_live', 'SELECT count(*) FROM kg_live.temporal_entities', 'refused', 'allowed', 'allowed', 'allowed'),
  ('read the data schema', 'SELECT count(*) FROM kg.temporal_entities', 'refused', 'allowed', 'allowed', 'allowed'),
  ('entity_history', $$SELECT count(*) FROM migration_engine.entity_history(md5('ada')::uuid)$$, 'refused', 'allowed', 'allowed', 'allowed'),
  ('entity_as_of', $$SELECT count(*) FROM migration_engine.entity_as_of(md5('ada')::uuid)$$, 'refused', 'allowed', 'allowed', 'allowed'),
  ('upsert_entity', $$SELECT migration_engine.upsert_entity('Person', '{"name": "Ada L."}', md5('ada')::uuid)$$, 'refused', 'refused', 'allowed', 'allowed'),
  ('upsert_relation', $$SELECT migration_engine.upsert_relation('knows', md5('ada')::uuid, md5('bob')::uuid)$$, 'refused', 'refused', 'allowed', 'allowed'),
  ('delete_entity', $$SELECT migration_engine.delete_entity(md5('bob')::uuid)$$, 'refused', 'refused', 'allowed', 'allowed'),
  ('rewrite a version by hand', $$UPDATE kg.temporal_entities SET content = '{}'$$, 'refused', 'refused', 'refused', 'refused'),
  ('delete versions by hand', 'DELETE FROM kg.temporal_entities', 'refused', 'refused', 'refused', 'refused'),
  ('truncate the graph', 'TRUNCATE kg.temporal_entities', 'refused', 'refused', 'refused', 'refused'),
  ('purge_history', $$SELECT migration_engine.purge_history(now() - interval '1 day')$$, 'refused', 'refused', 'refused', 'refused'),
  ('create_migration', $$SELECT migration_engine.create_migration('{"name": "matrix_x", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$$, 'refused', 'refused', 'refused', 'allowed'),
  ('execute_migration', $$SELECT migration_engine.execute_migration('matrix_m', '{"dryRun": true}')$$, 'refused', 'refused', 'refused', 'allowed'),
  ('switch_active_schema', $$SELECT migration_engine.switch_active_schema('no_such_schema')$$, 'refused', 'refused', 'refused', 'allowed (3F000)'),
  ('record_canary_metric', $$SELECT migration_engine.record_canary_metric('matrix_m', 'error_rate', 0.1)$$, 'refused', 'refused', 'refused', 'allowed (42704)');

SELECT is(matrix.outcome(r.who, c.call), CASE r.who WHEN 'me_plain_user' THEN c.plain WHEN 'me_reader' THEN c.reader
                                                    WHEN 'me_writer' THEN c.writer ELSE c.admin END,
          format('%s as %s', c.action, r.who))
FROM cells c CROSS JOIN (VALUES (1, 'me_plain_user'), (2, 'me_reader'), (3, 'me_writer'), (4, 'me_admin_user')) r(n, who)
ORDER BY c.ctid, r.n;

-- the writer's versions carry its name; history kept every earlier version
SELECT is((SELECT created_by FROM kg.temporal_entities WHERE entity_id = md5('ada')::uuid AND valid_to = 'infinity'),
          'me_writer', 'the writer of a version is recorded as created_by (the admin''s identical write made none)');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE entity_id = md5('ada')::uuid), 2,
          'the write closed the previous version and kept it');
ROLLBACK;
