-- Engine: execute_migration, failures, continueOnError, dryRun, validation, timeouts, rollback.
BEGIN;
SELECT plan(44);

CREATE TABLE public.eng_items (id int PRIMARY KEY, label text);
CREATE FUNCTION public.eng_add(n int, label text) RETURNS void LANGUAGE sql AS $$ INSERT INTO public.eng_items VALUES (n, label) $$;

SELECT migration_engine.create_migration('{"name": "ok1", "version": "1", "type": "DATA",
  "forward": [
    {"name": "insert", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (1, ''one''), (2, ''two'')"},
    {"name": "call", "type": "FUNCTION", "function": "public.eng_add", "parameters": {"n": 3, "label": "three"}},
    {"name": "skipped", "type": "SQL", "script": "DELETE FROM public.eng_items", "condition": "false"},
    {"name": "check", "type": "VALIDATE", "script": "SELECT count(*) = 3 FROM public.eng_items WHERE id <= 3"}],
  "rollback": [{"name": "undo", "type": "SQL", "script": "DELETE FROM public.eng_items WHERE id <= 3"}],
  "validation": [{"name": "three rows", "script": "SELECT count(*) = 3 FROM public.eng_items WHERE id <= 3"}]}');

CREATE TEMP TABLE r AS SELECT migration_engine.execute_migration('ok1') AS res;
SELECT is((SELECT res->>'success' FROM r), 'true', 'a good migration succeeds');
SELECT ok((SELECT res ?& ARRAY['execution_id', 'success', 'result', 'affected_entities', 'duration_ms'] FROM r), 'the result has the seed''s keys');
SELECT is((SELECT (res->>'affected_entities')::int FROM r), 2, 'affected_entities counts the rows the steps changed');
SELECT is((SELECT count(*) FROM public.eng_items), 3::bigint, 'SQL and FUNCTION steps ran');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'ok1'), 'COMPLETED', 'status COMPLETED');
SELECT is((SELECT array_agg(step_status ORDER BY step_number) FROM migration_engine.migration_execution_state e
           JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'ok1' AND direction = 'forward'),
          ARRAY['COMPLETED', 'COMPLETED', 'SKIPPED', 'COMPLETED'], 'every step is recorded; a false condition SKIPs');
SELECT is((SELECT count(*) FROM migration_engine.migration_execution_state e JOIN migration_engine.knowledge_migrations m USING (migration_id)
           WHERE m.migration_name = 'ok1' AND direction = 'validation' AND step_status = 'COMPLETED'), 1::bigint, 'validation rules are recorded');
SELECT is((SELECT jsonb_array_length(execution_log) FROM migration_engine.knowledge_migrations WHERE migration_name = 'ok1'), 1, 'the execution log grows');
SELECT ok((SELECT count(*) >= 2 FROM migration_engine.audit_log WHERE object_name = 'ok1' AND operation = 'migration_status'), 'status changes are audited');
SELECT is((SELECT migration_engine.execute_migration('ok1')->>'code'), 'ALREADY_COMPLETED', 'a COMPLETED migration is not run again');
SELECT is((SELECT display_status FROM migration_engine.migration_status WHERE migration_name = 'ok1'), 'COMPLETED', 'migration_status shows it');
SELECT is((SELECT progress_pct FROM migration_engine.migration_status WHERE migration_name = 'ok1'), 100.0, 'progress is 100%');

-- a failing step: everything undone, FAILED recorded with the error
SELECT migration_engine.create_migration('{"name": "bad1", "version": "1",
  "forward": [
    {"name": "good", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (10, ''ten'')"},
    {"name": "boom", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (1, ''duplicate'')"},
    {"name": "never", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (11, ''eleven'')"}]}');
CREATE TEMP TABLE f AS SELECT migration_engine.execute_migration('bad1', '{"force": true}') AS res;
SELECT is((SELECT res->>'success' FROM f), 'false', 'a failing migration reports success false');
SELECT is((SELECT count(*) FROM public.eng_items WHERE id >= 10), 0::bigint, 'every change of the failed migration is undone');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'bad1'), 'FAILED', 'status FAILED');
SELECT alike((SELECT last_error FROM migration_engine.knowledge_migrations WHERE migration_name = 'bad1'), '%boom%duplicate key%', 'last_error names the step and the error');
SELECT is((SELECT step_status || ':' || (error_message LIKE '%duplicate key%')::text FROM migration_engine.migration_execution_state e
           JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'bad1' AND step_name = 'boom'),
          'FAILED:true', 'the failed step is recorded with its error');
SELECT is((SELECT step_status FROM migration_engine.migration_execution_state e JOIN migration_engine.knowledge_migrations m USING (migration_id)
           WHERE m.migration_name = 'bad1' AND step_name = 'good'), 'PENDING', 'the undone earlier step is recorded PENDING');
SELECT is((SELECT res->'failed_step'->>'sqlstate' FROM f), '23505', 'the failed step carries its SQLSTATE');

-- continueOnError: the failed step alone is undone
SELECT migration_engine.create_migration('{"name": "coe", "version": "1",
  "forward": [
    {"name": "a", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (20, ''a'')"},
    {"name": "b", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (21, ''b''); SELECT 1/0"},
    {"name": "c", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (22, ''c'')"}]}');
SELECT is((SELECT migration_engine.execute_migration('coe', '{"continueOnError": true, "force": true}')->>'success'), 'true', 'continueOnError carries on');
SELECT is((SELECT array_agg(id ORDER BY id) FROM public.eng_items WHERE id BETWEEN 20 AND 29), ARRAY[20, 22], 'the failed step alone was undone');
SELECT is((SELECT step_status FROM migration_engine.migration_execution_state e JOIN migration_engine.knowledge_migrations m USING (migration_id)
           WHERE m.migration_name = 'coe' AND step_name = 'b'), 'FAILED', 'and recorded FAILED');

-- dryRun: runs, reports, undoes
SELECT migration_engine.create_migration('{"name": "dry", "version": "1",
  "forward": [{"name": "a", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (30, ''dry'')"}]}');
CREATE TEMP TABLE d AS SELECT migration_engine.execute_migration('dry', '{"dryRun": true}') AS res;
SELECT is((SELECT (res->>'dry_run') || '/' || (res->'result'->'steps'->0->>'rows') FROM d), 'true/1', 'dryRun reports what would change');
SELECT is((SELECT count(*) FROM public.eng_items WHERE id = 30), 0::bigint, 'dryRun leaves no change');
SELECT is((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'dry'), 'PENDING', 'dryRun leaves the migration PENDING');

-- a validation rule that fails: FAILED, undone
SELECT migration_engine.create_migration('{"name": "val", "version": "1",
  "forward": [{"name": "a", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (40, ''v'')"}],
  "validation": [{"name": "impossible", "script": "SELECT false"}]}');
SELECT is((SELECT migration_engine.execute_migration('val', '{"force": true}')->>'success'), 'false', 'a failing validation rule fails the migration');
SELECT is((SELECT count(*) FROM public.eng_items WHERE id = 40), 0::bigint, 'and undoes its steps');

-- a step timeout bounds the step
SELECT migration_engine.create_migration('{"name": "slow", "version": "1",
  "forward": [{"name": "sleep", "type": "SQL", "script": "SELECT pg_sleep(3)", "timeout": 200}]}');
SELECT is((SELECT migration_engine.execute_migration('slow', '{"force": true}')->'failed_step'->>'sqlstate'), '57014', 'a step past its timeout is cancelled');

-- a migration with a non-transactional step cannot run in the caller's transaction:
-- refused before anything runs, pointing to CALL run_migration (which runs it)
SELECT migration_engine.create_migration('{"name": "conc", "version": "1",
  "forward": [{"name": "first", "type": "SQL", "script": "INSERT INTO public.eng_items VALUES (41, ''x'')"},
              {"name": "idx", "type": "SQL", "script": "CREATE INDEX CONCURRENTLY eng_idx ON public.eng_items (label)", "transaction": false}]}');
SELECT throws_ok($$SELECT migration_engine.execute_migration('conc', '{"force": true}')$$, '25001', NULL,
                 'execute_migration refuses a migration with a non-transactional step (25001)');
SELECT is((SELECT count(*) FROM public.eng_items WHERE id = 41)::int || ' ' || (SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'conc'),
          '0 PENDING', 'before running anything: no step ran, the migration is still PENDING');

-- dependencies
SELECT migration_engine.create_migration('{"name": "needs_bad", "version": "1", "dependsOn": ["bad1"],
  "forward": [{"name": "a", "type": "SQL", "script": "SELECT 1"}]}');
SELECT is((SELECT migration_engine.execute_migration('needs_bad', '{"force": true}')->>'code'), 'DEPENDENCY_NOT_COMPLETED', 'a migration waits for its dependencies');
SELECT throws_ok($$SELECT migration_engine.execute_migration('no_such_migration')$$, '42704', NULL, 'an unknown migration is an error');
SELECT throws_ok($$SELECT migration_engine.execute_migration('ok1', '{"dryRun": "yes"}')$$, '22023', NULL, 'bad options are refused');

-- rollback
SELECT migration_engine.create_migration('{"name": "ok2", "version": "1", "dependsOn": ["ok1"],
  "forward": [{"name": "a", "type": "SQL", "script": "UPDATE public.eng_items SET label = upper(label)"}],
  "rollback": [{"name": "a", "type": "SQL", "script": "UPDATE public.eng_items SET label = lower(label)"}]}');
SELECT is((SELECT migration_engine.execute_migration('ok2')->>'success'), 'true', 'a dependent migration runs after its dependency');
SELECT throws_ok($$SELECT migration_engine.rollback_migration('ok1')$$, '2BP01', NULL, 'rollback is refused while a COMPLETED migration depends on it');
SELECT is((SELECT migration_engine.rollback_migration('ok1', '{"cascade": true}')->>'success'), 'true', 'cascade rolls back the dependents first');
SELECT is((SELECT array_agg(status ORDER BY migration_name) FROM migration_engine.knowledge_migrations WHERE migration_name IN ('ok1', 'ok2')),
          ARRAY['ROLLED_BACK', 'ROLLED_BACK'], 'both are ROLLED_BACK');
SELECT is((SELECT count(*) FROM public.eng_items WHERE id <= 3), 0::bigint, 'the rollback steps ran');
SELECT is((SELECT migration_engine.execute_migration('ok1')->>'success'), 'true', 'forward again after rollback');
SELECT throws_ok($$SELECT migration_engine.pause_migration('ok1')$$, '55000', NULL, 'pausing a migration that is not running is refused');

-- a misspelled option is refused, never ignored (the migration must not run for real)
SELECT migration_engine.create_migration('{"name": "typo", "version": "1",
  "forward": [{"name": "t", "type": "SQL", "script": "CREATE TABLE public.typo_ran (id int)"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "DROP TABLE public.typo_ran"}]}');
SELECT throws_ok($$SELECT migration_engine.execute_migration('typo', '{"dry_run": true}')$$, '22023', NULL, 'an unknown option is refused');
SELECT hasnt_table('public', 'typo_ran', 'and the migration did not run');
SELECT throws_like($$SELECT migration_engine.execute_migration('typo', '{"dry_run": true}')$$, '%dryRun%', 'the error names the known options');
SELECT throws_ok($$SELECT migration_engine.execute_migration('typo', '{"cascade": true}')$$, '22023', NULL, 'cascade is for rollback_migration only');

SELECT * FROM finish();
ROLLBACK;
