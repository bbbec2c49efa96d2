# Writers' latency while an index is built on a 1,000,000-row table (issue 14): 4 pgbench
# writers update and insert for 8 s; in the middle, the same index is built by a plain
# CREATE INDEX step (execute_migration, in a transaction) or by a "transaction": false
# CREATE INDEX CONCURRENTLY step (CALL run_migration, the top-level runner); baseline:
# the writers alone. Each variant REPS times (default 5): median [min, max] of the
# writers' p99 and max latency and of the build's duration, and the ratios to baseline.
set -euo pipefail
reps=${REPS:-5}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
psql -qX -v ON_ERROR_STOP=1 -c "CREATE TABLE public.bench_items (id bigint PRIMARY KEY, k int NOT NULL, v text NOT NULL)" \
     -c "INSERT INTO public.bench_items SELECT g, g % 100000, md5(g::text) FROM generate_series(1, 1000000) g" -c "VACUUM ANALYZE public.bench_items"
cat > "$work/write.sql" <<'SQL'
\set id random(1, 1000000)
UPDATE public.bench_items SET v = md5(random()::text) WHERE id = :id;
INSERT INTO public.bench_items VALUES (1000000 + :id * 100 + (random() * 99)::int, :id % 100000, 'new') ON CONFLICT (id) DO NOTHING;
SQL
# run VARIANT REP: prints "p99_ms max_ms build_ms failed"
run() {
    local variant=$1 rep=$2 name="ix_${1}_$2" build_ms=0
    psql -qX -c "DROP INDEX IF EXISTS public.bench_items_k" >/dev/null
    if [ "$variant" != baseline ]; then
        local tx=true prefix=""
        [ "$variant" = concurrent ] && { tx=false; prefix="CONCURRENTLY "; }
        psql -qX -v ON_ERROR_STOP=1 -c "SELECT migration_engine.create_migration(\$\${\"name\": \"$name\", \"version\": \"1\", \"forward\": [
          {\"name\": \"build\", \"type\": \"SQL\", \"transaction\": $tx, \"script\": \"CREATE INDEX ${prefix}bench_items_k ON public.bench_items (k)\"}],
          \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"DROP INDEX public.bench_items_k\"}]}\$\$)" >/dev/null
    fi
    rm -f "$work"/log.*
    (cd "$work" && pgbench -n -c 4 -j 2 -T 8 -l --log-prefix=log -f write.sql > pgbench.out 2>&1) &
    local writers=$!
    sleep 2
    if [ "$variant" != baseline ]; then
        local t0; t0=$(date +%s%N)
        if [ "$variant" = concurrent ]; then
            psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('$name', '{\"force\": true}')" >/dev/null 2>&1
        else
            psql -qXAt -v ON_ERROR_STOP=1 -c "SELECT migration_engine.execute_migration('$name', '{\"force\": true, \"lockTimeout\": 60000}') ->> 'success'" | grep -q true
        fi
        build_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    fi
    wait $writers
    # pgbench's per-transaction log: client, tx, latency (us), ...
    cat "$work"/log.* | awk '{print $3}' | sort -n > "$work/lat"
    local n p99 max failed
    n=$(wc -l < "$work/lat")
    p99=$(awk -v n="$n" 'NR == int(n * 0.99) {printf "%.2f", $1 / 1000}' "$work/lat")
    max=$(tail -1 "$work/lat" | awk '{printf "%.2f", $1 / 1000}')
    failed=$(grep -o 'number of failed transactions: [0-9]*' "$work/pgbench.out" | awk '{print $NF}')
    echo "$p99 $max $build_ms ${failed:-0}"
}
stats() { sort -n | awk '{a[NR] = $1} END {printf "%s [%s, %s]", a[int((NR + 1) / 2)], a[1], a[NR]}'; }
for variant in baseline plain concurrent; do
    for rep in $(seq 1 "$reps"); do run "$variant" "$rep"; done > "$work/$variant.txt"
done
printf '%-11s %-26s %-26s %-24s %s\n' variant "writers p99 ms" "writers max ms" "build ms" "failed"
for variant in baseline plain concurrent; do
    printf '%-11s %-26s %-26s %-24s %s\n' "$variant" "$(awk '{print $1}' "$work/$variant.txt" | stats)" \
        "$(awk '{print $2}' "$work/$variant.txt" | stats)" "$(awk '{print $3}' "$work/$variant.txt" | stats)" \
        "$(awk '{s += $4} END {print s}' "$work/$variant.txt")"
done
med() { awk "{print \$$2}" "$work/$1.txt" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "ratio of writers' max latency to baseline: plain $(echo "scale=1; $(med plain 2) / $(med baseline 2)" | bc)x, concurrent $(echo "scale=1; $(med concurrent 2) / $(med baseline 2)" | bc)x (medians of $reps)"
