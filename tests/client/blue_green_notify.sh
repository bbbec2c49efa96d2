# A Python client (psycopg 3) LISTENs on schema_switched: exactly one notification per
# switch, with the new schema as payload; none for a failed blue-green migration.
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

q "INSERT INTO kg.temporal_entities (entity_type, content) SELECT 'Person', jsonb_build_object('n', g) FROM generate_series(1, 2000) g"
q "SELECT migration_engine.create_migration('{\"name\": \"good\", \"version\": \"1\", \"forward\": [
     {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN c int\"}],
   \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN c\"}]}')" >/dev/null
q "SELECT migration_engine.create_migration('{\"name\": \"bad\", \"version\": \"1\", \"forward\": [
     {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"SELECT 1/0\"}],
   \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null

# the listener: records every notification until the test says it is done
listen_start "$work" schema_switched schema_switched_detail

id() { q "SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = '$1'"; }
check "a failing blue-green migration fails" "$(q "SELECT migration_engine.execute_blue_green_migration('$(id bad)', 'broken')->>'success'")" "false"
check "a good one succeeds" "$(q "SELECT migration_engine.execute_blue_green_migration('$(id good)', 'green')->>'success'")" "true"
# a switch inside a transaction that rolls back notifies nobody
q "BEGIN; SELECT migration_engine.switch_back(); ROLLBACK;" >/dev/null
check "switch_back succeeds" "$(q "SELECT migration_engine.switch_back()->>'new_schema'")" "kg"
listen_stop

check "schema_switched: exactly one notification per committed switch, payload the new schema" \
    "$(/usr/bin/python3 -c 'import json,sys; print([g["payload"] for g in json.load(open(sys.argv[1])) if g["channel"] == "schema_switched"])' "$work/got.json")" \
    "['green', 'kg']"
check "schema_switched_detail carries what a pool needs (schema, previous, search_path)" \
    "$(/usr/bin/python3 -c 'import json,sys; d=[json.loads(g["payload"]) for g in json.load(open(sys.argv[1])) if g["channel"] == "schema_switched_detail"]; print([(x["schema"], x["previous_schema"], x["search_path"]) for x in d])' "$work/got.json")" \
    "[('green', 'kg', 'green, public'), ('kg', 'green', 'kg, public')]"
