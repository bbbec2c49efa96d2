# Expected-output tests (pg_graphql's habit): each tests/expected/NAME.sql runs in a
# database of its own; its output, masked by tests/expected/mask.py (ids, clocks,
# durations), must equal tests/expected/NAME.out to the line, so that a changed key or
# value of a result users script against shows as a diff in review.
# UPDATE_EXPECTED=1 scripts/sql-tests expected_output writes the .out files instead.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
dir=$MIGRATION_ENGINE_ROOT/tests/expected
failed=0
for sql in "$dir"/*.sql; do
    name=$(basename "$sql" .sql)
    db="me_expected_$name"
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    psql -qX -d "$db" -c 'CREATE EXTENSION migration_engine' >/dev/null
    # errors are part of the expected output (a failing call shows its SQLSTATE)
    got=$(psql -qX -d "$db" -v VERBOSITY=default -v SHOW_CONTEXT=never -f "$sql" 2>&1 | sed "s|$dir/||" | python3 "$dir/mask.py")
    psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null
    if [ "${UPDATE_EXPECTED:-}" = 1 ]; then
        printf '%s\n' "$got" > "$dir/$name.out"; echo "wrote $name.out"; continue
    fi
    [ -f "$dir/$name.out" ] || fail "$name.out is missing: run UPDATE_EXPECTED=1 scripts/sql-tests expected_output"
    if diff -u "$dir/$name.out" <(printf '%s\n' "$got") > "/tmp/me-expected-$name.diff"; then
        echo "ok - $name matches $name.out"
    else
        echo "not ok - $name differs from $name.out:"; cat "/tmp/me-expected-$name.diff"; failed=1
    fi
done
[ "$failed" = 0 ] || fail "an output changed: if the change is intended, run UPDATE_EXPECTED=1 scripts/sql-tests expected_output and review the diff"
