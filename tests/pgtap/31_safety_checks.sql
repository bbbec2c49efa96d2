-- Safety: validate_migration_safety's checks, the report, gating, trial mode.
BEGIN;
SELECT plan(22);

SELECT migration_engine.register_schema_version('1.0.0',
  '{"entities": {"Person": {"identity": ["email"], "fields": {"name": {"type": "text", "nullable": false}, "email": {"type": "text"}}}}}');
CREATE TEMP TABLE p AS SELECT migration_engine.upsert_entity('Person', '{"name": "Ada", "email": "ada@x.org"}') AS id;
SELECT migration_engine.upsert_entity('Person', '{"name": "Ada L", "email": "ada@x.org"}');           -- same identity
SELECT migration_engine.upsert_entity('Person', '{"name": "Twin", "email": "t@x.org"}');
SELECT migration_engine.upsert_entity('Person', '{"name": "Twin", "email": "t@x.org"}');              -- same content
SELECT migration_engine.upsert_entity('Person', '{"email": "nobody@x.org"}');                         -- missing name
-- an orphan: upsert_relation refuses one, a direct write (or a restore) can leave one
INSERT INTO kg.temporal_relations (relation_type, source_entity_id, target_entity_id)
VALUES ('KNOWS', (SELECT id FROM p), '00000000-0000-0000-0000-000000000001');

-- no primary key: building its index would take the SHARE lock the trial must observe
CREATE TABLE public.s_items (id int, name text);
SELECT migration_engine.create_migration('{"name": "safe_one", "version": "1",
  "forward": [{"name": "col", "type": "SQL", "script": "ALTER TABLE s_items ADD COLUMN note text"}],
  "rollback": [{"name": "uncol", "type": "SQL", "script": "ALTER TABLE s_items DROP COLUMN note"}]}');
SELECT migration_engine.create_migration('{"name": "no_rollback", "version": "1",
  "forward": [{"name": "idx", "type": "SQL", "script": "CREATE INDEX s_items_name ON s_items (name)"}]}');
SELECT migration_engine.create_migration('{"name": "bad_rollback", "version": "1",
  "forward": [{"name": "col", "type": "SQL", "script": "ALTER TABLE s_items ADD COLUMN extra int"}],
  "rollback": [{"name": "oops", "type": "SQL", "script": "ALTER TABLE s_items DROPP COLUMN extra"}]}');
SELECT migration_engine.create_migration('{"name": "lossy", "version": "1",
  "forward": [{"name": "col", "type": "SQL", "script": "ALTER TABLE s_items ADD COLUMN score int"},
              {"name": "fill", "type": "SQL", "script": "UPDATE s_items SET score = id"}],
  "rollback": [{"name": "uncol", "type": "SQL", "script": "ALTER TABLE s_items DROP COLUMN score"}]}');

CREATE TEMP TABLE r AS SELECT migration_engine.validate_migration_safety('no_rollback') AS rep;
SELECT ok((SELECT rep ?& ARRAY['overall_safety', 'critical_issues', 'all_results', 'recommendations'] FROM r), 'the report has the seed''s keys');
SELECT is((SELECT (rep->>'overall_safety')::boolean FROM r), false, 'a migration without rollback is not safe');
SELECT ok((SELECT rep->'critical_issues' @> '[{"code": "NO_ROLLBACK_SCRIPT"}]' FROM r), 'NO_ROLLBACK_SCRIPT is critical');
SELECT ok((SELECT rep->'recommendations' @> '[{"action": "CREATE_ROLLBACK_SCRIPT"}]' FROM r), 'with the seed''s recommendation');
SELECT ok((SELECT rep->'recommendations' @> '[{"action": "RUN_DATA_CLEANUP"}]' FROM r), 'data cleanup is recommended');
SELECT ok((SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(rep->'all_results') c, jsonb_array_elements(c->'issues') i
            WHERE c->>'check_name' = 'PerformanceImpactCheck' AND i->>'code' = 'POTENTIAL_LOCK'
              AND i->'details'->>'code' = 'CREATE_INDEX_NOT_CONCURRENTLY') FROM r), 'the lock analysis flags CREATE INDEX');
SELECT ok((SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(rep->'all_results') c, jsonb_array_elements(c->'issues') i
            WHERE c->>'check_name' = 'DataIntegrityCheck' AND i->>'code' = 'DATA_INCONSISTENCY') FROM r), 'a non-conforming entity is found');
SELECT ok((SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(rep->'all_results') c, jsonb_array_elements(c->'issues') i
            WHERE i->>'code' = 'ORPHANED_REFERENCE') FROM r), 'an orphaned relation is found');
SELECT is((SELECT count(*) FROM r, jsonb_array_elements(rep->'all_results') c, jsonb_array_elements(c->'issues') i
            WHERE i->>'code' = 'DUPLICATE_ENTITIES'), 2::bigint, 'duplicates by content and by identity fields are found');
SELECT ok((SELECT bool_and((c->>'passed')::boolean = NOT EXISTS (SELECT 1 FROM jsonb_array_elements(c->'issues') i WHERE i->>'severity' = 'CRITICAL'))
           FROM r, jsonb_array_elements(rep->'all_results') c), 'a check passes unless it has a CRITICAL issue');
SELECT ok((SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(rep->'all_results') c, jsonb_array_elements(c->'issues') i
            WHERE i->>'code' = 'PERFORMANCE_ESTIMATE' AND (i->'details'->>'rows_per_second')::float > 0) FROM r), 'the estimate uses a measured throughput');

SELECT ok((SELECT migration_engine.validate_migration_safety('bad_rollback')->'critical_issues' @> '[{"code": "INVALID_ROLLBACK_SCRIPT"}]'),
          'a rollback script with a syntax error is critical (parsed, not run)');
SELECT ok((SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(migration_engine.validate_migration_safety('lossy')->'all_results') c,
            jsonb_array_elements(c->'issues') i WHERE i->>'code' = 'ROLLBACK_DATA_LOSS_RISK' AND i->>'severity' = 'HIGH')),
          'a rollback that drops what forward filled is a data-loss risk');
SELECT is((SELECT (migration_engine.validate_migration_safety('safe_one')->>'overall_safety')::boolean), true, 'a safe migration is safe');

-- trial mode reads the locks a statement takes, and undoes it
SELECT ok((SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(migration_engine.validate_migration_safety('no_rollback', '{"trial": true}')->'all_results') c,
            jsonb_array_elements(c->'issues') i
            WHERE c->>'check_name' = 'TrialRun' AND i->'details'->>'lock_mode' = 'ShareLock' AND i->'details'->>'table' = 'public.s_items')),
          'the trial run observes the SHARE lock of CREATE INDEX');
SELECT hasnt_index('public', 's_items', 's_items_name', 'and undoes it');

-- gating
SELECT is((SELECT migration_engine.execute_migration('no_rollback')->>'code'), 'SAFETY_CHECK_FAILED', 'execute_migration refuses an unsafe migration');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'no_rollback'), 'PENDING', 'and runs nothing');
SELECT is((SELECT migration_engine.execute_migration('no_rollback', '{"force": true}')->>'success'), 'true', 'force runs it');
SELECT ok((SELECT count(*) = 1 FROM migration_engine.audit_log WHERE operation = 'safety_gate_forced' AND object_name = 'no_rollback' AND actor = current_user),
          'and the force is audited with who forced it');

SELECT ok((SELECT migration_engine.safety_report('bad_rollback') LIKE '%INVALID_ROLLBACK_SCRIPT%'), 'safety_report renders Markdown');
SELECT throws_ok($$SELECT migration_engine.validate_migration_safety('nope')$$, '42704', NULL, 'an unknown migration is an error');

SELECT * FROM finish();
ROLLBACK;
