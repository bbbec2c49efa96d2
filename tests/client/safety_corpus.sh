# The safety corpus (tests/safety_corpus): SQL scripts, dangerous and safe forms, each with
# the exact set of rule codes lint_sql must return for it, linted against the schema
# tests/safety_corpus/setup.sql builds in this test's database. run.py also checks that
# every code of safety_rules() is expected by some case and that an unknown option key is
# refused (22023). Each case is reported as a check; the test fails if any did.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
out=$(mktemp); trap 'rm -f "$out"' EXIT
rc=0
/usr/bin/python3 "$MIGRATION_ENGINE_ROOT/tests/safety_corpus/run.py" > "$out" 2>&1 || rc=$?
passed=0; failed=0
while IFS= read -r line; do
    case $line in
        "ok "*)   echo "ok - corpus ${line#ok }"; passed=$((passed + 1)) ;;
        "FAIL "*) echo "not ok - corpus ${line#FAIL }"; failed=$((failed + 1)) ;;
        *)        echo "# $line" ;;
    esac
done < "$out"
check "the safety corpus ran" "$([ "$passed" -ge 120 ] || [ "$failed" -gt 0 ] && echo yes)" "yes"
check "the safety corpus passed ($passed checks passed, $failed failed, run.py exit $rc)" "$rc:$failed" "0:0"
