# Blue-green across two clusters (issue 17): blue is a second throwaway cluster with
# wal_level = logical; green is this test's own database on the suite's cluster, freshly
# installed. Writers (psycopg) write through upsert_entity on blue during the copy, the
# streaming and the switch, and move to green when blue answers 40001; afterwards every
# write they saw committed is on green, green takes new writes with ids past blue's, blue
# refuses writes, and no slot, publication or subscription is left. Also: the preflight's
# refusals (each with nothing made), an abort that leaves nothing behind, and the status.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
work=$(mktemp -d)
green_db=$PGDATABASE
spare_db="${PGDATABASE}_spare"
cleanup() {
    [ -f "$work/writers.pid" ] && kill "$(cat "$work/writers.pid")" 2>/dev/null || true
    # blue's server log outlives the throwaway cluster, for a failure's post-mortem
    [ -n "${SECOND_DIR:-}" ] && cp "$SECOND_DIR/log" /tmp/me-client-cluster_blue_green.blue.log 2>/dev/null || true
    second_cluster_stop
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $spare_db WITH (FORCE)" >/dev/null 2>&1 || true
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${PGDATABASE}_green2 WITH (FORCE)" >/dev/null 2>&1 || true
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${PGDATABASE}_green3 WITH (FORCE)" >/dev/null 2>&1 || true
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${PGDATABASE}_green4 WITH (FORCE)" >/dev/null 2>&1 || true
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${PGDATABASE}_green5 WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
sqlstate_of() { psql -qAtX -v VERBOSITY=verbose "$@" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1; }

second_cluster_start "wal_level = logical" "max_wal_senders = 10" "max_replication_slots = 10"
BLUE="host=$SECOND_DIR port=55433 user=postgres dbname=blue"
GREEN="host=$PGHOST port=$PGPORT user=postgres dbname=$green_db"
SPARE="host=$PGHOST port=$PGPORT user=postgres dbname=$spare_db"
psql -qX -v ON_ERROR_STOP=1 "$SECOND_CONNINFO" -c "CREATE DATABASE blue" >/dev/null
b() { psql -qAtX -v ON_ERROR_STOP=1 "$BLUE" -c "$1"; }
g() { psql -qAtX -v ON_ERROR_STOP=1 "$GREEN" -c "$1"; }
b "CREATE EXTENSION migration_engine; CREATE EXTENSION dblink" >/dev/null
psql -qX -d postgres -c "CREATE DATABASE $spare_db" >/dev/null
psql -qX "$SPARE" -c "CREATE EXTENSION migration_engine" >/dev/null

b "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('name', 'p' || i, 'n', i))) FROM generate_series(1, 3000) i" >/dev/null
b "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('name', 'p' || i, 'n', i + 1),
       (SELECT entity_id FROM kg.temporal_entities WHERE content->>'name' = 'p' || i LIMIT 1))) FROM generate_series(1, 500) i" >/dev/null
mid=$(b "SELECT migration_engine.create_migration('{\"name\": \"add_source\", \"version\": \"1\", \"type\": \"SCHEMA\",
   \"forward\": [{\"name\": \"column\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities ADD COLUMN source text\"},
                 {\"name\": \"index\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"CREATE INDEX CONCURRENTLY entities_by_source ON kg.temporal_entities (source)\"}],
   \"rollback\": [{\"name\": \"drop\", \"type\": \"SQL\", \"script\": \"DROP INDEX IF EXISTS kg.entities_by_source; ALTER TABLE kg.temporal_entities DROP COLUMN source\"}]}')")
start() { echo "SELECT migration_engine.start_cluster_migration($1)"; }
open_rows() { b "SELECT count(*) FROM migration_engine.cluster_migrations"; }
slots() { b "SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), 'none') FROM pg_replication_slots"; }
pubs() { b "SELECT count(*) FROM pg_publication"; }

# 1. refusals, each changing nothing
check "a misspelled option is refused (22023)" \
    "$(sqlstate_of "$BLUE" -c "$(start "'$mid', '$GREEN', '{\"heartbeat_interval\": 500}'")")" "22023"
check "a NULL migration id is refused (22004)" "$(sqlstate_of "$BLUE" -c "$(start "NULL, '$GREEN'")")" "22004"
check "an unknown migration is refused (42704)" \
    "$(sqlstate_of "$BLUE" -c "$(start "'00000000-0000-7000-8000-000000000000', '$GREEN'")")" "42704"
check "a cluster without wal_level = logical is refused (55000)" \
    "$(sqlstate_of "$GREEN" -c "SELECT migration_engine.create_migration('{\"name\": \"x\", \"version\": \"1\", \"forward\": [{\"name\": \"a\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" -c "$(start "(SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'x'), '$BLUE'")")" "55000"
check "an unreachable green is refused (08001)" \
    "$(sqlstate_of "$BLUE" -c "$(start "'$mid', 'host=$work port=1 dbname=nowhere'")")" "08001"
psql -qX -d postgres -c "CREATE DATABASE ${PGDATABASE}_noext" >/dev/null
check "a green without the extension is refused (55000)" \
    "$(sqlstate_of "$BLUE" -c "$(start "'$mid', 'host=$PGHOST port=$PGPORT user=postgres dbname=${PGDATABASE}_noext'")")" "55000"
psql -qX -d postgres -c "DROP DATABASE ${PGDATABASE}_noext" >/dev/null
tid=$(b "SELECT migration_engine.create_migration('{\"name\": \"retype\", \"version\": \"1\", \"forward\": [{\"name\": \"t\", \"type\": \"TRANSFORM\", \"pipeline\": {\"name\": \"p\", \"source\": {\"entityType\": \"Person\"}, \"steps\": [{\"name\": \"map\", \"type\": \"MAP\", \"config\": {\"mappingRules\": [{\"type\": \"FIELD_RENAME\", \"source\": \"n\", \"target\": \"num\"}]}}]}}]}')")
check "a migration with TRANSFORM steps is refused (0A000)" "$(sqlstate_of "$BLUE" -c "$(start "'$tid', '$GREEN'")")" "0A000"
psql -qX "$BLUE" -c "CREATE ROLE me_cluster_admin LOGIN IN ROLE migration_admin" >/dev/null
check "a migration_admin member may not start one (42501)" \
    "$(sqlstate_of "host=$SECOND_DIR port=55433 user=me_cluster_admin dbname=blue" -c "$(start "'$mid', '$GREEN'")")" "42501"
check "a green that is this very database is refused (22023)" "$(sqlstate_of "$BLUE" -c "$(start "'$mid', '$BLUE'")")" "22023"
b "ALTER TABLE kg.temporal_relations REPLICA IDENTITY NOTHING" >/dev/null
check "a table whose updates cannot be replicated (REPLICA IDENTITY NOTHING) is refused (55000)" \
    "$(sqlstate_of "$BLUE" -c "$(start "'$mid', '$GREEN'")")" "55000"
b "ALTER TABLE kg.temporal_relations REPLICA IDENTITY DEFAULT" >/dev/null
check "the refusals left nothing: no row, slot or publication" "$(open_rows)/$(slots)/$(pubs)" "0/none/0"

# 2. an abort leaves nothing behind (against a spare green)
spare=$(b "SELECT migration_engine.start_cluster_migration('$mid', '$SPARE', '{\"heartbeatInterval\": 200}') ->> 'cluster_migration_id'")
wait_for_blue() { # wait_for_blue SQL [seconds]
    local deadline=$(( $(date +%s) + ${2:-60} ))
    until [ "$(b "$1")" = "t" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { b "SELECT migration_engine.cluster_migration_status()"; b "SELECT pid, backend_type, backend_xid, backend_xmin, state, wait_event, left(query, 120) FROM pg_stat_activity"; fail "timed out waiting for: $1"; }
        sleep 0.2
    done
}
phase_is() { echo "SELECT migration_engine.cluster_migration_status('$1') ->> 'phase' = '$2'"; }
wait_for_blue "$(phase_is "$spare" STREAMING)"
check "the spare green got blue's rows" "$(psql -qAtX "$SPARE" -c "SELECT count(*) FROM kg.temporal_entities")" "$(b "SELECT count(*) FROM kg.temporal_entities")"
check "a second cluster migration is refused while one is open (55006)" "$(sqlstate_of "$BLUE" -c "$(start "'$mid', '$GREEN'")")" "55006"
# a row green cannot apply (a conflict: green got a version id blue is about to give out,
# written past green's fence as replication would): green stalls, status says so, the
# switch is refused; resolved on green, it streams on
next=$(b "SELECT max(version_id) + 3 FROM kg.temporal_entities")
psql -qX -v ON_ERROR_STOP=1 "$SPARE" -c "SET session_replication_role = replica" \
    -c "INSERT INTO kg.temporal_entities (version_id, entity_type, content) VALUES ($next, 'Person', '{\"name\": \"conflict\"}')" >/dev/null
b "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('name', 'c' || i))) FROM generate_series(1, 10) i" >/dev/null
wait_for_blue "SELECT migration_engine.cluster_migration_status('$spare') ? 'attention'" 60
check "a conflict stalls green: status says so, with the apply failures counted" \
    "$(b "SELECT ((s -> 'green' -> 'errors' ->> 'apply')::int > 0) FROM migration_engine.cluster_migration_status('$spare') s")" "t"
check "the switch is refused meanwhile (55000), nothing fenced" \
    "$(sqlstate_of "$BLUE" -c "CALL migration_engine.switch_cluster_migration('$spare', '{\"catchUpTimeout\": 1000}')")/$(b "SELECT phase FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$spare'")" "55000/STREAMING"
# resolved as the status says: the conflicting row removed on green; the apply worker's
# next try goes through, green streams on and holds blue's rows
psql -qX -v ON_ERROR_STOP=1 "$SPARE" -c "SET session_replication_role = replica" \
    -c "DELETE FROM kg.temporal_entities WHERE version_id = $next AND content ->> 'name' = 'conflict'" >/dev/null
beat=$(b "SELECT beat FROM migration_engine.cluster_heartbeat WHERE cluster_migration_id = '$spare'")
wait_for_blue "SELECT (migration_engine.cluster_migration_status('$spare') -> 'green' -> 'heartbeat' ->> 'beat')::int > $beat" 60
check "after the conflict is resolved green holds blue's rows again" \
    "$(psql -qAtX "$SPARE" -c "SELECT count(*) FROM kg.temporal_entities")" "$(b "SELECT count(*) FROM kg.temporal_entities")"
# a switch interrupted after its fence (the CALL's first transaction alone)
b "SELECT migration_engine.cluster_switch_fence('$spare')" >/dev/null
check "fenced: status FENCED, blue refuses writes (40001)" \
    "$(b "SELECT migration_engine.cluster_migration_status('$spare') ->> 'phase'")/$(sqlstate_of "$BLUE" -c "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"fenced\"}')")" "FENCED/40001"
abort=$(b "SELECT migration_engine.abort_cluster_migration('$spare')")
check "the abort lifted the fence: blue takes writes again" \
    "$(b "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"unfenced\"}') IS NOT NULL")" "t"
check "abort: ABORTED, nothing left behind" "$(echo "$abort" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["phase"], a["replication"]["left_behind"], a["green"])')" "ABORTED [] ABORTED"
check "no slot and no publication on blue after the abort" "$(slots)/$(pubs)" "none/0"
check "no subscription on the spare green" "$(psql -qAtX "$SPARE" -c "SELECT count(*) FROM pg_subscription")" "0"
check "the spare green's row is ABORTED and unfenced" \
    "$(psql -qAtX "$SPARE" -c "SELECT phase FROM migration_engine.cluster_migrations")/$(psql -qAtX "$SPARE" -c "SELECT count(*) FROM pg_trigger WHERE tgname = 'me_cluster_fence'")" "ABORTED/0"
check "abort twice is refused (55000)" "$(sqlstate_of "$BLUE" -c "SELECT migration_engine.abort_cluster_migration('$spare')")" "55000"

# 3. the migration proper, under writers
cat > "$work/writers.py" <<'PY'
import json, sys, threading, time, psycopg
blue, green, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
stop = time.time() + 600
def writer(k):
    log = {"blue": [], "green": [], "retries": 0}
    conn, where = psycopg.connect(blue, autocommit=True), "blue"
    i = 0
    while time.time() < stop and len(log["green"]) < 40:
        i += 1
        try:
            eid = conn.execute("SELECT migration_engine.upsert_entity('Person', %s::jsonb)",
                               [json.dumps({"name": f"w{k}-{i}", "writer": k})]).fetchone()[0]
            log[where].append(str(eid))
        except psycopg.errors.SerializationFailure:
            # the fence: retry on the live cluster
            log["retries"] += 1
            if where == "blue":
                conn.close()
                conn, where = psycopg.connect(green, autocommit=True), "green"
        except psycopg.OperationalError:
            # the server went away (blue restarted): the write's outcome is unknown, so it
            # is not logged; connect again
            log["reconnects"] = log.get("reconnects", 0) + 1
            time.sleep(0.2)
            try:
                conn = psycopg.connect(blue if where == "blue" else green, autocommit=True)
            except psycopg.Error:
                pass
        except psycopg.Error as e:
            log.setdefault("errors", []).append(str(e).splitlines()[0])
            time.sleep(0.05)
    json.dump(log, open(f"{work}/writer{k}.json", "w"))
threads = [threading.Thread(target=writer, args=(k,)) for k in range(n)]
[t.start() for t in threads]
[t.join() for t in threads]
PY
/usr/bin/python3 "$work/writers.py" "$BLUE" "$GREEN" "$work" 3 &
echo $! > "$work/writers.pid"
sleep 1
started=$(b "SELECT migration_engine.start_cluster_migration('$mid', '$GREEN', '{\"heartbeatInterval\": 200}')")
id=$(echo "$started" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster_migration_id"])')
check "start: PREPARING, publication named after it" \
    "$(echo "$started" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["phase"], s["publication"] == "me_cluster_" + s["cluster_migration_id"].replace("-", ""))')" "PREPARING True"
wait_for_blue "$(phase_is "$id" STREAMING)" 120
check "green ran the migration itself (the index by the top-level runner)" \
    "$(g "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_source'")/$(g "SELECT count(*) FROM pg_indexes WHERE indexname = 'entities_by_source'")" "COMPLETED/1"
check "green refuses local writes while it receives (40001)" \
    "$(sqlstate_of "$GREEN" -c "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"early\"}')")" "40001"
wait_for_blue "SELECT (migration_engine.cluster_migration_status('$id') -> 'applied_lag' ->> 'beats_behind')::int <= 2" 60
status=$(b "SELECT migration_engine.cluster_migration_status('$id')")
check "status: slot active, every table ready, no apply error, lag measured" \
    "$(echo "$status" | python3 -c 'import json,sys; s=json.load(sys.stdin); g=s["green"]; print(s["slot"]["active"], s["slot"]["wal_status"], g["tables"]["ready"] == g["tables"]["total"] > 0, g["errors"]["apply"], s["applied_lag"]["bytes"] >= 0, s["worker_running"])')" \
    "True reserved True 0 True True"
check "status never shows a password" "$(echo "$status" | grep -c password)" "0"
# blue restarts while green streams (writers keep writing): the worker is gone, nothing
# is lost, resume starts it again and the applied lag comes back down
second_cluster_restart immediate
check "after blue's restart the worker is gone" \
    "$(b "SELECT migration_engine.cluster_migration_status('$id') ->> 'worker_running'")" "false"
check "resume starts it again" \
    "$(b "SELECT migration_engine.resume_cluster_migration('$id') ->> 'started'")" "true"
# caught up again: green has applied a heartbeat sent less than 0.5 s ago (the beats stop
# while the worker is gone, so a count of beats behind would not tell)
wait_for_blue "SELECT (migration_engine.cluster_migration_status('$id') -> 'applied_lag' ->> 'seconds')::numeric < 0.5" 120
check "resume of a running one starts no second worker" \
    "$(b "SELECT migration_engine.resume_cluster_migration('$id') ->> 'started'")" "false"
check "a switch with an unknown option is refused (22023), nothing fenced" \
    "$(sqlstate_of "$BLUE" -c "CALL migration_engine.switch_cluster_migration('$id', '{\"max_lag\": 1}')")/$(b "SELECT phase FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$id'")" "22023/STREAMING"
check "the switch cannot run in a transaction block (2D000)" \
    "$(sqlstate_of "$BLUE" -c "BEGIN" -c "CALL migration_engine.switch_cluster_migration('$id')" -c "COMMIT")" "2D000"
check "a switch refuses, fencing nothing, while green is further behind than asked (55000)" \
    "$(sqlstate_of "$BLUE" -c "CALL migration_engine.switch_cluster_migration('$id', '{\"maxLagBytes\": 0, \"catchUpTimeout\": 0}')")/$(b "SELECT phase FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$id'")" "55000/STREAMING"
sleep 2  # writers write while green streams
psql -qX -v ON_ERROR_STOP=1 "$BLUE" -c "CALL migration_engine.switch_cluster_migration('$id')" > "$work/switch.out" 2>&1 \
    || { cat "$work/switch.out"; fail "the switch failed"; }
check "both sides say SWITCHED" \
    "$(b "SELECT phase FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$id'")/$(g "SELECT phase FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$id'")" "SWITCHED/SWITCHED"
freeze=$(b "SELECT (switch_report ->> 'write_freeze_ms')::float FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$id'")
echo "# write freeze: $freeze ms; $(b "SELECT jsonb_build_object('waited_for_green_ms', switch_report -> 'waited_for_green_ms', 'polls', switch_report -> 'polls') FROM migration_engine.cluster_migrations WHERE cluster_migration_id = '$id'"); lag at the fence: $(b "SELECT detail -> 'lag_at_fence' FROM migration_engine.audit_log WHERE operation = 'cluster_migration_fence' ORDER BY 1 DESC LIMIT 1")"
check "the write freeze is under a second" "$(python3 -c "print($freeze < 1000)")" "True"
wait "$(cat "$work/writers.pid")"; rm -f "$work/writers.pid"
summary=$(python3 - "$work" <<'PY'
import json, sys, glob
logs = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/writer*.json")]
print(json.dumps({"blue": sorted(i for l in logs for i in l["blue"]), "green": sorted(i for l in logs for i in l["green"]),
                  "errors": [e for l in logs for e in l.get("errors", [])], "moved": sum(1 for l in logs if l["green"])}))
PY
)
echo "$summary" > "$work/summary.json"
check "every writer moved to green after a 40001, with no other error" \
    "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["moved"], [e for e in s["errors"] if "terminat" not in e and "shut" not in e], len(s["blue"]) > 0)' "$work/summary.json")" "3 [] True"
/usr/bin/python3 - "$work/summary.json" "$GREEN" <<'PY' || fail "a write the writers saw committed is missing on green"
import json, sys, psycopg
s = json.load(open(sys.argv[1]))
with psycopg.connect(sys.argv[2]) as c:
    have = {str(r[0]) for r in c.execute("SELECT entity_id FROM kg.temporal_entities WHERE valid_to = 'infinity'")}
missing = [i for i in s["blue"] + s["green"] if i not in have]
assert not missing, f"{len(missing)} missing, e.g. {missing[:3]}"
print(f"ok - all {len(s['blue'])} writes committed on blue and {len(s['green'])} on green are on green")
PY
blue_sum=$(b "SELECT count(*) || ':' || md5(string_agg(version_id || ':' || content::text || valid_to::text, ',' ORDER BY version_id)) FROM kg.temporal_entities")
green_sum=$(g "SELECT count(*) || ':' || md5(string_agg(version_id || ':' || content::text || valid_to::text, ',' ORDER BY version_id)) FROM kg.temporal_entities WHERE version_id <= $(b "SELECT max(version_id) FROM kg.temporal_entities")")
check "every version blue holds is on green, as it is on blue" "$green_sum" "$blue_sum"
check "blue refuses writes now (40001)" \
    "$(sqlstate_of "$BLUE" -c "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"late\"}')")" "40001"
after=$(g "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"after\"}')")
check "green takes new writes, with version ids past blue's" \
    "$(g "SELECT version_id > $(b "SELECT max(version_id) FROM kg.temporal_entities") FROM kg.temporal_entities WHERE entity_id = '$after'")" "t"
check "no slot, publication or subscription is left" "$(slots)/$(pubs)/$(g "SELECT count(*) FROM pg_subscription")" "none/0/0"
check "the switch is audited on both clusters" \
    "$(b "SELECT count(*) FROM migration_engine.audit_log WHERE operation = 'cluster_migration_switch'")/$(g "SELECT count(*) FROM migration_engine.audit_log WHERE operation = 'cluster_migration_phase' AND detail ->> 'to' = 'SWITCHED'")" "1/1"
check "a plain role cannot read the peer's conninfo" \
    "$(sqlstate_of "$GREEN" -c "SET ROLE me_plain_user" -c "SELECT peer_conninfo FROM migration_engine.cluster_migrations")" "42501"

# 4. a switch interrupted between the two clusters' commits: green went live, blue did not
# record it. Played with a second blue database and a fresh green: the CALL's first
# transaction, then exactly what its second one has green do, then nothing on blue.
psql -qX -v ON_ERROR_STOP=1 "$SECOND_CONNINFO" -c "CREATE DATABASE blue2" >/dev/null
BLUE2="host=$SECOND_DIR port=55433 user=postgres dbname=blue2"
GREEN2="host=$PGHOST port=$PGPORT user=postgres dbname=${PGDATABASE}_green2"
b2() { psql -qAtX -v ON_ERROR_STOP=1 "$BLUE2" -c "$1"; }
g2() { psql -qAtX -v ON_ERROR_STOP=1 "$GREEN2" -c "$1"; }
psql -qX -d postgres -c "CREATE DATABASE ${PGDATABASE}_green2" >/dev/null
g2 "CREATE EXTENSION migration_engine" >/dev/null
b2 "CREATE EXTENSION migration_engine; CREATE EXTENSION dblink" >/dev/null
b2 "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('name', 'q' || i))) FROM generate_series(1, 200) i" >/dev/null
mid2=$(b2 "SELECT migration_engine.create_migration('{\"name\": \"add_note\", \"version\": \"1\", \"forward\": [{\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities ADD COLUMN note text\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities DROP COLUMN note\"}]}')")
id2=$(b2 "SELECT migration_engine.start_cluster_migration('$mid2', '$GREEN2', '{\"heartbeatInterval\": 200}') ->> 'cluster_migration_id'")
deadline=$(( $(date +%s) + 60 ))
until [ "$(b2 "SELECT migration_engine.cluster_migration_status('$id2') ->> 'phase'")" = STREAMING ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the second migration did not stream"; sleep 0.2
done
b2 "SELECT migration_engine.cluster_switch_fence('$id2')" >/dev/null
until [ "$(g2 "SELECT count(*) FROM kg.temporal_entities")" = "$(b2 "SELECT count(*) FROM kg.temporal_entities")" ]; do sleep 0.2; done
seqs=$(b2 "SELECT coalesce(jsonb_agg(jsonb_build_object('schema', schemaname, 'name', sequencename, 'value', last_value)), '[]') FROM pg_sequences WHERE schemaname = 'kg' AND last_value IS NOT NULL")
g2 "SELECT migration_engine.cluster_peer_transition('$id2', 'FENCED')" >/dev/null
g2 "SELECT migration_engine.cluster_peer_transition('$id2', 'SWITCHED', jsonb_build_object('sequences', '$seqs'::jsonb))" >/dev/null
check "interrupted after green went live: blue FENCED, green SWITCHED" \
    "$(b2 "SELECT phase FROM migration_engine.cluster_migrations")/$(g2 "SELECT phase FROM migration_engine.cluster_migrations")" "FENCED/SWITCHED"
check "then an abort is refused (55000): lifting blue's fence would make both clusters live" \
    "$(sqlstate_of "$BLUE2" -c "SELECT migration_engine.abort_cluster_migration('$id2')")/$(b2 "SELECT count(*) FROM pg_trigger WHERE tgname = 'me_cluster_fence'")" "55000/2"
psql -qX -v ON_ERROR_STOP=1 "$BLUE2" -c "CALL migration_engine.switch_cluster_migration('$id2')" > "$work/switch2.out" 2>&1 \
    || { cat "$work/switch2.out"; fail "the CALL did not finish the interrupted switch"; }
check "the CALL again records the switch on blue, and leaves no slot or publication" \
    "$(b2 "SELECT phase FROM migration_engine.cluster_migrations")/$(b2 "SELECT (switch_report ->> 'polls')::int FROM migration_engine.cluster_migrations")/$(slots)/$(b2 "SELECT count(*) FROM pg_publication")/$(g2 "SELECT count(*) FROM pg_subscription")" "SWITCHED/0/none/0/0"

# 5. an automatic switch: started with autoSwitch, blue's worker switches on its own once
# green streams within the bounds, in the CALL's three transactions, and cleans up
psql -qX -v ON_ERROR_STOP=1 "$SECOND_CONNINFO" -c "CREATE DATABASE blue3" >/dev/null
BLUE3="host=$SECOND_DIR port=55433 user=postgres dbname=blue3"
GREEN3="host=$PGHOST port=$PGPORT user=postgres dbname=${PGDATABASE}_green3"
b3() { psql -qAtX -v ON_ERROR_STOP=1 "$BLUE3" -c "$1"; }
g3() { psql -qAtX -v ON_ERROR_STOP=1 "$GREEN3" -c "$1"; }
psql -qX -d postgres -c "CREATE DATABASE ${PGDATABASE}_green3" >/dev/null
g3 "CREATE EXTENSION migration_engine" >/dev/null
b3 "CREATE EXTENSION migration_engine; CREATE EXTENSION dblink" >/dev/null
b3 "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('name', 'r' || i))) FROM generate_series(1, 300) i" >/dev/null
mid3=$(b3 "SELECT migration_engine.create_migration('{\"name\": \"add_tag\", \"version\": \"1\", \"forward\": [{\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities ADD COLUMN tag text\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities DROP COLUMN tag\"}]}')")
check "autoSwitch with an unknown switch option is refused (22023), nothing made" \
    "$(sqlstate_of "$BLUE3" -c "SELECT migration_engine.start_cluster_migration('$mid3', '$GREEN3', '{\"autoSwitch\": {\"max_lag\": 1}}')")/$(b3 "SELECT count(*) FROM migration_engine.cluster_migrations")" "22023/0"
check "autoSwitch must be an object (22023)" \
    "$(sqlstate_of "$BLUE3" -c "SELECT migration_engine.start_cluster_migration('$mid3', '$GREEN3', '{\"autoSwitch\": true}')")" "22023"
id3=$(b3 "SELECT migration_engine.start_cluster_migration('$mid3', '$GREEN3', '{\"heartbeatInterval\": 200, \"autoSwitch\": {\"maxLagMs\": 2000}}') ->> 'cluster_migration_id'")
check "the status shows the bounds it waits for" "$(b3 "SELECT migration_engine.cluster_migration_status('$id3') -> 'auto_switch' ->> 'maxLagMs'")" "2000"
deadline=$(( $(date +%s) + 90 ))
until [ "$(b3 "SELECT phase FROM migration_engine.cluster_migrations")" = SWITCHED ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { b3 "SELECT migration_engine.cluster_migration_status('$id3')"; fail "the automatic switch did not happen"; }
    sleep 0.2
done
check "switched without a CALL: blue SWITCHED, green SWITCHED, with the switch report" \
    "$(b3 "SELECT phase || '/' || (switch_report ->> 'switched') FROM migration_engine.cluster_migrations")/$(g3 "SELECT phase FROM migration_engine.cluster_migrations")" "SWITCHED/true/SWITCHED"
echo "# automatic switch: $(b3 "SELECT jsonb_build_object('write_freeze_ms', round((switch_report ->> 'write_freeze_ms')::numeric, 1), 'polls', switch_report -> 'polls') FROM migration_engine.cluster_migrations")"
check "green holds blue's rows" "$(g3 "SELECT count(*) FROM kg.temporal_entities")" "$(b3 "SELECT count(*) FROM kg.temporal_entities")"
check "blue refuses writes (40001)" "$(sqlstate_of "$BLUE3" -c "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"late\"}')")" "40001"
check "green takes writes" "$(g3 "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"on green\"}') IS NOT NULL")" "t"
deadline=$(( $(date +%s) + 30 ))
until [ "$(slots)/$(b3 "SELECT count(*) FROM pg_publication")/$(g3 "SELECT count(*) FROM pg_subscription")" = "none/0/0" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the automatic switch left replication behind: $(slots)/$(b3 "SELECT count(*) FROM pg_publication")/$(g3 "SELECT count(*) FROM pg_subscription")"
    sleep 0.2
done
echo "ok - the worker dropped the slot, the publication and green's subscription"
check "the worker is gone" "$(b3 "SELECT migration_engine.cluster_migration_status('$id3') ->> 'worker_running'")" "false"

# 6. blue's slot lost while green streams (dropped by hand here; max_slot_wal_keep_size
# does the same to a slot too far behind): the status says green can never catch up, the
# switch is refused with nothing fenced, the abort cleans up
psql -qX -v ON_ERROR_STOP=1 "$SECOND_CONNINFO" -c "CREATE DATABASE blue4" >/dev/null
BLUE4="host=$SECOND_DIR port=55433 user=postgres dbname=blue4"
GREEN4="host=$PGHOST port=$PGPORT user=postgres dbname=${PGDATABASE}_green4"
b4() { psql -qAtX -v ON_ERROR_STOP=1 "$BLUE4" -c "$1"; }
g4() { psql -qAtX -v ON_ERROR_STOP=1 "$GREEN4" -c "$1"; }
psql -qX -d postgres -c "CREATE DATABASE ${PGDATABASE}_green4" >/dev/null
g4 "CREATE EXTENSION migration_engine" >/dev/null
b4 "CREATE EXTENSION migration_engine; CREATE EXTENSION dblink" >/dev/null
b4 "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('name', 's' || i))) FROM generate_series(1, 100) i" >/dev/null
mid4=$(b4 "SELECT migration_engine.create_migration('{\"name\": \"add_flag\", \"version\": \"1\", \"forward\": [{\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities ADD COLUMN flag text\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities DROP COLUMN flag\"}]}')")
id4=$(b4 "SELECT migration_engine.start_cluster_migration('$mid4', '$GREEN4', '{\"heartbeatInterval\": 200}') ->> 'cluster_migration_id'")
deadline=$(( $(date +%s) + 60 ))
until [ "$(b4 "SELECT phase FROM migration_engine.cluster_migrations")" = STREAMING ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the slot-loss migration did not stream"; sleep 0.2
done
slot4=$(b4 "SELECT subscription_name FROM migration_engine.cluster_migrations")
# the walsender holds the slot while green's apply worker is connected: stop it, and drop
# the slot before the worker reconnects
deadline=$(( $(date +%s) + 30 ))
until [ "$(b4 "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot4'")" = 0 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the slot could not be dropped"
    b4 "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '$slot4' AND active" >/dev/null
    b4 "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot4' AND NOT active" >/dev/null 2>&1 || true
    sleep 0.05
done
check "status: the slot is gone, green can never catch up" \
    "$(b4 "SELECT migration_engine.cluster_migration_status('$id4') ->> 'attention' LIKE 'blue''s replication slot % is gone: green can never receive%'")" "t"
check "the switch is refused (55000) with nothing fenced" \
    "$(sqlstate_of "$BLUE4" -c "CALL migration_engine.switch_cluster_migration('$id4')")/$(b4 "SELECT phase FROM migration_engine.cluster_migrations")/$(b4 "SELECT count(*) FROM pg_trigger WHERE tgname = 'me_cluster_fence'")" "55000/STREAMING/0"
check "because the slot is gone (not for the lag)" \
    "$(psql -qAtX "$BLUE4" -c "CALL migration_engine.switch_cluster_migration('$id4', '{\"catchUpTimeout\": 0}')" 2>&1 | grep -c "replication slot .* is gone")" "1"
abort4=$(b4 "SELECT migration_engine.abort_cluster_migration('$id4')")
check "the abort cleans up: ABORTED on both sides, nothing left behind, no subscription on green" \
    "$(echo "$abort4" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["phase"], a["replication"]["left_behind"], a["green"])')/$(g4 "SELECT count(*) FROM pg_subscription")/$(b4 "SELECT count(*) FROM pg_publication")" "ABORTED [] ABORTED/0/0"

# 7. green restarted mid-copy (-m immediate): the copy in flight is rolled back with green's
# crash, green's subscription starts the table again after the restart, blue's worker
# retries what it asked of green meanwhile; green ends up with every row, and the abort
# leaves no slot behind (the table-copy slots included)
psql -qX -v ON_ERROR_STOP=1 "$SECOND_CONNINFO" -c "CREATE DATABASE blue5" >/dev/null
BLUE5="host=$SECOND_DIR port=55433 user=postgres dbname=blue5"
GREEN5="host=$PGHOST port=$PGPORT user=postgres dbname=${PGDATABASE}_green5"
b5() { psql -qAtX -v ON_ERROR_STOP=1 "$BLUE5" -c "$1"; }
g5() { psql -qAtX -v ON_ERROR_STOP=1 "$GREEN5" -c "$1"; }
psql -qX -d postgres -c "CREATE DATABASE ${PGDATABASE}_green5" >/dev/null
g5 "CREATE EXTENSION migration_engine" >/dev/null
b5 "CREATE EXTENSION migration_engine; CREATE EXTENSION dblink" >/dev/null
b5 "INSERT INTO kg.temporal_entities (entity_type, content) SELECT 'Person', jsonb_build_object('name', 't' || i, 'pad', repeat('x', 200)) FROM generate_series(1, 300000) i" >/dev/null
mid5=$(b5 "SELECT migration_engine.create_migration('{\"name\": \"add_mark\", \"version\": \"1\", \"forward\": [{\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities ADD COLUMN mark text\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE kg.temporal_entities DROP COLUMN mark\"}]}')")
id5=$(b5 "SELECT migration_engine.start_cluster_migration('$mid5', '$GREEN5', '{\"heartbeatInterval\": 200}') ->> 'cluster_migration_id'")
deadline=$(( $(date +%s) + 60 ))
until [ "$(b5 "SELECT phase FROM migration_engine.cluster_migrations")" = COPYING ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the copy did not start"; sleep 0.05
done
# a table-copy worker is running on green (pg_stat_subscription lists it with its table)
deadline=$(( $(date +%s) + 30 ))
until [ "$(g5 "SELECT count(*) > 0 FROM pg_stat_subscription WHERE relid = 'kg.temporal_entities'::regclass")" = t ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "no table-copy worker started on green"; sleep 0.05
done
copied_before=$(g5 "SELECT count(*) FROM kg.temporal_entities")
as_postgres "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null
cluster_restart
echo "ok - green restarted while copying temporal_entities ($copied_before of 300000 rows committed there before)"
deadline=$(( $(date +%s) + 120 ))
until [ "$(b5 "SELECT phase FROM migration_engine.cluster_migrations")" = STREAMING ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { b5 "SELECT migration_engine.cluster_migration_status('$id5')"; fail "the copy did not finish after green's restart"; }
    sleep 0.2
done
check "after green's restart the copy finished: green holds every row of blue, once" \
    "$(g5 "SELECT count(*) || '/' || count(DISTINCT version_id) FROM kg.temporal_entities")" "$(b5 "SELECT count(*) || '/' || count(*) FROM kg.temporal_entities")"
check "and streams: a write on blue arrives" \
    "$(b5 "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"after the restart\"}') IS NOT NULL")" "t"
deadline=$(( $(date +%s) + 30 ))
until [ "$(g5 "SELECT count(*) FROM kg.temporal_entities WHERE content ->> 'name' = 'after the restart'")" = 1 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "blue's write did not reach green after the restart"; sleep 0.2
done
abort5=$(b5 "SELECT migration_engine.abort_cluster_migration('$id5')")
check "the abort leaves nothing behind, the table-copy slots included" \
    "$(echo "$abort5" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["phase"], a["replication"]["left_behind"])')/$(slots)/$(g5 "SELECT count(*) FROM pg_subscription")" "ABORTED []/none/0"
