-- Benchmark helpers: time a statement several times in this session, report the median.
CREATE SCHEMA IF NOT EXISTS bench;
-- The median and the spread (min, max) of `runs` timings of one statement, in ms.
CREATE OR REPLACE FUNCTION bench.spread_ms(sql text, runs int DEFAULT 5,
    OUT median_ms numeric, OUT min_ms numeric, OUT max_ms numeric)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
    times numeric[] := '{}';
BEGIN
    FOR i IN 1..runs LOOP
        t := clock_timestamp();
        EXECUTE sql;
        times := times || (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric;
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric(12, 3), min(x)::numeric(12, 3), max(x)::numeric(12, 3)
    INTO median_ms, min_ms, max_ms FROM unnest(times) x;
END
$$;

-- The median alone, for the scripts that print one figure per statement.
CREATE OR REPLACE FUNCTION bench.median_ms(sql text, runs int DEFAULT 5) RETURNS numeric
LANGUAGE sql AS $$ SELECT median_ms FROM bench.spread_ms(sql, runs) $$;

-- Two schema documents of `types` entity types x 50 fields, ~5 % of the fields changed
-- (types widened or narrowed, nullability tightened, a few fields dropped): the input of
-- the detect_breaking_changes benchmarks. Seeded, so every run diffs the same documents.
CREATE OR REPLACE FUNCTION bench.schema_docs(types int, OUT old_doc jsonb, OUT new_doc jsonb)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM setseed(0.7);
    WITH f AS (
        SELECT e, k, (ARRAY['integer', 'text', 'varchar(40)', 'timestamp', 'boolean'])[1 + (e * 7 + k) % 5] AS t,
               random() AS r1, random() AS r2
        FROM generate_series(1, types) e, generate_series(1, 50) k)
    SELECT jsonb_build_object('entities', jsonb_object_agg('E' || e, jsonb_build_object('fields', fields_old))),
           jsonb_build_object('entities', jsonb_object_agg('E' || e, jsonb_build_object('fields', fields_new)))
    INTO old_doc, new_doc
    FROM (
      SELECT e,
             jsonb_object_agg('f' || k, jsonb_build_object('type', t, 'nullable', true)) AS fields_old,
             jsonb_object_agg('f' || k, jsonb_build_object(
                 'type', CASE WHEN r1 < 0.02 THEN (CASE t WHEN 'integer' THEN 'bigint' WHEN 'timestamp' THEN 'timestamptz' ELSE 'jsonb' END) ELSE t END,
                 'nullable', NOT (r2 < 0.02)))
               FILTER (WHERE NOT (r1 > 0.99)) AS fields_new
      FROM f GROUP BY e) per_entity;
END
$$;
