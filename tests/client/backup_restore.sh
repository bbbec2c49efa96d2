# Backups (issue 12, problems 1-3): a database with a graph, migrations, an audit trail
# and a blue-green switch survives pg_dump | pg_restore row for row, takes writes and
# audited calls at once, keeps its active schema, its retired schema's refusal and its
# audit rows as they were; and again after a second switch and a second round trip
# (that one through a plain SQL dump and psql).
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
chmod 777 "$work"

# every row of every table of the extension's schemas and of the data schemas, as one
# line per table: name, row count, md5 of the rows in a stable order
fingerprint() { # fingerprint DB
    psql -qAtX -d "$1" -v ON_ERROR_STOP=1 -c "
        DO \$\$ BEGIN CREATE TEMP TABLE fp (t text, n bigint, h text); END \$\$;
        DO \$\$ DECLARE r record; n bigint; h text; BEGIN
            FOR r IN SELECT c.oid::regclass AS t FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                     WHERE c.relkind = 'r' AND s.nspname IN ('migration_engine', 'kg', 'green', 'blue') ORDER BY 1::text LOOP
                EXECUTE format('SELECT count(*), md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) FROM %s x', r.t) INTO n, h;
                INSERT INTO fp VALUES (r.t::text, n, h);
            END LOOP; END \$\$;
        SELECT string_agg(t || ' ' || n || ' ' || h, E'\n' ORDER BY t) FROM fp;"
}
rows() { fingerprint "$1" | awk '{s += $2} END {print s}'; }

# 1. a database in use: entities with history, relations, migrations, an audit trail,
#    a registry setting, and a blue-green switch to green with writes after it
q "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g), md5('p' || g)::uuid) FROM generate_series(1, 200) g" >/dev/null
q "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g, 'v', 2), md5('p' || g)::uuid) FROM generate_series(1, 100) g" >/dev/null
q "SELECT migration_engine.upsert_relation('knows', md5('p' || g)::uuid, md5('p' || (g + 1))::uuid) FROM generate_series(1, 50) g" >/dev/null
q "SELECT migration_engine.set_compatibility_mode('NONE')" >/dev/null
q "SELECT migration_engine.create_migration('{\"name\": \"add_score\", \"version\": \"1\", \"forward\": [
    {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN score int DEFAULT 7\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN score\"}]}')" >/dev/null
check "the blue-green switch to green" "$(q "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_score'), 'green')->>'success'")" "true"
q "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g, 'v', 3), md5('p' || g)::uuid) FROM generate_series(1, 50) g" >/dev/null
before=$(fingerprint "$PGDATABASE")

# 2. dump, restore into a new database: no error, the same rows
"$PGBIN/pg_dump" -Fc -d "$PGDATABASE" -f "$work/one.dump"
q "CREATE DATABASE me_restored_1" >/dev/null
"$PGBIN/pg_restore" --exit-on-error -d me_restored_1 "$work/one.dump" || fail "pg_restore reported errors"
echo "ok - pg_restore of the custom-format dump ran without an error"
after=$(fingerprint me_restored_1)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") | head -20; fail "the restored rows differ"; }
echo "ok - every table restored row for row ($(rows me_restored_1) rows in $(echo "$after" | wc -l) tables)"

# 3. the restored database as it was: active schema, retired schema, audit rows; and it takes writes
r1() { psql -qAtX -d me_restored_1 -v ON_ERROR_STOP=1 -c "$1"; }
check "the active schema survives" "$(r1 "SELECT migration_engine.active_schema()")" "green"
check "kg_live shows it" "$(r1 "SELECT count(*) FROM kg_live.temporal_entities WHERE score = 7 AND is_current")" "200"
out=$(r1 "INSERT INTO kg.temporal_entities (entity_type) VALUES ('Ghost')" 2>&1 || true)
case $out in *retired*|*"switched to"*|*refused*) echo "ok - the retired schema still refuses writes" ;; *) fail "a write to the retired kg: $out" ;; esac
check "the audit rows keep their time and actor" \
    "$(r1 "SELECT md5(string_agg(audit_id || occurred_at::text || actor || session_actor || backend_pid, ',' ORDER BY audit_id)) FROM migration_engine.audit_log")" \
    "$(q "SELECT md5(string_agg(audit_id || occurred_at::text || actor || session_actor || backend_pid, ',' ORDER BY audit_id)) FROM migration_engine.audit_log")"
check "a write at once" "$(r1 "SELECT migration_engine.upsert_entity('Person', '{\"n\": \"after restore\"}') IS NOT NULL")" "t"
check "an audited call at once" "$(r1 "SELECT migration_engine.create_migration('{\"name\": \"after_restore\", \"version\": \"1\", \"forward\": [{\"name\": \"s\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}') IS NOT NULL")" "t"
check "new audit rows follow the restored ones" "$(r1 "SELECT max(audit_id) > (SELECT max(audit_id) FROM migration_engine.audit_log WHERE operation <> 'migration_created' OR object_name <> 'after_restore') FROM migration_engine.audit_log")" "t"
check "a non-superuser's audit row is still stamped" "$(r1 "SET ROLE me_admin_user; INSERT INTO migration_engine.audit_log (operation, occurred_at, actor) VALUES ('forged', '2000-01-01', 'someone') RETURNING occurred_at > '2020-01-01' AND actor = 'me_admin_user'")" "t"
check "the registry setting survives" "$(r1 "SELECT migration_engine.compatibility_mode()")" "NONE"
check "history is still protected" "$(r1 "DELETE FROM green.temporal_entities" 2>&1 | grep -c 'never rewritten')" "1"

# 4. a second switch in the restored database, a plain SQL dump through psql, and writes
r1 "SELECT migration_engine.create_migration('{\"name\": \"add_rank\", \"version\": \"1\", \"forward\": [
    {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN rank int DEFAULT 1\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN rank\"}]}')" >/dev/null
check "a second switch, to blue" "$(r1 "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_rank'), 'blue')->>'success'")" "true"
r1 "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g, 'v', 4), md5('p' || g)::uuid) FROM generate_series(1, 20) g" >/dev/null
before=$(fingerprint me_restored_1)
"$PGBIN/pg_dump" -d me_restored_1 -f "$work/two.sql"
q "CREATE DATABASE me_restored_2" >/dev/null
psql -qX -d me_restored_2 -v ON_ERROR_STOP=1 -f "$work/two.sql" >/dev/null 2>"$work/two.err" || { tail -5 "$work/two.err"; fail "psql of the plain dump failed"; }
echo "ok - the plain SQL dump restores through psql -v ON_ERROR_STOP=1"
after=$(fingerprint me_restored_2)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") | head -20; fail "the second restore differs"; }
echo "ok - the second round trip is row for row too ($(rows me_restored_2) rows)"
r2() { psql -qAtX -d me_restored_2 -v ON_ERROR_STOP=1 -c "$1"; }
check "its active schema is blue" "$(r2 "SELECT migration_engine.active_schema()")" "blue"
check "and it takes writes" "$(r2 "SELECT migration_engine.upsert_entity('Person', '{\"n\": \"twice restored\"}') IS NOT NULL")" "t"
out=$(r2 "INSERT INTO green.temporal_entities (entity_type) VALUES ('Ghost')" 2>&1 || true)
case $out in *retired*|*"switched to"*|*refused*) echo "ok - green, retired by the second switch, still refuses writes" ;; *) fail "a write to the retired green: $out" ;; esac
q "DROP DATABASE me_restored_1" >/dev/null; q "DROP DATABASE me_restored_2" >/dev/null

# Installing where a schema kg already exists is refused with a clear message (issue 12, problem 9).
q "CREATE DATABASE me_has_kg" >/dev/null
psql -qX -d me_has_kg -c "CREATE SCHEMA kg" >/dev/null
out=$(psql -qAtX -d me_has_kg -v VERBOSITY=verbose -c "CREATE EXTENSION migration_engine" 2>&1 || true)
case $out in *42P06*'data schema "kg" already exists'*"SET migration_engine.data_schema"*) echo "ok - CREATE EXTENSION where kg exists says why and what to do (42P06)" ;; *) fail "CREATE EXTENSION over an existing kg: $out" ;; esac
q "DROP DATABASE me_has_kg" >/dev/null
