-- Canary migrations: configuration, deterministic monotone routing, percentages as
-- recorded steps, metrics and the seed's weighted score, advance / finalize / rollback,
-- pause / resume / abort. (The background worker: tests/client/canary_worker.sh.)
BEGIN;
SELECT plan(60);

INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
SELECT md5('e' || g)::uuid, 'Person', jsonb_build_object('name', 'person ' || g) FROM generate_series(1, 300) g;
SELECT migration_engine.create_migration(format('{"name": "%s", "version": "1", "forward": [
    {"name": "col", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN %s int DEFAULT 1"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}', n, n)::jsonb)
FROM unnest(ARRAY['c_bad', 'c_good', 'c_abort']) n;

-- bad configuration: nothing starts
SELECT throws_ok($$SELECT migration_engine.start_canary('[]')$$, '22023', NULL, 'the config must be an object');
SELECT throws_ok($$SELECT migration_engine.start_canary('{"canaryPercentage": 10}')$$, '22023', NULL, 'migrationName is required');
SELECT throws_ok($$SELECT migration_engine.start_canary('{"migrationName": "c_bad", "successThreshold": 80}')$$, '22023', NULL,
                 'a threshold outside 0-1 is refused');
SELECT throws_ok($$SELECT migration_engine.start_canary('{"migrationName": "c_bad", "canaryPercentage": 120}')$$, '22023', NULL,
                 'a first percentage above 100 is refused');
SELECT throws_ok($$SELECT migration_engine.start_canary('{"migrationName": "nope"}')$$, '42704', NULL, 'an unknown migration is refused');
SELECT throws_ok($$SELECT migration_engine.start_canary('{"migrationName": "c_bad", "targetSchema": "x; DROP SCHEMA kg"}')$$, '42602', NULL,
                 'a target schema name with SQL in it is refused');
SELECT throws_ok($$SELECT migration_engine.canary_route('c_bad', 'k')$$, '42704', NULL, 'routing needs a canary');
SET ROLE me_plain_user;
SELECT throws_ok($$SELECT migration_engine.start_canary('{"migrationName": "c_bad"}')$$, '42501', NULL, 'a plain role cannot start a canary');
RESET ROLE;

-- a canary that goes wrong
CREATE TEMP TABLE s AS SELECT migration_engine.start_canary('{"migrationName": "c_bad", "canaryPercentage": 10, "stepPercentage": 20,
    "successThreshold": 0.8, "stabilizationSeconds": 3600}') AS v;
SELECT is((SELECT v->>'success' FROM s), 'true', 'start_canary prepares the new version');
SELECT is((SELECT v->>'new_schema' FROM s), 'kg_canary', 'in a copy of the active schema');
SELECT has_column('kg_canary', 'temporal_entities', 'c_bad', 'migrated');
SELECT is(migration_engine.active_schema(), 'kg', 'the old version stays active');
SELECT is((SELECT percentage FROM migration_engine.canary_status WHERE migration_name = 'c_bad'), 10, 'routing starts at canaryPercentage');
SELECT is((SELECT status FROM migration_engine.canary_status WHERE migration_name = 'c_bad'), 'RUNNING', 'the canary is RUNNING');
SELECT throws_ok($$SELECT migration_engine.start_canary('{"migrationName": "c_bad", "targetSchema": "other"}')$$, '55006', NULL,
                 'a second canary of the same migration is refused');

-- routing: share, determinism, monotonicity
CREATE TEMP TABLE keys AS SELECT 'user-' || g AS k FROM generate_series(1, 10000) g;
CREATE TEMP TABLE r10 AS SELECT k, migration_engine.canary_route('c_bad', k) = 'kg_canary' AS new FROM keys;
SELECT ok((SELECT abs(count(*) FILTER (WHERE new)::numeric / 10000 - 0.10) <= 0.02 FROM r10), '10 %: the share routed to the new version is 10 % ± 2 % over 10,000 keys');
SELECT is((SELECT count(*)::int FROM r10 WHERE migration_engine.canary_route('c_bad', k) = 'kg_canary' IS DISTINCT FROM new), 0,
          'routing is deterministic: the same key gets the same schema');
SELECT lives_ok($$SELECT migration_engine.set_canary_percentage('c_bad', 50)$$, 'set_canary_percentage 50');
CREATE TEMP TABLE r50 AS SELECT k, migration_engine.canary_route('c_bad', k) = 'kg_canary' AS new FROM keys;
SELECT ok((SELECT abs(count(*) FILTER (WHERE new)::numeric / 10000 - 0.50) <= 0.02 FROM r50), '50 %: the share is 50 % ± 2 %');
SELECT is((SELECT count(*)::int FROM r10 JOIN r50 USING (k) WHERE r10.new AND NOT r50.new), 0,
          'monotone: raising the percentage never moves a key back to the old version');
SELECT lives_ok($$SELECT migration_engine.set_canary_percentage('c_bad', 90)$$, 'set_canary_percentage 90');
CREATE TEMP TABLE r90 AS SELECT k, migration_engine.canary_route('c_bad', k) = 'kg_canary' AS new FROM keys;
SELECT ok((SELECT abs(count(*) FILTER (WHERE new)::numeric / 10000 - 0.90) <= 0.02 FROM r90), '90 %: the share is 90 % ± 2 %');
SELECT is((SELECT count(*)::int FROM r50 JOIN r90 USING (k) WHERE r50.new AND NOT r90.new), 0, 'still monotone at 90 %');
SELECT throws_ok($$SELECT migration_engine.set_canary_percentage('c_bad', 101)$$, '22023', NULL, 'a percentage above 100 is refused');
SELECT throws_ok($$SELECT migration_engine.set_canary_percentage('c_bad', -1)$$, '22023', NULL, 'a negative percentage is refused');
SELECT lives_ok($$SELECT migration_engine.set_canary_percentage('c_bad', 10)$$, 'back to 10 %');
SELECT is((SELECT array_agg(step_name ORDER BY step_number) FROM migration_engine.migration_execution_state
           WHERE migration_id = (SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'c_bad') AND direction = 'canary'),
          ARRAY['SetCanaryPercentage10', 'SetCanaryPercentage50', 'SetCanaryPercentage90', 'SetCanaryPercentage10'],
          'each percentage is a recorded step SetCanaryPercentage<N>');
SELECT ok(EXISTS (SELECT 1 FROM migration_engine.audit_log WHERE operation = 'canary_percentage' AND object_name = 'c_bad'), 'and audited');

-- metrics and the seed's score
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('c_bad', 'error_rate', 0.1, 'newest')$$, '22023', NULL, 'the version is new or old');
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('c_bad', 'error rate; x', 0.1)$$, '42602', NULL, 'a metric name must be an identifier');
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('c_bad', 'error_rate', 'NaN')$$, '22023', NULL, 'a metric value must be finite');
SELECT lives_ok($$SELECT migration_engine.record_canary_metric('c_bad', 'error_rate', 0.2)$$, 'record error_rate 0.2');
SELECT lives_ok($$SELECT migration_engine.record_canary_metric('c_bad', 'response_time', 50)$$, 'record response_time 50');
SELECT lives_ok($$SELECT migration_engine.record_canary_metric('c_bad', 'error_rate', 0.5, 'old')$$, 'record a baseline for the old version');
CREATE TEMP TABLE e AS SELECT migration_engine.evaluate_canary('c_bad') AS v;
SELECT is((SELECT round((v->>'score')::numeric, 2) FROM e), 0.43, 'the seed''s score: error_rate 0.2 and response_time 50 give 0.43');
SELECT is((SELECT v->>'success' FROM e), 'false', 'below successThreshold: not a success');
SELECT is((SELECT (v->'details'->'error_rate'->>'weight')::numeric FROM e), 0.4, 'details carry each metric''s weight');
CREATE TEMP TABLE a AS SELECT migration_engine.advance_canary('c_bad') AS v;
SELECT is((SELECT v->>'decision' FROM a), 'ROLLBACK', 'advance_canary rolls back a failing canary (rollbackOnFailure)');
SELECT is((SELECT status || ' ' || percentage FROM migration_engine.canary_status WHERE migration_name = 'c_bad'), 'ROLLED_BACK 0', 'percentage 0, ROLLED_BACK');
SELECT is((SELECT count(*)::int FROM keys WHERE migration_engine.canary_route('c_bad', k) <> 'kg'), 0, 'after rollback every key gets the old schema');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'c_bad'), 'ROLLED_BACK', 'the migration is ROLLED_BACK');
SELECT has_schema('kg_canary', 'the new version''s schema is kept for inspection');
SELECT throws_ok($$SELECT migration_engine.record_canary_metric('c_bad', 'error_rate', 0.1)$$, '55000', NULL, 'no metrics after the end');

-- canaried again: the ended canary's row and observations are kept, not deleted
CREATE TEMP TABLE bad_metrics AS SELECT count(*)::int AS n FROM migration_engine.canary_metrics m
    JOIN migration_engine.canary_rollouts r USING (migration_id) WHERE r.migration_name = 'c_bad';
SELECT is((SELECT migration_engine.start_canary('{"migrationName": "c_bad", "targetSchema": "kg_canary_again",
    "stabilizationSeconds": 3600}')->>'success'), 'true', 'a rolled-back migration can be canaried again');
SELECT is((SELECT rollout->>'status' || ' ' || (jsonb_array_length(metrics) = (SELECT n FROM bad_metrics) AND (SELECT n FROM bad_metrics) > 0)
           FROM migration_engine.canary_rollout_history WHERE migration_name = 'c_bad'),
          'ROLLED_BACK true', 'the first canary''s row and every observation of it are kept in canary_rollout_history');
SELECT throws_ok($$UPDATE migration_engine.canary_rollout_history SET metrics = '[]'$$, '42501', NULL, 'the history is append-only (UPDATE)');
SELECT throws_ok($$DELETE FROM migration_engine.canary_rollout_history$$, '42501', NULL, 'the history is append-only (DELETE)');
SELECT lives_ok($$SELECT migration_engine.abort_canary('c_bad')$$, 'the second canary is aborted');

-- a canary that goes well, with a write to the old version while it runs
SELECT is((SELECT migration_engine.start_canary('{"migrationName": "c_good", "targetSchema": "kg_next", "canaryPercentage": 40,
    "stepPercentage": 30, "stabilizationSeconds": 3600}')->>'success'), 'true', 'a second canary starts');
SELECT migration_engine.upsert_entity('Person', '{"name": "written during the canary"}', md5('during')::uuid);
SELECT migration_engine.record_canary_metric('c_good', 'error_rate', 0.001);
SELECT migration_engine.record_canary_metric('c_good', 'response_time', 40);
SELECT is((SELECT v->>'decision' || ' ' || (v->>'percentage') FROM (SELECT migration_engine.advance_canary('c_good') AS v) x), 'ADVANCE 70',
          'healthy: advance by stepPercentage');
SELECT is((SELECT count(*)::int FROM kg_next.temporal_entities WHERE entity_id = md5('during')::uuid), 1,
          'the write to the old version reached the new one');
SELECT is((SELECT v->>'decision' FROM (SELECT migration_engine.advance_canary('c_good') AS v) x), 'FINALIZE', 'reaching 100 % finalizes');
SELECT is(migration_engine.active_schema(), 'kg_next', 'the new version is the active schema (the blue-green switch)');
SELECT is((SELECT status FROM migration_engine.canary_status WHERE migration_name = 'c_good'), 'COMPLETED', 'the canary is COMPLETED');
SELECT is((SELECT count(*)::int FROM keys WHERE migration_engine.canary_route('c_good', k) <> 'kg_next'), 0, 'after finalize every key gets the new schema');

-- pause, resume, abort
SELECT migration_engine.start_canary('{"migrationName": "c_abort", "targetSchema": "kg_third", "stabilizationSeconds": 3600}');
SELECT is((SELECT migration_engine.pause_canary('c_abort')->>'status'), 'PAUSED', 'pause_canary');
SELECT is((SELECT migration_engine.advance_canary('c_abort')->>'decision'), 'NONE', 'a paused canary does not advance');
SELECT is((SELECT migration_engine.resume_canary('c_abort')->>'status'), 'RUNNING', 'resume_canary');
SELECT is((SELECT migration_engine.abort_canary('c_abort')->>'status'), 'ABORTED', 'abort_canary');
SELECT is(migration_engine.active_schema(), 'kg_next', 'an aborted canary switches nothing');

SELECT * FROM finish();
ROLLBACK;
