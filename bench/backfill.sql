-- add_field_backward_compatible's backfill over 1,000,000 current entities, against one
-- set-based UPDATE doing the same change on an identical copy (the in-database limit).
\set QUIET on
SELECT migration_engine.register_schema_version('1.0.0', '{"entities": {"Person": {"fields": {"name": {"type": "text"}, "age": {"type": "integer"}}}}}');
INSERT INTO kg.temporal_entities (entity_type, content)
SELECT 'Person', jsonb_build_object('name', 'person ' || g, 'age', g % 90) FROM generate_series(1, 1000000) g;
CREATE TABLE bench.entities_copy (LIKE kg.temporal_entities INCLUDING ALL);
INSERT INTO bench.entities_copy SELECT * FROM kg.temporal_entities;
VACUUM ANALYZE kg.temporal_entities;
VACUUM ANALYZE bench.entities_copy;
CHECKPOINT;
\set QUIET off
\echo 'backfill of a defaulted field into 1,000,000 current entities:'
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
UPDATE bench.entities_copy SET content = content || jsonb_build_object('country', '"de"'::jsonb)
WHERE entity_type = 'Person' AND valid_to = 'infinity' AND NOT is_deleted AND NOT (content ? 'country');
CREATE TEMP TABLE baseline AS SELECT extract(epoch FROM clock_timestamp() - t) AS s FROM t0;
CHECKPOINT;
CREATE TEMP TABLE job AS SELECT (migration_engine.add_field_backward_compatible('Person', 'country', '{"type": "text"}', '"de"',
    backfill => 'deferred')->'backfill'->>'backfill_id')::bigint AS id;
CREATE TEMP TABLE t1 AS SELECT clock_timestamp() AS t;
\set QUIET on
SELECT id AS backfill_id FROM job \gset
CALL migration_engine.run_backfill(:backfill_id);
\set QUIET off
CREATE TEMP TABLE ours AS SELECT extract(epoch FROM clock_timestamp() - t) AS s FROM t1;
SELECT b.rows_updated,
       round(b.rows_updated / ours.s) AS backfill_rows_per_s,
       round(b.rows_updated / baseline.s) AS single_update_rows_per_s,
       round((baseline.s / ours.s)::numeric, 2) AS ratio_vs_update,
       b.batches, round(b.longest_batch_ms::numeric, 1) AS longest_batch_ms
FROM migration_engine.field_backfills b, baseline, ours WHERE b.backfill_id = :backfill_id;
SELECT count(*) FILTER (WHERE content->>'country' = 'de') AS backfilled, count(*) AS current_entities
FROM kg.temporal_entities WHERE valid_to = 'infinity';
