# Blue-green under live traffic: pgbench clients insert and update entities (and log each
# write in the same transaction) while 100,000 entities are copied, migrated and switched.
# Every committed write must be in the new schema; no client transaction may fail.
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

q "INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
   SELECT md5('e' || g)::uuid, 'Person', jsonb_build_object('n', g) FROM generate_series(1, 100000) g"
q "CREATE TABLE public.write_log (id bigserial PRIMARY KEY, entity_id uuid NOT NULL, v bigint NOT NULL)"
q "VACUUM ANALYZE"
q "SELECT migration_engine.create_migration('{\"name\": \"add_region\", \"version\": \"1\", \"forward\": [
     {\"name\": \"region\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN region text NOT NULL DEFAULT ''eu''\"}],
   \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN region\"}]}')" >/dev/null

cat > "$work/update.sql" <<'SQL'
\set n random(1, 100000)
\set v random(1, 2000000000)
BEGIN;
SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', :n, 'v', :v), md5('e' || :n)::uuid);
INSERT INTO public.write_log (entity_id, v) VALUES (md5('e' || :n)::uuid, :v);
COMMIT;
SQL
cat > "$work/insert.sql" <<'SQL'
\set k random(1, 2000000000)
BEGIN;
SELECT migration_engine.upsert_entity('Person', jsonb_build_object('k', :k, 'v', :k), md5('new' || :k)::uuid);
INSERT INTO public.write_log (entity_id, v) VALUES (md5('new' || :k)::uuid, :k);
COMMIT;
SQL
# retryable errors (the switch refuses writes to the retired schema with 40001) are
# retried by pgbench and reported apart from failures
pgbench -n -c 4 -j 2 -T 14 --max-tries=20 -f "$work/update.sql@3" -f "$work/insert.sql@1" > "$work/pgbench.out" 2>&1 &
bench=$!
sleep 3
result=$(q "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_region'), 'green')")
wait $bench || { cat "$work/pgbench.out"; fail "pgbench failed"; }
echo "blue-green: $result" | cut -c1-600
grep -E "transactions actually processed|failed transactions|retried|latency average" "$work/pgbench.out"

check "the migration succeeded" "$(echo "$result" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["success"])')" "True"
check "green is active" "$(q "SELECT migration_engine.active_schema()")" "green"
replayed=$(echo "$result" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["rows"]; print(r["replayed_before_freeze"] + r["replayed_during_freeze"])')
[ "$replayed" -gt 0 ] || fail "no write arrived during the migration: the test proved nothing"
echo "ok - $replayed captured changes were replayed into green"
check "no client transaction failed" "$(grep -o 'number of failed transactions: [0-9]*' "$work/pgbench.out" | head -1 | grep -o '[0-9]*$')" "0"
writes=$(q "SELECT count(*) FROM public.write_log")
[ "$writes" -gt 1000 ] || fail "only $writes writes committed"
check "the latest committed value of every written entity is current in green" \
    "$(q "SELECT count(*) FROM (SELECT DISTINCT ON (entity_id) entity_id, v FROM public.write_log ORDER BY entity_id, id DESC) l
          LEFT JOIN green.temporal_entities e ON e.entity_id = l.entity_id AND e.valid_to = 'infinity'
          WHERE (e.content->>'v')::bigint IS DISTINCT FROM l.v")" "0"
check "every committed write is a version in green's history (checksum over $writes writes)" \
    "$(q "SELECT md5(string_agg(DISTINCT entity_id || ':' || (content->>'v'), ',')) FROM green.temporal_entities WHERE content ? 'v'")" \
    "$(q "SELECT md5(string_agg(DISTINCT entity_id || ':' || v, ',')) FROM public.write_log")"
check "writes after the switch went to green only (kg got none after it)" \
    "$(q "SELECT count(*) FROM kg.temporal_entities WHERE valid_from > (SELECT switched_at FROM migration_engine.active_schema_version)")" "0"
check "the new column is there for every current entity" \
    "$(q "SELECT count(*) FROM green.temporal_entities WHERE region IS DISTINCT FROM 'eu'")" "0"
check "one current version per entity in green" \
    "$(q "SELECT count(*) FROM (SELECT entity_id FROM green.temporal_entities WHERE valid_to = 'infinity' GROUP BY 1 HAVING count(*) > 1) d")" "0"
