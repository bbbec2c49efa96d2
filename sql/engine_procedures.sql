-- CALL migration_engine.run_migration(name, options): the long-migration form. It commits
-- after every step, so other sessions see progress and a crash loses at most the step
-- that was running; resume with CALL run_migration(name, '{"resume": true}') or
-- migration_engine.resume_migration(name). A failure raises an ERROR once the FAILED
-- state is committed (deploy tools see it; the record stays); inside BEGIN ... COMMIT it
-- is refused up front (25001), as its COMMITs could not run there.
-- No SET search_path clause here: a procedure with one cannot COMMIT. Everything is
-- schema-qualified instead.
-- A "transaction": false step of CALL run_migration or CALL run_rollback: the top-level
-- runner's worker runs it (src/runner); this session waits in short transactions (a
-- concurrent index build waits for every older snapshot, this session's too), saying in
-- a NOTICE what the build does and whom it waits for.
CREATE PROCEDURE migration_engine.wait_for_top_level_step(migration_name text, step_name text, attempt bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    waited jsonb;
    phase text;
    said text;
BEGIN
    IF migration_name IS NULL OR step_name IS NULL OR attempt IS NULL THEN
        RAISE EXCEPTION '% must not be NULL',
            CASE WHEN migration_name IS NULL THEN 'migration_name' WHEN step_name IS NULL THEN 'step_name' ELSE 'attempt' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM migration_engine.top_level_start(attempt);
    COMMIT;
    LOOP
        waited := migration_engine.top_level_wait(attempt);
        COMMIT;
        EXIT WHEN (waited ->> 'done')::boolean;
        phase := coalesce(waited -> 'progress' ->> 'phase', 'running')
                 || CASE WHEN jsonb_array_length(coalesce(waited -> 'waiting_for', '[]')) > 0
                         THEN ', waiting for pid ' || (SELECT string_agg(b ->> 'pid', ', ') FROM jsonb_array_elements(waited -> 'waiting_for') b)
                         ELSE '' END;
        IF phase IS DISTINCT FROM said THEN
            RAISE NOTICE 'migration %: step % (outside a transaction): %', migration_name, step_name, phase;
            said := phase;
        END IF;
    END LOOP;
END
$$;

CREATE PROCEDURE migration_engine.run_migration(migration_name text, options jsonb DEFAULT '{}')
LANGUAGE plpgsql
AS $$
DECLARE
    state jsonb;
    run uuid;
    attempt bigint;
BEGIN
    state := migration_engine.run_migration_begin(migration_name, options);
    IF NOT (state ->> 'started')::boolean THEN
        RAISE EXCEPTION 'migration % was not started: %', migration_name, state ->> 'error'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = coalesce(state ->> 'hint', '');
    END IF;
    run := (state ->> 'run_id')::uuid;
    COMMIT;
    LOOP
        state := migration_engine.run_migration_step(migration_name, run, options);
        COMMIT;
        -- a "transaction": false step: the top-level runner's worker runs it (src/runner);
        -- this session waits in short transactions (a concurrent index build waits for
        -- every older snapshot, this session's too), saying what it waits for
        attempt := (state ->> 'top_level_attempt')::bigint;
        IF attempt IS NOT NULL THEN
            CALL migration_engine.wait_for_top_level_step(migration_name, state ->> 'step_name', attempt);
            CONTINUE;
        END IF;
        -- the next step is recorded RUNNING (committed above); the next call runs it
        CONTINUE WHEN (state ->> 'announced')::boolean;
        RAISE NOTICE 'migration %: % (% of % steps)', migration_name, state ->> 'message',
            state ->> 'done_steps', state ->> 'total_steps';
        EXIT WHEN (state ->> 'finished')::boolean;
    END LOOP;
    IF state ->> 'status' = 'FAILED' THEN
        -- the FAILED record and the steps that completed are committed above: raising now
        -- loses nothing, and makes psql -v ON_ERROR_STOP=1, sqitch and Flyway see the failure
        RAISE EXCEPTION 'migration % FAILED: %', migration_name, state ->> 'error'
            USING ERRCODE = CASE WHEN state ->> 'sqlstate' ~ '^[0-9A-Z]{5}$' AND left(state ->> 'sqlstate', 2) NOT IN ('00', '01', '02')
                                 THEN state ->> 'sqlstate' ELSE 'P0001' END,
                  DETAIL = 'The FAILED state, its error and the completed steps are committed (migration_engine.migration_status).',
                  HINT = 'Completed steps stay committed; fix the cause and resume with migration_engine.resume_migration(name), or roll back with migration_engine.rollback_migration(name).';
    END IF;
END
$$;
REVOKE EXECUTE ON PROCEDURE migration_engine.run_migration(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE migration_engine.run_migration(text, jsonb) TO migration_admin;

-- CALL migration_engine.run_rollback(name, options): the long form of
-- rollback_migration (src/engine/rollback_procedure.rs): one committed transaction per
-- rollback step, so that a "transaction": false rollback step (DROP INDEX CONCURRENTLY)
-- runs at the top level. A failure raises once the FAILED step is committed; resume with
-- CALL run_rollback(name, '{"resume": true}'). Refused inside a transaction block.
CREATE PROCEDURE migration_engine.run_rollback(migration_name text, options jsonb DEFAULT '{}')
LANGUAGE plpgsql
AS $$
DECLARE
    state jsonb;
    run uuid;
    attempt bigint;
BEGIN
    state := migration_engine.rollback_begin(migration_name, options);
    run := (state ->> 'run_id')::uuid;
    COMMIT;
    LOOP
        state := migration_engine.rollback_step(migration_name, run, options);
        COMMIT;
        attempt := (state ->> 'top_level_attempt')::bigint;
        IF attempt IS NOT NULL THEN
            CALL migration_engine.wait_for_top_level_step(migration_name, state ->> 'step_name', attempt);
            CONTINUE;
        END IF;
        RAISE NOTICE 'migration %: % (% of % rollback steps)', migration_name,
            coalesce(state ->> 'message', lower(state ->> 'status')), state ->> 'done_steps', state ->> 'total_steps';
        EXIT WHEN (state ->> 'finished')::boolean;
    END LOOP;
    IF state ->> 'status' = 'FAILED' THEN
        RAISE EXCEPTION 'rollback of % FAILED: %', migration_name, state ->> 'error'
            USING ERRCODE = CASE WHEN state ->> 'sqlstate' ~ '^[0-9A-Z]{5}$' AND left(state ->> 'sqlstate', 2) NOT IN ('00', '01', '02')
                                 THEN state ->> 'sqlstate' ELSE 'P0001' END,
                  DETAIL = 'The rollback steps that completed are committed; the migration keeps its status.',
                  HINT = 'Fix the cause and continue with CALL migration_engine.run_rollback(name, ''{"resume": true}'').';
    END IF;
END
$$;
REVOKE EXECUTE ON PROCEDURE migration_engine.run_rollback(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE migration_engine.run_rollback(text, jsonb) TO migration_admin;
