-- Bad inputs: a corpus of hostile or malformed arguments for every public SQL function.
-- Every case must be refused (or, for a STRICT read-only function given NULL, return
-- NULL) with a proper SQLSTATE (never XX000), a message that says something, quickly,
-- leaving every table of the extension and of the data schemas exactly as it was.
--
-- Families (see the comment above each block of INSERTs):
--   1. NULL in each argument position       (generated from pg_proc)
--   2. deeply nested jsonb                  (generated from pg_proc)
--   3. jsonb of the wrong shape             (generated from pg_proc)
--   4. unknown (misspelled) keys
--   5. identifiers and names
--   6. numbers
--   7. migration definitions
--   8. canary configurations
--   9. graph functions
-- Families 1-3 are generated from the catalog, so a new public function is covered
-- without editing this file.
SET statement_timeout = '120s';   -- a hang fails the file instead of blocking CI
BEGIN;

CREATE SCHEMA bad_inputs;

-- The schemas whose tables a call must leave alone: the catalog, kg, and every schema
-- the catalog names as a data schema (active, previous, canary, backfill, pipeline).
CREATE FUNCTION bad_inputs.watched_schemas() RETURNS SETOF name LANGUAGE sql AS $$
    SELECT DISTINCT s::name FROM (
        SELECT 'migration_engine' UNION ALL SELECT 'kg'
        UNION ALL SELECT "current_schema" FROM migration_engine.active_schema_version
        UNION ALL SELECT previous_schema FROM migration_engine.active_schema_version
        UNION ALL SELECT old_schema FROM migration_engine.canary_rollouts
        UNION ALL SELECT new_schema FROM migration_engine.canary_rollouts
        UNION ALL SELECT data_schema FROM migration_engine.field_backfills
        UNION ALL SELECT data_schema FROM migration_engine.pipeline_runs) x(s)
    WHERE s IS NOT NULL
$$;

-- md5 over the rows of every ordinary table of the watched schemas (tables by name),
-- and over the list of relations outside the system schemas: a call that creates a
-- schema or a table (a blue-green target, a migration's step run by mistake) changes it
-- even when it writes no row of a watched table.
CREATE FUNCTION bad_inputs.fingerprint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    h text;
    acc text := '';
BEGIN
    FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname IN (SELECT bad_inputs.watched_schemas())
             ORDER BY n.nspname, c.relname LOOP
        EXECUTE format('SELECT coalesce(md5(string_agg(t::text, ''|'' ORDER BY t::text)), '''') FROM %I.%I t',
                       r.nspname, r.relname) INTO h;
        acc := acc || r.nspname || '.' || r.relname || '=' || h || ';';
    END LOOP;
    acc := acc || coalesce((SELECT string_agg(format('%s.%s:%s', n.nspname, c.relname, c.relkind), ',' ORDER BY n.nspname, c.relname)
                            FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind <> 'S'
                            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                              AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'), '');
    RETURN md5(acc);
END
$$;

-- Run one call in a subtransaction that is always undone, so that a call that wrongly
-- succeeds leaves nothing behind for the cases after it. Reports its error (if any), its
-- first column (a SELECT is run as `SELECT (<call>)::text`), how long it took, and
-- whether it changed the fingerprint (taken before the call, and again after it: inside
-- the subtransaction when the call succeeded, after its rollback when it failed).
CREATE FUNCTION bad_inputs.run_call(call text, OUT code text, OUT message text, OUT hint text,
                                    OUT result text, OUT elapsed interval, OUT changed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    before text := bad_inputs.fingerprint();
    after text;
    t0 timestamptz := clock_timestamp();
BEGIN
    BEGIN
        IF call ~* '^\s*select\s' THEN
            EXECUTE format('SELECT (%s)::text', call) INTO result;
        ELSE
            EXECUTE call;
            result := '(no result)';
        END IF;
        elapsed := clock_timestamp() - t0;
        after := bad_inputs.fingerprint();
        RAISE EXCEPTION USING ERRCODE = 'BI000', MESSAGE = 'bad_inputs: undo the call';
    EXCEPTION
        WHEN SQLSTATE 'BI000' THEN
            NULL;   -- the call succeeded: what it did is undone with the subtransaction
        WHEN OTHERS THEN
            elapsed := clock_timestamp() - t0;
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
            after := bad_inputs.fingerprint();
    END;
    changed := after IS DISTINCT FROM before;
END
$$;

-- '' when the call behaved, else what went wrong. expected: a SQLSTATE ('22004'), a class
-- ('22'), several of them separated by '|', or 'null' (the call succeeds and returns
-- NULL; for `SELECT count(*) FROM <set-returning function>`, 0). message_re, when given,
-- is a case-insensitive regular expression the error message must match.
CREATE FUNCTION bad_inputs.try_case(call text, expected text, message_re text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    problems text[] := '{}';
    ok_code boolean;
BEGIN
    o := bad_inputs.run_call(call);
    IF expected = 'null' THEN
        IF o.code IS NOT NULL THEN
            problems := problems || format('expected NULL, got %s: %s', o.code, o.message);
        ELSIF o.result IS NOT NULL AND NOT (call ~* '^\s*select\s+count\(\*\)' AND o.result = '0') THEN
            problems := problems || format('expected NULL (or no row), got %s', left(o.result, 200));
        END IF;
    ELSIF o.code IS NULL THEN
        problems := problems || format('expected %s, but it succeeded and returned %s', expected, coalesce(left(o.result, 200), 'NULL'));
    ELSE
        SELECT bool_or(o.code = e OR (length(e) = 2 AND left(o.code, 2) = e)) INTO ok_code
        FROM unnest(string_to_array(expected, '|')) e;
        IF NOT ok_code OR left(o.code, 2) = 'XX' THEN   -- XX000 is never a proper refusal
            problems := problems || format('expected %s, got %s: %s', expected, o.code, o.message);
        END IF;
        IF length(coalesce(o.message, '')) < 15 THEN
            problems := problems || format('message too short: %L', o.message);
        END IF;
        IF message_re IS NOT NULL AND coalesce(o.message, '') !~* message_re THEN
            problems := problems || format('message %L does not match %L', o.message, message_re);
        END IF;
    END IF;
    IF o.changed THEN
        problems := problems || 'it changed the data or the catalog'::text;
    END IF;
    IF o.elapsed >= interval '5 seconds' THEN
        problems := problems || format('it took %s', o.elapsed);
    END IF;
    BEGIN
        PERFORM 1;
    EXCEPTION WHEN OTHERS THEN
        problems := problems || format('SELECT 1 failed afterwards: %s', SQLERRM);
    END;
    RETURN array_to_string(problems, '; ');
END
$$;

-- One row per case. message: a regular expression the error message must match (NULL:
-- any message of 15 characters or more); family: the block below it comes from; phase 2:
-- run while a canary is live.
CREATE TEMP TABLE cases (id serial, call text NOT NULL, expected text NOT NULL, about text NOT NULL, message text,
                         family int, phase int NOT NULL DEFAULT 1);

-- Fixtures the calls refer to: a schema version with Person, two people and an edge
-- between them, a PENDING migration (running it by mistake would create public.bi_t and
-- change its status, both of which the fingerprint sees), a COMPLETED one, two that
-- depend on each other in one direction, and a deferred backfill.
CREATE TEMP TABLE fx (key text PRIMARY KEY, val text NOT NULL);
DO $$
BEGIN
    PERFORM migration_engine.register_schema_version('1.0.0',
        '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "age": {"type": "integer"}}}}}');
    PERFORM migration_engine.upsert_entity('Person', '{"name": "Ada", "age": 36}', '00000000-0000-4000-8000-00000000000a');
    PERFORM migration_engine.upsert_entity('Person', '{"name": "Bob", "age": 40}', '00000000-0000-4000-8000-00000000000b');
    PERFORM migration_engine.upsert_relation('KNOWS', '00000000-0000-4000-8000-00000000000a',
        '00000000-0000-4000-8000-00000000000b', '{}', '00000000-0000-4000-8000-0000000000ab');
    PERFORM migration_engine.create_migration('{"name": "bi_pending", "version": "1.0.0",
        "forward": [{"name": "t", "type": "SQL", "script": "CREATE TABLE public.bi_t (id int PRIMARY KEY)"}],
        "rollback": [{"name": "d", "type": "SQL", "script": "DROP TABLE public.bi_t"}]}');
    PERFORM migration_engine.create_migration('{"name": "bi_done", "version": "1.0.0",
        "forward": [{"name": "t", "type": "SQL", "script": "CREATE TABLE public.bi_done_t (id int PRIMARY KEY)"}],
        "rollback": [{"name": "d", "type": "SQL", "script": "DROP TABLE public.bi_done_t"}]}');
    IF migration_engine.execute_migration('bi_done', '{"force": true}') ->> 'success' <> 'true' THEN
        RAISE EXCEPTION 'fixture: bi_done did not run';
    END IF;
    PERFORM migration_engine.create_migration('{"name": "bi_cyc_b", "version": "1.0.0",
        "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
    PERFORM migration_engine.create_migration('{"name": "bi_cyc_a", "version": "1.0.0", "dependsOn": ["bi_cyc_b"],
        "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
    PERFORM migration_engine.create_migration('{"name": "bi_canary", "version": "1.0.0",
        "forward": [{"name": "c", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN bi_c int"}],
        "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
    INSERT INTO fx VALUES ('backfill', migration_engine.add_field_backward_compatible('Person', 'tier',
        '{"type": "text"}', '"basic"', 'deferred') -> 'backfill' ->> 'backfill_id');
END
$$;

-- The public functions: every function and procedure of migration_engine but trigger
-- functions and the internal helpers (the SECURITY DEFINER plumbing of blue-green, the
-- checks the catalog's triggers call, the pipeline's raise, the metric range check, the
-- history triggers' installer, kg_live's view builders, the install's name check). A function added later is covered by families 1-3.
CREATE VIEW bad_inputs.public_functions AS
SELECT p.oid, p.proname::text AS proname, p.prokind, p.proretset, p.pronargs::int AS pronargs
FROM pg_proc p
WHERE p.pronamespace = 'migration_engine'::regnamespace AND p.prokind IN ('f', 'p')
  AND p.prorettype <> 'trigger'::regtype
  AND p.proname NOT IN ('adopt_active_schema', 'drop_adopted_schema', 'drop_live_view', 'point_live_view',
                        'set_extension_trigger', 'set_cluster_fence', 'is_data_schema', 'routines_called_by_schema', 'pipeline_raise',
                        'canary_metric_value_ok', 'capture_change', 'protect_history_of',
                        'define_live_view', 'live_view_select', 'live_view_shape_of', 'data_schema_at_install')
  AND p.proname !~ '^(audit|check|refuse|forbid)_'
  -- the support functions of the aggregate repeated_hashes (internal arguments: only
  -- the aggregate can call them, and nobody but the owner may)
  AND p.proname !~ '^repeated_hashes_';

CREATE VIEW bad_inputs.public_args AS
SELECT f.oid, f.proname, a.pos, p.proargnames[a.pos] AS argname, p.proargtypes[a.pos - 1]::regtype AS argtype,
       pg_get_function_arg_default(f.oid, a.pos) AS argdefault
FROM bad_inputs.public_functions f
JOIN pg_proc p ON p.oid = f.oid
CROSS JOIN LATERAL generate_series(1, f.pronargs) a(pos);

-- The read-only functions that are STRICT: NULL in, NULL (or no row) out, as SQL's own.
CREATE FUNCTION bad_inputs.strict_readers() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['active_schema', 'canary_route', 'detect_breaking_changes', 'entity_as_of', 'entity_history',
                 'is_type_compatible', 'lint_sql', 'migration_graph', 'safety_report', 'deprecated_field_usage',
                 'evaluate_canary', 'safety_rules', 'migration_plan', 'compatibility_mode', 'uuid_v7_time',
                 'content_conforms']
$$;

-- A plausible valid value for each argument (SQL expression text): its default if it has
-- one, else one chosen by its name, else one by its type. Only the position under test
-- matters; the other values need only be of the right type and not absurd.
CREATE TABLE bad_inputs.samples (argname text, argtype regtype, expr text, PRIMARY KEY (argname, argtype));
INSERT INTO bad_inputs.samples VALUES
    ('migration_name',   'text',   $$'bi_pending'$$),
    ('migration_id',     'uuid',   $$(SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending')$$),
    ('version_number',   'text',   $$'9.9.9'$$),
    ('schema_definition','jsonb',  $$'{"entities": {}}'::jsonb$$),
    ('old_schema',       'jsonb',  $$'{"entities": {}}'::jsonb$$),
    ('new_schema',       'jsonb',  $$'{"entities": {}}'::jsonb$$),
    ('new_schema',       'text',   $$'bi_green'$$),
    ('name',             'text',   $$'bi_green'$$),
    ('entity_type',      'text',   $$'Person'$$),
    ('field_name',       'text',   $$'nickname'$$),
    ('field_schema',     'jsonb',  $$'{"type": "text"}'::jsonb$$),
    ('metric',           'text',   $$'error_rate'$$),
    ('value',            'double precision', $$0.5::float8$$),
    ('percentage',       'integer',$$10$$),
    ('routing_key',      'text',   $$'key-1'$$),
    ('old_type',         'text',   $$'integer'$$),
    ('new_type',         'text',   $$'bigint'$$),
    ('sql',              'text',   $$'SELECT 1'$$),
    ('mode',             'text',   $$'NONE'$$),
    ('definition',       'jsonb',  $$'{"name": "bi_new", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}'::jsonb$$),
    ('pipeline',         'jsonb',  $$'{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}'::jsonb$$),
    ('config',           'jsonb',  $$'{"migrationName": "bi_pending"}'::jsonb$$),
    ('content',          'jsonb',  $$'{"name": "Ada"}'::jsonb$$),
    ('relation_type',    'text',   $$'KNOWS'$$),
    ('source_entity_id', 'uuid',   $$'00000000-0000-4000-8000-00000000000a'::uuid$$),
    ('target_entity_id', 'uuid',   $$'00000000-0000-4000-8000-00000000000b'::uuid$$),
    ('entity_id',        'uuid',   $$'00000000-0000-4000-8000-00000000000a'::uuid$$),
    ('relation_id',      'uuid',   $$'00000000-0000-4000-8000-0000000000ab'::uuid$$),
    ('*', 'text', $$'x'$$), ('*', 'jsonb', $$'{}'::jsonb$$), ('*', 'uuid', $$gen_random_uuid()$$),
    ('*', 'integer', $$1$$), ('*', 'bigint', $$1::bigint$$), ('*', 'double precision', $$0.5::float8$$),
    ('*', 'boolean', $$false$$), ('*', 'timestamp with time zone', $$now()$$), ('*', 'text[]', $$'{}'::text[]$$);
-- CALL takes no subquery in its arguments: the fixture's backfill id goes in as a literal.
INSERT INTO bad_inputs.samples SELECT 'backfill_id', 'bigint', val FROM fx WHERE key = 'backfill';

-- The call of function fn with `value` (SQL text) in argument position pos and the
-- sample values elsewhere: CALL for a procedure, count(*) over a set-returning function.
CREATE FUNCTION bad_inputs.call_with(fn oid, at_pos int, value text) RETURNS text LANGUAGE sql AS $$
    SELECT format(CASE WHEN f.prokind = 'p' THEN 'CALL migration_engine.%I(%s)'
                       WHEN f.proretset THEN 'SELECT count(*) FROM migration_engine.%I(%s)'
                       ELSE 'SELECT migration_engine.%I(%s)' END,
                  f.proname,
                  (SELECT string_agg(CASE WHEN a.pos = at_pos THEN value
                                          ELSE coalesce(a.argdefault,
                                                        (SELECT s.expr FROM bad_inputs.samples s WHERE s.argname = a.argname AND s.argtype = a.argtype),
                                                        (SELECT s.expr FROM bad_inputs.samples s WHERE s.argname = '*' AND s.argtype = a.argtype),
                                                        'NULL') END, ', ' ORDER BY a.pos)
                   FROM bad_inputs.public_args a WHERE a.oid = f.oid))
    FROM bad_inputs.public_functions f WHERE f.oid = fn
$$;

------------------------------------------------------------------------------------------
-- 1. NULL in each argument position. A NULL is refused with 22004 and the argument's
-- name (a NULL that slipped through once reached pgrx as XX000, or made CALL
-- run_backfill loop for ever); arguments whose default is NULL take it; the STRICT
-- read-only functions return NULL (or no row).
INSERT INTO cases (call, expected, about, message)
SELECT bad_inputs.call_with(a.oid, a.pos, 'NULL::' || format_type(a.argtype, NULL)),
       CASE WHEN a.proname = ANY (bad_inputs.strict_readers()) THEN 'null' ELSE '22004' END,
       format('NULL %s of %s', a.argname, a.proname),
       CASE WHEN a.proname <> ALL (bad_inputs.strict_readers()) THEN '\m' || a.argname || '\M' END
FROM bad_inputs.public_args a
WHERE coalesce(a.argdefault, '') !~* '^NULL\M'
ORDER BY a.proname, a.pos;
UPDATE cases SET family = 1 WHERE family IS NULL;

------------------------------------------------------------------------------------------
-- 2. Deeply nested jsonb. Postgres stores a document 200 levels deep; the extension's
-- reader refuses it with 54001 (statement_too_complex) instead of failing inside its
-- JSON parser (XX000). 100 levels are within the limit: refused, if at all, for their
-- shape (an array where an object is expected), never as too complex.
-- Every jsonb argument of the public functions, the default NULL ones too: a deep or
-- misshapen document is as bad there.
-- Not the content of content_conforms: a predicate over stored content, which judges
-- any jsonb (one that is not an object, or too deep to read, does not conform: false)
-- rather than stop the scan it runs in on one row.
CREATE VIEW bad_inputs.jsonb_args AS
SELECT * FROM bad_inputs.public_args WHERE argtype = 'jsonb'::regtype
  AND NOT (proname = 'content_conforms' AND argname = 'content');
INSERT INTO cases (call, expected, about)
SELECT bad_inputs.call_with(a.oid, a.pos, d.doc), d.expected, format('%s for %s of %s', d.what, a.argname, a.proname)
FROM bad_inputs.jsonb_args a
CROSS JOIN (VALUES
    ($$(repeat('[', 200) || repeat(']', 200))::jsonb$$, '54001', 'arrays nested 200 deep'),
    ($$(repeat('{"a": ', 200) || '1' || repeat('}', 200))::jsonb$$, '54001', 'objects nested 200 deep'),
    ($$(repeat('[', 100) || repeat(']', 100))::jsonb$$, '22', 'arrays nested 100 deep')) d(doc, expected, what)
ORDER BY a.proname, a.pos, d.what DESC;
UPDATE cases SET family = 2 WHERE family IS NULL;

------------------------------------------------------------------------------------------
-- 3. jsonb of the wrong shape: every jsonb argument takes an object (a JSON null is not
-- a missing value; SQL NULL is, where the default is NULL). Refused with 22023 before
-- anything happens: options that are not an object are never read as "no options".
INSERT INTO cases (call, expected, about)
SELECT bad_inputs.call_with(a.oid, a.pos, d.doc), '22023', format('%s for %s of %s', d.what, a.argname, a.proname)
FROM bad_inputs.jsonb_args a
CROSS JOIN (VALUES ($$'[]'::jsonb$$, 'an array'), ($$'"x"'::jsonb$$, 'a string'), ($$'1'::jsonb$$, 'a number'),
                   ($$'null'::jsonb$$, 'JSON null'), ($$'true'::jsonb$$, 'true')) d(doc, what)
WHERE a.argname <> 'default_value'   -- a field's default may be any JSON value
ORDER BY a.proname, a.pos, d.what;
UPDATE cases SET family = 3 WHERE family IS NULL;

-- The families below are written out, each call as it runs.

------------------------------------------------------------------------------------------
-- 4. Unknown keys. A misspelled key that is ignored changes what runs: {"dry_run": true}
-- ran the migration for real, "depends_on" let a migration run before its dependency.
-- Every object the extension reads names the keys it takes and refuses any other with
-- 22023, saying so (run options say "unknown option", the rest "unknown key"). The
-- PENDING bi_pending and the COMPLETED bi_done must stay as they are.
INSERT INTO cases (call, expected, about, message)
SELECT call, '22023', about, 'unknown (key|option)|not a known key' FROM (VALUES
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "depends_on": ["bi_cyc_b"], "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     'definition: depends_on for dependsOn'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "rollbacks": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     'definition: rollbacks for rollback'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "forwards": [{"name": "s2", "type": "SQL", "script": "SELECT 2"}]}')$c$,
     'definition: forwards next to forward'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "Name": "bi_k2", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     'definition: Name next to name'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "scirpt": "SELECT 2"}]}')$c$,
     'step: scirpt next to script'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "continue_on_error": true}]}')$c$,
     'step: continue_on_error for continueOnError'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "batch_size": 10}]}')$c$,
     'step: batch_size for batchSize'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "validation": [{"name": "v", "script": "true", "scirpt": "false"}]}')$c$,
     'validation rule: scirpt next to script'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "options": {"continue_on_error": true}}')$c$,
     'definition options: continue_on_error'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_k", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": {"name": "p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "error_handling": "SKIP", "config": {"condition": "$.age > 1"}}]}}]}')$c$,
     'TRANSFORM step: error_handling in its pipeline'),
    ($c$SELECT migration_engine.execute_migration('bi_pending', '{"dry_run": true}')$c$, 'execute_migration: dry_run does not run bi_pending'),
    ($c$SELECT migration_engine.execute_migration('bi_pending', '{"dryrun": true}')$c$, 'execute_migration: dryrun does not run bi_pending'),
    ($c$SELECT migration_engine.run_migration_begin('bi_pending', '{"dry_run": true}')$c$, 'run_migration_begin: dry_run'),
    ($c$CALL migration_engine.run_migration('bi_pending', '{"dry_run": true}')$c$, 'run_migration: dry_run'),
    ($c$SELECT migration_engine.run_migration_step('bi_pending', gen_random_uuid(), '{"dryrun": true}')$c$, 'run_migration_step: dryrun'),
    ($c$SELECT migration_engine.resume_migration('bi_pending', '{"dryrun": true}')$c$, 'resume_migration: dryrun'),
    ($c$SELECT migration_engine.rollback_migration('bi_done', '{"cascad": true}')$c$, 'rollback_migration: cascad does not roll bi_done back'),
    ($c$SELECT migration_engine.rollback_migration('bi_done', '{"dry_run": true}')$c$, 'rollback_migration: dry_run does not roll bi_done back'),
    ($c$SELECT migration_engine.validate_migration_safety('bi_pending', '{"skip_integrity": true}')$c$, 'validate_migration_safety: skip_integrity'),
    ($c$SELECT migration_engine.switch_active_schema('bi_green', '{"switch_lock_timeout": 10}')$c$, 'switch_active_schema: switch_lock_timeout'),
    ($c$SELECT migration_engine.switch_active_schema('kg', '{"dryrun": true}')$c$, 'switch_active_schema: dryrun'),
    ($c$SELECT migration_engine.switch_back('{"dryrun": true}')$c$, 'switch_back: dryrun (the options are read before the state)'),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'bi_green', '{"skip_integrity": true}')$c$,
     'execute_blue_green_migration: skip_integrity does not run bi_pending'),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'bi_green', '{"dryRun": true}')$c$,
     'execute_blue_green_migration: dryRun is no blue-green option'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"dryrun": true}')$c$,
     'execute_pipeline: dryrun does not run the pipeline'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"dry_run": true}')$c$,
     'execute_pipeline: dry_run'),
    ($c$SELECT migration_engine.pipeline_begin('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"dryrun": true}')$c$,
     'pipeline_begin: dryrun'),
    ($c$CALL migration_engine.run_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"dryrun": true}')$c$,
     'run_pipeline: dryrun'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "batch_size": 10, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     'pipeline: batch_size at the top'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "error_handling": "SKIP", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     'pipeline: error_handling in a step'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entity_type": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     'pipeline: entity_type in the source'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100", "condtion": "$.age > 1"}}]}', '{"preview": 1}')$c$,
     'pipeline: condtion in a step config'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "m", "canaryPercent": 10}')$c$, 'canary config: canaryPercent'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "canaryPercent": 10}')$c$, 'canary config: canaryPercent does not start bi_canary'),
    ($c$SELECT migration_engine.start_canary('{"migration_name": "bi_canary"}')$c$, 'canary config: migration_name'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "options": {"skip_integrity": true}}')$c$, 'canary config: skip_integrity in its options')
) v(call, about);
UPDATE cases SET family = 4 WHERE family IS NULL;

------------------------------------------------------------------------------------------
-- 5. Identifiers and names. A name is data: looked up, it is simply unknown (42704),
-- whatever it holds. A name that keys rows and logs (migration, step, version) has no
-- control characters, no surrounding blanks and at most 200 characters (22023). A name
-- that becomes an SQL identifier (schema) is a plain one of at most 63 bytes (42602), and
-- a schema given to the blue-green functions must be a data schema that is not the
-- active one: the catalogs, the extension's own schema, kg_live, public are refused.
INSERT INTO cases (call, expected, about) VALUES
    ($c$SELECT migration_engine.execute_migration('bi''q')$c$, '42704', 'migration name with a quote'),
    ($c$SELECT migration_engine.execute_migration('x; DROP TABLE kg.temporal_entities')$c$, '42704', 'migration name with a statement'),
    ($c$SELECT migration_engine.execute_migration(repeat('m', 300))$c$, '42704', 'migration name of 300 bytes'),
    ($c$SELECT migration_engine.execute_migration(E'bi_pending\n')$c$, '42704', 'migration name with a newline after a real one'),
    ($c$SELECT migration_engine.execute_migration('')$c$, '42704', 'empty migration name'),
    ($c$SELECT migration_engine.execute_migration('   ')$c$, '42704', 'blank migration name'),
    ($c$SELECT migration_engine.execute_migration('b' || chr(1110) || '_pending')$c$, '42704', 'migration name with a Cyrillic look-alike of a real one'),
    ($c$SELECT migration_engine.rollback_migration(chr(1))$c$, '42704', 'rollback_migration: a control character'),
    ($c$SELECT migration_engine.validate_migration_safety('x; DROP TABLE kg.temporal_entities')$c$, '42704', 'validate_migration_safety: a statement as name'),
    ($c$SELECT migration_engine.safety_report(repeat('m', 300))$c$, '42704', 'safety_report: a 300-byte name'),
    ($c$SELECT migration_engine.cancel_migration('')$c$, '42704', 'cancel_migration: empty name'),
    ($c$SELECT migration_engine.pause_migration(E'\t')$c$, '42704', 'pause_migration: a tab'),
    ($c$SELECT migration_engine.resume_migration('x; DROP TABLE kg.temporal_entities')$c$, '42704', 'resume_migration: a statement as name'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', E'a\nb', 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'new migration name with a newline'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', E'\t', 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'new migration name that is a tab'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', 'a' || chr(1), 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'new migration name with chr(1)'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', '', 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'empty new migration name'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', '   ', 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'blank new migration name'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', ' bi_x', 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'new migration name with a leading blank'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', repeat('m', 300), 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'new migration name of 300 bytes'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', 'bi_x', 'version', '1', 'forward', jsonb_build_array(jsonb_build_object('name', E'a\nb', 'type', 'SQL', 'script', 'SELECT 1'))))$c$,
     '22023', 'step name with a newline'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', 'bi_x', 'version', E'1\n2', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'migration version with a newline'),
    ($c$SELECT migration_engine.register_schema_version('', '{"entities": {}}')$c$, '22023', 'empty schema version number'),
    ($c$SELECT migration_engine.register_schema_version('   ', '{"entities": {}}')$c$, '22023', 'blank schema version number'),
    ($c$SELECT migration_engine.register_schema_version(E'2\n0', '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "age": {"type": "integer"}}}}}')$c$,
     '22023', 'schema version number with a newline'),
    ($c$SELECT migration_engine.register_schema_version(repeat('9', 300), '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "age": {"type": "integer"}}}}}')$c$,
     '22023', 'schema version number of 300 bytes'),
    ($c$SELECT migration_engine.register_schema_version('1.0.0', '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "age": {"type": "integer"}}}}}')$c$,
     '42710', 'a schema version number registered already'),
    ($c$SELECT migration_engine.activate_schema_version('x; DROP TABLE kg.temporal_entities')$c$, '42704', 'activate_schema_version: a statement'),
    ($c$SELECT migration_engine.activate_schema_version('')$c$, '42704', 'activate_schema_version: empty'),
    ($c$SELECT migration_engine.activate_schema_version(repeat('9', 300))$c$, '42704', 'activate_schema_version: 300 bytes'),
    ($c$SELECT migration_engine.set_compatibility_mode('backward; DROP TABLE kg.temporal_entities')$c$, '22023', 'compatibility mode with a statement'),
    ($c$SELECT migration_engine.set_compatibility_mode('')$c$, '22023', 'empty compatibility mode'),
    ($c$SELECT migration_engine.migration_graph('')$c$, '22023', 'empty graph format'),
    ($c$SELECT migration_engine.migration_graph('dot; DROP TABLE kg.temporal_entities')$c$, '22023', 'graph format with a statement'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', 'x; DROP TABLE kg.temporal_entities', '{"type": "text"}')$c$, '42602', 'field name with a statement'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', repeat('f', 64), '{"type": "text"}')$c$, '42602', 'field name of 64 bytes'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', '', '{"type": "text"}')$c$, '42602', 'empty field name'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Per''son', 'nick', '{"type": "text"}')$c$, '42602', 'add_field: entity type with a quote'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Nobody', 'nick', '{"type": "text"}')$c$, '42704', 'add_field: unknown entity type'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', 'name', '{"type": "text"}', '"x"')$c$, '42710', 'add_field: a field that exists'),
    ($c$SELECT migration_engine.deprecate_field('Person', 'x; DROP TABLE kg.temporal_entities')$c$, '42602', 'deprecate_field: field name with a statement'),
    ($c$SELECT migration_engine.deprecate_field('Person', '')$c$, '42602', 'deprecate_field: empty field name'),
    ($c$SELECT migration_engine.deprecate_field('Nobody', 'name')$c$, '42704', 'deprecate_field: unknown entity type'),
    ($c$SELECT migration_engine.deprecate_field('Person', 'nope')$c$, '42704', 'deprecate_field: unknown field');

-- Hostile schema names for the three functions that take one. The codes are the ones
-- the server gives: 42602 not an identifier, 22023 the active schema, 55000 not a data
-- schema, 55006 the active one for drop, 3F000 no such schema, 42939 a reserved name as target, 42P06 a target that exists.
INSERT INTO cases (call, expected, about)
SELECT format(f.call, quote_literal(s.name)),
       CASE f.fn WHEN 'switch_active_schema' THEN s.switch WHEN 'drop_inactive_schema' THEN s.drop_it ELSE s.target END,
       format('%s: schema %s', f.fn, s.about)
FROM (VALUES
    ('switch_active_schema', 'SELECT migration_engine.switch_active_schema(%s)'),
    ('drop_inactive_schema', 'SELECT migration_engine.drop_inactive_schema(%s)'),
    ('execute_blue_green_migration',
     $c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), %s)$c$)) f(fn, call)
CROSS JOIN (VALUES
    ('pg_catalog',         '55000', '55000', '42939', 'pg_catalog'),
    ('information_schema', '55000', '55000', '42939', 'information_schema'),
    ('migration_engine',   '55000', '55000', '42939', 'migration_engine (the catalog)'),
    ('kg',                 '22023', '55006', '22023', 'kg (the active one)'),
    ('public',             '55000', '55000', '42939', 'public'),
    ('pg_toast',           '55000', '55000', '42939', 'pg_toast'),
    ('kg_live',            '55000', '55000', '42939', 'kg_live (the stable views)'),
    ('"kg"',               '42602', '42602', '42602', '"kg" (quoted)'),
    ('x; DROP TABLE kg.temporal_entities', '42602', '42602', '42602', 'with a statement'),
    (repeat('s', 64),      '42602', '42602', '42602', 'of 64 bytes'),
    ('',                   '42602', '42602', '42602', 'empty'),
    ('KG',                 '3F000', '3F000', NULL,    'KG (no such schema)')) s(name, switch, drop_it, target, about)
WHERE CASE f.fn WHEN 'switch_active_schema' THEN s.switch WHEN 'drop_inactive_schema' THEN s.drop_it ELSE s.target END IS NOT NULL
ORDER BY f.fn, s.about;

INSERT INTO cases (call, expected, about) VALUES
    -- Postgres refuses these names for a new schema (42939); refused before the run
    -- starts, not as a FAILED migration
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'pg_temp')$c$,
     '42', 'execute_blue_green_migration: target pg_temp'),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'pg_green')$c$,
     '42', 'execute_blue_green_migration: a target with the reserved prefix pg_'),
    ($c$SELECT migration_engine.execute_blue_green_migration(gen_random_uuid(), 'bi_green')$c$, '42704', 'execute_blue_green_migration: unknown migration id'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "targetSchema": "pg_catalog"}')$c$, '42939', 'start_canary: targetSchema pg_catalog'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "targetSchema": "kg"}')$c$, '22023', 'start_canary: targetSchema kg (the active one)'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "targetSchema": "public"}')$c$, '42939', 'start_canary: targetSchema public'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "targetSchema": "migration_engine"}')$c$, '42939', 'start_canary: targetSchema migration_engine'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "targetSchema": ""}')$c$, '42602', 'start_canary: empty targetSchema'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "targetSchema": "pg_canary"}')$c$, '42', 'start_canary: a targetSchema with the reserved prefix pg_');
UPDATE cases SET family = 5 WHERE family IS NULL;

------------------------------------------------------------------------------------------
-- 6. Numbers out of range or not numbers at all, where a count, a size, a share or a
-- time is expected. Refused with 22023 before anything runs (a preview that is not
-- understood must not run the pipeline for real). A number beyond double precision
-- inside a jsonb argument is refused as such (class 22), not by a JSON parser (XX000).
INSERT INTO cases (call, expected, about) VALUES
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": -1}')$c$,
     '22023', 'pipeline preview -1'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1.5}')$c$,
     '22023', 'pipeline preview 1.5 does not run the pipeline'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": "NaN"}')$c$,
     '22023', 'pipeline preview "NaN" does not run the pipeline'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1e308}')$c$,
     '22023', 'pipeline preview 1e308 does not run the pipeline'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1e400}')$c$,
     '22', 'pipeline preview 1e400 (beyond double precision)'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "batchSize": 0, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     '22023', 'pipeline batchSize 0'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "batchSize": -1, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     '22023', 'pipeline batchSize -1'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "batchSize": 2147483648, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     '22023', 'pipeline batchSize 2147483648'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "retries": -1, "errorHandling": "RETRY", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     '22023', 'pipeline step retries -1'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "retries": 1e10, "errorHandling": "RETRY", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     '22023', 'pipeline step retries 1e10'),
    (format('SELECT migration_engine.backfill_batch(%s, -1)', (SELECT val FROM fx WHERE key = 'backfill')), '22023', 'backfill_batch: batch size -1'),
    (format('CALL migration_engine.run_backfill(%s, -1)', (SELECT val FROM fx WHERE key = 'backfill')), '22023', 'run_backfill: batch size -1'),
    ($c$SELECT migration_engine.backfill_batch(-1, 10)$c$, '42704', 'backfill_batch: backfill id -1'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', 'nick', '{"type": "text"}', '"x"', 'inline', -1)$c$, '22023', 'add_field: batch size -1'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', 'nick', '{"type": "text"}', '"x"', 'deferred', -2147483648)$c$, '22023', 'add_field: batch size -2147483648'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "priority": 1e10, "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'definition priority 1e10'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "priority": -2147483649, "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'definition priority -2147483649'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "priority": 1.5, "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'definition priority 1.5'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "priority": "NaN", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'definition priority "NaN"'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "priority": 1e400, "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22', 'definition priority 1e400 (beyond double precision)'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "timeout": -1}]}')$c$,
     '22023', 'step timeout -1'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "timeout": 0}]}')$c$,
     '22023', 'step timeout 0'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_n", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "timeout": 1e308}]}')$c$,
     '22023', 'step timeout 1e308'),
    ($c$SELECT migration_engine.execute_migration('bi_pending', '{"lockTimeout": -1}')$c$, '22023', 'execute_migration: lockTimeout -1'),
    ($c$SELECT migration_engine.execute_migration('bi_pending', '{"statementTimeout": -1}')$c$, '22023', 'execute_migration: statementTimeout -1'),
    ($c$SELECT migration_engine.execute_migration('bi_pending', '{"statementTimeout": 1e308}')$c$, '22023', 'execute_migration: statementTimeout 1e308'),
    ($c$SELECT migration_engine.execute_migration('bi_pending', '{"dryRun": 1}')$c$, '22023', 'execute_migration: dryRun 1 is no boolean'),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'bi_green', '{"maxLagRows": -1}')$c$,
     '22023', 'blue-green maxLagRows -1'),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'bi_green', '{"timeout": -1}')$c$,
     '22023', 'blue-green timeout -1'),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'bi_green', '{"sequenceHeadroom": -1}')$c$,
     '22023', 'blue-green sequenceHeadroom -1'),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'bi_green', '{"switchLockTimeout": 1e308}')$c$,
     '22023', 'blue-green switchLockTimeout 1e308'),
    ($c$SELECT migration_engine.switch_active_schema('bi_green', '{"switchRetries": -1}')$c$, '22023', 'switch_active_schema: switchRetries -1'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "successThreshold": 80}')$c$, '22023', 'canary successThreshold 80 (a percentage, not a score)'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "successThreshold": "NaN"}')$c$, '22023', 'canary successThreshold "NaN"'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "successThreshold": -0.1}')$c$, '22023', 'canary successThreshold -0.1'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "maxDuration": 0}')$c$, '22023', 'canary maxDuration 0'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "maxDuration": -1}')$c$, '22023', 'canary maxDuration -1'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "maxDuration": 1e308}')$c$, '22023', 'canary maxDuration 1e308'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "canaryPercentage": -1}')$c$, '22023', 'canary canaryPercentage -1'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "canaryPercentage": 0}')$c$, '22023', 'canary canaryPercentage 0'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "canaryPercentage": 101}')$c$, '22023', 'canary canaryPercentage 101'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "stepPercentage": 0}')$c$, '22023', 'canary stepPercentage 0'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "stepPercentage": -10}')$c$, '22023', 'canary stepPercentage -10'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "stabilizationSeconds": -1}')$c$, '22023', 'canary stabilizationSeconds -1'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "stabilizationSeconds": 1e308}')$c$, '22023', 'canary stabilizationSeconds 1e308'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "rollbackOnFailure": "yes"}')$c$, '22023', 'canary rollbackOnFailure "yes"');

-- Metric values and percentages of a live canary (phase 2). -0 and 0 are valid values
-- of every metric, and a custom metric takes anything within ±1e12, so they are not here.
INSERT INTO cases (call, expected, about, phase)
SELECT format('SELECT migration_engine.record_canary_metric(''bi_canary'', %L, %s)', m.metric, v.val), '22023',
       format('metric %s = %s', m.metric, v.val), 2
FROM (VALUES ('error_rate', 1), ('response_time', 2), ('queue_depth', 3)) m(metric, ord)
CROSS JOIN (VALUES (1, $v$'NaN'$v$), (2, $v$'Infinity'$v$), (3, $v$'-Infinity'$v$), (4, '1e308'), (5, '-1'), (6, '2147483648')) v(ord, val)
WHERE NOT (m.metric = 'queue_depth' AND v.val IN ('-1', '2147483648'))
ORDER BY m.ord, v.ord;
INSERT INTO cases (call, expected, about, phase) VALUES
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', 'queue_depth', -1e308)$c$, '22023', 'metric queue_depth = -1e308', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', 'throughput', 1001)$c$, '22023', 'metric throughput = 1001', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', 'data_consistency', 1.5)$c$, '22023', 'metric data_consistency = 1.5', 2),
    ($c$SELECT migration_engine.set_canary_percentage('bi_canary', -1)$c$, '22023', 'canary percentage -1', 2),
    ($c$SELECT migration_engine.set_canary_percentage('bi_canary', 101)$c$, '22023', 'canary percentage 101', 2),
    ($c$SELECT migration_engine.set_canary_percentage('bi_canary', 2147483647)$c$, '22023', 'canary percentage 2147483647', 2),
    ($c$SELECT migration_engine.set_canary_percentage('bi_canary', -2147483648)$c$, '22023', 'canary percentage -2147483648', 2);
UPDATE cases SET family = 6 WHERE family IS NULL;

------------------------------------------------------------------------------------------
-- 7. Migration definitions and pipelines that cannot run as written: refused by
-- create_migration (or the pipeline functions) with the JSON path of the problem, never
-- stored to fail later. 22023 for the shape, 42704 an unknown dependency, 42710 a taken
-- name, 42601 an expression that is not one expression. bi_cyc_a depends on bi_cyc_b:
-- a cycle could only come from redefining or editing bi_cyc_b, and both are refused.
INSERT INTO cases (call, expected, about) VALUES
    ($c$SELECT migration_engine.create_migration('{"name": "bi_self", "version": "1", "dependsOn": ["bi_self"], "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'a migration that depends on itself'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_c", "version": "1", "dependsOn": ["bi_cyc_b", "bi_c"], "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'a migration that depends on itself after another'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_cyc_b", "version": "1.0.0", "dependsOn": ["bi_cyc_a"], "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '42710', 'a cycle by redefining bi_cyc_b to depend on bi_cyc_a'),
    ($c$UPDATE migration_engine.knowledge_migrations SET depends_on = ARRAY[(SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_cyc_a')] WHERE migration_name = 'bi_cyc_b'$c$,
     '55000', 'a cycle by editing bi_cyc_b''s dependencies'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "dependsOn": ["bi_nope"], "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '42704', 'an unknown dependency'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "dependsOn": "bi_cyc_b", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'dependsOn a string'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "dependsOn": [""], "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'dependsOn an empty name'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_pending", "version": "1.0.0", "forward": [{"name": "t", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '42710', 'the name of an existing migration'),
    ($c$SELECT migration_engine.create_migration(jsonb_build_object('name', repeat('n', 201), 'version', '1', 'forward', '[{"name": "s", "type": "SQL", "script": "SELECT 1"}]'::jsonb))$c$,
     '22023', 'a name of 201 characters'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'an empty version'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": 1, "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'a version that is a number'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "type": "SCHEMAS", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'an unknown migration type'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "metadata": [], "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'metadata an array'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "description": 5, "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}')$c$,
     '22023', 'description a number'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1"}')$c$, '22023', 'no forward'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": []}')$c$, '22023', 'an empty forward'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": {"name": "s", "type": "SQL", "script": "SELECT 1"}}')$c$,
     '22023', 'forward an object'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": ["SELECT 1"]}')$c$, '22023', 'a step that is a string'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"type": "SQL", "script": "SELECT 1"}]}')$c$, '22023', 'a step without name'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "script": "SELECT 1"}]}')$c$, '22023', 'a step without type'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SHELL", "script": "rm -rf /"}]}')$c$,
     '22023', 'an unknown step type'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "sql", "script": "SELECT 1"}]}')$c$,
     '22023', 'a step type in lower case'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": ""}]}')$c$,
     '22023', 'an empty SQL script'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}, {"name": "s", "type": "SQL", "script": "SELECT 2"}]}')$c$,
     '22023', 'duplicate step names'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "validation": [{"name": "v", "script": "true"}, {"name": "v", "script": "true"}]}')$c$,
     '22023', 'duplicate validation rule names'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "continueOnError": "yes"}]}')$c$,
     '22023', 'continueOnError a string'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "rollback": [{"name": "r", "type": "SHELL"}]}')$c$,
     '22023', 'an unknown rollback step type'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "rollback": {}}')$c$,
     '22023', 'rollback an object'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM"}]}')$c$,
     '22023', 'a TRANSFORM step without pipeline'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": {}}]}')$c$,
     '22023', 'a TRANSFORM step with an empty pipeline'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": "Person"}]}')$c$,
     '22023', 'a TRANSFORM pipeline that is a string'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": {"name": "p", "source": {"entityType": "Person"}, "steps": [{"name": "x", "type": "EXPLODE", "config": {}}]}}]}')$c$,
     '22023', 'a TRANSFORM pipeline with an unknown step type'),
    -- an entity type that is no identifier: 22023 as a definition error or 42602 as a name
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": {"name": "p", "source": {"entityType": "x; DROP TABLE kg.temporal_entities"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 1"}}]}}]}')$c$,
     '22023|42602', 'a TRANSFORM pipeline over an entity type with a statement'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": {"name": "p", "source": {"entityType": "Per''son"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 1"}}]}}]}')$c$,
     '22023|42602', 'a TRANSFORM pipeline over an entity type with a quote'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": {"name": "p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age >"}}]}}]}')$c$,
     '22023', 'a TRANSFORM pipeline with a broken path condition'),
    -- (a FUNCTION step naming a function that does not exist yet is accepted: an earlier
    -- step of the same migration may create it; it fails, recorded, when it runs)
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "FUNCTION", "function": "a.b.c"}]}')$c$,
     '22023', 'a FUNCTION step naming a.b.c'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "FUNCTION", "function": "pg_catalog.now(); DROP TABLE kg.temporal_entities"}]}')$c$,
     '22023', 'a FUNCTION step with a statement in its name'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "FUNCTION", "function": "pg_catalog.now", "parameters": "x"}]}')$c$,
     '22023', 'FUNCTION parameters a string'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "condition": "true; select 1"}]}')$c$,
     '42601', 'a condition with two statements'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "condition": "true)) OR ((true"}]}')$c$,
     '42601', 'a condition that breaks out of its parentheses'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1", "condition": ""}]}')$c$,
     '22023', 'an empty condition'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "v", "type": "VALIDATE", "script": "SELECT true; DROP TABLE kg.temporal_entities"}]}')$c$,
     '42601', 'a VALIDATE script with a second statement'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "v", "type": "VALIDATE", "script": "true)::boolean; DROP TABLE kg.temporal_entities; SELECT (true"}]}')$c$,
     '42601', 'a VALIDATE script hiding a second statement'),
    ($c$SELECT migration_engine.create_migration('{"name": "bi_d", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}], "validation": [{"name": "v", "script": "true; DROP TABLE kg.temporal_entities"}]}')$c$,
     '42601', 'a validation rule with a second statement'),
    -- pipelines given to execute_pipeline
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": []}', '{"preview": 1}')$c$,
     '22023', 'a pipeline without steps'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person", "filter": "$.age >"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     '22023', 'a pipeline source filter that is no path'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "m", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "age", "transformation": "no_such_transformation"}]}}]}', '{"preview": 1}')$c$,
     '22023', 'a pipeline with an unknown transformation'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "c", "type": "CUSTOM", "config": {"function": "public.bi_no_such_function"}}]}', '{"preview": 1}')$c$,
     '42883', 'a CUSTOM step naming a function that does not exist'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "c", "type": "CUSTOM", "config": {"function": "pg_catalog.now(); DROP TABLE kg.temporal_entities"}}]}', '{"preview": 1}')$c$,
     '22023', 'a CUSTOM step with a statement in its function name'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "m", "type": "MAP", "config": {"mappingRules": [{"type": "LOOKUP_TRANSFORM", "lookupTable": "x; DROP TABLE kg.temporal_entities", "keyField": "a", "targetField": "b"}]}}]}', '{"preview": 1}')$c$,
     '22023', 'a lookup table name with a statement'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "x; DROP TABLE kg.temporal_entities"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"preview": 1}')$c$,
     '22023|42602', 'a pipeline over an entity type with a statement'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"mode": "overwrite"}')$c$,
     '22023', 'an unknown pipeline mode'),
    ($c$SELECT migration_engine.execute_pipeline('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"resume": "not-a-uuid"}')$c$,
     '22023', 'execute_pipeline takes no resume'),
    ($c$SELECT migration_engine.pipeline_begin('{"name": "bi_p", "source": {"entityType": "Person"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.age > 100"}}]}', '{"resume": "not-a-uuid"}')$c$,
     '22', 'pipeline_begin: a resume id that is no uuid');
UPDATE cases SET family = 7 WHERE family IS NULL;

------------------------------------------------------------------------------------------
-- 8. Canaries. A validation metric that can never be recorded (not an identifier) would
-- leave the canary unscored for ever: refused when it starts, like every bad config,
-- before anything is copied. Phase 2 runs while bi_canary's canary is live: a second
-- rollout, a switch or a drop of its schema is refused (55006), and so are metric names
-- that are no identifiers (42602) and unknown canaries (42704).
INSERT INTO cases (call, expected, about) VALUES
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "validationMetrics": ["error rate"]}')$c$, '22023', 'validationMetrics ["error rate"]'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "validationMetrics": ["x;y"]}')$c$, '22023', 'validationMetrics ["x;y"]'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "validationMetrics": [""]}')$c$, '22023', 'validationMetrics [""]'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "validationMetrics": []}')$c$, '22023', 'validationMetrics []'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "validationMetrics": "error_rate"}')$c$, '22023', 'validationMetrics a string'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "validationMetrics": [1]}')$c$, '22023', 'validationMetrics [1]'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_nope"}')$c$, '42704', 'start_canary: a migration that does not exist'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": ""}')$c$, '22023', 'start_canary: empty migrationName'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": 5}')$c$, '22023', 'start_canary: migrationName a number'),
    ($c$SELECT migration_engine.start_canary('{"canaryPercentage": 10}')$c$, '22023', 'start_canary: no migrationName'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "targetSchema": 5}')$c$, '22023', 'start_canary: targetSchema a number'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "options": []}')$c$, '22023', 'start_canary: options an array'),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary", "options": {"keepTargetOnFailure": "yes"}}')$c$, '22023', 'start_canary: an option of the wrong type');
INSERT INTO cases (call, expected, about, phase) VALUES
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_canary"}')$c$, '55006', 'a second canary of bi_canary', 2),
    ($c$SELECT migration_engine.start_canary('{"migrationName": "bi_pending"}')$c$, '55006', 'a canary of another migration meanwhile', 2),
    ($c$SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bi_pending'), 'bi_green')$c$,
     '55006', 'a blue-green migration meanwhile', 2),
    ($c$SELECT migration_engine.switch_active_schema('kg_canary')$c$, '55006', 'a switch to the canary schema by hand', 2),
    ($c$SELECT migration_engine.drop_inactive_schema('kg_canary')$c$, '55006', 'dropping the canary schema', 2),
    ($c$SELECT migration_engine.rollback_migration('bi_canary')$c$, '55000', 'rolling back the migration under the canary', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', 'error rate', 0.1)$c$, '42602', 'metric name with a blank', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', 'x;y', 0.1)$c$, '42602', 'metric name x;y', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', '', 0.1)$c$, '42602', 'empty metric name', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', repeat('m', 64), 0.1)$c$, '42602', 'metric name of 64 bytes', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', E'error_rate\n', 0.1)$c$, '42602', 'metric name with a newline', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', 'error_rate', 0.1, 'newest')$c$, '22023', 'metric version newest', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_canary', 'error_rate', 0.1, '')$c$, '22023', 'empty metric version', 2),
    ($c$SELECT migration_engine.record_canary_metric('bi_nope', 'error_rate', 0.1)$c$, '42704', 'record_canary_metric: no such canary', 2),
    ($c$SELECT migration_engine.canary_route('bi_nope', 'k')$c$, '42704', 'canary_route: no such canary', 2),
    ($c$SELECT migration_engine.evaluate_canary('bi_nope')$c$, '42704', 'evaluate_canary: no such canary', 2),
    ($c$SELECT migration_engine.advance_canary('bi_nope')$c$, '42704', 'advance_canary: no such canary', 2),
    ($c$SELECT migration_engine.pause_canary('bi_nope')$c$, '42704', 'pause_canary: no such canary', 2),
    ($c$SELECT migration_engine.resume_canary('bi_nope')$c$, '42704', 'resume_canary: no such canary', 2),
    ($c$SELECT migration_engine.abort_canary('bi_nope')$c$, '42704', 'abort_canary: no such canary', 2),
    ($c$SELECT migration_engine.set_canary_percentage('bi_nope', 50)$c$, '42704', 'set_canary_percentage: no such canary', 2);
UPDATE cases SET family = 8 WHERE family IS NULL;

------------------------------------------------------------------------------------------
-- 9. The graph functions. An edge needs two current entities (23503); an entity keeps
-- its type; types are plain identifiers of at most 63 bytes (42602); content and
-- metadata are objects. (delete_entity of an unknown id returns false and changes
-- nothing: that is an answer, not a refusal, so it is not here.)
INSERT INTO cases (call, expected, about) VALUES
    ($c$SELECT migration_engine.upsert_relation('KNOWS', gen_random_uuid(), '00000000-0000-4000-8000-00000000000b')$c$, '23503', 'an edge from an unknown entity'),
    ($c$SELECT migration_engine.upsert_relation('KNOWS', '00000000-0000-4000-8000-00000000000a', gen_random_uuid())$c$, '23503', 'an edge to an unknown entity'),
    ($c$SELECT migration_engine.upsert_relation('KNOWS', gen_random_uuid(), gen_random_uuid())$c$, '23503', 'an edge between unknown entities'),
    ($c$SELECT migration_engine.upsert_relation('KNOWS', '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000ab')$c$, '23503', 'an edge to a relation id'),
    ($c$SELECT migration_engine.upsert_entity('Company', '{"name": "Ada"}', '00000000-0000-4000-8000-00000000000a')$c$, '22023', 'a new version of a Person as a Company'),
    ($c$SELECT migration_engine.upsert_entity('Person', '[{"name": "Ada"}]')$c$, '22023', 'content an array of objects'),
    ($c$SELECT migration_engine.upsert_entity('Person', '{"name": "Ada"}', NULL, '[]')$c$, '22023', 'metadata an array'),
    ($c$SELECT migration_engine.upsert_relation('KNOWS', '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '[]')$c$, '22023', 'edge properties an array'),
    ($c$SELECT migration_engine.upsert_relation('KN''OWS', '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b')$c$, '42602', 'relation type with a quote'),
    ($c$SELECT migration_engine.upsert_relation('', '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b')$c$, '42602', 'empty relation type'),
    ($c$SELECT migration_engine.upsert_relation('x; DROP TABLE kg.temporal_entities', '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b')$c$, '42602', 'relation type with a statement'),
    ($c$SELECT migration_engine.upsert_relation(repeat('R', 300), '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b')$c$, '42602', 'relation type of 300 bytes'),
    ($c$SELECT migration_engine.validate_entities('x; DROP TABLE kg.temporal_entities')$c$, '42602', 'validate_entities: a statement as entity type'),
    ($c$SELECT migration_engine.validate_entities('')$c$, '42602', 'validate_entities: empty entity type'),
    ($c$SELECT migration_engine.validate_entities('Nobody')$c$, '42704', 'validate_entities: an entity type the schema lacks'),
    ($c$SELECT migration_engine.undo_pipeline_run(gen_random_uuid())$c$, '42704', 'undo_pipeline_run: no such run'),
    ($c$SELECT migration_engine.replay_dead_letters(gen_random_uuid())$c$, '42704', 'replay_dead_letters: no such run'),
    ($c$SELECT migration_engine.pipeline_batch(gen_random_uuid())$c$, '42704', 'pipeline_batch: no such run'),
    ($c$SELECT migration_engine.detect_breaking_changes('{"entities": {"P": {"fields": {"x": {"type": 5}}}}}', '{"entities": {}}')$c$, '22023', 'a schema document with a type that is a number'),
    ($c$SELECT migration_engine.detect_breaking_changes('{"entities": []}', '{"entities": {}}')$c$, '22023', 'a schema document whose entities are an array'),
    ($c$SELECT migration_engine.register_schema_version('9.9.9', '{"entities": {"Per son": {"fields": {}}}}')$c$, '22023', 'a schema with an entity name that is no identifier'),
    ($c$SELECT migration_engine.register_schema_version('9.9.9', '{"entities": {"Person": {"fields": {"x; DROP TABLE kg.temporal_entities": {"type": "text"}}}}}')$c$,
     '22023', 'a schema with a field name that is a statement'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', 'nick', '{"type": "integer"}', '"not a number"')$c$, '22023', 'a default that does not fit the field type'),
    ($c$SELECT migration_engine.add_field_backward_compatible('Person', 'nick', '{"type": "text"}', '"x"', 'later')$c$, '22023', 'an unknown backfill mode'),
    ($c$SELECT migration_engine.lint_sql('SELECT (((')$c$, '42601', 'lint_sql: SQL that does not parse');
INSERT INTO cases (call, expected, about)
SELECT format('SELECT migration_engine.upsert_entity(%s, ''{"name": "x"}'')', t.expr), '42602', 'entity type ' || t.about
FROM (VALUES ($e$'Per''son'$e$, 'with a quote'), ($e$'x; DROP TABLE kg.temporal_entities'$e$, 'with a statement'),
             ($e$repeat('P', 64)$e$, 'of 64 bytes'), ($e$repeat('P', 300)$e$, 'of 300 bytes'), ($e$E'a\nb'$e$, 'with a newline'),
             ($e$E'\t'$e$, 'that is a tab'), ($e$chr(1)$e$, 'that is chr(1)'), ($e$''$e$, 'empty'), ($e$'  '$e$, 'blank'),
             ($e$'P' || chr(1077) || 'rson'$e$, 'with a Cyrillic look-alike')) t(expr, about);
UPDATE cases SET family = 9 WHERE family IS NULL;


------------------------------------------------------------------------------------------
-- RUN THE CASES
SELECT plan((SELECT count(*)::int FROM cases) + 11);

-- The driver itself: it passes a proper refusal and a NULL where NULL is due, and it
-- catches a call that succeeds, writes, creates a schema, gives XX000, or says too little.
SELECT ok((SELECT count(*) FROM cases) >= 300, 'the corpus has at least 300 cases');
SELECT is(bad_inputs.try_case('SELECT 1/0', '22012'), '', 'driver: a proper refusal passes');
SELECT is(bad_inputs.try_case('SELECT NULL::int', 'null'), '', 'driver: NULL passes the null rule');
SELECT isnt(bad_inputs.try_case('SELECT 1', 'null'), '', 'driver: a value fails the null rule');
SELECT isnt(bad_inputs.try_case($c$SELECT migration_engine.upsert_entity('Person', '{"name": "probe"}')$c$, '22'), '',
            'driver: a call that succeeds and writes fails');
SELECT isnt(bad_inputs.try_case('CREATE SCHEMA bi_probe', '42'), '', 'driver: a call that creates a schema fails');
SELECT isnt(bad_inputs.try_case($c$DO $x$BEGIN RAISE EXCEPTION 'an internal error, long enough' USING ERRCODE = 'XX000'; END$x$$c$, 'XX'), '',
            'driver: XX000 never passes');
SELECT isnt(bad_inputs.try_case($c$DO $x$BEGIN RAISE EXCEPTION 'short' USING ERRCODE = '22023'; END$x$$c$, '22023'), '',
            'driver: a message of less than 15 characters fails');

CREATE TEMP TABLE fingerprints AS SELECT 'before' AS at, bad_inputs.fingerprint() AS fp;
SELECT is(bad_inputs.try_case(call, expected, message), '', format('%s: %s', id, about)) FROM cases WHERE phase = 1 ORDER BY id;
SELECT is(bad_inputs.fingerprint(), (SELECT fp FROM fingerprints WHERE at = 'before'), 'the cases left everything as it was');

-- Phase 2: the cases that need a live canary (stabilizationSeconds keeps it at its first step).
SELECT is(migration_engine.start_canary('{"migrationName": "bi_canary", "stabilizationSeconds": 3600}') ->> 'success', 'true',
          'a canary of bi_canary starts');
INSERT INTO fingerprints SELECT 'canary', bad_inputs.fingerprint();
SELECT is(bad_inputs.try_case(call, expected, message), '', format('%s: %s', id, about)) FROM cases WHERE phase = 2 ORDER BY id;
SELECT is(bad_inputs.fingerprint(), (SELECT fp FROM fingerprints WHERE at = 'canary'), 'the canary cases left everything as it was');

SELECT * FROM finish();
ROLLBACK;
