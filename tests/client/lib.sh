# Helpers for client tests (sourced). PGHOST/PGPORT/PGUSER/PGDATABASE are set by
# scripts/sql-tests; each test has a database of its own with the extension installed.
set -euo pipefail
q() { psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
fail() { echo "FAIL: $*"; exit 1; }
check() { # check "description" actual expected
    if [ "$2" = "$3" ]; then echo "ok - $1"; else fail "$1: got '$2', expected '$3'"; fi
}
# wait_for "sql returning true" [seconds]
wait_for() {
    local deadline=$(( $(date +%s) + ${2:-30} ))
    until [ "$(q "$1")" = "t" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for: $1"
        sleep 0.1
    done
}
# a migration of $2 steps, each inserting 100 rows into table $3 and sleeping $4 seconds
make_slow_migration() {
    local name=$1 steps=$2 table=$3 sleep=$4 forward=""
    for i in $(seq 1 "$steps"); do
        forward="$forward{\"name\": \"s$i\", \"type\": \"SQL\", \"script\": \"INSERT INTO $table SELECT $i * 1000 + g, md5(($i * 1000 + g)::text) FROM generate_series(1, 100) g; SELECT pg_sleep($sleep)\"},"
    done
    q "SELECT migration_engine.create_migration('{\"name\": \"$name\", \"version\": \"1\", \"type\": \"DATA\", \"forward\": [${forward%,}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"DELETE FROM $table\"}]}')" >/dev/null
}
table_checksum() { q "SELECT count(*) || ':' || coalesce(md5(string_agg(id || '=' || v, ',' ORDER BY id)), '') FROM $1"; }
# listen_start DIR CHANNEL...: a psycopg 3 client LISTENs on the channels (and on
# test_done) and writes [{"channel", "payload"}...] to DIR/got.json when test_done
# arrives; returns once it listens. listen_stop: send test_done, wait for it.
listen_start() {
    local dir=$1; shift
    /usr/bin/python3 - "$dir" "$@" <<'PY' &
import json, sys, psycopg
work, channels = sys.argv[1], sys.argv[2:]
conn = psycopg.connect(autocommit=True)
for c in channels + ["test_done"]:
    conn.execute(f"LISTEN {c}")
open(f"{work}/ready", "w").close()
got = []
for n in conn.notifies():
    if n.channel == "test_done":
        break
    got.append({"channel": n.channel, "payload": n.payload})
json.dump(got, open(f"{work}/got.json", "w"))
PY
    LISTENER=$!
    for _ in $(seq 100); do [ -e "$dir/ready" ] && return 0; sleep 0.1; done
    fail "the listener did not start"
}
listen_stop() { q "NOTIFY test_done"; wait "$LISTENER" || fail "the listener failed"; }
# check_write_log SCHEMA: the writes public.write_log (entity_id, v) recorded as committed
# all landed in SCHEMA's entities: the latest value is current, every value is in the
# history, one current version per entity, versions well formed
check_write_log() {
    local s=$1
    check "every written entity carries its latest committed value" \
        "$(q "SELECT count(*) FROM (SELECT DISTINCT ON (entity_id) entity_id, v FROM public.write_log ORDER BY entity_id, id DESC) l
              JOIN $s.temporal_entities e ON e.entity_id = l.entity_id AND e.valid_to = 'infinity'
              WHERE (e.content->>'v')::bigint IS DISTINCT FROM l.v")" "0"
    check "every committed write is in $s's history" \
        "$(q "SELECT count(*) FROM public.write_log w WHERE NOT EXISTS (
                  SELECT 1 FROM $s.temporal_entities e WHERE e.entity_id = w.entity_id AND (e.content->>'v')::bigint = w.v)")" "0"
    check "one current version per entity" \
        "$(q "SELECT count(*) FROM (SELECT entity_id FROM $s.temporal_entities WHERE valid_to = 'infinity' GROUP BY 1 HAVING count(*) > 1) d")" "0"
    check "versions are well formed (valid_from <= valid_to)" \
        "$(q "SELECT count(*) FROM $s.temporal_entities WHERE valid_from > valid_to")" "0"
}
