# Memory benchmark (sourced by bench/run with PGDATABASE set; issue 16, item 6): the peak
# private memory of the backend that does the work (VmHWM minus the shared memory it has
# mapped, from /proc/PID/status), for detect_breaking_changes on a schema 10x larger and
# for a field backfill (CALL run_backfill) over 10x more entities. Each figure is taken in a
# fresh backend that does only that work, so that the data set-up does not count; an idle
# backend's own figure is printed as the floor. Pipelines: bench/pipeline.sh.
set -euo pipefail
q() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
PEAK="SELECT (regexp_match(s, 'VmHWM:\s+(\d+)'))[1]::bigint - (regexp_match(s, 'RssShmem:\s+(\d+)'))[1]::bigint
      FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s"
ratio() { echo "scale=2; $2 / $1" | bc; }

docs() { # docs TYPES: bench.schema_docs (bench/lib.sql), stored in a table
    q -c "CREATE TABLE bench.docs_$1 AS SELECT * FROM bench.schema_docs($1)" >/dev/null
}

floor=$(q -c "$PEAK")
echo "idle backend: $floor kB"

echo "detect_breaking_changes, 50 fields per type, ~5 % changed:"
for types in 1000 10000; do
    docs "$types"
    size=$(q -c "SELECT pg_size_pretty(pg_column_size(old_doc)::bigint) || ' stored, ' || pg_size_pretty(octet_length(old_doc::text)::bigint) || ' as text' FROM bench.docs_$types")
    mem=$(q -c "SELECT jsonb_array_length(migration_engine.detect_breaking_changes(old_doc, new_doc)) FROM bench.docs_$types" -c "$PEAK" | paste -sd ' ')
    set -- $mem
    echo "  $types types ($size): $1 changes, peak $2 kB"
    eval "detect_$types=$2"
done
echo "  ratio 10,000 / 1,000 types: $(ratio "$detect_1000" "$detect_10000") (less the idle floor: $(ratio $(( detect_1000 - floor )) $(( detect_10000 - floor ))))"

echo "field backfill (CALL run_backfill, committed batches):"
q -c "SELECT migration_engine.register_schema_version('1.0.0', '{\"entities\": {\"Person\": {\"fields\": {\"name\": {\"type\": \"text\"}}}}}')" >/dev/null
for rows in 100000 1000000; do
    q -c "SET session_replication_role = replica" -c "DELETE FROM kg.temporal_entities" >/dev/null
    q -c "INSERT INTO kg.temporal_entities (entity_type, content) SELECT 'Person', jsonb_build_object('name', 'person ' || g) FROM generate_series(1, $rows) g" \
      -c "VACUUM ANALYZE kg.temporal_entities" >/dev/null
    id=$(q -c "SELECT (migration_engine.add_field_backward_compatible('Person', 'country_$rows', '{\"type\": \"text\"}', '\"de\"',
                  backfill => 'deferred')->'backfill'->>'backfill_id')")
    mem=$(q -c "CALL migration_engine.run_backfill($id)" -c "$PEAK" | tail -1)
    done_rows=$(q -c "SELECT rows_updated FROM migration_engine.field_backfills WHERE backfill_id = $id")
    echo "  $rows entities ($done_rows updated): peak $mem kB"
    eval "backfill_$rows=$mem"
done
echo "  ratio 1,000,000 / 100,000: $(ratio "$backfill_100000" "$backfill_1000000") (less the idle floor: $(ratio $(( backfill_100000 - floor )) $(( backfill_1000000 - floor ))))"
