-- Random (version 4, gen_random_uuid) against time-ordered (version 7, uuid_v7) ids at
-- 1,000,000 rows: insert throughput, through plain INSERT and through upsert_entity, and
-- the size of the indexes on the id. Baseline: version 4, today's default, measured in
-- the same run. A random key lands on a random leaf page (each page split leaves two
-- half-full pages); a time-ordered key lands on the rightmost one.
\set QUIET on
SET client_min_messages = warning;
CREATE TABLE bench.ids_v4 (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), payload text);
CREATE TABLE bench.ids_v7 (id uuid PRIMARY KEY DEFAULT migration_engine.uuid_v7(), payload text);
\set QUIET off
\echo 'plain INSERT of 1,000,000 rows into an empty table with a primary key on the id (ms over 5 runs):'
CREATE TEMP TABLE plain AS
SELECT 'v4 gen_random_uuid' AS ids, t.* FROM bench.spread_ms($$TRUNCATE bench.ids_v4; INSERT INTO bench.ids_v4 (payload) SELECT 'p' || g FROM generate_series(1, 1000000) g$$, 5) t
UNION ALL
SELECT 'v7 uuid_v7', t.* FROM bench.spread_ms($$TRUNCATE bench.ids_v7; INSERT INTO bench.ids_v7 (payload) SELECT 'p' || g FROM generate_series(1, 1000000) g$$, 5) t;
SELECT ids, median_ms, min_ms, max_ms,
       round(1000000 / (median_ms / 1000)) AS rows_per_s,
       round((SELECT median_ms FROM plain WHERE ids LIKE 'v4%') / median_ms, 2) AS speedup_vs_v4
FROM plain;
\echo 'the primary key index after 1,000,000 inserts:'
SELECT 'v4' AS ids, pg_size_pretty(pg_relation_size('bench.ids_v4_pkey')) AS index_size, pg_relation_size('bench.ids_v4_pkey') AS bytes
UNION ALL SELECT 'v7', pg_size_pretty(pg_relation_size('bench.ids_v7_pkey')), pg_relation_size('bench.ids_v7_pkey');
SELECT round(pg_relation_size('bench.ids_v7_pkey')::numeric / pg_relation_size('bench.ids_v4_pkey'), 2) AS v7_index_size_vs_v4;

\echo 'INSERT of 100,000 more rows into a table holding 1,000,000 (ms over 5 runs; the table grows to 1,500,000):'
CREATE TEMP TABLE more AS
SELECT 'v4 gen_random_uuid' AS ids, t.* FROM bench.spread_ms($$INSERT INTO bench.ids_v4 (payload) SELECT 'q' || g FROM generate_series(1, 100000) g$$, 5) t
UNION ALL
SELECT 'v7 uuid_v7', t.* FROM bench.spread_ms($$INSERT INTO bench.ids_v7 (payload) SELECT 'q' || g FROM generate_series(1, 100000) g$$, 5) t;
SELECT ids, median_ms, min_ms, max_ms, round(100000 / (median_ms / 1000)) AS rows_per_s,
       round((SELECT median_ms FROM more WHERE ids LIKE 'v4%') / median_ms, 2) AS speedup_vs_v4
FROM more;

\echo 'upsert_entity: 20,000 new entities into kg.temporal_entities holding 1,000,000 random-id entities, the id from the'
\echo 'column default: gen_random_uuid (today), then uuid_v7 (the default after this change, as an upgraded database has it) (ms over 5 runs):'
\set QUIET on
INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
SELECT gen_random_uuid(), 'Item', jsonb_build_object('n', g) FROM generate_series(1, 1000000) g;
VACUUM ANALYZE kg.temporal_entities;
ALTER TABLE kg.temporal_entities ALTER COLUMN entity_id SET DEFAULT gen_random_uuid();
\set QUIET off
CREATE TEMP TABLE upserts AS
SELECT 'v4 gen_random_uuid' AS ids, t.* FROM bench.spread_ms($$SELECT count(migration_engine.upsert_entity('Item', jsonb_build_object('n', g))) FROM generate_series(1, 20000) g$$, 5) t;
ALTER TABLE kg.temporal_entities ALTER COLUMN entity_id SET DEFAULT migration_engine.uuid_v7();
INSERT INTO upserts
SELECT 'v7 uuid_v7', t.* FROM bench.spread_ms($$SELECT count(migration_engine.upsert_entity('Item', jsonb_build_object('n', g))) FROM generate_series(1, 20000) g$$, 5) t;
SELECT ids, median_ms, min_ms, max_ms, round(20000 / (median_ms / 1000)) AS entities_per_s,
       round((SELECT median_ms FROM upserts WHERE ids LIKE 'v4%') / median_ms, 2) AS speedup_vs_v4
FROM upserts;

\echo 'the entity_id indexes of temporal_entities at 1,000,000 entities, all random vs all time-ordered ids:'
\set QUIET on
CREATE TABLE bench.entities_v4 (LIKE kg.temporal_entities INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE bench.entities_v7 (LIKE kg.temporal_entities INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES);
INSERT INTO bench.entities_v4 (entity_id, entity_type, content)
SELECT gen_random_uuid(), 'Item', jsonb_build_object('n', g) FROM generate_series(1, 1000000) g;
INSERT INTO bench.entities_v7 (entity_id, entity_type, content)
SELECT migration_engine.uuid_v7(), 'Item', jsonb_build_object('n', g) FROM generate_series(1, 1000000) g;
\set QUIET off
SELECT i4.indexrelid::regclass AS v4_index, pg_size_pretty(pg_relation_size(i4.indexrelid)) AS v4_size,
       pg_size_pretty(pg_relation_size(i7.indexrelid)) AS v7_size,
       round(pg_relation_size(i7.indexrelid)::numeric / pg_relation_size(i4.indexrelid), 2) AS v7_vs_v4
FROM pg_index i4 JOIN pg_index i7 ON i7.indrelid = 'bench.entities_v7'::regclass
 AND replace(pg_get_indexdef(i7.indexrelid), 'entities_v7', 'X') = replace(pg_get_indexdef(i4.indexrelid), 'entities_v4', 'X')
WHERE i4.indrelid = 'bench.entities_v4'::regclass AND pg_get_indexdef(i4.indexrelid) LIKE '%entity_id%';
