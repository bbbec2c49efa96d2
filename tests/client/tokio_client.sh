# A Rust client (issue 12, problem 7): examples/tokio-client, tokio-postgres with its stock
# FromSql types (time::OffsetDateTime, serde_json::Value, uuid::Uuid), reads the graph
# through kg_live, prepares statements, LISTENs on schema_switched (notifications through
# Connection::poll_message) and follows a real blue-green switch that adds a column: it gets
# the notification, sets its search_path from the payload, keeps reading (the new column
# included) with the statements it prepared before the switch, decodes every valid_to
# (NULL for the current version, no 'infinity'), and prepares its SELECT * again exactly
# once. A second section: the fixed shapes kg_live.temporal_entities_v<N> keep a prepared
# SELECT * working across a switch.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
bin=$MIGRATION_ENGINE_ROOT/examples/tokio-client/target/release/kg-tokio-client
[ -x "$bin" ] || fail "the Rust client is not built ($bin is missing): cargo build --release --manifest-path examples/tokio-client/Cargo.toml"
work=$(mktemp -d)
follower=""
trap '[ -z "$follower" ] || kill "$follower" 2>/dev/null; rm -rf "$work"' EXIT

# the graph: 50 people, Ada with three versions and three relations, a deleted person, an org
q "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g)) FROM generate_series(1, 50) g" >/dev/null
ada=$(q "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"Ada\", \"age\": 36}')")
q "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"Ada\", \"age\": 37}', '$ada')" >/dev/null
q "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"Ada\", \"age\": 38}', '$ada')" >/dev/null
gone=$(q "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"Gone\"}')")
q "SELECT migration_engine.delete_entity('$gone')" >/dev/null
q "SELECT migration_engine.upsert_entity('Org', '{\"name\": \"Acme\"}')" >/dev/null
q "SELECT migration_engine.upsert_relation('knows', '$ada', entity_id) FROM kg.temporal_entities
   WHERE (content->>'n')::int <= 3 AND valid_to = 'infinity'" >/dev/null
q "SELECT migration_engine.create_migration('{\"name\": \"add_region\", \"version\": \"1\", \"forward\": [
     {\"name\": \"region\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN region text NOT NULL DEFAULT ''eu''\"}],
   \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN region\"}]}')" >/dev/null
migration_id() { q "SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = '$1'"; }

# follow_start FILE ARGS...: the client follows switches in the background, one JSON event a
# line in FILE; returns once it listens and has read (prepared statements used) 5 times.
follow_start() {
    local out=$1; shift
    rm -f "$work/ready"
    "$bin" --type Person --interval 0.1 --timeout 120 --ready "$work/ready" "$@" > "$out" 2> "$out.err" &
    follower=$!
    for _ in $(seq 300); do
        [ -e "$work/ready" ] && [ "$(grep -c '"event":"read"' "$out")" -ge 5 ] && return 0
        kill -0 "$follower" 2>/dev/null || break
        sleep 0.1
    done
    fail "the client did not start: $(cat "$out" "$out.err" | tail -5)"
}
follow_wait() {
    wait "$follower" || fail "the client exited with $?: $(grep -v '"event":"read"' "$1" | tail -5; tail -5 "$1.err")"
    follower=""
}

# --- the client across a switch that adds a column ---------------------------------------
follow_start "$work/follow.jsonl" --watch "$ada" --switches 1 --reads-after 25
check "the switch to green succeeds" \
    "$(q "SELECT migration_engine.execute_blue_green_migration('$(migration_id add_region)', 'green')->>'success'")" "true"
# a write after the switch goes to green; the client must see it through kg_live and its path
q "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"After\"}')" >/dev/null
follow_wait "$work/follow.jsonl"
check "the retired schema kg did not get the write made after the switch" \
    "$(q "SELECT count(*) FROM kg.temporal_entities WHERE valid_to = 'infinity' AND NOT is_deleted AND entity_type = 'Person'")" "51"

/usr/bin/python3 - "$work/follow.jsonl" "$ada" <<'PY'
import json, re, sys
events = [json.loads(line) for line in open(sys.argv[1])]
ada = sys.argv[2]
failed = []
def check(what, got, want):
    if got == want:
        print(f"ok - {what}")
    else:
        print(f"not ok - {what}: got {got!r}, expected {want!r}")
        failed.append(what)
timestamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
kinds = [e["event"] for e in events]
reads = [e for e in events if e["event"] == "read"]
before = [e for e in reads if e["switches_seen"] == 0]
after = [e for e in reads if e["switches_seen"] == 1]
install = ["version_id", "entity_id", "entity_type", "content", "metadata", "valid_from", "valid_to",
           "is_deleted", "created_by", "is_current"]

check("the client listened on schema_switched with kg active and its path on kg",
      (events[0]["event"], events[0]["schema"], events[0]["search_path"]), ("listening", "kg", "kg, public"))
check("no read failed (every valid_to decodes, no 0A000 on the statements naming their columns)",
      [(e.get("sqlstate"), e.get("message")) for e in events if e["event"] in ("error", "fatal")], [])
check("the client read before the switch and after it", (len(before) >= 5, len(after)), (True, 25))
check("one notification, payload green, search_path set from it",
      [(e["payload"], e["search_path"]) for e in events if e["event"] == "switched"], [("green", "green, public")])
check("the client stopped by itself", kinds[-1], "done")
b, a = before[0], after[-1]  # (a read just before the notification may see green already)
check("before: kg_live's columns are the install shape (is_current appended)", b["columns"], install)
check("before: 51 current people through SELECT *, the prepared count and the search path",
      (b["schema"], b["current"], b["count_prepared"], b["count_in_path"]), ("kg", 51, 51, 51))
check("before: every current row decodes valid_to as NULL and is_current true",
      (b["valid_to_null"], b["is_current"]), (51, 51))
check("after: the search path is on green", {e["schema"] for e in after}, {"green"})
check("after: SELECT * shows the column the switch added, appended", a["columns"], install + ["region"])
check("after: the new column has its default", a["sample"].get("region"), "eu")
check("after: the write made after the switch is seen through SELECT *, the prepared count and the path",
      (a["current"], a["count_prepared"], a["count_in_path"]), (52, 52, 52))
check("after: every current row decodes valid_to as NULL and is_current true",
      (a["valid_to_null"], a["is_current"]), (52, 52))
for when, e in (("before", b), ("after", a)):
    check(f"{when}: the prepared read of Ada by id gives her current version",
          (e["entity"]["entity_id"], e["entity"]["content"]["age"], e["entity"]["valid_to"], e["entity"]["is_current"]),
          (ada, 38, None, True))
    check(f"{when}: entity_history (prepared): three versions oldest first, closed ones with a timestamp, the last one current with valid_to NULL",
          [(h["content"]["age"], h["valid_to"] is None or bool(timestamp.match(h["valid_to"])), h["valid_to"] is None,
            h["is_current"], h["is_deleted"]) for h in e["history"]],
          [(36, True, False, False, False), (37, True, False, False, False), (38, True, True, True, False)])
    check(f"{when}: Ada's three current relations (prepared)", e["relations"], 3)
check("before: the prepared SELECT * on kg_live.temporal_entities has the install shape and was never prepared again",
      (b["star_columns"], b["star_rows"], b["star_prepared_again"]), (install, 51, 0))
check("after: it got 0A000 once, was prepared again exactly once, and has the new column",
      (a["star_columns"], a["star_rows"], a["star_prepared_again"]), (install + ["region"], 52, 1))
sys.exit(1 if failed else 0)
PY

check "the base tables keep 'infinity' for the current version" \
    "$(q "SELECT count(*) FROM green.temporal_entities WHERE valid_to = 'infinity'")" "54"
check "kg_live shows none: valid_to is NULL exactly where is_current" \
    "$(q "SELECT count(*) FILTER (WHERE valid_to = 'infinity'), count(*) FILTER (WHERE is_current IS DISTINCT FROM (valid_to IS NULL)) FROM kg_live.temporal_entities")" "0|0"

# --- fixed shapes: a prepared SELECT * on kg_live.temporal_entities_v<N> survives a switch ---
# (drop this section if the versioned views are not delivered)
versioned_views() {
    q "SELECT migration_engine.create_migration('{\"name\": \"add_rank\", \"version\": \"1\", \"forward\": [
         {\"name\": \"rank\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN rank int NOT NULL DEFAULT 7\"}],
       \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN rank\"}]}')" >/dev/null
    follow_start "$work/versioned.jsonl" --versioned --switches 1 --reads-after 3
    check "the second switch, to blue2 (adds rank)" \
        "$(q "SELECT migration_engine.execute_blue_green_migration('$(migration_id add_rank)', 'blue2')->>'success'")" "true"
    follow_wait "$work/versioned.jsonl"
    /usr/bin/python3 - "$work/versioned.jsonl" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
failed = []
def check(what, got, want):
    if got == want:
        print(f"ok - {what}")
    else:
        print(f"not ok - {what}: got {got!r}, expected {want!r}")
        failed.append(what)
install = ["version_id", "entity_id", "entity_type", "content", "metadata", "valid_from", "valid_to",
           "is_deleted", "created_by", "is_current"]
reads = [e for e in events if e["event"] == "read"]
before = [e for e in reads if e["switches_seen"] == 0]
after = [e for e in reads if e["switches_seen"] == 1]
check("the client saw the switch to blue2", [e["payload"] for e in events if e["event"] == "switched"], ["blue2"])
check("the shapes there were before the switch: v1 and v2", events[0]["versioned"],
      ["temporal_entities_v1", "temporal_entities_v2"])
check("no read failed", [e for e in events if e["event"] in ("error", "fatal")], [])
shapes = {"temporal_entities_v1": {"columns": install, "rows": 52},
          "temporal_entities_v2": {"columns": install + ["region"], "rows": 52}}
check(f"all {len(before)} reads before the switch and {len(after)} after it: the SELECT * on v1 and v2 prepared at "
      "start give the install shape and the shape after the first switch", [e["versioned"] for e in reads], [shapes] * len(reads))
check("after: the SELECT * on kg_live.temporal_entities had to be prepared again (once), and has rank",
      (after[-1]["star_prepared_again"], after[-1]["star_columns"]), (1, install + ["region", "rank"]))
sys.exit(1 if failed else 0)
PY
}
versioned_views
