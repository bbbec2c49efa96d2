# Two-cluster blue-green benchmark (sourced by bench/run with PGDATABASE set, which is
# green: a fresh database of the benchmark cluster). Blue is a second throwaway cluster
# (wal_level = logical) with BENCH_ROWS entities (1,000,000) and a fifth as many
# relations; BENCH_WRITERS pgbench writers (8) update entities on blue the whole time. A
# cluster migration (one new column and an index on green) runs in the middle. Prints the
# initial copy's rows/s, the applied lag while streaming (heartbeat), the switch's write
# freeze, and the writers' p99 latency during the migration against a baseline run of the
# same writers without one, in the same run.
set -euo pipefail
n=${BENCH_ROWS:-1000000}
writers=${BENCH_WRITERS:-8}
. scripts/lib/cluster.sh
work=$(mktemp -d)
trap 'second_cluster_stop; rm -rf "$work"' EXIT
second_cluster_start "wal_level = logical" "shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'"
BLUE="host=$SECOND_DIR port=55433 user=postgres dbname=blue"
GREEN="host=$PGHOST port=$PGPORT user=postgres dbname=$PGDATABASE"
b() { psql -qAtX -v ON_ERROR_STOP=1 "$BLUE" -c "$1"; }
psql -qX "$SECOND_CONNINFO" -c "CREATE DATABASE blue" >/dev/null
b "CREATE EXTENSION migration_engine; CREATE EXTENSION dblink" >/dev/null
b "INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
   SELECT md5('e' || g)::uuid, 'Person', jsonb_build_object('name', 'person ' || g, 'age', g % 90, 'email', 'p' || g || '@example.org')
   FROM generate_series(1, $n) g" >/dev/null
b "INSERT INTO kg.temporal_relations (relation_type, source_entity_id, target_entity_id)
   SELECT 'KNOWS', md5('e' || g)::uuid, md5('e' || (g % $n + 1))::uuid FROM generate_series(1, $n / 5) g" >/dev/null
b "VACUUM ANALYZE" >/dev/null
b "CHECKPOINT" >/dev/null
mid=$(b "SELECT migration_engine.create_migration('{\"name\": \"add_region\", \"version\": \"1\", \"forward\": [
        {\"name\": \"region\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities ADD COLUMN region text\"},
        {\"name\": \"by_region\", \"type\": \"SQL\", \"script\": \"CREATE INDEX entities_by_region ON kg.temporal_entities (region)\"}],
      \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities DROP COLUMN region\"}]}')")

cat > "$work/write.sql" <<SQL
\set n random(1, $n)
\set v random(1, 2000000000)
SELECT migration_engine.upsert_entity('Person', jsonb_build_object('name', 'person ' || :n, 'v', :v), md5('e' || :n)::uuid);
SQL
latency() { # p99 and max latency (ms) and count of the transactions that ended in [from, to)
    cat "$work"/$1.* | awk -v from="$2" -v to="$3" '{ t = $5 + $6 / 1e6; if (t >= from && t < to) print $3 / 1000 }' | sort -n |
        awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a n/a 0"; exit } i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f %.2f %d\n", a[i], a[NR], NR }'
}
pg() { (cd "$work" && PGHOST=$SECOND_DIR PGPORT=55433 PGDATABASE=blue pgbench -n -c "$writers" -j 2 "$@" -f write.sql); }

echo "baseline: $writers writers on blue for 20 s, no migration"
pg -T 20 -l --log-prefix=base > "$work/base.out" 2>&1
read -r base_p99 base_max base_n <<< "$(latency base 0 9999999999)"

seconds=${BENCH_SECONDS:-300}
echo "the same writers for up to $seconds s, with a cluster migration of $n entities starting after 10 s"
pg -T "$seconds" --max-tries=1 -l --log-prefix=run > "$work/run.out" 2>&1 &
bench=$!
sleep 10
start=$(date +%s.%N)
id=$(b "SELECT migration_engine.start_cluster_migration('$mid', '$GREEN', '{\"heartbeatInterval\": 200}') ->> 'cluster_migration_id'")
phase() { b "SELECT migration_engine.cluster_migration_status('$id') ->> 'phase'"; }
until [ "$(phase)" = STREAMING ]; do sleep 0.5; done
copied=$(date +%s.%N)
# the applied lag while streaming under the writers: 20 samples, 1 s apart
for i in $(seq 1 20); do
    b "SELECT migration_engine.cluster_migration_status('$id') -> 'applied_lag'" >> "$work/lag.jsonl"
    sleep 1
done
switch_start=$(date +%s.%N)
refused=""
if ! b "CALL migration_engine.switch_cluster_migration('$id', '{\"catchUpTimeout\": 30000}')" 2> "$work/switch.err"; then
    # green applies more slowly than the writers write: report it, stop the writers, and
    # switch once green has caught up
    refused=$(grep -o 'green is [0-9]* bytes[^,]*' "$work/switch.err" | head -1)
    kill -INT $bench 2>/dev/null || true; wait $bench || true
    caught_from=$(date +%s.%N)
    b "CALL migration_engine.switch_cluster_migration('$id', '{\"catchUpTimeout\": 600000}')" 2> "$work/switch2.err" || { cat "$work/switch2.err"; exit 1; }
    caught=$(echo "$(date +%s.%N) - $caught_from" | bc)
fi
end=$(date +%s.%N)
kill -INT $bench 2>/dev/null || true
wait $bench || true
if [ -n "$refused" ]; then
    echo "  under the writers the switch was refused after waiting 30 s: $refused"
    echo "  with the writers stopped, green caught up and the switch took ${caught%.*} s"
fi
read -r run_p99 run_max run_n <<< "$(latency run "$start" "$switch_start")"
freeze=$(b "SELECT round((switch_report ->> 'write_freeze_ms')::numeric, 1) FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$id'")
rows=$(( n + n / 5 ))
python3 - "$work/lag.jsonl" "$rows" "$start" "$copied" "$switch_start" "$end" "$freeze" \
    "$base_p99" "$run_p99" "$base_n" "$run_n" <<'PY'
import json, statistics, sys
lag = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and l.strip() != "null"]
rows, start, copied, switch_start, end = int(sys.argv[2]), *map(float, sys.argv[3:7])
freeze, base_p99, run_p99, base_n, run_n = sys.argv[7], float(sys.argv[8]), float(sys.argv[9]), int(sys.argv[10]), int(sys.argv[11])
copy_s = copied - start
print(f"  initial copy (start to STREAMING, {rows:,} rows): {copy_s:.1f} s, {rows / copy_s:,.0f} rows/s")
if lag:
    b = [l["bytes"] for l in lag]; s = [float(l["seconds"]) for l in lag]
    print(f"  applied lag while streaming (20 samples): bytes median {statistics.median(b):,.0f} (min {min(b):,}, max {max(b):,}); "
          f"seconds median {statistics.median(s):.3f} (min {min(s):.3f}, max {max(s):.3f})")
print(f"  switch (CALL): {end - switch_start:.2f} s, write freeze {freeze} ms (target <= 1000 ms)")
print(f"  writers' p99: {run_p99:.2f} ms during the migration vs {base_p99:.2f} ms without ({run_p99 / base_p99:.2f}x); "
      f"{run_n} vs {base_n} transactions")
PY
