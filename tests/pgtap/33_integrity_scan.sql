-- The integrity scan's per-row functions: content_conforms (the conformance verdict,
-- read in place) and the parallel aggregate repeated_hashes (the duplicate candidates).
BEGIN;
SELECT plan(27);

CREATE TEMP TABLE def AS SELECT '{"fields": {
    "name": {"type": "text", "nullable": false},
    "age": {"type": "integer"},
    "code": {"type": "varchar(3)"},
    "born": {"type": "date"},
    "status": {"type": "text", "enum": ["a", "b"]},
    "extra": {"type": "jsonb"}}}'::jsonb AS d;

-- happy path and each kind of violation
SELECT ok(migration_engine.content_conforms('{"name": "Ada", "age": 36, "code": "abc", "born": "1815-12-10", "status": "a"}', d), 'conforming content') FROM def;
SELECT ok(migration_engine.content_conforms('{"name": "Ada", "age": 36.0, "unknown": [1]}', d), '36.0 is an integer; unknown keys are allowed') FROM def;
SELECT ok(migration_engine.content_conforms('{"name": "Ada", "age": null, "extra": {"any": [1, "x"]}}', d), 'null in a nullable field, anything in jsonb') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"age": 36}', d), 'a required field missing') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"name": null}', d), 'a required field null') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"name": 5}', d), 'a number where text is declared') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"name": "Ada", "age": 36.5}', d), 'a fraction in an integer field') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"name": "Ada", "age": 3000000000}', d), 'beyond the integer range') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"name": "Ada", "code": "abcd"}', d), 'longer than varchar(3)') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"name": "Ada", "born": "yesterday"}', d), 'not a date') FROM def;
SELECT ok(NOT migration_engine.content_conforms('{"name": "Ada", "status": "c"}', d), 'outside the enum') FROM def;
SELECT ok(NOT migration_engine.content_conforms('[1, 2]', d), 'not an object') FROM def;
SELECT is(migration_engine.content_conforms(NULL, d), NULL, 'strict: NULL content gives NULL') FROM def;
SELECT ok(NOT migration_engine.content_conforms((repeat('[', 200) || repeat(']', 200))::jsonb, d), 'deep content that is not an object: false, not an error') FROM def;
SELECT ok(migration_engine.content_conforms(jsonb_build_object('name', 'Ada', 'extra', (repeat('{"a": ', 200) || '1' || repeat('}', 200))::jsonb), d),
          'a jsonb field takes a value nested 200 deep') FROM def;
SELECT throws_ok($$SELECT migration_engine.content_conforms('{}', (repeat('[', 200) || repeat(']', 200))::jsonb)$$, '54001', NULL,
                 'a definition nested too deep is refused as too complex');

-- the same verdict as validate_entities, row by row, over a mixed set
SELECT migration_engine.register_schema_version('1.0.0', jsonb_build_object('entities', jsonb_build_object('Person', d))) FROM def;
SELECT migration_engine.upsert_entity('Person', c) FROM (VALUES
    ('{"name": "Ada", "age": 36}'::jsonb), ('{"name": "Bob", "age": 1.5}'), ('{"age": 3}'),
    ('{"name": "Cy", "status": "b"}'), ('{"name": "Di", "status": "z"}')) v(c);
SELECT is((SELECT count(*)::int FROM kg.temporal_entities, def WHERE NOT migration_engine.content_conforms(content, d)),
          jsonb_array_length(migration_engine.validate_entities('Person')), 'as many non-conforming rows as validate_entities reports');
SELECT is(jsonb_array_length(migration_engine.validate_entities('Person')), 3, 'three of the five do not conform');

-- bad input: a definition that is not one, refused with 22023 and a hint
SELECT throws_ok($$SELECT migration_engine.content_conforms('{}', '{"fields": 5}')$$, '22023', NULL, 'fields must be an object');
SELECT throws_ok($$SELECT migration_engine.content_conforms('{}', '"Person"')$$, '22023', NULL, 'a definition must be an object');
SELECT throws_ok($$SELECT migration_engine.content_conforms('{}', '{"fields": {"a": {"type": 5}}}')$$, '22023', NULL,
                 'a type that is not a name is refused');

-- repeated_hashes: the values seen more than once, most frequent first, ties by value
SELECT is(migration_engine.repeated_hashes(x), ARRAY[3, 5, 7]::bigint[], 'most frequent first, then by value')
FROM unnest(ARRAY[5, 1, 3, 5, 3, 5, NULL, 9, 3, 7, 7, 3]::bigint[]) x;
SELECT is(migration_engine.repeated_hashes(x), '{}'::bigint[], 'no repeats: an empty array') FROM unnest(ARRAY[1, 2, 3]::bigint[]) x;
SELECT is(migration_engine.repeated_hashes(x), '{}'::bigint[], 'no rows: an empty array') FROM unnest('{}'::bigint[]) x;

-- in parallel (workers collect, the leader combines) the answer is the single process's
CREATE TABLE hs AS SELECT (g % 20000)::bigint AS h FROM generate_series(1, 100000) g UNION ALL SELECT 99999999;
ANALYZE hs;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; p text := ''; BEGIN
  FOR r IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ' || q LOOP p := p || r || E'\n'; END LOOP;
  RETURN p; END $$;
SELECT matches(pg_temp.plan_of('SELECT migration_engine.repeated_hashes(h) FROM hs'), 'Workers Launched: [12][\s\S]*Partial Aggregate',
               'the aggregate runs in parallel workers');
CREATE TEMP TABLE parallel_answer AS SELECT migration_engine.repeated_hashes(h) AS a FROM hs;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is((SELECT a FROM parallel_answer), (SELECT migration_engine.repeated_hashes(h) FROM hs), 'parallel and serial agree');
SELECT is((SELECT cardinality(a) FROM parallel_answer), 20000, 'every repeated value, the lone one left out');

SELECT * FROM finish();
ROLLBACK;
