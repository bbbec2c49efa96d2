# Pipeline benchmark (sourced by bench/run with PGDATABASE set): a MAP of one rename +
# one transform + one merge over 1,000,000 current entities, by CALL run_pipeline
# (committing each batch) in history and in patch mode, against the single set-based
# statement making the same change in one go, and against a row-by-row PL/pgSQL loop;
# then backend memory at 100,000 vs 1,000,000 rows.
set -euo pipefail
n=${BENCH_ROWS:-1000000}
q() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
load() { # load TABLE ROWS: fresh entities
    # a reset between rounds: history protection refuses DELETE, so the (superuser)
    # benchmark stands it aside as pg_restore does
    q -c "SET session_replication_role = replica" -c "DELETE FROM kg.temporal_entities" -c "DELETE FROM bench.copy" >/dev/null
    q -c "INSERT INTO kg.temporal_entities (entity_type, content, valid_from)
          SELECT 'Person', jsonb_build_object('fullName', 'person ' || g, 'age', (g % 90)::text, 'first', 'F' || g, 'last', 'L' || g),
                 now() - interval '1 day' FROM generate_series(1, $1) g" \
      -c "INSERT INTO bench.copy SELECT * FROM kg.temporal_entities" -c "VACUUM ANALYZE kg.temporal_entities" -c "VACUUM ANALYZE bench.copy" -c "CHECKPOINT" >/dev/null
}
secs() { local t0; t0=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $t0" | bc; }
q -c "CREATE TABLE bench.copy (LIKE kg.temporal_entities INCLUDING ALL)" >/dev/null
P='{"name": "bench", "source": {"entityType": "Person"}, "batchSize": 5000, "steps": [{"name": "map", "type": "MAP", "config": {"mappingRules": [
   {"type": "FIELD_RENAME", "source": "fullName", "target": "name"},
   {"type": "FIELD_TRANSFORM", "field": "age", "transformation": "to_integer"},
   {"type": "FIELD_MERGE", "sourceFields": ["first", "last"], "targetField": "initials", "mergeStrategy": "concat", "separator": "."}]}}]}'
NEW="(content - 'fullName' - 'age') || jsonb_build_object('name', content->'fullName', 'age', (content->>'age')::bigint, 'initials', concat_ws('.', content->>'first', content->>'last'))"

echo "MAP (rename + to_integer + merge) over $n current entities:"
for mode in patch history; do
    load "$n"
    if [ $mode = patch ]; then
        base=$(secs q -c "UPDATE bench.copy SET content = $NEW WHERE entity_type = 'Person' AND valid_to = 'infinity' AND NOT is_deleted")
    else
        base=$(secs q -c "WITH c AS (UPDATE bench.copy SET valid_to = now() WHERE entity_type = 'Person' AND valid_to = 'infinity' AND NOT is_deleted
                                      RETURNING entity_id, entity_type, content, metadata)
                          INSERT INTO bench.copy (entity_id, entity_type, content, metadata) SELECT entity_id, entity_type, $NEW, metadata FROM c")
    fi
    ours=$(secs q -c "CALL migration_engine.run_pipeline('$P', '{\"mode\": \"$mode\"}')")
    longest=$(q -c "SELECT round(longest_batch_ms::numeric, 1) || ' ms over ' || batches || ' batches' FROM migration_engine.pipeline_runs ORDER BY started_at DESC LIMIT 1")
    check=$(q -c "SELECT count(*) FILTER (WHERE content ? 'initials') FROM kg.temporal_entities WHERE valid_to = 'infinity'")
    printf '  %-8s run_pipeline %8.0f rows/s   single statement %8.0f rows/s   ratio %.2f   longest batch %s   (%s rows transformed)\n' \
        "$mode" "$(echo "$n / $ours" | bc -l)" "$(echo "$n / $base" | bc -l)" "$(echo "$base / $ours" | bc -l)" "$longest" "$check"
done

loop_n=$(( n / 10 ))
load "$loop_n"
plpgsql=$(secs q -c "SET session_replication_role = replica" -c "DO \$\$ DECLARE r record; BEGIN
    FOR r IN SELECT version_id, content FROM kg.temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity' AND NOT is_deleted LOOP
        UPDATE kg.temporal_entities SET content = (r.content - 'fullName' - 'age') || jsonb_build_object('name', r.content->'fullName',
            'age', (r.content->>'age')::bigint, 'initials', concat_ws('.', r.content->>'first', r.content->>'last')) WHERE version_id = r.version_id;
    END LOOP; END \$\$")
load "$loop_n"
ours=$(secs q -c "CALL migration_engine.run_pipeline('$P', '{\"mode\": \"patch\"}')")
printf '  vs a row-by-row PL/pgSQL loop (%s rows, patch): run_pipeline %.0f rows/s, loop %.0f rows/s, ratio %.1f\n' \
    "$loop_n" "$(echo "$loop_n / $ours" | bc -l)" "$(echo "$loop_n / $plpgsql" | bc -l)" "$(echo "$plpgsql / $ours" | bc -l)"

echo "backend memory (execute_pipeline in one backend; VmHWM minus shared memory, from /proc):"
for rows in $(( n / 10 )) "$n"; do
    load "$rows"
    mem=$(q -c "SELECT migration_engine.execute_pipeline('$P', '{\"mode\": \"patch\"}') IS NOT NULL" \
            -c "SELECT (regexp_match(s, 'VmHWM:\s+(\d+)'))[1]::bigint - (regexp_match(s, 'RssShmem:\s+(\d+)'))[1]::bigint
                FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s" | tail -1)
    echo "  $rows rows: ${mem} kB"
    eval "mem_$rows=$mem"
done
small=$(( n / 10 )); eval "a=\$mem_$small; b=\$mem_$n"
printf '  ratio 1,000,000 / 100,000: %.2f\n' "$(echo "$b / $a" | bc -l)"
