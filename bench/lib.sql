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
