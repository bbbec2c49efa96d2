-- History protection (issue 18, class 5): versions of the active data schema are never
-- rewritten or removed by hand, by a migration step or by mistake; the extension's own
-- in-place writes still work; retention goes through purge_history, for the owner.
-- Before: a migration_admin member (or a step) could DELETE or TRUNCATE kg.temporal_entities.
BEGIN;
SELECT plan(29);

SELECT migration_engine.upsert_entity('Person', '{"name": "Ada", "age": 36}', md5('ada')::uuid);
SELECT migration_engine.upsert_entity('Person', '{"name": "Ada", "age": 37}', md5('ada')::uuid);
SELECT migration_engine.upsert_entity('Person', '{"name": "Bob", "age": 40}', md5('bob')::uuid);
SELECT migration_engine.upsert_relation('knows', md5('ada')::uuid, md5('bob')::uuid, '{"since": 1}');
SELECT migration_engine.upsert_relation('knows', md5('ada')::uuid, md5('bob')::uuid, '{"since": 2}',
    (SELECT relation_id FROM kg.temporal_relations LIMIT 1));
CREATE TEMP TABLE history_before AS SELECT * FROM kg.temporal_entities;

-- 1. by hand, even as the owner
SELECT throws_ok($$DELETE FROM kg.temporal_entities WHERE entity_id = md5('ada')::uuid$$, '42501', NULL, 'DELETE of versions is refused, even for the owner');
SELECT throws_ok($$TRUNCATE kg.temporal_entities$$, '42501', NULL, 'TRUNCATE of the entities is refused');
SELECT throws_ok($$TRUNCATE kg.temporal_relations$$, '42501', NULL, 'TRUNCATE of the relations is refused');
SELECT throws_ok($$DELETE FROM kg.temporal_relations$$, '42501', NULL, 'DELETE of relation versions is refused');
SELECT throws_ok($$UPDATE kg.temporal_entities SET content = '{}' WHERE valid_to <> 'infinity'$$, '42501', NULL, 'rewriting an old version is refused');
SELECT throws_ok($$UPDATE kg.temporal_entities SET content = content || '{"x": 1}' WHERE valid_to = 'infinity'$$, '42501', NULL, 'rewriting the current version in place is refused');
SELECT throws_ok($$UPDATE kg.temporal_entities SET valid_to = 'infinity' WHERE valid_to <> 'infinity'$$, '42501', NULL, 'reopening a closed version is refused');
SELECT throws_ok($$UPDATE kg.temporal_entities SET valid_to = now(), content = '{}' WHERE valid_to = 'infinity'$$, '42501', NULL, 'closing and rewriting at once is refused');
SELECT throws_ok($$UPDATE kg.temporal_entities SET valid_from = valid_from - interval '1 day'$$, '42501', NULL, 'moving a version in time is refused');
SELECT is((SELECT count(*) FROM kg.temporal_entities), (SELECT count(*) FROM history_before), 'every version is still there');
SELECT ok(NOT migration_engine.history_rewrite_allowed(), 'SQL cannot see the extension''s own flag raised');

-- 2. as a migration_admin member, and from a migration step
SET ROLE me_admin_user;
SELECT throws_ok($$DELETE FROM kg.temporal_entities$$, '42501', NULL, 'a migration_admin member cannot delete versions');
RESET ROLE;
SELECT migration_engine.create_migration('{"name": "hp_wipe", "version": "1", "type": "DATA", "forward": [
    {"name": "wipe", "type": "SQL", "script": "DELETE FROM temporal_entities WHERE entity_type = ''Person''"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
CREATE TEMP TABLE wipe AS SELECT migration_engine.execute_migration('hp_wipe', '{"force": true}') AS r;
SELECT is((SELECT r->>'success' FROM wipe), 'false', 'a migration step that deletes versions fails');
SELECT ok((SELECT r::text LIKE '%refused%' FROM wipe), 'with the refusal as its error');
SELECT is((SELECT count(*) FROM kg.temporal_entities), (SELECT count(*) FROM history_before), 'and removed nothing');

-- 3. what stays allowed: closing a version by hand, the graph functions, the extension's own in-place writes
SELECT lives_ok($$UPDATE kg.temporal_relations SET valid_to = now() WHERE valid_to = 'infinity'$$, 'closing the current version by hand is allowed');
SELECT ok(migration_engine.delete_entity(md5('bob')::uuid), 'delete_entity closes the current version');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE entity_id = md5('bob')::uuid), 2, 'and keeps it, with a deleted marker version');
SELECT migration_engine.register_schema_version('1.0.0', '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "age": {"type": "integer"}}}}}');
SELECT migration_engine.activate_schema_version('1.0.0');
CREATE TEMP TABLE dep AS SELECT migration_engine.deprecate_field('Person', 'age', 'use birth_date') AS d;
SELECT is((SELECT (d->>'entities_tagged')::int FROM dep), 1, 'deprecate_field marks the current versions in place');
SELECT is((SELECT migration_engine.rollback_migration(d->>'migration_name')->>'status' FROM dep), 'ROLLED_BACK', 'and its rollback removes the marks');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE metadata -> 'deprecated_fields' ? 'age'), 0, 'no mark is left');
SELECT throws_ok($$SELECT migration_engine.mark_deprecated_field('Person', 'age', NULL)$$, '22004', NULL, 'mark_deprecated_field refuses a NULL');

-- 4. retention: purge_history, for the owner
SELECT throws_ok($$SELECT migration_engine.purge_history(now() + interval '1 day')$$, '22023', NULL, 'a purge up to the future is refused');
SELECT throws_ok($$SELECT migration_engine.purge_history(NULL)$$, '22004', NULL, 'a NULL moment is refused');
SET ROLE me_admin_user;
SELECT throws_ok($$SELECT migration_engine.purge_history(now())$$, '42501', NULL, 'a migration_admin member cannot purge');
RESET ROLE;
CREATE TEMP TABLE purged AS SELECT migration_engine.purge_history(clock_timestamp(), 'Person') AS p;
SELECT is((SELECT (p->>'entity_versions_removed')::int FROM purged),
          (SELECT count(*)::int FROM history_before WHERE valid_to <> 'infinity') + 1,
          'the owner purges the closed versions of one type (Ada''s first, Bob''s before his deletion)');
SELECT is((SELECT count(*)::int FROM kg.temporal_entities WHERE valid_to = 'infinity'), 2, 'current versions are never purged');
SELECT is((SELECT (p->>'relation_versions_removed')::int FROM purged), 0, 'a purge of one entity type leaves the relations');
SELECT is((SELECT detail->>'entity_versions_removed' FROM migration_engine.audit_log WHERE operation = 'PURGE_HISTORY'),
          (SELECT p->>'entity_versions_removed' FROM purged), 'the purge is audited with what it removed');
ROLLBACK;
