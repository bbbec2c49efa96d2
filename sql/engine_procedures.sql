-- CALL migration_engine.run_migration(name, options): the long-migration form. It commits
-- after every step, so other sessions see progress and a crash loses at most the step
-- that was running; resume with CALL run_migration(name, '{"resume": true}') or
-- migration_engine.resume_migration(name). A failure raises an ERROR once the FAILED
-- state is committed (deploy tools see it; the record stays); inside BEGIN ... COMMIT it
-- is refused up front (25001), as its COMMITs could not run there.
-- No SET search_path clause here: a procedure with one cannot COMMIT. Everything is
-- schema-qualified instead.
CREATE PROCEDURE migration_engine.run_migration(migration_name text, options jsonb DEFAULT '{}')
LANGUAGE plpgsql
AS $$
DECLARE
    state jsonb;
    run uuid;
    attempt bigint;
    waited jsonb;
    phase text;
    said text;
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
            PERFORM migration_engine.top_level_start(attempt);
            COMMIT;
            said := NULL;
            LOOP
                waited := migration_engine.top_level_wait(attempt);
                COMMIT;
                EXIT WHEN (waited ->> 'done')::boolean;
                phase := coalesce(waited -> 'progress' ->> 'phase', 'running')
                         || CASE WHEN jsonb_array_length(coalesce(waited -> 'waiting_for', '[]')) > 0
                                 THEN ', waiting for pid ' || (SELECT string_agg(b ->> 'pid', ', ') FROM jsonb_array_elements(waited -> 'waiting_for') b)
                                 ELSE '' END;
                IF phase IS DISTINCT FROM said THEN
                    RAISE NOTICE 'migration %: step % (outside a transaction): %', migration_name,
                        state ->> 'step_name', phase;
                    said := phase;
                END IF;
            END LOOP;
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
