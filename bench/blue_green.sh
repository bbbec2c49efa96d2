# Blue-green benchmark (sourced by bench/run with PGDATABASE set): a graph of 1,000,000
# entities and 200,000 relations, 8 pgbench writers updating entities the whole time;
# a blue-green migration (one new column) runs in the middle. Prints copy throughput,
# total time, the write-freeze window, and the writers' p99 latency during the migration
# against a baseline run of the same writers without a migration.
set -euo pipefail
n=${BENCH_ROWS:-1000000}
writers=${BENCH_WRITERS:-8}
# BENCH_RATE: the writers' total transactions per second (pgbench -R); unset: as fast as they can
rate=${BENCH_RATE:+-R $BENCH_RATE}
q() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

q -c "INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
      SELECT md5('e' || g)::uuid, 'Person', jsonb_build_object('name', 'person ' || g, 'age', g % 90, 'email', 'p' || g || '@example.org')
      FROM generate_series(1, $n) g" \
  -c "INSERT INTO kg.temporal_relations (relation_type, source_entity_id, target_entity_id)
      SELECT 'KNOWS', md5('e' || g)::uuid, md5('e' || (g % $n + 1))::uuid FROM generate_series(1, $n / 5) g" \
  -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
q -c "SELECT migration_engine.create_migration('{\"name\": \"add_region\", \"version\": \"1\", \"forward\": [
        {\"name\": \"region\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN region text NOT NULL DEFAULT ''eu''\"}],
      \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN region\"}]}')" >/dev/null

cat > "$work/write.sql" <<SQL
\set n random(1, $n)
\set v random(1, 2000000000)
SELECT migration_engine.upsert_entity('Person', jsonb_build_object('name', 'person ' || :n, 'v', :v), md5('e' || :n)::uuid);
SQL
# p99 and max latency (ms) of the transactions that ended in [from, to) (epoch seconds)
latency() {
    cat "$work"/$1.* | awk -v from="$2" -v to="$3" '{ t = $5 + $6 / 1e6; if (t >= from && t < to) print $3 / 1000 }' | sort -n |
        awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a n/a 0"; exit } i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f %.2f %d\n", a[i], a[NR], NR }'
}

echo "baseline: $writers writers for 20 s${rate:+ ($rate tps)}, no migration"
(cd "$work" && pgbench -n -c "$writers" -j 2 -T 20 $rate --max-tries=20 -l --log-prefix=base -f write.sql > base.out 2>&1)
read -r base_p99 base_max base_n <<< "$(latency base 0 9999999999)"

seconds=${BENCH_SECONDS:-240}
echo "the same writers for $seconds s, with a blue-green migration of $n entities starting after 10 s"
(cd "$work" && pgbench -n -c "$writers" -j 2 -T "$seconds" $rate --max-tries=20 -l --log-prefix=run -f write.sql > run.out 2>&1) &
bench=$!
sleep 10
start=$(date +%s.%N)
result=$(q -c "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_region'), 'green')")
end=$(date +%s.%N)
wait $bench
elapsed=$(echo "$end - $start + 10" | bc)
if [ "$(echo "$elapsed < $seconds" | bc)" = 1 ]; then
    echo "  (the migration ended ${elapsed%.*} s into the writers' $seconds s: they wrote the whole time)"
else
    echo "  (WARNING: the migration outlasted the writers: the catch-up was not measured under load; raise BENCH_SECONDS)"
fi
read -r run_p99 run_max run_n <<< "$(latency run "$start" "$end")"

echo "$result" > "$work/result.json"
cat > "$work/report.py" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if not r["success"]:
    sys.exit("blue-green failed: " + r.get("error", "?"))
t, rows = r["timings_ms"], r["rows"]
print(f"  rows copied:          {rows['copied']:,} ({rows['copy_rows_per_second']:,.0f} rows/s; copy {t['copy_ms'] / 1000:.1f} s incl. indexes)")
print(f"  migrate / validate:   {t['migrate_ms']:.0f} ms / {t['validate_ms']:.0f} ms (integrity checks included)")
print(f"  catch-up:             {t['catch_up_ms']:.0f} ms, {rows['catch_up_rounds']} rounds, {rows['replayed_before_freeze']:,} changes replayed while writes went on")
print(f"  write freeze:         {t['write_freeze_ms']:.1f} ms ({rows['replayed_during_freeze']} changes replayed under it; target <= 100 ms)")
print(f"  total:                {t['total_ms'] / 1000:.1f} s")
PY
/usr/bin/python3 "$work/report.py" "$work/result.json" || { echo "$result"; exit 1; }
echo "  writers, p99 latency: $run_p99 ms during the migration ($run_n transactions) vs $base_p99 ms without ($base_n transactions): ratio $(echo "scale=2; $run_p99 / $base_p99" | bc)"
echo "  writers, max latency: $run_max ms during the migration vs $base_max ms without"
echo "  writer failures:      $(grep -o 'number of failed transactions: [0-9]*' "$work/run.out" | head -1 | grep -o '[0-9]*$') failed, $(grep -o 'number of transactions retried: [0-9]*' "$work/run.out" | head -1 | grep -o '[0-9]*$') retried (retryable refusals from the retired schema)"
echo "  tps:                  $(grep -o 'tps = [0-9.]*' "$work/run.out" | head -1 | cut -d' ' -f3) over the whole run vs $(grep -o 'tps = [0-9.]*' "$work/base.out" | head -1 | cut -d' ' -f3) without"
