-- detect_breaking_changes on two schemas of 1,000 entity types x 50 fields, ~5 % of the
-- fields changed, against two baselines in the same run: a PL/pgSQL function in the
-- seed's style, and set-based SQL over jsonb_each implementing the same rules.
\set QUIET on
CREATE TEMP TABLE docs AS SELECT * FROM bench.schema_docs(1000);

-- baseline 1: the seed's style (loops, appending to a jsonb array)
CREATE FUNCTION bench.seed_is_type_compatible(o text, n text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE WHEN o = n THEN true WHEN o = 'integer' AND n = 'bigint' THEN true
                WHEN o = 'varchar' AND n = 'text' THEN true WHEN o = 'timestamp' AND n = 'timestamptz' THEN true ELSE false END;
END $$;
CREATE FUNCTION bench.seed_detect(old_schema jsonb, new_schema jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb := '[]';
    en text; fn text; o jsonb; n jsonb;
BEGIN
    FOR en IN SELECT jsonb_object_keys(old_schema->'entities') LOOP
        IF NOT (new_schema->'entities' ? en) THEN
            changes := changes || jsonb_build_array(jsonb_build_object('type', 'ENTITY_REMOVED', 'entity', en, 'severity', 'HIGH'));
        ELSE
            FOR fn IN SELECT jsonb_object_keys(old_schema->'entities'->en->'fields') LOOP
                IF NOT (new_schema->'entities'->en->'fields' ? fn) THEN
                    changes := changes || jsonb_build_array(jsonb_build_object('type', 'FIELD_REMOVED', 'entity', en, 'field', fn, 'severity', 'HIGH'));
                ELSE
                    o := old_schema->'entities'->en->'fields'->fn;
                    n := new_schema->'entities'->en->'fields'->fn;
                    IF o->>'type' <> n->>'type' THEN
                        changes := changes || jsonb_build_array(jsonb_build_object('type', 'FIELD_TYPE_CHANGED', 'entity', en, 'field', fn,
                            'severity', CASE WHEN bench.seed_is_type_compatible(o->>'type', n->>'type') THEN 'MEDIUM' ELSE 'HIGH' END));
                    END IF;
                    IF (o->>'nullable')::boolean AND NOT (n->>'nullable')::boolean THEN
                        changes := changes || jsonb_build_array(jsonb_build_object('type', 'FIELD_NULLABILITY_CHANGED', 'entity', en, 'field', fn, 'severity', 'HIGH'));
                    END IF;
                END IF;
            END LOOP;
        END IF;
    END LOOP;
    RETURN changes;
END $$;

-- baseline 2: the best set-based SQL over jsonb_each for the same rule families the Rust
-- function checks (entities removed/added, fields removed/added/required, type changes
-- with compatibility, nullability both ways, enum values removed/added, default changed)
CREATE FUNCTION bench.setbased_detect(old_schema jsonb, new_schema jsonb) RETURNS jsonb LANGUAGE sql AS $$
WITH oe AS (SELECT key AS en, value AS ev FROM jsonb_each(old_schema->'entities')),
     ne AS (SELECT key AS en, value AS ev FROM jsonb_each(new_schema->'entities')),
     of AS (SELECT oe.en, f.key AS fn, f.value AS fv FROM oe, jsonb_each(oe.ev->'fields') f),
     nf AS (SELECT ne.en, f.key AS fn, f.value AS fv FROM ne, jsonb_each(ne.ev->'fields') f),
     pairs AS (SELECT of.en, of.fn, of.fv AS o, nf.fv AS n FROM of JOIN nf USING (en, fn) WHERE of.fv <> nf.fv),
     changes AS (
        SELECT jsonb_build_object('type', 'ENTITY_REMOVED', 'entity', oe.en, 'severity', 'HIGH') AS c, oe.en, NULL::text AS fn
        FROM oe LEFT JOIN ne USING (en) WHERE ne.en IS NULL
        UNION ALL
        SELECT jsonb_build_object('type', 'ENTITY_ADDED', 'entity', ne.en, 'severity', 'INFO'), ne.en, NULL
        FROM ne LEFT JOIN oe USING (en) WHERE oe.en IS NULL
        UNION ALL
        SELECT jsonb_build_object('type', 'FIELD_REMOVED', 'entity', of.en, 'field', of.fn, 'severity', 'HIGH'), of.en, of.fn
        FROM of JOIN ne ON ne.en = of.en LEFT JOIN nf ON nf.en = of.en AND nf.fn = of.fn WHERE nf.fn IS NULL
        UNION ALL
        SELECT jsonb_build_object('type', CASE WHEN coalesce((nf.fv->>'nullable')::boolean, true) OR nf.fv ? 'default' THEN 'FIELD_ADDED' ELSE 'REQUIRED_FIELD_ADDED' END,
                                  'entity', nf.en, 'field', nf.fn,
                                  'severity', CASE WHEN coalesce((nf.fv->>'nullable')::boolean, true) OR nf.fv ? 'default' THEN 'INFO' ELSE 'HIGH' END), nf.en, nf.fn
        FROM nf JOIN oe ON oe.en = nf.en LEFT JOIN of ON of.en = nf.en AND of.fn = nf.fn WHERE of.fn IS NULL
        UNION ALL
        SELECT jsonb_build_object('type', 'FIELD_TYPE_CHANGED', 'entity', en, 'field', fn, 'old_type', o->>'type', 'new_type', n->>'type',
                                  'severity', CASE WHEN bench.seed_is_type_compatible(o->>'type', n->>'type') THEN 'MEDIUM' ELSE 'HIGH' END), en, fn
        FROM pairs WHERE o->>'type' <> n->>'type'
        UNION ALL
        SELECT jsonb_build_object('type', 'FIELD_NULLABILITY_CHANGED', 'entity', en, 'field', fn,
                                  'severity', CASE WHEN coalesce((o->>'nullable')::boolean, true) THEN 'HIGH' ELSE 'LOW' END), en, fn
        FROM pairs WHERE coalesce((o->>'nullable')::boolean, true) <> coalesce((n->>'nullable')::boolean, true)
        UNION ALL
        SELECT jsonb_build_object('type', 'ENUM_VALUE_REMOVED', 'entity', en, 'field', fn, 'value', v, 'severity', 'HIGH'), en, fn
        FROM pairs, jsonb_array_elements(CASE WHEN jsonb_typeof(o->'enum') = 'array' THEN o->'enum' ELSE '[]' END) v
        WHERE jsonb_typeof(n->'enum') = 'array' AND NOT (n->'enum') @> jsonb_build_array(v)
        UNION ALL
        SELECT jsonb_build_object('type', 'ENUM_VALUE_ADDED', 'entity', en, 'field', fn, 'value', v, 'severity', 'LOW'), en, fn
        FROM pairs, jsonb_array_elements(CASE WHEN jsonb_typeof(n->'enum') = 'array' THEN n->'enum' ELSE '[]' END) v
        WHERE jsonb_typeof(o->'enum') = 'array' AND NOT (o->'enum') @> jsonb_build_array(v)
        UNION ALL
        SELECT jsonb_build_object('type', 'FIELD_DEFAULT_CHANGED', 'entity', en, 'field', fn, 'severity', 'LOW'), en, fn
        FROM pairs WHERE (o->'default') IS DISTINCT FROM (n->'default'))
SELECT coalesce(jsonb_agg(c ORDER BY en, fn, c->>'type'), '[]') FROM changes $$;

\set QUIET off
\echo 'detect_breaking_changes, 1,000 entity types x 50 fields, ~5 % changed (median of 5 runs, ms):'
SELECT (SELECT jsonb_array_length(migration_engine.detect_breaking_changes(old_doc, new_doc)) FROM docs) AS changes_found,
       pg_size_pretty(pg_column_size(old_doc)::bigint) AS schema_size FROM docs;
CREATE TEMP TABLE timings AS
SELECT 'rust' AS what, t.* FROM bench.spread_ms('SELECT migration_engine.detect_breaking_changes(old_doc, new_doc) FROM docs', 7) t
UNION ALL SELECT 'setbased_sql', t.* FROM bench.spread_ms('SELECT bench.setbased_detect(old_doc, new_doc) FROM docs', 5) t
UNION ALL SELECT 'seed_plpgsql', t.* FROM bench.spread_ms('SELECT bench.seed_detect(old_doc, new_doc) FROM docs', 3) t
UNION ALL SELECT 'rust self-diff (walk only)', t.* FROM bench.spread_ms('SELECT migration_engine.detect_breaking_changes(old_doc, old_doc) FROM docs', 7) t;
SELECT what, median_ms, min_ms, max_ms FROM timings;
\echo 'speedups (target: >= 20x the set-based SQL at the median, >= 10x on the slowest repetition):'
SELECT round(s.median_ms / r.median_ms, 1) AS speedup_vs_setbased, round(s.min_ms / r.max_ms, 1) AS slowest_vs_setbased,
       round(p.median_ms / r.median_ms, 1) AS speedup_vs_plpgsql,
       (s.median_ms / r.median_ms >= 20 AND s.min_ms / r.max_ms >= 10) AS meets_target
FROM timings r, timings s, timings p WHERE r.what = 'rust' AND s.what = 'setbased_sql' AND p.what = 'seed_plpgsql';
