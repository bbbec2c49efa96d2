# The canary's background worker: a healthy canary is advanced step by step and
# finalized by the worker alone (one schema_switched notification, writes made during
# the canary kept); an unhealthy one is rolled back by the worker when its error rate rises.
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

q "INSERT INTO kg.temporal_entities (entity_type, content) SELECT 'Person', jsonb_build_object('n', g) FROM generate_series(1, 2000) g"
for m in cw_good cw_bad; do
    q "SELECT migration_engine.create_migration('{\"name\": \"$m\", \"version\": \"1\", \"forward\": [
         {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN $m int\"}],
       \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
done

listen_start "$work" schema_switched

# a healthy canary: 50 %, then 100 % and the switch, by the worker alone
check "the healthy canary starts" "$(q "SELECT migration_engine.start_canary('{\"migrationName\": \"cw_good\", \"canaryPercentage\": 50,
    \"stepPercentage\": 50, \"stabilizationSeconds\": 1}')->>'success'")" "true"
q "SELECT migration_engine.record_canary_metric('cw_good', 'error_rate', 0.001), migration_engine.record_canary_metric('cw_good', 'response_time', 30)" >/dev/null
# a write that races with the worker's switch gets 40001 and is retried, as the docs
# tell clients to (it resolved the old schema just before the switch committed)
for i in $(seq 1 20); do
    for try in 1 2 3 4 5; do
        if out=$(q "SELECT migration_engine.upsert_entity('Person', '{\"w\": $i}', md5('w$i')::uuid)" 2>&1); then break; fi
        echo "$out" | grep -q "takes no writes" || fail "write $i: $out"
        [ "$try" -lt 5 ] || fail "write $i kept failing: $out"
    done
done
wait_for "SELECT status = 'COMPLETED' FROM migration_engine.canary_status WHERE migration_name = 'cw_good'" 60
check "the worker finalized it: the new version is active" "$(q "SELECT migration_engine.active_schema()")" "kg_canary"
check "its steps: 50 %, then 100 %" \
    "$(q "SELECT string_agg(h->>'step', ',') FROM migration_engine.canary_status, jsonb_array_elements(history) h WHERE migration_name = 'cw_good'")" \
    "SetCanaryPercentage50,SetCanaryPercentage100"
check "the writes made during the canary are in the new version" \
    "$(q "SELECT count(*) FROM kg_canary.temporal_entities WHERE content ? 'w' AND valid_to = 'infinity'")" "20"

# an unhealthy one: healthy at first, then its error rate rises
check "the second canary starts" "$(q "SELECT migration_engine.start_canary('{\"migrationName\": \"cw_bad\", \"targetSchema\": \"kg_b\",
    \"canaryPercentage\": 10, \"stepPercentage\": 10, \"stabilizationSeconds\": 3}')->>'success'")" "true"
q "SELECT migration_engine.record_canary_metric('cw_bad', 'error_rate', 0.001), migration_engine.record_canary_metric('cw_bad', 'response_time', 30)" >/dev/null
wait_for "SELECT percentage >= 20 FROM migration_engine.canary_status WHERE migration_name = 'cw_bad'" 60
echo "ok - the worker advanced the healthy canary to $(q "SELECT percentage FROM migration_engine.canary_status WHERE migration_name = 'cw_bad'") %"
q "SELECT migration_engine.record_canary_metric('cw_bad', 'error_rate', 0.3)" >/dev/null
wait_for "SELECT status = 'ROLLED_BACK' FROM migration_engine.canary_status WHERE migration_name = 'cw_bad'" 60
check "after its error rate rose the worker rolled it back" \
    "$(q "SELECT percentage || ' ' || reason FROM migration_engine.canary_status WHERE migration_name = 'cw_bad'")" "0 CANARY_METRICS_FAILED"
check "nothing switched" "$(q "SELECT migration_engine.active_schema()")" "kg_canary"
check "every key is routed to the old version" "$(q "SELECT count(*) FROM generate_series(1, 1000) g WHERE migration_engine.canary_route('cw_bad', g::text) <> 'kg_canary'")" "0"
check "the migration is ROLLED_BACK" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'cw_bad'")" "ROLLED_BACK"

listen_stop
check "exactly one schema_switched notification, for the finalized canary" \
    "$(/usr/bin/python3 -c 'import json,sys; print([g["payload"] for g in json.load(open(sys.argv[1]))])' "$work/got.json")" "['kg_canary']"
wait_for "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migration_engine canary' AND datname = current_database()" 30
echo "ok - the workers stopped by themselves"
