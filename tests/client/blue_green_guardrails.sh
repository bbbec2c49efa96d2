# Blue-green guardrails with real sessions: a writer that keeps its transaction open
# blocks neither forever — the capture fence and the write freeze give up after their
# lock timeouts and retries, and nothing is switched or lost; the whole-operation timeout.
. "$(dirname "$0")/lib.sh"

q "INSERT INTO kg.temporal_entities (entity_type, content) SELECT 'Person', jsonb_build_object('n', g) FROM generate_series(1, 5000) g"
q "SELECT migration_engine.create_migration('{\"name\": \"m\", \"version\": \"1\", \"forward\": [
     {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN c int\"}],
   \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
id=$(q "SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'm'")
before=$(q "SELECT count(*) || ':' || md5(string_agg(version_id::text, ',' ORDER BY version_id)) FROM kg.temporal_entities")

# 1. a writer that wrote and stays in its transaction holds the capture fence (shared)
psql -qX -c "BEGIN" -c "SELECT migration_engine.upsert_entity('Person', '{\"late\": 1}')" -c "SELECT pg_sleep(8)" -c "COMMIT" >/dev/null &
writer=$!
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(8)%' AND pid <> pg_backend_pid()" 10
r=$(q "SELECT migration_engine.execute_blue_green_migration('$id', 'green', '{\"switchLockTimeout\": 20, \"switchRetries\": 2}')")
check "an open writer: the capture fence gives up (success false)" "$(echo "$r" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["success"], r["sqlstate"])')" "False 55P03"
echo "$r" | /usr/bin/python3 -c 'import json,sys; print("   error:", json.load(sys.stdin)["error"])'
check "nothing switched" "$(q "SELECT migration_engine.active_schema()")" "kg"
check "no target left" "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'green'")" "0"
check "the migration is FAILED with the error" "$(q "SELECT status || ' ' || (last_error LIKE '%fence%') FROM migration_engine.knowledge_migrations WHERE migration_name = 'm'")" "FAILED true"
wait $writer

# 2. a session that holds a write lock without writing: the copy goes on, the freeze gives up
psql -qX -c "BEGIN" -c "LOCK TABLE kg.temporal_entities IN ROW EXCLUSIVE MODE" -c "SELECT pg_sleep(8)" -c "COMMIT" >/dev/null &
locker=$!
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(8)%' AND pid <> pg_backend_pid()" 10
r=$(q "SELECT migration_engine.execute_blue_green_migration('$id', 'green', '{\"switchLockTimeout\": 20, \"switchRetries\": 3}')")
check "a long transaction on the table: the write freeze gives up after its retries" \
    "$(echo "$r" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["success"], r["sqlstate"], "freeze writes" in r["error"])')" "False 55P03 True"
check "nothing switched" "$(q "SELECT migration_engine.active_schema()")" "kg"
check "nothing pending in the change log" "$(q "SELECT count(*) FROM migration_engine.change_log")" "0"
wait $locker

# 3. the whole-operation timeout
r=$(q "SELECT migration_engine.execute_blue_green_migration('$id', 'green', '{\"timeout\": 1}')")
check "a 1 ms budget: the operation times out" "$(echo "$r" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["success"], r["sqlstate"])')" "False 57014"

check "the data is as it was, plus the one committed write" \
    "$(q "SELECT count(*) - 1 FROM kg.temporal_entities")" "${before%%:*}"
# 4. and once the sessions are gone, the same migration goes through
check "then the migration succeeds" "$(q "SELECT migration_engine.execute_blue_green_migration('$id', 'green')->>'success'")" "true"
check "with the late write in green" "$(q "SELECT count(*) FROM green.temporal_entities WHERE content ? 'late'")" "1"
