-- validate_migration_safety on a migration of 200 SQL statements over a graph of
-- 1,000,000 entities (integrity checks included): it must stay interactive (< 2 s).
\set QUIET on
SELECT migration_engine.register_schema_version('1.0.0', '{"entities": {"Person": {"identity": ["email"], "fields": {
    "name": {"type": "text", "nullable": false}, "email": {"type": "text"}, "age": {"type": "integer"}}}}}');
INSERT INTO kg.temporal_entities (entity_type, content)
SELECT 'Person', jsonb_build_object('name', 'person ' || g, 'email', 'p' || g || '@example.org', 'age', g % 90)
FROM generate_series(1, 1000000) g;
INSERT INTO kg.temporal_relations (relation_type, source_entity_id, target_entity_id)
SELECT 'KNOWS', a.entity_id, b.entity_id
FROM (SELECT entity_id, row_number() OVER () AS n FROM kg.temporal_entities LIMIT 200000) a
JOIN (SELECT entity_id, row_number() OVER () AS n FROM kg.temporal_entities LIMIT 200000 OFFSET 100) b USING (n);
CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text, amount numeric(10,2), created timestamp);
INSERT INTO public.orders SELECT g, 'c' || g % 1000, g % 500, now() FROM generate_series(1, 100000) g;
VACUUM ANALYZE;
SELECT migration_engine.create_migration(jsonb_build_object('name', 'two_hundred', 'version', '1',
  'forward', (SELECT jsonb_agg(jsonb_build_object('name', 's' || g, 'type', 'SQL', 'script',
      CASE g % 5 WHEN 0 THEN 'ALTER TABLE orders ADD COLUMN c' || g || ' text'
                 WHEN 1 THEN 'CREATE INDEX orders_i' || g || ' ON orders (customer)'
                 WHEN 2 THEN 'UPDATE orders SET amount = amount + 1 WHERE id = ' || g
                 WHEN 3 THEN 'ALTER TABLE orders ALTER COLUMN customer TYPE varchar(' || (100 + g) || ')'
                 ELSE 'INSERT INTO orders VALUES (' || (1000000 + g) || ', ''x'', 1, now())' END)) FROM generate_series(1, 200) g),
  'rollback', '[{"name": "r", "type": "SQL", "script": "SELECT 1"}]'::jsonb));
SELECT migration_engine.validate_migration_safety('two_hundred') IS NOT NULL AS warmed_up;  -- and calibrates the throughput
\set QUIET off
\echo 'validate_migration_safety, 200 SQL statements, 1,000,000 entities, 200,000 relations (ms over 5 runs; target: full report < 2000):'
\echo 'baseline: lint_sql of the same 200 statements (the parser and the 38 rules alone, no data, no catalog statistics)'
CREATE TEMP TABLE script AS
SELECT string_agg(s->>'script', '; ' ORDER BY n) AS sql
FROM migration_engine.knowledge_migrations m, jsonb_array_elements(m.definition->'forward') WITH ORDINALITY AS f(s, n)
WHERE m.migration_name = 'two_hundred';
CREATE TEMP TABLE timings AS
SELECT 'full report' AS what, t.* FROM bench.spread_ms($$SELECT migration_engine.validate_migration_safety('two_hundred')$$, 5) t
UNION ALL
SELECT 'without integrity', t.* FROM bench.spread_ms($$SELECT migration_engine.validate_migration_safety('two_hundred', '{"skipIntegrity": true}')$$, 5) t
UNION ALL
SELECT 'lint_sql baseline', t.* FROM bench.spread_ms($$SELECT migration_engine.lint_sql((SELECT sql FROM script))$$, 5) t;
SELECT what, median_ms, min_ms, max_ms,
       round(median_ms / (SELECT median_ms FROM timings WHERE what = 'lint_sql baseline'), 2) AS ratio_to_lint,
       CASE WHEN what = 'full report' THEN (median_ms < 2000)::text ELSE '' END AS meets_target
FROM timings;
SELECT c->>'check_name' AS check_name, jsonb_array_length(c->'issues') AS issues, c->>'duration_ms' AS duration_ms
FROM jsonb_array_elements(migration_engine.validate_migration_safety('two_hundred')->'all_results') c;
\echo 'the trial (every statement run and rolled back, each traced; 40 of them build an index on 100,000 rows):'
SELECT t.* FROM bench.spread_ms($$SELECT migration_engine.validate_migration_safety('two_hundred', '{"trial": true, "skipIntegrity": true}')$$, 5) t;
\echo 'the integrity scans against the forms they replaced (same data, same run, ms over 5 runs):'
\echo '  conformance: content_conforms (the stored bytes read in place, parallel) vs the SQL/JSON path predicate'
\echo '  duplicates: the parallel aggregate repeated_hashes vs array_agg (not parallel in PostgreSQL 15) of the same hashes'
SELECT schema_definition->'entities'->'Person' AS person FROM migration_engine.schema_versions WHERE is_active \gset
CREATE TEMP TABLE scans AS
SELECT 'conformance: content_conforms' AS what, t.* FROM bench.spread_ms(format($$SELECT count(*), count(*) FILTER (WHERE NOT migration_engine.content_conforms(content, %L))
    FROM kg.temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity' AND NOT is_deleted$$, :'person'), 5) t
UNION ALL
SELECT 'conformance: SQL/JSON path (baseline)', t.* FROM bench.spread_ms($$SELECT count(*), count(*) FILTER (WHERE content @? '$ ? (!(exists(@."name" ? (@.type() != "null"))) || exists(@."name" ? (@.type() != "string" && @.type() != "null")) || exists(@."email" ? (@.type() != "string" && @.type() != "null")) || exists(@."age" ? (@.type() != "number" && @.type() != "null")) || exists(@."age" ? (@.type() == "number" && @ != @.floor())))')
    FROM kg.temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity' AND NOT is_deleted$$, 5) t
UNION ALL
SELECT 'duplicates: repeated_hashes', t.* FROM bench.spread_ms($$SELECT migration_engine.repeated_hashes(jsonb_hash_extended(coalesce(content -> 'email', 'null'), 1))
    FROM kg.temporal_entities WHERE valid_to = 'infinity' AND NOT is_deleted$$, 5) t
UNION ALL
SELECT 'duplicates: array_agg (baseline)', t.* FROM bench.spread_ms($$SELECT array_agg(jsonb_hash_extended(coalesce(content -> 'email', 'null'), 1))
    FROM kg.temporal_entities WHERE valid_to = 'infinity' AND NOT is_deleted$$, 5) t;
SELECT what, median_ms, min_ms, max_ms,
       round((SELECT median_ms FROM scans b WHERE b.what = split_part(s.what, ':', 1) || CASE split_part(s.what, ':', 1)
                  WHEN 'conformance' THEN ': SQL/JSON path (baseline)' ELSE ': array_agg (baseline)' END) / median_ms, 2) AS speedup
FROM scans s;
