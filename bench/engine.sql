-- Engine overhead per step (1,000 trivial steps against the same SQL run directly), and
-- the time to plan 10,000 migrations with random dependencies.
\set QUIET on
CREATE TABLE bench.steps_target (n int);
SELECT migration_engine.create_migration(jsonb_build_object('name', 'thousand_steps', 'version', '1', 'rollback', '[{"name": "r", "type": "SQL", "script": "TRUNCATE bench.steps_target"}]'::jsonb, 'forward',
    (SELECT jsonb_agg(jsonb_build_object('name', 's' || g, 'type', 'SQL', 'script', 'INSERT INTO bench.steps_target VALUES (' || g || ')')) FROM generate_series(1, 1000) g)));
\set QUIET off
\echo 'engine overhead, 1,000 trivial steps:'
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
DO $$ BEGIN FOR g IN 1..1000 LOOP EXECUTE 'INSERT INTO bench.steps_target VALUES (' || g || ')'; END LOOP; END $$;
CREATE TEMP TABLE direct AS SELECT extract(epoch FROM clock_timestamp() - t) * 1000 AS ms FROM t0;
CREATE TEMP TABLE r AS SELECT migration_engine.execute_migration('thousand_steps') AS res;
SELECT (res->>'success') AS success, round((res->>'duration_ms')::numeric, 1) AS engine_ms, round(direct.ms::numeric, 1) AS direct_ms,
       round(((res->>'duration_ms')::numeric - direct.ms::numeric) / 1000, 3) AS overhead_ms_per_step,
       round((res->>'duration_ms')::numeric / direct.ms::numeric, 1) AS ratio
FROM r, direct;

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
