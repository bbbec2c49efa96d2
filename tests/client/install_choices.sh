# Install choices (issue 12, problem 9): the data schema's name is chosen at install with
# the setting migration_engine.data_schema (kg by default); a schema kg of the user's is
# left alone then; bad names and taken names are refused with 22023 / 42P06 and change
# nothing; the chosen schema works as kg does (writes, kg_live, history protection, a
# blue-green switch and back, a dump restored into a database with the same setting);
# DROP EXTENSION takes the graph and leaves the user's kg.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
qd() { psql -qAtX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
fresh_db() { psql -qX -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }
sqlstate_of() { psql -qAtX -v VERBOSITY=verbose -d "$1" -c "$2" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1; }

# refusals: each leaves the database without the extension and without a new schema
fresh_db me_choice_bad
for bad in "Bad-Name" "graph; DROP TABLE x" "kg_live" "pg_graph" "public"; do
    psql -qX -d postgres -c "ALTER DATABASE me_choice_bad SET migration_engine.data_schema = '${bad//\'/\'\'}'" >/dev/null
    check "data_schema '$bad' is refused (22023)" "$(sqlstate_of me_choice_bad "CREATE EXTENSION migration_engine")" "22023"
done
psql -qX -d postgres -c "ALTER DATABASE me_choice_bad SET migration_engine.data_schema = 'taken'" >/dev/null
qd me_choice_bad "CREATE SCHEMA taken"
out=$(psql -qAtX -v VERBOSITY=verbose -d me_choice_bad -c "CREATE EXTENSION migration_engine" 2>&1 || true)
case $out in *42P06*'data schema "taken" already exists'*"SET migration_engine.data_schema"*) echo "ok - a chosen name that exists is refused (42P06), with what to do" ;; *) fail "existing chosen schema: $out" ;; esac
check "and nothing was installed" "$(qd me_choice_bad "SELECT count(*) FROM pg_extension WHERE extname = 'migration_engine'")/$(qd me_choice_bad "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('kg', 'taken', 'migration_engine', 'kg_live', 'migration_engine_install_hold')")" "0/taken"

# a chosen name, beside a schema kg of the user's
fresh_db me_choice
psql -qX -d postgres -c "ALTER DATABASE me_choice SET migration_engine.data_schema = 'graph'" >/dev/null
qd me_choice "CREATE SCHEMA kg; CREATE TABLE kg.mine (id int PRIMARY KEY, v text); INSERT INTO kg.mine VALUES (1, 'my own kg')"
qd me_choice "CREATE EXTENSION migration_engine"
check "the data schema is the chosen one" "$(qd me_choice "SELECT migration_engine.active_schema()")" "graph"
check "the user's kg is left as it was" "$(qd me_choice "SELECT v FROM kg.mine")/$(qd me_choice "SELECT count(*) FROM pg_depend WHERE classid = 'pg_namespace'::regclass AND objid = 'kg'::regnamespace AND deptype = 'e'")" "my own kg/0"
check "graph belongs to the extension" "$(qd me_choice "SELECT count(*) FROM pg_depend WHERE classid = 'pg_namespace'::regclass AND objid = 'graph'::regnamespace AND deptype = 'e'")" "1"
check "installing did not audit a switch" "$(qd me_choice "SELECT count(*) FROM migration_engine.audit_log WHERE operation = 'active_schema_changed'")" "0"
id=$(qd me_choice "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"Ada\"}')")
qd me_choice "SELECT migration_engine.upsert_entity('Person', '{\"name\": \"Ada\", \"v\": 2}', '$id')" >/dev/null
check "the graph functions write to graph" "$(qd me_choice "SELECT count(*) FROM graph.temporal_entities WHERE entity_id = '$id'")" "2"
check "kg_live reads graph" "$(qd me_choice "SELECT content->>'v' FROM kg_live.temporal_entities WHERE entity_id = '$id' AND is_current")" "2"
check "history protection covers graph" "$(sqlstate_of me_choice "DELETE FROM graph.temporal_entities")" "42501"
qd me_choice "SELECT migration_engine.create_migration('{\"name\": \"add_score\", \"version\": \"1\", \"forward\": [
    {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN score int DEFAULT 7\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
check "a blue-green switch from graph" "$(qd me_choice "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_score'), 'green')->>'previous_schema'")" "graph"
check "writes to the retired graph are refused (40001)" "$(sqlstate_of me_choice "INSERT INTO graph.temporal_entities (entity_type) VALUES ('Late')")" "40001"
check "switch_back returns to graph" "$(qd me_choice "SELECT migration_engine.switch_back()->>'new_schema'")" "graph"

# a dump restores into a database with the same setting (ALTER DATABASE ... SET is the
# way to make that so: pg_dump --create carries it)
"$PGBIN/pg_dump" -Fc -d me_choice -f "$work/choice.dump"
fresh_db me_choice_restored
psql -qX -d postgres -c "ALTER DATABASE me_choice_restored SET migration_engine.data_schema = 'graph'" >/dev/null
"$PGBIN/pg_restore" --exit-on-error -d me_choice_restored "$work/choice.dump" 2> "$work/restore.err" || { cat "$work/restore.err"; fail "the restore failed"; }
check "the restored graph has its versions" "$(qd me_choice_restored "SELECT count(*) FROM graph.temporal_entities WHERE entity_id = '$id'")/$(qd me_choice_restored "SELECT migration_engine.active_schema()")" "2/graph"
check "and takes writes" "$(qd me_choice_restored "SELECT migration_engine.upsert_entity('Person', '{\"after\": \"restore\"}') IS NOT NULL")" "t"

# DROP EXTENSION takes the graph, and leaves the user's kg
qd me_choice "DROP SCHEMA green CASCADE" >/dev/null 2>&1 || true
qd me_choice "DROP EXTENSION migration_engine CASCADE" 2>/dev/null
check "DROP EXTENSION drops the graph and kg_live" "$(qd me_choice "SELECT count(*) FROM pg_namespace WHERE nspname IN ('graph', 'kg_live')")" "0"
check "and leaves the user's kg" "$(qd me_choice "SELECT v FROM kg.mine")" "my own kg"
# PostgreSQL made the control file's schema before the install script ran, and never
# makes it a member: it stays, empty (README, "Caution", says to drop it)
check "the schema migration_engine stays, empty" "$(qd me_choice "SELECT count(*) FROM pg_class WHERE relnamespace = 'migration_engine'::regnamespace")/$(qd me_choice "SELECT count(*) FROM pg_proc WHERE pronamespace = 'migration_engine'::regnamespace")" "0/0"
for db in me_choice me_choice_bad me_choice_restored; do psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null; done
