# switch_back after a TRANSFORM migration, under live writers: every write made in the
# new schema comes back to the old one through the migration's rollback transformation,
# in the old format, with the latest committed value; writers that hit the switch retry
# (40001) into the old schema and write its format.
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

q "INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
   SELECT md5('e' || g)::uuid, 'Person', jsonb_build_object('n', g, 'v', 0) FROM generate_series(1, 20000) g"
q "CREATE TABLE public.write_log (id bigserial PRIMARY KEY, entity_id uuid NOT NULL, v bigint NOT NULL, written_in text NOT NULL)"
rename() { # rename FROM TO: a MAP step renaming field FROM to TO
    echo "{\"name\": \"$1 to $2\", \"source\": {\"entityType\": \"Person\"}, \"steps\": [{\"name\": \"map\", \"type\": \"MAP\",
           \"config\": {\"mappingRules\": [{\"type\": \"FIELD_RENAME\", \"source\": \"$1\", \"target\": \"$2\"}]}}]}"
}
q "SELECT migration_engine.create_migration('{\"name\": \"n_to_num\", \"version\": \"1\",
     \"forward\": [{\"name\": \"rename\", \"type\": \"TRANSFORM\", \"pipeline\": $(rename n num)}],
     \"rollback\": [{\"name\": \"rename back\", \"type\": \"TRANSFORM\", \"pipeline\": $(rename num n)}]}')" >/dev/null
check "the migration runs blue-green" \
    "$(q "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'n_to_num'), 'green')->>'success'")" "true"

# the application writes the format of the schema it finds active; a write that meets
# the switch back is refused (40001) and retried by pgbench, then finds kg
cat > "$work/update.sql" <<'SQL'
\set n random(1, 20000)
\set v random(1, 2000000000)
BEGIN;
SELECT migration_engine.upsert_entity('Person',
    CASE WHEN migration_engine.active_schema() = 'green' THEN jsonb_build_object('num', :n, 'v', :v)
         ELSE jsonb_build_object('n', :n, 'v', :v) END, md5('e' || :n)::uuid);
INSERT INTO public.write_log (entity_id, v, written_in) VALUES (md5('e' || :n)::uuid, :v, migration_engine.active_schema());
COMMIT;
SQL
pgbench -n -c 3 -j 1 -T 14 --max-tries=50 -f "$work/update.sql" > "$work/pgbench.out" 2>&1 &
bench=$!
sleep 2
result=$(q "SELECT migration_engine.switch_back()")
wait $bench || { cat "$work/pgbench.out"; fail "pgbench failed"; }
echo "$result" | cut -c1-300
check "switch_back went through the rollback transformation" \
    "$(echo "$result" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["new_schema"], r["transformed_back"])')" "kg True"
check "most of the backlog was replayed before the freeze, and the freeze was short (< 1 s)" \
    "$(echo "$result" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["replayed_before_freeze"] > r["replayed_during_freeze"], r["write_freeze_ms"] < 1000)')" "True True"
check "no client transaction failed" "$(grep -o 'number of failed transactions: [0-9]*' "$work/pgbench.out" | head -1 | grep -o '[0-9]*$')" "0"
check "writes were made in green before the switch back, and in kg after" \
    "$(q "SELECT count(DISTINCT written_in) FROM public.write_log")" "2"
check "every live entity of kg is in the old format" \
    "$(q "SELECT count(*) FROM kg.temporal_entities WHERE valid_to = 'infinity' AND NOT is_deleted AND NOT (content ? 'n' AND NOT content ? 'num')")" "0"
check_write_log kg
check "the migration is ROLLED_BACK" \
    "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'n_to_num'")" "ROLLED_BACK"
