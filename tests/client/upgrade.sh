# Upgrades (issue 12, problem 8): ALTER EXTENSION migration_engine UPDATE from the released
# 0.1.0, built from its own commit (sql/released/migration_engine--0.1.0.commit) and
# installed in place of the build under test, as a package upgrade would:
#   1. the released install script is the one that commit generates (the same statements:
#      pgrx's order is not stable from build to build);
#   2. an empty database upgraded to this version has, to the line, the schema of a fresh
#      install (pg_dump --schema-only --binary-upgrade, which lists the extension's own
#      objects, with object ids and xids left out; and the same tables marked for dump);
#   3. a database in use under 0.1.0 (graph with history, relations, migrations, audit
#      trail, a completed blue-green switch with writes after it) keeps every row through
#      the upgrade, and then works as 0.2.0 does: writes, kg_live's presentation and
#      shapes, history protection on the active schema, a switch back.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
root=$MIGRATION_ENGINE_ROOT
share=$("$PG_CONFIG" --sharedir)/extension
old=0.1.0
new=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
work=$(mktemp -d)
# its own target dir (the final artifact's path would be shared otherwise), seeded with a
# copy of the main build's so that only the two crates of the release are compiled
release_target=$root/target/release-$old
release=$release_target/src
restore_build() { (cd "$root" && install_extension) || echo "could not reinstall the build under test"; rm -rf "$work"; }
trap restore_build EXIT

# the released version, built from its commit. A clone without that commit (a shallow
# one) cannot build it: then the released script runs on this build's library, and the
# part that needs 0.1.0's own code (a blue-green switch made by it) is left out, said so
commit=${ME_RELEASE_COMMIT:-$(cat "$root/sql/released/migration_engine--$old.commit")}
have_release=1
git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null || git -C "$root" fetch -q --depth 1 origin "$commit" 2>/dev/null \
    || { have_release=0; echo "note: commit $commit of $old is not in this clone: $old's SQL runs on this build's library"; }
if [ $have_release = 1 ]; then
    if [ ! -e "$release/Cargo.toml" ] || [ "$(git -C "$release" rev-parse HEAD 2>/dev/null)" != "$commit" ]; then
        rm -rf "$release"; mkdir -p "$(dirname "$release")"
        git -C "$root" worktree prune
        git -C "$root" worktree add -f --detach "$release" "$commit" >/dev/null
    fi
    if [ ! -d "$release_target/debug" ] && [ -d "$root/target/debug" ]; then
        mkdir -p "$release_target/debug"
        cp -a "$root/target/debug/deps" "$root/target/debug/build" "$release_target/debug/"
        cp -a "$root/target/debug/.fingerprint" "$release_target/debug/" 2>/dev/null || true
    fi
    (cd "$release" && CARGO_TARGET_DIR=$release_target cargo pgrx install --pg-config "$PG_CONFIG" >"$work/release.log" 2>&1) \
        || { tail -30 "$work/release.log"; fail "building $old failed"; }
    check "the released $old install script is the one its commit generates" \
        "$(python3 "$root/scripts/lib/upgrade_script.py" --same-statements "$root/sql/released/migration_engine--$old.sql" "$share/migration_engine--$old.sql" && echo same)" "same"
else
    cp "$root/sql/released/migration_engine--$old.sql" "$share/"
fi

# schema of a database as pg_dump sees it, members of the extension included; object
# ids, xids and the session's \restrict key vary between databases and are left out
schema_of() { # schema_of DB
    "$PGBIN/pg_dump" --schema-only --binary-upgrade -d "$1" \
      | grep -v -e '^SELECT pg_catalog.binary_upgrade_set_next_' -e '^\\restrict' -e '^\\unrestrict' \
                -e '^SELECT pg_catalog.binary_upgrade_create_empty_extension' \
      | awk '/^UPDATE pg_catalog.pg_class$/ {skip = 3} skip > 0 {skip--; next} {print}'
    psql -qAtX -d "$1" -c "SELECT 'dumped with the extension: ' || string_agg(c::regclass::text || coalesce(' WHERE ' || nullif(w, ''), ''), ', ' ORDER BY c::regclass::text)
                           FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w) WHERE e.extname = 'migration_engine'"
}
# every row of every table of the extension's schemas and the data schemas (as backup_restore.sh)
fingerprint() { # fingerprint DB
    psql -qAtX -d "$1" -v ON_ERROR_STOP=1 -c "
        DO \$\$ BEGIN CREATE TEMP TABLE fp (t text, n bigint, h text); END \$\$;
        DO \$\$ DECLARE r record; n bigint; h text; BEGIN
            FOR r IN SELECT c.oid::regclass AS t FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                     WHERE c.relkind = 'r' AND s.nspname IN ('migration_engine', 'kg', 'green') ORDER BY 1::text LOOP
                EXECUTE format('SELECT count(*), md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) FROM %s x', r.t) INTO n, h;
                INSERT INTO fp VALUES (r.t::text, n, h);
            END LOOP; END \$\$;
        SELECT string_agg(t || ' ' || n || ' ' || h, E'\n' ORDER BY t) FROM fp;"
}
qd() { psql -qAtX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

for db in up_empty up_used; do
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    qd $db "CREATE EXTENSION migration_engine VERSION '$old'"
done
check "the databases are at $old" "$(qd up_used "SELECT extversion FROM pg_extension WHERE extname = 'migration_engine'")" "$old"

# a database in use under 0.1.0
qd up_used "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g), md5('p' || g)::uuid) FROM generate_series(1, 300) g" >/dev/null
qd up_used "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g, 'v', 2), md5('p' || g)::uuid) FROM generate_series(1, 120) g" >/dev/null
qd up_used "SELECT migration_engine.upsert_relation('knows', md5('p' || g)::uuid, md5('p' || (g + 1))::uuid) FROM generate_series(1, 60) g" >/dev/null
qd up_used "SELECT migration_engine.delete_entity(md5('p' || g)::uuid) FROM generate_series(290, 300) g" >/dev/null
qd up_used "SELECT migration_engine.create_migration('{\"name\": \"tag_people\", \"version\": \"1\", \"type\": \"DATA\", \"forward\": [
    {\"name\": \"t\", \"type\": \"SQL\", \"script\": \"CREATE TABLE public.tags (id int PRIMARY KEY, tag text); INSERT INTO public.tags SELECT g, md5(g::text) FROM generate_series(1, 10) g\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"DROP TABLE public.tags\"}]}')" >/dev/null
check "a migration completes under $old" "$(qd up_used "SELECT migration_engine.execute_migration('tag_people')->>'success'")" "true"
qd up_used "SELECT migration_engine.create_migration('{\"name\": \"add_score\", \"version\": \"1\", \"forward\": [
    {\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN score int DEFAULT 7\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities DROP COLUMN score\"}]}')" >/dev/null
if [ $have_release = 1 ]; then
    check "a blue-green switch to green under $old" "$(qd up_used "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_score'), 'green')->>'success'")" "true"
fi
qd up_used "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g, 'v', 3), md5('p' || g)::uuid) FROM generate_series(1, 40) g" >/dev/null
before=$(fingerprint up_used)
rows=$(echo "$before" | awk '{s += $2} END {print s}')

# the package upgrade: this version's library and scripts, then ALTER EXTENSION UPDATE
(cd "$root" && install_extension)
for db in up_empty up_used; do
    qd $db "ALTER EXTENSION migration_engine UPDATE" >/dev/null
    check "$db is at $new" "$(qd $db "SELECT extversion FROM pg_extension WHERE extname = 'migration_engine'")" "$new"
done

psql -qX -d postgres -c "DROP DATABASE IF EXISTS up_fresh" -c "CREATE DATABASE up_fresh" >/dev/null
qd up_fresh "CREATE EXTENSION migration_engine"
schema_of up_fresh > "$work/fresh.sql"; schema_of up_empty > "$work/upgraded.sql"
diff -u "$work/fresh.sql" "$work/upgraded.sql" > "$work/schema.diff" || true
cp "$work/schema.diff" /tmp/me-upgrade-schema.diff
check "an upgraded database has the schema of a fresh install ($(wc -l < "$work/fresh.sql") lines compared; diff in /tmp/me-upgrade-schema.diff)" \
    "$(wc -l < "$work/schema.diff" | tr -d ' ')" "0"

after=$(fingerprint up_used)
# the tables there were before, row for row; the tables the upgrade adds, empty
after_old=$(echo "$after" | awk 'NR == FNR {had[$1]; next} $1 in had' <(echo "$before") -)
added=$(echo "$after" | awk 'NR == FNR {had[$1]; next} !($1 in had) {print $1 " " $2}' <(echo "$before") -)
diff <(echo "$before") <(echo "$after_old") || true
check "no row changed in the upgrade ($rows rows in $(echo "$before" | wc -l) tables)" "$after_old" "$before"
check "the tables it adds are empty ($(echo "$added" | awk '{print $1}' | tr '\n' ' '))" "$(echo "$added" | awk '$2 != 0' | wc -l)" "0"

# and it works as this version does
active=$(qd up_used "SELECT migration_engine.active_schema()")
id=$(qd up_used "SELECT migration_engine.upsert_entity('Person', '{\"after\": \"upgrade\"}')")
check "writes go on, into the active schema ($active)" "$(qd up_used "SELECT count(*) FROM $active.temporal_entities WHERE entity_id = '$id'")" "1"
check "kg_live shows no infinity" "$(qd up_used "SELECT count(*) FROM kg_live.temporal_entities WHERE valid_to = 'infinity'")" "0"
check "kg_live says is_current" "$(qd up_used "SELECT count(*) FROM kg_live.temporal_entities WHERE is_current")" \
    "$(qd up_used "SELECT count(*) FROM $active.temporal_entities WHERE valid_to = 'infinity'")"
check "entity_history presents the current version with is_current" \
    "$(qd up_used "SELECT count(*) FILTER (WHERE is_current AND valid_to IS NULL) || '/' || count(*) FROM migration_engine.entity_history(md5('p1')::uuid)")" "1/3"
if [ $have_release = 1 ]; then
check "kg_live has its first shape, over green, with the switch's column" \
    "$(qd up_used "SELECT count(*) FROM kg_live.temporal_entities_v1 WHERE score = 7 AND is_current") > 0" \
    "$(qd up_used "SELECT count(*) FROM green.temporal_entities WHERE score = 7 AND valid_to = 'infinity'") > 0"
fi
check "history protection covers the active schema" \
    "$(psql -qAtX -v VERBOSITY=verbose -d up_used -c "DELETE FROM $active.temporal_entities" 2>&1 | grep -o '^ERROR:  42501' | head -1)" "ERROR:  42501"
if [ $have_release = 1 ]; then
check "switch_back works after the upgrade" "$(qd up_used "SELECT migration_engine.switch_back()->>'new_schema'")" "kg"
check "and marks the blue-green migration rolled back" "$(qd up_used "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_score'")" "ROLLED_BACK"
check "the audit trail kept its $old rows, and the switch back is audited after them" \
    "$(qd up_used "SELECT count(*) > 0 FROM migration_engine.audit_log WHERE occurred_at < (SELECT min(occurred_at) FROM migration_engine.audit_log WHERE operation = 'schema_switched' AND object_name = 'kg')")" "t"
fi
for db in up_empty up_used up_fresh; do psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null; done
