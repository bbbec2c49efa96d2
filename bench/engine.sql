-- Engine overhead per step (1,000 trivial steps against the same SQL run directly), and
-- the time to plan 10,000 migrations with random dependencies.
\set QUIET on
CREATE TABLE bench.steps_target (n int);
-- five migrations of 1,000 trivial steps each: a migration runs once, so each repetition
-- is its own migration
SELECT count(migration_engine.create_migration(jsonb_build_object('name', 'thousand_steps_' || r, 'version', '1',
    'rollback', '[{"name": "r", "type": "SQL", "script": "TRUNCATE bench.steps_target"}]'::jsonb, 'forward',
    (SELECT jsonb_agg(jsonb_build_object('name', 's' || g, 'type', 'SQL', 'script', 'INSERT INTO bench.steps_target VALUES (' || g || ')')) FROM generate_series(1, 1000) g))))
FROM generate_series(1, 5) r;
\set QUIET off
\echo 'engine overhead, 1,000 trivial steps (execute_migration, safety gate included), against the same 1,000 statements run by EXECUTE in a DO block; 5 repetitions; target: <= 0.05 ms per step:'
CREATE TEMP TABLE direct AS SELECT t.* FROM bench.spread_ms($q$DO $d$ BEGIN FOR g IN 1..1000 LOOP EXECUTE 'INSERT INTO bench.steps_target VALUES (' || g || ')'; END LOOP; END $d$$q$, 5) t;
CREATE TEMP TABLE engine_runs AS
SELECT r, (migration_engine.execute_migration('thousand_steps_' || r)->>'duration_ms')::float8 AS ms FROM generate_series(1, 5) r;
CREATE TEMP TABLE engine AS
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median_ms, min(ms) AS min_ms, max(ms) AS max_ms, bool_and(ms IS NOT NULL) AS all_succeeded FROM engine_runs;
SELECT round(e.median_ms::numeric, 1) AS engine_ms, round(e.min_ms::numeric, 1) AS engine_min, round(e.max_ms::numeric, 1) AS engine_max,
       round(d.median_ms::numeric, 1) AS direct_ms, round(d.min_ms::numeric, 1) AS direct_min, round(d.max_ms::numeric, 1) AS direct_max,
       round(((e.median_ms - d.median_ms) / 1000)::numeric, 3) AS overhead_ms_per_step,
       round(((e.max_ms - d.min_ms) / 1000)::numeric, 3) AS worst_overhead_ms_per_step,
       round((e.median_ms / d.median_ms)::numeric, 1) AS ratio,
       ((e.median_ms - d.median_ms) / 1000 <= 0.05) AS meets_target
FROM engine e, direct d;
\echo 'of which the safety gate (the checks execute_migration runs first, integrity scans left out), 1,000 statements:'
SELECT migration_engine.create_migration(jsonb_build_object('name', 'gate_only', 'version', '1',
    'rollback', '[{"name": "r", "type": "SQL", "script": "TRUNCATE bench.steps_target"}]'::jsonb, 'forward',
    (SELECT jsonb_agg(jsonb_build_object('name', 's' || g, 'type', 'SQL', 'script', 'INSERT INTO bench.steps_target VALUES (' || g || ')')) FROM generate_series(1, 1000) g))) IS NOT NULL AS created;
SELECT t.* FROM bench.spread_ms($$SELECT migration_engine.validate_migration_safety('gate_only', '{"skipIntegrity": true}')$$, 5) t;

\echo 'planning 10,000 migrations with random dependencies (up to 3 each, on earlier ones):'
\set QUIET on
SELECT setseed(0.3);
-- dependencies are set as the rows are inserted: a migration is immutable once created
CREATE TEMP TABLE ids AS SELECT g, gen_random_uuid() AS migration_id FROM generate_series(1, 10000) g;
CREATE TEMP TABLE deps AS
SELECT a.g, array_agg(DISTINCT b.migration_id) AS deps
FROM ids a
CROSS JOIN LATERAL (SELECT 1 + floor(random() * (a.g - 1))::int AS pick FROM generate_series(1, 3) WHERE a.g > 1) p
JOIN ids b ON b.g = p.pick
GROUP BY a.g;
INSERT INTO migration_engine.knowledge_migrations (migration_id, migration_name, version, forward_script, priority, depends_on, definition)
SELECT i.migration_id, 'plan_' || lpad(i.g::text, 5, '0'), '1', 'SELECT 1', (random() * 200)::int, coalesce(d.deps, '{}'),
       jsonb_build_object('name', 'plan_' || i.g, 'version', '1', 'forward', jsonb_build_array(jsonb_build_object('name', 'a', 'type', 'SQL', 'script', 'SELECT 1')))
FROM ids i LEFT JOIN deps d USING (g) ORDER BY i.g;
\set QUIET off
SELECT (SELECT count(*) FROM migration_engine.knowledge_migrations WHERE cardinality(depends_on) > 0) AS with_dependencies,
       bench.median_ms('SELECT count(*) FROM migration_engine.migration_plan()', 5) AS plan_10000_ms;

\echo 'engine overhead again with those 10,000 migrations in the catalog (the dependency check walks only the ancestors of the migration it runs; 5 repetitions):'
\set QUIET on
SELECT count(migration_engine.create_migration(jsonb_build_object('name', 'among_many_' || r, 'version', '1',
    'rollback', '[{"name": "r", "type": "SQL", "script": "TRUNCATE bench.steps_target"}]'::jsonb, 'forward',
    (SELECT jsonb_agg(jsonb_build_object('name', 's' || g, 'type', 'SQL', 'script', 'INSERT INTO bench.steps_target VALUES (' || g || ')')) FROM generate_series(1, 1000) g))))
FROM generate_series(1, 5) r;
\set QUIET off
CREATE TEMP TABLE among_many AS
SELECT r, (migration_engine.execute_migration('among_many_' || r)->>'duration_ms')::float8 AS ms FROM generate_series(1, 5) r;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS engine_ms, round(min(ms)::numeric, 1) AS min_ms, round(max(ms)::numeric, 1) AS max_ms,
       round(((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) - (SELECT median_ms FROM direct)) / 1000)::numeric, 3) AS overhead_ms_per_step
FROM among_many;
